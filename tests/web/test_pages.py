"""The web pages through their forms: errors re-render the form, successes redirect."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, make_admin, new_client
from veri.db.engine import Database

HTML = {"accept": "text/html"}


def browser(app: FastAPI) -> TestClient:
    client = new_client(app)
    client.get("/login", headers=HTML)
    return client


def post_form(client: TestClient, url: str, data: dict[str, object]) -> object:
    return client.post(
        url,
        data={**data, "csrf_token": client.cookies["veri_csrf"]},
        headers=HTML,
        follow_redirects=False,
    )


def test_signup_form_shows_errors_next_to_fields_and_keeps_input(app: FastAPI) -> None:
    client = browser(app)
    r = post_form(
        client,
        "/signup",
        {
            "role": "creator",
            "display_name": "Zoe",
            "email": "zoe@",
            "password": "short",
            "handle": "zoe",
        },
    )
    assert r.status_code == 422  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert 'id="e-email"' in text and 'id="e-password"' in text and 'value="Zoe"' in text
    assert "short" not in text.split('id="f-password"')[1][:80]  # the password is not echoed back


def test_creator_signs_up_edits_profile_and_applies(app: FastAPI) -> None:
    brand = browser(app)
    r = post_form(
        brand,
        "/signup",
        {
            "role": "brand",
            "display_name": "Bea",
            "email": "bea@example.com",
            "password": PASSWORD,
            "brand_name": "Beacon",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/brand"  # type: ignore[attr-defined]
    r = post_form(
        brand,
        "/campaigns/new",
        {
            "title": "Glow up",
            "budget": "2,500",
            "niches": "beauty, skincare",
            "platforms": "tiktok",
            "deliverable_kind": "short",
            "deliverable_platform": "tiktok",
            "deliverable_quantity": "2",
            "publish": "1",
        },
    )
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    campaign_url = r.headers["location"]  # type: ignore[attr-defined]
    page = brand.get(campaign_url, headers=HTML)
    assert "Glow up" in page.text and "$2,500" in page.text and "open" in page.text

    creator = browser(app)
    r = post_form(
        creator,
        "/signup",
        {
            "role": "creator",
            "display_name": "Cy",
            "email": "cy@example.com",
            "password": PASSWORD,
            "handle": "cy.makes",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/creator"  # type: ignore[attr-defined]
    r = post_form(
        creator,
        "/creator/profile",
        {
            "display_name": "Cy",
            "bio": "Skincare nerd",
            "niches": "beauty",
            "platforms": "tiktok",
            "audience_size": "-3",
        },
    )
    assert r.status_code == 422 and 'id="e-audience_size"' in r.text  # type: ignore[attr-defined]
    r = post_form(
        creator,
        "/creator/profile",
        {
            "display_name": "Cy",
            "bio": "Skincare nerd",
            "niches": "beauty",
            "platforms": "tiktok",
            "audience_size": "42000",
        },
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "Glow up" in creator.get("/campaigns", headers=HTML).text
    r = post_form(creator, f"{campaign_url}/apply", {"fee": "abc"})
    assert r.status_code == 422 and 'id="e-fee"' in r.text  # type: ignore[attr-defined]
    r = post_form(creator, f"{campaign_url}/apply", {"fee": "900", "message": "Love it"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    deal_url = r.headers["location"]  # type: ignore[attr-defined]
    assert "Love it" in creator.get(deal_url, headers=HTML).text

    r = post_form(brand, f"{deal_url}/act", {"action": "counter", "fee": "800", "message": "Tight budget"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    r = post_form(creator, f"{deal_url}/act", {"action": "accept"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "$800" in creator.get("/creator", headers=HTML).text
    wrong = post_form(creator, f"{deal_url}/act", {"action": "complete"})
    assert wrong.status_code == 409 and "cannot complete" in wrong.text  # type: ignore[attr-defined]


def test_login_page_errors_and_open_redirects(app: FastAPI, clean_db: Database) -> None:
    make_admin(clean_db)
    client = browser(app)
    bad = post_form(client, "/login", {"email": "root@example.com", "password": "wrong"})
    assert bad.status_code == 401 and "email or password is wrong" in bad.text  # type: ignore[attr-defined]
    r = post_form(
        client,
        "/login",
        {"email": "root@example.com", "password": PASSWORD, "next": "//evil.example/"},
    )
    assert r.headers["location"] == "/admin"  # type: ignore[attr-defined]
    page = client.get("/admin", headers=HTML).text
    for flag in ("USE_MONGO", "READ_FROM_MONGO", "HYBRID_SEARCH", "MEMORY_DECAY"):
        assert flag in page
    assert "root@example.com" in page


def test_settings_page_creates_and_revokes_api_keys(app: FastAPI) -> None:
    client = browser(app)
    post_form(
        client,
        "/signup",
        {
            "role": "creator",
            "display_name": "Kit",
            "email": "kit@example.com",
            "password": PASSWORD,
            "handle": "kit",
        },
    )
    r = client.post(
        "/settings/api-keys",
        data={
            "name": "cron",
            "scopes": ["read", "write"],
            "csrf_token": client.cookies["veri_csrf"],
        },
        headers=HTML,
    )
    assert r.status_code == 200 and 'id="new-key"' in r.text
    key = r.text.split('id="new-key">')[1].split("<")[0]
    assert new_client(app).get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_forgot_password_page_does_not_reveal_accounts(app: FastAPI) -> None:
    client = browser(app)
    known = post_form(client, "/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == 200 and "If that address has an account" in known.text  # type: ignore[attr-defined]


def test_only_a_brand_invites_and_only_to_its_own_campaigns(app: FastAPI, database: Database) -> None:
    from tests.factories import log_in, sign_up

    creator = new_client(app)
    sign_up(creator, "creator", "invitee")
    creator_id = creator.get("/api/v1/creators/me").json()["id"]
    owner, other = new_client(app), new_client(app)
    sign_up(owner, "brand", "owner")
    sign_up(other, "brand", "other")
    campaign = owner.post("/api/v1/campaigns", json={"title": "Owned", "budget_cents": 50_000}).json()
    owner.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"})
    make_admin(database, "ops@example.com")
    admin = new_client(app)
    log_in(admin, "ops@example.com")

    form = {"campaign_id": campaign["id"], "fee": "300", "message": "hi"}
    for outsider in (creator, admin):
        assert post_form(outsider, f"/creators/{creator_id}/invite", form).status_code == 403  # type: ignore[attr-defined]
    stolen = post_form(other, f"/creators/{creator_id}/invite", form)
    assert stolen.status_code == 422 and "no such campaign" in stolen.text  # type: ignore[attr-defined]
    assert other.get("/api/v1/deals").json()["total"] == 0
    bad = post_form(owner, f"/creators/{creator_id}/invite", {**form, "fee": "inf"})
    assert bad.status_code == 422 and 'id="e-fee"' in bad.text  # type: ignore[attr-defined]
    sent = post_form(owner, f"/creators/{creator_id}/invite", form)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/deals/")  # type: ignore[attr-defined]
    again = post_form(owner, f"/creators/{creator_id}/invite", form)
    assert again.status_code == 422  # already on that campaign: the form says so
    assert creator.get("/api/v1/deals").json()["items"][0]["fee_cents"] == 30_000
