"""CSRF: every form post and every cookie-authenticated API write carries the token."""

from __future__ import annotations

from fastapi import FastAPI

from tests.factories import PASSWORD, new_client, sign_up


def test_form_post_without_or_with_a_wrong_token_is_refused(app: FastAPI) -> None:
    sign_up(new_client(app), "creator", "formy")
    browser = new_client(app)
    browser.get("/login")
    form = {"email": "formy@example.com", "password": PASSWORD}
    missing = browser.post("/login", data=form, headers={"accept": "text/html"}, follow_redirects=False)
    assert missing.status_code == 403
    wrong = browser.post(
        "/login",
        data={**form, "csrf_token": "forged"},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    ok = browser.post("/login", data={**form, "csrf_token": browser.cookies["veri_csrf"]}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/creator"


def test_csrf_token_rotates_at_login(app: FastAPI) -> None:
    sign_up(new_client(app), "creator", "rotor")
    browser = new_client(app)
    browser.get("/login")
    before = browser.cookies["veri_csrf"]
    browser.post(
        "/login",
        data={"email": "rotor@example.com", "password": PASSWORD, "csrf_token": before},
        follow_redirects=False,
    )
    assert browser.cookies["veri_csrf"] != before


def test_cookie_authenticated_api_writes_need_the_header(app: FastAPI) -> None:
    client = new_client(app)
    sign_up(client, "creator", "apiuser")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.patch("/api/v1/creators/me", json={"bio": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    assert client.get("/api/v1/creators/me").status_code == 200  # reads need no token
    accepted = client.patch("/api/v1/creators/me", json={"bio": "x"}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200


def test_logout_form_needs_the_token(app: FastAPI) -> None:
    client = new_client(app)
    sign_up(client, "creator", "leaver")
    client.headers.pop("X-CSRF-Token")
    assert client.post("/logout", headers={"accept": "text/html"}, follow_redirects=False).status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200


def test_every_rendered_form_carries_the_token(app: FastAPI) -> None:
    import re

    anon = new_client(app)
    anon.get("/login")
    client = new_client(app)
    sign_up(client, "creator", "pages")
    for c, paths in (
        (anon, ["/login", "/signup", "/password/forgot"]),
        (client, ["/settings", "/creator/profile", "/creator"]),
    ):
        for path in paths:
            html = c.get(path, headers={"accept": "text/html"}).text
            tokens = re.findall(r'name="csrf_token" value="([^"]*)"', html)
            assert tokens, path
            assert set(tokens) == {c.cookies["veri_csrf"]}, path
