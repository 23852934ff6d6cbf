"""The migration against a MongoDB wire-protocol server (nx-27017, started here) through pymongo:
dual-write as a consumer group that never regresses a document, a backfill that dies and resumes
beside dual-write, verification that names mismatches and repairs them, and the flag
prerequisite that opens READ_FROM_MONGO only for a verified cohort."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import new_client, run_group, sign_up
from veri import flags
from veri.cli import app as cli
from veri.config import get_settings
from veri.db.engine import Database
from veri.events.outbox import stored_event
from veri.migration.documents import AGGREGATES, creator_documents, fingerprint
from veri.migration.replicator import MongoReplicator
from veri.migration.service import backfill, verified_cohort, verify
from veri.migration.store import MongoStore
from veri.models.creators import Creator
from veri.models.events import OutboxEvent


def _creators(app: FastAPI, names: list[str]) -> list[Any]:
    clients = []
    for name in names:
        client = new_client(app)
        sign_up(client, "creator", name)
        clients.append(client)
    return clients


def _use_mongo(admin: Any, **rule: Any) -> None:
    response = admin.put("/api/v1/admin/flags/USE_MONGO", json={"mode": "on", "reason": "phase 2", **rule})
    assert response.status_code == 200, response.text
    time.sleep(flags.REFRESH_SECONDS + 0.1)


def _pg_docs(database: Database) -> dict[str, dict[str, Any]]:
    with database.sessions() as db:
        return creator_documents(db, list(db.scalars(select(Creator.id))))


def test_dual_write_copies_each_change_and_never_goes_back(
    app: FastAPI, clean_db: Database, admin: Any, store: MongoStore
) -> None:
    maya, _ = _creators(app, ["maya", "iris"])
    _use_mongo(admin)
    replicator = MongoReplicator(store)
    run_group(clean_db, replicator)
    expected = _pg_docs(clean_db)
    stored = store.get_many("creators", expected)
    assert {k: fingerprint(v) for k, v in stored.items()} == {k: fingerprint(v) for k, v in expected.items()}

    maya.patch("/api/v1/creators/me", json={"bio": "Runner in Lisbon", "location": "Lisbon"})
    maya.post("/api/v1/social-accounts", json={"platform": "youtube", "handle": "maya-runs", "followers": 1200})
    run_group(clean_db, replicator)
    me = maya.get("/api/v1/creators/me").json()["id"]
    doc = store.get_many("creators", [me])[me]
    assert doc["bio"] == "Runner in Lisbon" and doc["social_accounts"][0]["handle"] == "maya-runs"
    newest = doc["_v"]

    # An old event delivered again (a replay, a redelivery) does not take the document back.
    with clean_db.sessions() as db:
        first = db.scalar(
            select(OutboxEvent.event_id).where(OutboxEvent.subject == f"creator:{me}").order_by(OutboxEvent.position)
        )
        old = stored_event(db, first).to_event()
    assert old.position < newest
    with clean_db.transaction() as db:
        replicator.handle(db, [dataclasses.replace(old)])
    assert store.get_many("creators", [me])[me]["_v"] == newest


def test_a_backfill_that_dies_resumes_beside_dual_write_and_verifies(
    app: FastAPI, clean_db: Database, admin: Any, store: MongoStore
) -> None:
    clients = _creators(app, [f"creator{n:02d}" for n in range(12)])
    # Nothing was dual-written (USE_MONGO off): the backfill copies, dying after one page of 5.
    first = backfill(clean_db, store, page=5, max_pages=1)
    assert (first.copied, first.done) == (5, False)
    # Dual-write starts; a creator the backfill already copied and one it has not yet both change.
    _use_mongo(admin)
    clients[0].patch("/api/v1/creators/me", json={"bio": "changed during the backfill"})
    clients[11].patch("/api/v1/creators/me", json={"bio": "changed too"})
    run_group(clean_db, MongoReplicator(store))
    resumed = backfill(clean_db, store, page=5)
    assert resumed.resumed_after == first.resumed_after or resumed.resumed_after  # it continued after the checkpoint
    assert resumed.done and first.copied + resumed.copied <= 12
    report = verify(clean_db, store)
    assert report.checked == 12 and report.mismatches == 0, report.as_dict()
    with clean_db.sessions() as db:
        assert verified_cohort(db, "creators") == 100
        assert verified_cohort(db) == 0  # every aggregate must be verified before reads move
    for aggregate in AGGREGATES[1:]:
        assert verify(clean_db, store, aggregate.name).mismatches == 0
    with clean_db.sessions() as db:
        assert verified_cohort(db) == 100
    # The backfill is verified, but no read path has been shadow-read yet: a cutover is refused.
    opened = admin.put(
        "/api/v1/admin/flags/READ_FROM_MONGO", json={"mode": "percent", "percent": 10, "reason": "canary"}
    )
    assert opened.status_code == 409 and "shadow reads in a row" in opened.json()["message"], opened.text


def test_verify_names_mismatches_and_repairs_them(
    app: FastAPI, clean_db: Database, admin: Any, store: MongoStore, monkeypatch: Any, tmp_path: Path
) -> None:
    _creators(app, ["maya", "iris", "noor"])
    backfill(clean_db, store)
    ids = sorted(_pg_docs(clean_db))
    store.db["creators"].update_one({"_id": ids[0]}, {"$set": {"bio": "tampered"}})
    store.delete("creators", ids[1])
    store.db["creators"].insert_one({"_id": str(uuid.uuid4()), "handle": "ghost", "_v": 0})
    found = verify(clean_db, store)
    assert (found.differ, found.missing, len(found.extra)) == ([ids[0]], [ids[1]], 1)
    with clean_db.sessions() as db:
        assert verified_cohort(db) == 0
    refused = admin.put("/api/v1/admin/flags/USE_MONGO", json={"mode": "on", "reason": "x" * 3})
    assert refused.status_code == 200
    time.sleep(flags.REFRESH_SECONDS + 0.1)
    blocked = admin.put("/api/v1/admin/flags/READ_FROM_MONGO", json={"mode": "on", "reason": "too soon"})
    assert blocked.status_code == 409 and "verified" in blocked.json()["message"]

    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(
        "VERI_MONGO_URL", store.client.address and f"mongodb://{store.client.address[0]}:{store.client.address[1]}"
    )
    monkeypatch.setenv("VERI_MONGO_DB", store.db.name)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        checked = runner.invoke(cli, ["migrate", "verify", "--aggregate", "creators", "--json"])
        assert checked.exit_code == 1 and json.loads(checked.stdout)[0]["mismatches"] == 3
        fixed = runner.invoke(cli, ["migrate", "verify", "--repair", "--json"])
        assert fixed.exit_code == 0 and json.loads(fixed.stdout)[0]["repaired"] == 3
        again = runner.invoke(cli, ["migrate", "verify", "--json"])
        assert again.exit_code == 0 and [r["mismatches"] for r in json.loads(again.stdout)] == [0, 0, 0, 0]
        unknown = runner.invoke(cli, ["migrate", "verify", "--aggregate", "orders"])
        assert unknown.exit_code == 2 and "not an aggregate: orders" in unknown.output
    finally:
        get_settings.cache_clear()
