"""The security findings of the solid-ground probe, each closed: nobody can lock an owner out,
forwarded headers are not believed, weak passwords are refused, keys cannot mint keys, reset links
stay out of production logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.factories import PASSWORD, log_in, make_settings, new_client, sign_up
from veri.app import create_app
from veri.config import Settings
from veri.db.engine import Database


def _guess(client: object, email: str, times: int) -> list[int]:
    return [
        client.post("/api/v1/auth/login", json={"email": email, "password": f"guess-{i}"}).status_code  # type: ignore[attr-defined]
        for i in range(times)
    ]


def test_guessing_from_elsewhere_never_locks_the_owner_out(app: FastAPI) -> None:
    sign_up(new_client(app), "creator", "target")
    attacker = new_client(app, address="203.0.113.9")
    assert _guess(attacker, "target@example.com", 7) == [401] * 5 + [429, 429]
    blocked = attacker.post("/api/v1/auth/login", json={"email": "target@example.com", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    owner = new_client(app, address="198.51.100.7")
    log_in(owner, "target@example.com")  # the owner, from their own address, gets in


def test_throttling_grows_and_a_password_reset_clears_it(app: FastAPI, settings: Settings) -> None:
    from veri.identity.service import _pair_limits

    assert [n for n, _ in _pair_limits(settings.security)] == [5, 10, 20]
    assert [w for _, w in _pair_limits(settings.security)] == [15 * 60, 3600, 86_400]
    sign_up(new_client(app), "creator", "forgetful")
    me = new_client(app, address="192.0.2.1")
    _guess(me, "forgetful@example.com", 5)
    assert (
        me.post("/api/v1/auth/login", json={"email": "forgetful@example.com", "password": PASSWORD}).status_code == 429
    )
    # The way out: reset the password (the link comes by mail), which forgets the failures.
    me.post("/api/v1/auth/password-reset", json={"email": "forgetful@example.com"})
    from sqlalchemy import select

    from veri.models.accounts import EmailOutbox

    with app.state.db.sessions() as db:
        body = db.scalars(select(EmailOutbox)).one().body
    token = body.split("/password/reset/")[1].split()[0]
    assert (
        me.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "a-brand-new-secret"}
        ).status_code
        == 204
    )
    log_in(me, "forgetful@example.com", "a-brand-new-secret")


def test_forwarded_for_is_not_believed_by_default(app: FastAPI) -> None:
    app.state.settings.security.login_max_failures_per_ip = 3
    client = new_client(app)
    for i in range(3):
        spoofed = {"X-Forwarded-For": f"10.9.9.{i}"}
        client.post("/api/v1/auth/login", json={"email": f"u{i}@example.com", "password": "x"}, headers=spoofed)
    r = client.post(
        "/api/v1/auth/login", json={"email": "u9@example.com", "password": "x"}, headers={"X-Forwarded-For": "10.1.1.1"}
    )
    assert r.status_code == 429


def test_uvicorn_trusts_forwarded_headers_only_from_configured_proxies() -> None:
    from veri.cli.serve import uvicorn_proxy_options

    assert uvicorn_proxy_options([]) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert uvicorn_proxy_options(["10.0.0.5", "10.0.0.6"]) == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.0.0.6",
    }


@pytest.mark.parametrize("weak", ["password12", "1234567890", "qwertyuiop", "aaaaaaaaaaaa"])
def test_weak_passwords_are_refused_with_advice(app: FastAPI, weak: str) -> None:
    r = new_client(app).post(
        "/api/v1/auth/signup",
        json={"email": "w@example.com", "password": weak, "display_name": "W", "role": "creator", "handle": "weakling"},
    )
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["field"] == "password" and "too easy to guess" in detail["reason"]


def test_a_password_made_of_your_name_is_refused(app: FastAPI) -> None:
    r = new_client(app).post(
        "/api/v1/auth/signup",
        json={
            "email": "rosalind.franklin@example.com",
            "password": "rosalindfranklin",
            "display_name": "Rosalind Franklin",
            "role": "creator",
            "handle": "rosalind",
        },
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "password"


def test_api_keys_cannot_mint_keys_and_a_password_change_can_revoke_them(app: FastAPI) -> None:
    owner = new_client(app)
    sign_up(owner, "creator", "keys")
    secret = owner.post("/api/v1/api-keys", json={"name": "w", "scopes": ["read", "write"]}).json()["key"]
    script = new_client(app)
    bearer = {"Authorization": f"Bearer {secret}"}
    minted = script.post("/api/v1/api-keys", json={"name": "more", "scopes": ["write"]}, headers=bearer)
    assert minted.status_code == 403 and "session" in minted.json()["message"]
    key_id = owner.get("/api/v1/api-keys").json()[0]["id"]
    assert script.delete(f"/api/v1/api-keys/{key_id}", headers=bearer).status_code == 403
    assert script.get("/api/v1/creators/me", headers=bearer).status_code == 200
    changed = owner.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another-long-one", "revoke_api_keys": True},
    )
    assert changed.status_code == 204
    assert script.get("/api/v1/creators/me", headers=bearer).status_code == 401


@pytest.mark.parametrize("env", ["development", "production"])
def test_reset_links_reach_the_log_only_in_development(
    clean_db: Database, tmp_path: Path, env: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_settings(tmp_path, env=env), database=clean_db)
    sign_up(new_client(app), "creator", "mailbox")
    visitor = new_client(app)
    visitor.post("/api/v1/auth/password-reset", json={"email": "mailbox@example.com"})
    with clean_db.sessions() as db:
        from sqlalchemy import select

        from veri.models.accounts import EmailOutbox

        token = db.scalars(select(EmailOutbox)).one().body.split("/password/reset/")[1].split()[0]
    # Opening the link and using it: the request log must not carry the token either.
    visitor.get(f"/password/reset/{token}", headers={"accept": "text/html"})
    visitor.post(f"/password/reset/{token}", data={"new_password": "x"}, headers={"accept": "text/html"})
    logs = "".join(capfd.readouterr())
    assert "email_outbox" in logs and '"path": "/password/reset/{token}"' in logs
    assert (token in logs) == (env == "development")


def test_production_cookies_are_secure_and_hsts_is_on(clean_db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, env="production")
    assert settings.security.cookie_secure
    client = new_client(create_app(settings, database=clean_db))
    assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    r = client.post(
        "/api/v1/auth/signup",
        json={"email": "s@example.com", "password": PASSWORD, "display_name": "S", "role": "creator", "handle": "s"},
    )
    assert "secure" in r.headers["set-cookie"].lower()


def test_asking_which_emails_have_accounts_is_throttled(app: FastAPI) -> None:
    for name in ("taken0", "taken1"):
        sign_up(new_client(app), "creator", name)
    prober = new_client(app, address="203.0.113.50")
    body = {"password": PASSWORD, "display_name": "P", "role": "creator"}
    answers = [
        prober.post(
            "/api/v1/auth/signup", json={**body, "email": f"taken{i % 2}@example.com", "handle": f"probe{i}"}
        ).status_code
        for i in range(6)
    ]
    assert answers == [409] * 5 + [429]
    # A person signing up from elsewhere is not affected; password reset never tells.
    fresh = new_client(app, address="198.51.100.60").post(
        "/api/v1/auth/signup", json={**body, "email": "new@example.com", "handle": "newbie"}
    )
    assert fresh.status_code == 201
    for email in ("taken0@example.com", "nobody@example.com"):
        assert prober.post("/api/v1/auth/password-reset", json={"email": email}).json() == {
            "status": "if the address is registered, a reset link is on its way"
        }


def test_guessing_the_current_password_is_throttled(app: FastAPI) -> None:
    """A stolen session must not become a way to guess the password: wrong current passwords
    count like failed log-ins, and then even the right one waits."""
    thief = new_client(app)
    sign_up(thief, "creator", "guarded")
    answers = [
        thief.post(
            "/api/v1/auth/password",
            json={"current_password": f"guess-{i}", "new_password": "a brand new secret phrase"},
        ).status_code
        for i in range(6)
    ]
    assert answers == [422] * 5 + [429]
    right = thief.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new secret phrase"}
    )
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def test_reset_requests_are_throttled_without_telling(app: FastAPI, clean_db: Database) -> None:
    """Nobody can flood an inbox: three mails an hour per address, answered the same way after;
    and one client cannot scan for accounts: 20 requests an hour, then 429."""
    from sqlalchemy import func, select

    from veri.models.accounts import EmailOutbox

    sign_up(new_client(app), "creator", "flooded")
    someone = new_client(app, address="203.0.113.77")
    answers = [
        someone.post("/api/v1/auth/password-reset", json={"email": "flooded@example.com"}).status_code for _ in range(5)
    ]
    assert answers == [202] * 5
    with clean_db.sessions() as db:
        assert db.scalar(select(func.count()).select_from(EmailOutbox)) == 3
    scanner = new_client(app, address="203.0.113.78")
    answers = [
        scanner.post("/api/v1/auth/password-reset", json={"email": f"who{i}@example.com"}).status_code
        for i in range(21)
    ]
    assert answers == [202] * 20 + [429]
    # The page answers the same way (a form error, not a crash).
    scanner.get("/password/forgot", headers={"accept": "text/html"})
    form = {"email": "x@example.com", "csrf_token": scanner.cookies["veri_csrf"]}
    page = scanner.post("/password/forgot", data=form, headers={"accept": "text/html"})
    assert page.status_code == 429 and "too many password reset requests" in page.text


def test_a_reset_token_stays_out_of_the_log_whatever_the_path(
    clean_db: Database, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_settings(tmp_path, env="production"), database=clean_db)
    visitor = new_client(app)
    token = "Zm9vYmFyYmF6cXV4c2VjcmV0dG9rZW4"
    for path in (f"/password/reset/{token}/", f"/password/reset/{token}/extra"):
        visitor.get(path, headers={"accept": "text/html"}, follow_redirects=False)
    logs = "".join(capfd.readouterr())
    assert '"path": "/password/reset/{token}"' in logs
    assert token not in logs
