"""The whole migration as an operator runs it, through the API against nx-27017: dual-write on,
backfill, verify, shadow reads until every read path has passed its trial, a 10% cutover (its
creators read from Mongo, the others from Postgres), a mismatch that sends a path back to
Postgres by itself, and a rollback that loses nothing. Then the shadow reads' edge cases: dual-
write's lag is not a mismatch, and Mongo down while serving falls back to Postgres."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from tests.factories import PASSWORD, accepted_deal, log_in, make_admin, new_client, run_group, sign_up
from veri import flags
from veri.db.engine import Database
from veri.flags import Flag, bucket_of
from veri.migration import shadow
from veri.migration.documents import AGGREGATES
from veri.migration.replicator import MongoReplicator
from veri.migration.service import backfill, verify
from veri.migration.shadow import DocumentReads
from veri.migration.store import MongoStore
from veri.models.migration import ShadowPath


def _admin(app: FastAPI, database: Database) -> Any:
    make_admin(database)
    client = new_client(app)
    log_in(client, "root@example.com", PASSWORD)
    return client


def _flag(admin: Any, name: str, **rule: Any) -> Any:
    response = admin.put(f"/api/v1/admin/flags/{name}", json={"reason": "migration runbook", **rule})
    time.sleep(flags.REFRESH_SECONDS + 0.1)  # every process follows within a second
    return response


def _creator_id(client: Any) -> str:
    return str(client.get("/api/v1/creators/me").json()["id"])


def _reads(app: FastAPI) -> DocumentReads:
    reads: DocumentReads = app.state.reads
    return reads


def _paths(database: Database) -> dict[str, tuple[int, int]]:
    with database.sessions() as db:
        return {p.path: (p.clean_streak, p.mismatches) for p in db.scalars(select(ShadowPath))}


def _creators_on_both_sides(app: FastAPI) -> tuple[Any, Any, str, str]:
    """A creator inside the 10% cohort and one outside it (sign-ups until there are both)."""
    inside = outside = None
    for n in range(80):
        client = new_client(app)
        sign_up(client, "creator", f"cohort{n:02d}")
        creator_id = _creator_id(client)
        if bucket_of(Flag.READ_FROM_MONGO, uuid.UUID(creator_id)) < 10:
            inside = inside or (client, creator_id)
        else:
            outside = outside or (client, creator_id)
        if inside and outside:
            return inside[0], outside[0], inside[1], outside[1]
    raise AssertionError("no creator fell inside the 10% cohort in 80 sign-ups")


def test_dual_write_backfill_verify_shadow_cutover_and_rollback(
    mongo_app: FastAPI, clean_db: Database, store: MongoStore
) -> None:
    app, database = mongo_app, clean_db
    admin = _admin(app, database)
    brand, creator, deal = accepted_deal(
        app, "Peakform", "maya", title="Band challenge", budget_cents=500_000, fee_cents=90_000
    )
    creator.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Draft attached for review."})
    brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Looks great, ship it."})
    inside, outside, inside_id, outside_id = _creators_on_both_sides(app)

    # Phase 1 -> 2: reads cannot move before anything is written, verified and shadowed.
    early = _flag(admin, "READ_FROM_MONGO", mode="percent", percent=10)
    assert early.status_code == 409, early.text
    assert _flag(admin, "USE_MONGO", mode="on").status_code == 200
    replicator = MongoReplicator(store)
    run_group(database, replicator)  # changes since USE_MONGO: none yet, the backfill copies the past
    for aggregate in AGGREGATES:
        assert backfill(database, store, aggregate.name, page=7).done
    inside.patch("/api/v1/creators/me", json={"bio": "changed while backfilling"})
    run_group(database, replicator)
    for aggregate in AGGREGATES:
        report = verify(database, store, aggregate.name)
        assert report.mismatches == 0, report.as_dict()
    still_early = _flag(admin, "READ_FROM_MONGO", mode="percent", percent=10)
    assert still_early.status_code == 409 and "shadow reads in a row" in still_early.json()["message"]

    # Shadow reads: Postgres answers, Mongo is compared off the response path.
    assert _flag(admin, "READ_FROM_MONGO", mode="off", shadow=True).status_code == 200
    for _ in range(6):
        assert inside.get(f"/api/v1/creators/{inside_id}").status_code == 200
        assert outside.get(f"/api/v1/creators/{outside_id}").status_code == 200
        messages = brand.get(f"/api/v1/deals/{deal['id']}/messages")
        assert [m["body"] for m in messages.json()] == ["Draft attached for review.", "Looks great, ship it."]
    _reads(app).wait_idle()
    assert {path: mismatches for path, (_, mismatches) in _paths(database).items()} == {
        "creator_profile": 0,
        "deal_messages": 0,
    }
    assert all(streak >= 5 for streak, _ in _paths(database).values())

    # Cutover of 10%: the cohort's reads come from Mongo (a marker written only there shows it).
    cut = _flag(admin, "READ_FROM_MONGO", mode="percent", percent=10, shadow=True)
    assert cut.status_code == 200, cut.text
    store.db["creators"].update_one({"_id": inside_id}, {"$set": {"bio": "served by mongo"}})
    store.db["creators"].update_one({"_id": outside_id}, {"$set": {"bio": "served by mongo"}})
    assert inside.get(f"/api/v1/creators/{inside_id}").json()["bio"] == "served by mongo"
    assert outside.get(f"/api/v1/creators/{outside_id}").json()["bio"] == ""  # Postgres, outside the cohort
    # The shadow comparison caught the difference: the path goes back to Postgres by itself.
    _reads(app).wait_idle()
    assert _paths(database)["creator_profile"] == (0, 2)
    time.sleep(0.6)  # the readiness cache
    assert inside.get(f"/api/v1/creators/{inside_id}").json()["bio"] == "changed while backfilling"
    grow = _flag(admin, "READ_FROM_MONGO", mode="percent", percent=20, shadow=True)
    assert grow.status_code == 409 and "creator_profile has 0 of 5" in grow.json()["message"]

    # Repair, then roll back: Postgres answers everyone and nothing was lost.
    assert verify(database, store, "creators", repair=True).repaired == 2
    assert _flag(admin, "READ_FROM_MONGO", mode="off", shadow=True).status_code == 200
    inside.patch("/api/v1/creators/me", json={"bio": "after the rollback"})
    assert inside.get(f"/api/v1/creators/{inside_id}").json()["bio"] == "after the rollback"
    run_group(database, replicator)
    for aggregate in AGGREGATES:
        assert verify(database, store, aggregate.name).mismatches == 0
    history = admin.get("/api/v1/admin/flags/READ_FROM_MONGO/history").json()
    assert [h["new"]["mode"] for h in history][:3] == ["off", "percent", "off"]


def test_dual_write_lag_is_not_a_mismatch(mongo_app: FastAPI, clean_db: Database, store: MongoStore) -> None:
    admin = _admin(mongo_app, clean_db)
    maya = new_client(mongo_app)
    sign_up(maya, "creator", "maya")
    maya_id = _creator_id(maya)
    _flag(admin, "USE_MONGO", mode="on")
    backfill(clean_db, store, "creators")
    _flag(admin, "READ_FROM_MONGO", mode="off", shadow=True)
    reads = _reads(mongo_app)
    reads.recheck_seconds = 1.0
    maya.patch("/api/v1/creators/me", json={"bio": "newer than Mongo's copy"})
    # Dual-write catches up while the comparison waits to look again.
    catch_up = threading.Timer(0.2, run_group, args=(clean_db, MongoReplicator(store)))
    catch_up.start()
    assert maya.get(f"/api/v1/creators/{maya_id}").json()["bio"] == "newer than Mongo's copy"
    catch_up.join()
    reads.wait_idle()
    with clean_db.sessions() as db:
        path = db.get(ShadowPath, "creator_profile")
        assert path is not None and (path.reads, path.lagged, path.mismatches) == (1, 1, 0)

    # Without dual-write catching up, the difference stays: a mismatch, named by id.
    reads.recheck_seconds = 0.1
    maya.patch("/api/v1/creators/me", json={"bio": "never copied"})
    maya.get(f"/api/v1/creators/{maya_id}")
    reads.wait_idle()
    with clean_db.sessions() as db:
        path = db.get(ShadowPath, "creator_profile")
        assert path is not None and (path.mismatches, path.last_mismatch_key) == (1, maya_id)


def test_a_read_served_by_mongo_falls_back_to_postgres_when_mongo_is_down(
    app: FastAPI, clean_db: Database, monkeypatch: Any
) -> None:
    maya = new_client(app)
    sign_up(maya, "creator", "maya")
    maya_id = uuid.UUID(_creator_id(maya))
    # As if READ_FROM_MONGO served everyone and the path had passed its trial, with Mongo gone.
    monkeypatch.setattr(shadow, "is_enabled", lambda flag, environ=None, *, subject=None: True)
    reads = DocumentReads(clean_db, MongoStore("mongodb://127.0.0.1:9", "gone", timeout_ms=200), cutover_reads=1)
    reads._ready, reads._ready_at = {"creator_profile": True}, time.monotonic() + 3600
    fallbacks = shadow.READS.labels("creator_profile", "fallback")._value.get()
    try:
        with clean_db.sessions() as db:
            doc = reads.read(db, "creator_profile", maya_id, maya_id)
        assert doc is not None and doc["handle"] == "maya"
        assert shadow.READS.labels("creator_profile", "fallback")._value.get() == fallbacks + 1
    finally:
        reads.close()
