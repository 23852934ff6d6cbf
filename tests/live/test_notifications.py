"""Notifications: what the deals tell each party (with mail for an offer received), the centre's
API and page, and that nobody reaches anyone else's notifications."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.factories import accepted_deal, new_client, sign_up
from tests.live.helpers import Inbox, listening
from veri.db.engine import Database
from veri.errors import Invalid
from veri.live import service
from veri.live.broker import LiveMessage
from veri.live.postgres import PostgresBroker
from veri.models.accounts import EmailOutbox, User
from veri.models.live import Notification


def _notifications(client: TestClient, **params: str | int) -> dict[str, Any]:
    response = client.get("/api/v1/notifications", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _unread(client: TestClient) -> int:
    return int(client.get("/api/v1/notifications/unread-count").json()["unread"])


@pytest.fixture
def inbox(clean_db: Database) -> Iterator[Inbox]:
    """What the app publishes live (the embedded default: Postgres NOTIFY)."""
    with listening(PostgresBroker(clean_db.engine.url)) as received:
        yield received


def test_a_deal_tells_the_other_party(app: FastAPI, clean_db: Database, inbox: Inbox) -> None:
    brand, creator = new_client(app), new_client(app)
    brand_user = sign_up(brand, "brand", "lena")
    creator_user = sign_up(creator, "creator", "maya")
    campaign = brand.post("/api/v1/campaigns", json={"title": "Peak week", "budget_cents": 300_000}).json()
    brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"})

    # The creator applies: the brand is notified (and mailed: an offer received).
    deal = creator.post(
        "/api/v1/deals", json={"campaign_id": campaign["id"], "fee_cents": 90_000, "message": "Two reels?"}
    ).json()
    page = _notifications(brand)
    assert page["total"] == 1 and _unread(brand) == 1 and _unread(creator) == 0
    first = page["items"][0]
    assert first["kind"] == "deal.offer" and first["link"] == f"/deals/{deal['id']}"
    assert first["title"] == "@maya applied to Peak week for $900" and first["body"] == "Two reels?"
    with clean_db.sessions() as db:
        mails = db.scalars(select(EmailOutbox)).all()
    assert [(m.to_address, m.subject) for m in mails] == [("lena@example.com", "@maya applied to Peak week for $900")]
    assert f"/deals/{deal['id']}" in mails[0].body

    # Both open deal pages hear of the offer and of the message that came with it.
    heard: dict[str, LiveMessage] = {}
    while len(heard) < 3:
        message = inbox.get()
        heard[message.kind] = message
    assert set(heard) == {"deal.offer", "deal.message", "notification"}
    parties = {uuid.UUID(str(brand_user["id"])), uuid.UUID(str(creator_user["id"]))}
    assert set(heard["deal.offer"].user_ids) == parties == set(heard["deal.message"].user_ids)
    assert heard["deal.message"].data["body"] == "Two reels?" and heard["deal.message"].data["sender"] == "creator"
    assert heard["notification"].user_ids == (uuid.UUID(str(brand_user["id"])),)
    assert heard["notification"].data["unread"] == 1

    # The brand counters: the creator is notified and mailed; then writes, which is not mailed.
    r = brand.post(f"/api/v1/deals/{deal['id']}/counter", json={"fee_cents": 80_000, "message": "Could you do 800?"})
    assert r.status_code == 200, r.text
    r = brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Also, a story?"})
    assert r.status_code == 201, r.text
    items = _notifications(creator)["items"]
    assert [(n["kind"], n["title"]) for n in items] == [
        ("deal.message", "New message from Lena Co on Peak week"),
        ("deal.offer", "Lena Co counters with $800 on Peak week"),
    ]
    assert _unread(creator) == 2
    with clean_db.sessions() as db:
        assert db.scalar(select(func.count()).select_from(EmailOutbox)) == 2

    # The creator accepts: the brand hears it, without mail.
    assert creator.post(f"/api/v1/deals/{deal['id']}/accept", json={}).status_code == 200
    newest = _notifications(brand)["items"][0]
    assert (newest["kind"], newest["title"]) == ("deal.accepted", "@maya accepted the offer on Peak week")
    with clean_db.sessions() as db:
        assert db.scalar(select(func.count()).select_from(EmailOutbox)) == 2


def test_mark_read_one_and_all(app: FastAPI) -> None:
    brand, creator, deal = accepted_deal(app, "lena", "maya", title="Peak", budget_cents=100_000, fee_cents=50_000)
    for text in ("one", "two", "three"):
        assert brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": text}).status_code == 201
    assert _unread(creator) == 4  # the brand's acceptance, and three messages
    items = _notifications(creator, unread="true", limit=2)
    assert items["total"] == 4 and len(items["items"]) == 2
    newest = items["items"][0]["id"]

    r = creator.post(f"/api/v1/notifications/{newest}/read")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    again = creator.post(f"/api/v1/notifications/{newest}/read")  # harmless, the same time stays
    assert again.status_code == 200 and again.json()["read_at"] == r.json()["read_at"]
    assert _unread(creator) == 3
    assert _notifications(creator, unread="true")["total"] == 3
    assert _notifications(creator)["total"] == 4

    r = creator.post("/api/v1/notifications/read-all")
    assert r.status_code == 200 and r.json() == {"marked": 3, "unread": 0}
    assert creator.post("/api/v1/notifications/read-all").json() == {"marked": 0, "unread": 0}
    assert _unread(creator) == 0


def test_nobody_sees_or_marks_anyone_elses(app: FastAPI) -> None:
    brand, creator, deal = accepted_deal(app, "lena", "maya", title="Peak", budget_cents=100_000, fee_cents=50_000)
    brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "For Maya only"})
    mine = _notifications(creator)["items"][0]["id"]
    stranger = new_client(app)
    sign_up(stranger, "creator", "nosy")
    for other in (brand, stranger):
        assert _notifications(other)["total"] in (0, 1)  # the brand has its own (the acceptance), not Maya's
        assert all(n["id"] != mine for n in _notifications(other)["items"])
        r = other.post(f"/api/v1/notifications/{mine}/read")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert other.post("/api/v1/notifications/read-all").status_code == 200
    assert _unread(creator) >= 1  # nobody else's read-all touched it
    page = stranger.get("/notifications", headers={"accept": "text/html"})
    assert page.status_code == 200 and "For Maya only" not in page.text


def test_bad_input(app: FastAPI, client: TestClient) -> None:
    sign_up(client, "creator", "maya")
    r = client.post(f"/api/v1/notifications/{uuid.uuid4()}/read")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.post("/api/v1/notifications/not-a-uuid/read")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "notification_id"
    assert client.get("/api/v1/notifications?limit=0").status_code == 422
    assert client.get("/api/v1/notifications?unread=maybe").status_code == 422
    r = client.post("/notifications/not-a-uuid/read", headers={"accept": "text/html"})
    assert r.status_code in (403, 422)  # the page form needs its CSRF token first
    anon = new_client(app)
    for path in ("/api/v1/live", "/api/v1/notifications", "/api/v1/notifications/unread-count"):
        r = anon.get(path)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert anon.post("/api/v1/notifications/read-all").status_code == 401
    assert anon.get("/notifications", headers={"accept": "text/html"}, follow_redirects=False).status_code == 303


def test_notify_checks_what_it_keeps(clean_db: Database, app: FastAPI) -> None:
    someone = sign_up(new_client(app), "creator", "maya")
    user_id = uuid.UUID(str(someone["id"]))
    with clean_db.sessions() as db:
        for link in ("https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "/\\evil"):
            with pytest.raises(Invalid):
                service.notify(db, user_id=user_id, kind="x", title="t", link=link)
        with pytest.raises(Invalid):
            service.notify(db, user_id=user_id, kind="x", title="   ")
        with pytest.raises(Invalid):
            service.notify(db, user_id=user_id, kind="k" * 65, title="t")
        long = service.notify(db, user_id=user_id, kind="payout", title="Paid " + "x" * 300, body="b" * 5000)
        assert len(long.title) == 200 and long.title.endswith("…") and len(long.body) == 2000
        kept = service.notify(db, user_id=user_id, kind="payout", title="Paid", link="/earnings?x=1", email=True)
        assert kept.link == "/earnings?x=1"
        user = db.get(User, user_id)
        assert user is not None
        user.is_active = False  # a deactivated account gets no mail; the notification is kept
        service.notify(db, user_id=user_id, kind="payout", title="Paid again", email=True)
        assert db.scalar(select(func.count()).select_from(Notification)) == 3
        assert db.scalar(select(EmailOutbox.subject)) == "Paid"
        db.rollback()


def test_the_centre_page(app: FastAPI) -> None:
    brand, creator, deal = accepted_deal(app, "lena", "maya", title="Peak", budget_cents=100_000, fee_cents=50_000)
    brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "See you Friday <b>bold</b>"})
    page = creator.get("/notifications", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "New message from Lena Co on Peak" in page.text
    assert "See you Friday &lt;b&gt;bold&lt;/b&gt;" in page.text  # escaped, never HTML
    assert "data-unread-count" in page.text and "/static/js/live.js" in page.text
    notification = _notifications(creator)["items"][0]
    token = creator.cookies["veri_csrf"]
    r = creator.post(f"/notifications/{notification['id']}/open", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/deals/{deal['id']}"
    assert _unread(creator) == 1  # the brand's acceptance is still unread
    brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Another"})
    r = creator.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and _unread(creator) == 0
    landing = new_client(app).get("/", headers={"accept": "text/html"})
    assert "/static/js/live.js" not in landing.text  # nobody logged in: no stream
