"""Creator retention by sign-up cohort: exact numbers on a hand-made log (a creator who churns,
one on a break, one who arrives later, one who never acts, real sign-ups), who may read it, bad
input, the CLI, and a simulated world through the real ingestion."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.factories import PASSWORD, admin_key, log_in, make_admin, new_client, sign_up
from veri.db.engine import Database
from veri.events.envelope import new_event_id
from veri.simulate.engine import Simulation, SimulationParams

URL = "/api/v1/analytics/retention"
BRAND = str(uuid.uuid4())


def event(type_: str, creator: str, at: datetime, *, actor: str, version: int = 1, **payload: Any) -> dict[str, Any]:
    """An event about `creator` (its subject and the payload's creator_id) caused by `actor`."""
    return {
        "id": str(new_event_id()),
        "type": type_,
        "version": version,
        "occurred_at": at.isoformat(),
        "subject": f"creator:{creator}",
        "actor": actor,
        "payload": {"creator_id": creator, **payload},
    }


def post(creator: str, at: datetime, *, actor: str) -> dict[str, Any]:
    return event(
        "content.published",
        creator,
        at,
        actor=actor,
        content_id=str(uuid.uuid4()),
        platform="tiktok",
        kind="short",
        published_at=at.isoformat(),
    )


def message(creator: str, at: datetime, *, sender: str) -> dict[str, Any]:
    return event(
        "message.sent",
        creator,
        at,
        actor=f"{sender}:{creator if sender == 'creator' else BRAND}",
        message_id=str(uuid.uuid4()),
        brand_id=BRAND,
        sender_role=sender,
        sender_name="Someone",
        text="hello",
    )


def deal(type_: str, creator: str, at: datetime, *, actor: str, **payload: Any) -> dict[str, Any]:
    refs: dict[str, Any] = {"deal_id": str(uuid.uuid4()), "campaign_id": str(uuid.uuid4()), "brand_id": BRAND}
    return event(type_, creator, at, actor=actor, **refs, **payload)


def metrics(creator: str, at: datetime) -> dict[str, Any]:
    return event(
        "content.metrics_snapshot",
        creator,
        at,
        actor="system:connector",
        version=2,
        content_id=str(uuid.uuid4()),
        platform="tiktok",
        captured_at=at.isoformat(),
        metrics={"play_count": 100},
    )


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


def hand_made_log() -> list[dict[str, Any]]:
    """Four creators who never signed up (imported, as the simulator's are), January to May 2026."""
    churner, on_break, later, idle = (str(uuid.uuid4()) for _ in range(4))
    return [
        # Active in January and February, then gone: what still names them is others' doing.
        post(churner, on(1, 10), actor=f"creator:{churner}"),
        message(churner, on(2, 3), sender="creator"),
        message(churner, on(3, 4), sender="brand"),
        deal("deal.created", churner, on(3, 4), actor=f"brand:{BRAND}", by="brand", fee_cents=1000),
        metrics(churner, on(4, 1)),
        # January, a break through February (a brand's invitation is not their doing), back in
        # March (accepting a deal), April (proof, whoever reported it) and May (a post on the
        # last evening of the month, UTC).
        post(on_break, on(1, 20), actor=f"creator:{on_break}"),
        deal("deal.created", on_break, on(2, 10), actor=f"brand:{BRAND}", by="brand", fee_cents=1000),
        deal(
            "deal.status_changed",
            on_break,
            on(3, 2),
            actor=f"creator:{on_break}",
            from_status="proposed",
            to_status="accepted",
            fee_cents=1000,
        ),
        event(
            "task.proof_submitted",
            on_break,
            on(4, 9),
            actor="system:import",
            task_id=str(uuid.uuid4()),
            kind="post_link",
            proof_url="https://proof.example/1",
        ),
        post(on_break, datetime(2026, 5, 31, 23, 30, tzinfo=UTC), actor="system:connector"),
        # First seen in March, applying to a deal (the payload says the creator did), then quiet:
        # a brand's counter-offer in May is not theirs.
        deal("deal.created", later, on(3, 15), actor="system:import", by="creator", fee_cents=2000),
        deal("deal.offer_made", later, on(5, 2), actor=f"brand:{BRAND}", by="brand", fee_cents=1500),
        # Named in January by a brand's message and never doing anything.
        message(idle, on(1, 25), sender="brand"),
        # After the window asked for below: not counted when it ends in May.
        post(churner, on(6, 1), actor=f"creator:{churner}"),
    ]


def ingest(client: TestClient, events: list[dict[str, Any]], key: str) -> None:
    for start in range(0, len(events), 1000):
        response = client.post(
            "/api/v1/events", json={"events": events[start : start + 1000]}, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 202, response.text[:500]


def test_exact_cohorts_from_a_hand_made_log(app: FastAPI, clean_db: Database) -> None:
    key = admin_key(app, clean_db)
    client = new_client(app)
    ingest(client, hand_made_log(), key)
    auth = {"Authorization": f"Bearer {key}"}

    body = client.get(URL, params={"months": 6, "end": "2026-05-20"}, headers=auth).json()
    assert (body["start"], body["end"], body["target"]) == ("2025-12-01", "2026-05-01", 0.35)
    assert body["through"] == "2026-05-31" and body["partial"] is False and body["creators"] == 4
    january, march = body["cohorts"]
    assert january["month"] == "2026-01-01" and january["size"] == 3
    assert january["active"] == [2, 1, 1, 1, 1]  # churner and on_break; churner; then on_break alone
    assert january["retention"] == pytest.approx([2 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert march == {"month": "2026-03-01", "size": 1, "active": [1, 0, 0], "retention": [1.0, 0.0, 0.0]}
    # Weighted by size over the cohorts old enough: offset 0 is (2 + 1) / 4, offset 3 is 1 / 3 (January's alone).
    assert body["average"] == pytest.approx([3 / 4, 1 / 4, 1 / 4, 1 / 3, 1 / 3])

    # The window: two months up to March leave January out; by default it ends with the latest
    # month in the log (June here), which is still running.
    short = client.get(URL, params={"months": 2, "end": "2026-03-01"}, headers=auth).json()
    assert [(c["month"], c["size"], c["active"]) for c in short["cohorts"]] == [("2026-03-01", 1, [1])]
    assert short["through"] == "2026-03-15" and short["partial"] is True
    latest = client.get(URL, headers=auth).json()
    assert latest["end"] == "2026-06-01" and latest["months"] == 12 and latest["partial"] is True
    assert latest["cohorts"][0]["active"] == [2, 1, 1, 1, 1, 1]  # the churner's June post
    empty = client.get(URL, params={"end": "2025-06-01"}, headers=auth).json()
    assert (empty["cohorts"], empty["average"], empty["creators"], empty["through"]) == ([], [], 0, None)


def test_real_sign_ups_count_from_their_sign_up_month(app: FastAPI, clean_db: Database) -> None:
    """Account creation dates the cohort, even with older imported history; the user's own acts
    count (accepting an invitation), signing up, editing a profile and being invited do not."""
    brand, active, idle = new_client(app), new_client(app), new_client(app)
    sign_up(brand, "brand", "cohortbrand")
    sign_up(active, "creator", "doer")
    sign_up(idle, "creator", "lurker")
    this_month = datetime.now(UTC).date().replace(day=1)
    assert idle.patch("/api/v1/creators/me", json={"bio": "hello"}).status_code == 200
    campaign = brand.post("/api/v1/campaigns", json={"title": "Spring", "budget_cents": 100_000}).json()
    assert brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"}).status_code == 200
    ids = {name: c.get("/api/v1/creators/me").json()["id"] for name, c in (("doer", active), ("lurker", idle))}
    invites = {
        name: brand.post(
            "/api/v1/deals", json={"campaign_id": campaign["id"], "creator_id": creator_id, "fee_cents": 30_000}
        ).json()
        for name, creator_id in ids.items()
    }
    assert active.post(f"/api/v1/deals/{invites['doer']['id']}/accept", json={}).status_code == 200
    key = admin_key(app, clean_db)
    admin = new_client(app)
    # History imported for the doer from three months before they signed up: not their cohort.
    ingest(admin, [post(ids["doer"], datetime.now(UTC) - timedelta(days=95), actor="system:import")], key)

    body = admin.get(URL, params={"months": 1}, headers={"Authorization": f"Bearer {key}"}).json()
    assert body["end"] == this_month.isoformat() and body["partial"] is True
    assert body["cohorts"] == [{"month": this_month.isoformat(), "size": 2, "active": [1], "retention": [0.5]}]


def test_only_admins_read_retention(app: FastAPI, clean_db: Database) -> None:
    creator, brand, anon = new_client(app), new_client(app), new_client(app)
    sign_up(creator, "creator", "curious")
    sign_up(brand, "brand", "nosybrand")
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com", PASSWORD)
    assert anon.get(URL).status_code == 401
    for client in (creator, brand):
        response = client.get(URL)
        assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert admin.get(URL).status_code == 200

    # The page: the section is the admin's alone, with its chart and table.
    page = admin.get("/analytics", params={"months": 6}, headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Creator retention by sign-up month" in page.text and 'id="retention-data"' in page.text
    assert 'id="chart-retention"' in page.text and '<table class="cohorts">' in page.text
    for client in (creator, brand):
        other = client.get("/analytics", headers={"accept": "text/html"})
        assert other.status_code == 200 and "Creator retention" not in other.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"months": 0}, "months"),
        ({"months": 1000}, "months"),
        ({"months": "twelve"}, "months"),
        ({"end": "2026-13-01"}, "end"),
        ({"end": "0001-01-01"}, "end"),
    ],
)
def test_bad_input_names_the_field(app: FastAPI, clean_db: Database, params: dict[str, Any], field: str) -> None:
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com", PASSWORD)
    response = admin.get(URL, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_the_cli_prints_a_table_or_json(
    app: FastAPI, clean_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from veri.cli import app as cli
    from veri.config import get_settings

    key = admin_key(app, clean_db)
    ingest(new_client(app), hand_made_log(), key)
    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(cli, ["analytics", "retention", "--months", "6", "--end", "2026-05", "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout.strip().splitlines()[-1])
        assert [(c["month"], c["active"]) for c in body["cohorts"]] == [
            ("2026-01-01", [2, 1, 1, 1, 1]),
            ("2026-03-01", [1, 0, 0]),
        ]
        table = runner.invoke(
            cli, ["analytics", "retention", "--months", "6", "--end", "2026-05"], env={"COLUMNS": "200"}
        )
        assert table.exit_code == 0, table.output
        assert "Jan 2026" in table.stdout and "67%" in table.stdout and "target 35%" in table.stdout
        bad = runner.invoke(cli, ["analytics", "retention", "--months", "0"])
        assert bad.exit_code == 2 and "--months" in bad.output
    finally:
        get_settings.cache_clear()


def expected_from(events: list[dict[str, Any]]) -> dict[date, tuple[int, dict[date, int]]]:
    """The definition, applied in Python to the raw events: cohort = the month a creator is first
    named; active = months with something they did themselves."""
    first: dict[str, datetime] = {}
    active: dict[str, set[date]] = defaultdict(set)
    for e in events:
        creator = e["payload"].get("creator_id")
        if creator is None:
            continue
        at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(UTC)
        first[creator] = min(at, first.get(creator, at))
        p, kind = e["payload"], e["type"]
        own = (
            kind in {"content.published", "task.proof_submitted"}
            or (kind == "message.sent" and p.get("sender_role") == "creator")
            or (kind in {"deal.created", "deal.offer_made"} and p.get("by") == "creator")
            or e["actor"].lower() == f"creator:{creator}"
        )
        if own:
            active[creator].add(at.date().replace(day=1))
    cohorts: dict[date, tuple[int, dict[date, int]]] = {}
    for creator, at in first.items():
        month = at.date().replace(day=1)
        size, months = cohorts.get(month, (0, {}))
        for m in active[creator]:
            if m >= month:
                months[m] = months.get(m, 0) + 1
        cohorts[month] = (size + 1, months)
    return cohorts


def test_a_simulated_world_shows_churn(app: FastAPI, clean_db: Database) -> None:
    """Played through POST /api/v1/events: the numbers are the definition's, and churn shows."""
    simulation = Simulation(SimulationParams(creators=80, brands=10, days=150, seed=8))
    events = [orjson.loads(line) for line in simulation.run()]
    key = admin_key(app, clean_db)
    client = new_client(app)
    ingest(client, events, key)

    body = client.get(URL, headers={"Authorization": f"Bearer {key}"}).json()
    assert body["end"] == "2026-06-01" and body["partial"] is True  # the world's last day is June 3
    expected = expected_from(events)
    got = {date.fromisoformat(c["month"]): c for c in body["cohorts"]}
    assert set(got) == set(expected) and body["creators"] == 80
    for month, (size, active) in expected.items():
        offsets = range(len(got[month]["active"]))
        months = [date(month.year + (month.month - 1 + k) // 12, (month.month - 1 + k) % 12 + 1, 1) for k in offsets]
        assert got[month]["size"] == size
        assert got[month]["active"] == [active.get(m, 0) for m in months]
    # Everyone starts in the first weeks; churners and breaks thin the later (complete) months.
    average = body["average"]
    assert len(average) == 6 and average[0] > 0.95
    assert average[4] < average[0] and min(average[1:5]) < 1.0

    # The admin's page shows it alone: none of these creators has a profile to pick.
    log_in(client, "ingest@example.com")
    page = client.get("/analytics", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'id="chart-retention"' in page.text and 'id="chart-views"' not in page.text
