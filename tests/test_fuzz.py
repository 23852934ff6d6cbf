"""Schemathesis against /api/openapi.json: every /api/v1 operation, with generated inputs, as a
creator, a brand and an admin, each by session (with the CSRF header) and by API key, and
anonymously.
Zero 5xx, and every documented response matches its schema. `make test` runs a bounded number of
examples per operation (VERI_FUZZ_EXAMPLES, default 3: the fuzz was a third of the suite's time at
8); `make fuzz` runs many more."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import (
    admin_key,
    csrf_headers,
    empty_tables,
    log_in,
    make_admin,
    make_settings,
    new_client,
    open_test_database,
    sign_up,
)
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database

EXAMPLES = int(os.environ.get("VERI_FUZZ_EXAMPLES", "3"))


@dataclass
class World:
    """Accounts with something to act on, and the headers each identity sends."""

    app: FastAPI
    identities: dict[str, dict[str, str]] = field(default_factory=dict)
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)


def _key(client: TestClient) -> str:
    return str(client.post("/api/v1/api-keys", json={"name": "fuzz", "scopes": ["read", "write"]}).json()["key"])


@pytest.fixture(scope="module")
def fuzz_database(embedded_server: EmbeddedPostgres) -> Iterator[Database]:
    """The embedded database only: the generated inputs do not depend on the server."""
    database = open_test_database(embedded_server.url("veri_test"), embedded_server)
    yield database
    database.dispose()


@pytest.fixture
def world(fuzz_database: Database, tmp_path: Path) -> Iterator[World]:
    empty_tables(fuzz_database)
    app = create_app(make_settings(tmp_path), database=fuzz_database)
    creator = new_client(app)
    sign_up(creator, "creator", "fuzzcreator")
    brand = new_client(app)
    sign_up(brand, "brand", "fuzzbrand")
    campaign = brand.post("/api/v1/campaigns", json={"title": "Fuzzed", "budget_cents": 100_000}).json()
    brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"})
    deal = creator.post("/api/v1/deals", json={"campaign_id": campaign["id"], "fee_cents": 50_000}).json()
    creator.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "hello"})
    ingest = admin_key(app, app.state.db)
    make_admin(app.state.db, "fuzzadmin@example.com")
    admin = new_client(app)
    log_in(admin, "fuzzadmin@example.com")
    created = World(app)
    created.identities = {
        "anonymous": {},
        "creator-session": csrf_headers(creator),
        "creator-key": {"Authorization": f"Bearer {_key(creator)}"},
        "brand-session": csrf_headers(brand),
        "brand-key": {"Authorization": f"Bearer {_key(brand)}"},
        "admin-key": {"Authorization": f"Bearer {ingest}"},
        "admin-session": csrf_headers(admin),
    }
    created.cookies = {
        "creator-session": dict(creator.cookies),
        "brand-session": dict(brand.cookies),
        "admin-session": dict(admin.cookies),
    }
    yield created


def _openapi() -> dict[str, object]:
    """The app's OpenAPI document, built without starting it (no database needed)."""
    return create_app(make_settings(Path(tempfile.mkdtemp(prefix="veri-fuzz-")))).openapi()


# Loaded at import so pytest can list one test per operation; each call goes to the test's app.
schema = schemathesis.openapi.from_dict(_openapi()).include(path_regex="^/api/v1/")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_responses_match_their_schemas(case: schemathesis.Case, world: World) -> None:
    for name, headers in world.identities.items():
        if name.endswith("session") and case.operation.path == "/api/v1/auth/logout":
            continue  # it would end the session the next examples need; keys and anonymous cover it
        case.call_and_validate(
            app=world.app,
            headers={**(case.headers or {}), **headers},
            cookies=world.cookies.get(name),
            checks=[not_a_server_error, response_schema_conformance],
        )
