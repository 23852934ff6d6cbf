"""The migration's fixtures: a MongoDB wire-protocol server (nx-27017) started for the session,
a fresh database on it per test, and an admin client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.factories import PASSWORD, free_port, log_in, make_admin, new_client
from veri import flags
from veri.app import create_app
from veri.config import Settings
from veri.db.engine import Database
from veri.migration.store import MongoStore


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("nx")
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nx-27017"),
            "--db",
            "memory",
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "--log-file",
            str(folder / "nx.log"),
            "--pid-file",
            str(folder / "nx.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline, "nx-27017 did not start"
        time.sleep(0.1)
    yield f"mongodb://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@pytest.fixture
def store(mongo_url: str) -> Iterator[MongoStore]:
    mongo = MongoStore(mongo_url, f"t{uuid.uuid4().hex[:10]}")
    mongo.ensure_indexes()
    yield mongo
    mongo.client.drop_database(mongo.db.name)
    mongo.close()


@pytest.fixture
def admin(app: FastAPI, clean_db: Database) -> Iterator[Any]:
    make_admin(clean_db)
    client = new_client(app)
    log_in(client, "root@example.com", PASSWORD)
    yield client
    flags.uninstall()


@pytest.fixture
def mongo_app(clean_db: Database, settings: Settings, store: MongoStore) -> Iterator[FastAPI]:
    """The app with the migration's MongoDB configured (a fresh database per test) and the
    cutover's trial shortened to 5 clean reads in a row."""
    host, port = store.client.address or ("127.0.0.1", 27017)
    mongo = settings.mongo.model_copy(
        update={"mongo_url": f"mongodb://{host}:{port}", "mongo_db": store.db.name, "mongo_cutover_reads": 5}
    )
    app = create_app(settings.model_copy(update={"mongo": mongo}), database=clean_db)
    yield app
    if hasattr(app.state, "reads"):  # comparisons still queued must not land in the next test
        app.state.reads.wait_idle()
