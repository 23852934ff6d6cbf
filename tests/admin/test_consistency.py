"""`veri check consistency`: a world whose consumers applied the log passes; a derived row
tampered with, or an event no group applied, is reported (and the check itself changes nothing)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import MetricsWorld, conversation, put, run_group
from veri import wiring
from veri.admin.consistency import check_consistency
from veri.cli import app as cli
from veri.config import get_settings
from veri.db.engine import Database
from veri.events.lanes import family_of


@pytest.fixture
def world(clean_db: Database) -> Database:
    # Every event of a creator on one subject (one partition): the replay's order is the workers'.
    put(clean_db, MetricsWorld.build(creators=2, posts=2, days=3).events)
    put(clean_db, conversation(uuid.uuid4()))
    for handler in wiring.replay_handlers():
        if family_of(handler) in ("analytics", "memory"):
            run_group(clean_db, handler)
    return clean_db


def _handlers() -> list[object]:
    return [h for h in wiring.replay_handlers() if family_of(h) in ("analytics", "memory")]


def _daily(database: Database) -> list[tuple[object, ...]]:
    with database.sessions() as db:
        return [tuple(r) for r in db.execute(text("SELECT * FROM analytics_daily ORDER BY 1, 2, 3"))]


def test_a_consistent_world_passes_and_is_left_as_it_was(world: Database) -> None:
    before = _daily(world)
    report = check_consistency(world, _handlers())  # type: ignore[arg-type]
    assert report.strictly_ok, report.as_dict()
    assert {c.family for c in report.coverage} == {"analytics", "memory"}
    assert all(c.events > 0 and c.applied == c.events for c in report.coverage)
    assert {t.table for t in report.tables} >= {"analytics_daily", "memories"}
    assert all(t.current_rows == t.replay_rows > 0 for t in report.tables if t.table in ("analytics_daily", "memories"))
    assert _daily(world) == before  # the replay was rolled back


def test_a_tampered_row_and_an_unapplied_event_are_reported(world: Database) -> None:
    with world.transaction() as db:
        db.execute(
            text(
                "UPDATE analytics_daily SET views = views + 7 WHERE (scope, scope_id, day) IN "
                "(SELECT scope, scope_id, day FROM analytics_daily WHERE views > 0 ORDER BY 1, 2, 3 LIMIT 1)"
            )
        )
        lost = db.execute(
            text(
                "DELETE FROM processed_events WHERE group_name = 'analytics' AND ctid IN "
                "(SELECT ctid FROM processed_events WHERE group_name = 'analytics' LIMIT 1) RETURNING event_id"
            )
        ).scalar_one()
    report = check_consistency(world, _handlers())  # type: ignore[arg-type]
    assert not report.ok
    daily = next(t for t in report.tables if t.table == "analytics_daily")
    assert (daily.changed, daily.missing, daily.extra, daily.order_sensitive) == (1, 0, 0, False)
    assert daily.examples[0]["columns"]["views"]["table"] == daily.examples[0]["columns"]["views"]["replay"] + 7
    analytics = next(c for c in report.coverage if c.family == "analytics")
    assert analytics.unapplied == 1 and analytics.examples == [str(lost)]
    assert next(c for c in report.coverage if c.family == "memory").ok


@pytest.fixture
def cli_env(world: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[CliRunner]:
    monkeypatch.setenv("VERI_DATABASE_URL", world.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_command_prints_json_and_exits_1_on_a_difference(world: Database, cli_env: CliRunner) -> None:
    ok = cli_env.invoke(cli, ["check", "consistency", "--group", "analytics", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.strip().splitlines()[-1])["ok"] is True
    with world.transaction() as db:
        db.execute(
            text("DELETE FROM analytics_content WHERE content_id IN (SELECT content_id FROM analytics_content LIMIT 1)")
        )
    bad = cli_env.invoke(cli, ["check", "consistency", "--group", "analytics", "--json"])
    assert bad.exit_code == 1, bad.output
    content = next(
        t for t in json.loads(bad.stdout.strip().splitlines()[-1])["tables"] if t["table"] == "analytics_content"
    )
    assert content["missing"] == 1 and content["examples"][0]["kind"] == "missing"
    unknown = cli_env.invoke(cli, ["check", "consistency", "--group", "nope"])
    assert unknown.exit_code == 2
