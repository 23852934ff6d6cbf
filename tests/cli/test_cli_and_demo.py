"""The `veri` CLI against a real database, and the demo world it loads."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import log_in, new_client
from veri.cli import app as cli
from veri.config import get_settings
from veri.db.engine import Database
from veri.demo import DEMO_PASSWORD, load_demo
from veri.models import Campaign, ContentItem, Deal, MetricSnapshot, User


@pytest.fixture
def cli_env(clean_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> CliRunner:
    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()  # type: ignore[misc]
    get_settings.cache_clear()


def test_db_status_and_migrations(cli_env: CliRunner) -> None:
    result = cli_env.invoke(cli, ["db", "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout.strip().splitlines()[-1])
    assert status["up_to_date"] is True
    down = cli_env.invoke(cli, ["db", "downgrade", "base", "--json"])
    assert down.exit_code == 0 and json.loads(down.stdout.strip().splitlines()[-1])["current"] is None
    up = cli_env.invoke(cli, ["db", "upgrade", "--json"])
    assert up.exit_code == 0 and json.loads(up.stdout.strip().splitlines()[-1])["current"] == status["head"]


def test_create_admin(cli_env: CliRunner, db: Session) -> None:
    result = cli_env.invoke(
        cli,
        ["users", "create-admin", "--email", "Ops@Example.com", "--json"],
        input="a-long-admin-pass\na-long-admin-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["role"] == "admin"
    assert db.scalar(select(User.role).where(User.email == "ops@example.com")) == "admin"
    again = cli_env.invoke(
        cli,
        ["users", "create-admin", "--email", "ops@example.com"],
        input="a-long-admin-pass\na-long-admin-pass\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output
    weak = cli_env.invoke(cli, ["users", "create-admin", "--email", "x@example.com"], input="short\nshort\n")
    assert weak.exit_code == 2 and "password" in weak.output
    bad_email = cli_env.invoke(
        cli,
        ["users", "create-admin", "--email", "ops@host.local"],
        input="a-long-admin-pass\na-long-admin-pass\n",
    )
    assert bad_email.exit_code == 2 and "email" in bad_email.output


def test_every_demo_account_can_log_in(clean_db: Database, app: FastAPI) -> None:
    with clean_db.transaction() as session:
        load_demo(session)
        emails = list(session.scalars(select(User.email)))
    for email in emails:
        log_in(new_client(app), email, DEMO_PASSWORD)


def test_demo_world_has_every_state_and_loads_once(clean_db: Database) -> None:
    with clean_db.transaction() as session:
        summary = load_demo(session)
    assert summary.created and summary.users == 17
    with clean_db.transaction() as session:
        assert load_demo(session).created is False
    with clean_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 17
        campaign_states = Counter(session.scalars(select(Campaign.status)))
        deal_states = Counter(session.scalars(select(Deal.status)))
        assert set(campaign_states) == {"draft", "open", "active", "completed", "cancelled"}
        assert set(deal_states) == {
            "proposed",
            "accepted",
            "declined",
            "withdrawn",
            "delivered",
            "completed",
            "cancelled",
        }
        assert session.scalar(select(func.count()).select_from(ContentItem)) >= 24
        assert session.scalar(select(func.count()).select_from(MetricSnapshot)) >= 72


def test_demo_load_command(cli_env: CliRunner) -> None:
    result = cli_env.invoke(cli, ["demo", "load", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["created"] is True
