"""Accounts: sessions and their rotation, passwords, resets, rate limits, API keys, logs."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, csrf_headers, log_in, new_client, sign_up
from veri.models.accounts import EmailOutbox, User, UserSession


def test_passwords_are_stored_as_argon2_hashes(app: FastAPI, db: Session) -> None:
    sign_up(new_client(app), "creator", "hashy")
    user = db.scalar(select(User).where(User.email == "hashy@example.com"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_email_is_case_insensitive_and_unique(app: FastAPI) -> None:
    sign_up(new_client(app), "creator", "casey")
    again = new_client(app).post(
        "/api/v1/auth/signup",
        json={
            "email": "CASEY@Example.com",
            "password": PASSWORD,
            "display_name": "C",
            "role": "creator",
            "handle": "casey2",
        },
    )
    assert again.status_code == 409
    assert again.json()["detail"] == [{"field": "email", "reason": "already registered"}]
    log_in(new_client(app), "Casey@EXAMPLE.com")


def test_signup_requires_the_profile_field_of_its_role(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/auth/signup",
        json={"email": "b@example.com", "password": PASSWORD, "display_name": "B", "role": "brand"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "brand_name", "reason": "is required for a brand account"}]
    r = client.post(
        "/api/v1/auth/signup",
        json={"email": "b@example.com", "password": PASSWORD, "display_name": "B", "role": "admin"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "role"


def test_failed_signup_leaves_nothing_behind(app: FastAPI, db: Session) -> None:
    sign_up(new_client(app), "creator", "taken")
    r = new_client(app).post(
        "/api/v1/auth/signup",
        json={
            "email": "other@example.com",
            "password": PASSWORD,
            "display_name": "O",
            "role": "creator",
            "handle": "taken",
        },
    )
    assert r.status_code == 409
    assert db.scalar(select(User).where(User.email == "other@example.com")) is None


def test_login_rotates_the_session_and_logout_ends_it(app: FastAPI) -> None:
    client = new_client(app)
    sign_up(client, "creator", "rota")
    first = client.cookies["veri_session"]
    log_in(client, "rota@example.com")
    second = client.cookies["veri_session"]
    assert first != second
    stale = new_client(app)
    stale.cookies.set("veri_session", first)
    assert stale.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/logout").status_code == 204
    replay = new_client(app)
    replay.cookies.set("veri_session", second)
    assert replay.get("/api/v1/auth/me").status_code == 401


def test_sessions_expire_and_are_purged(app: FastAPI, db: Session) -> None:
    from veri.identity.service import purge_expired_sessions

    client = new_client(app)
    sign_up(client, "creator", "expiring")
    live = new_client(app)
    sign_up(live, "creator", "staying")
    live_id = live.get("/api/v1/auth/me").json()["id"]
    for row in db.scalars(select(UserSession)):
        if str(row.user_id) != live_id:
            row.expires_at = row.created_at
    db.commit()
    assert client.get("/api/v1/auth/me").status_code == 401
    assert purge_expired_sessions(db) == 1
    db.commit()
    assert live.get("/api/v1/auth/me").status_code == 200


def test_password_change_logs_out_other_sessions(app: FastAPI) -> None:
    laptop = new_client(app)
    sign_up(laptop, "creator", "pat")
    phone = new_client(app)
    log_in(phone, "pat@example.com")
    r = laptop.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-secret"},
    )
    assert r.status_code == 204, r.text
    laptop.headers.update(csrf_headers(laptop))
    assert laptop.get("/api/v1/auth/me").status_code == 200
    assert phone.get("/api/v1/auth/me").status_code == 401
    log_in(new_client(app), "pat@example.com", "a-brand-new-secret")


def test_password_reset_by_token_from_the_outbox(app: FastAPI, db: Session) -> None:
    sign_up(new_client(app), "creator", "forgetful")
    anon = new_client(app)
    assert anon.post("/api/v1/auth/password-reset", json={"email": "forgetful@example.com"}).status_code == 202
    assert anon.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"}).status_code == 202
    mails = db.scalars(select(EmailOutbox)).all()
    assert [m.to_address for m in mails] == ["forgetful@example.com"]
    match = re.search(r"/password/reset/(\S+)", mails[0].body)
    assert match
    token = match.group(1)
    ok = anon.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "fresh-password-1"},
    )
    assert ok.status_code == 204
    reused = anon.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "fresh-password-2"},
    )
    assert reused.status_code == 422 and reused.json()["detail"][0]["field"] == "token"
    log_in(new_client(app), "forgetful@example.com", "fresh-password-1")


def test_login_is_rate_limited_per_account(app: FastAPI) -> None:
    sign_up(new_client(app), "creator", "target")
    attacker = new_client(app)
    statuses = [
        attacker.post("/api/v1/auth/login", json={"email": "target@example.com", "password": f"guess-{i}"}).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]
    blocked = attacker.post("/api/v1/auth/login", json={"email": "target@example.com", "password": PASSWORD})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers


def test_login_is_rate_limited_per_address(app: FastAPI) -> None:
    app.state.settings.security.login_max_failures_per_ip = 3
    client = new_client(app)
    for i in range(3):
        assert (
            client.post("/api/v1/auth/login", json={"email": f"u{i}@example.com", "password": "x"}).status_code == 401
        )
    assert client.post("/api/v1/auth/login", json={"email": "u9@example.com", "password": "x"}).status_code == 429


def test_api_keys_are_scoped_and_revocable(app: FastAPI) -> None:
    owner = new_client(app)
    sign_up(owner, "creator", "keyholder")
    read = owner.post("/api/v1/api-keys", json={"name": "reader", "scopes": ["read"]}).json()
    write = owner.post("/api/v1/api-keys", json={"name": "writer", "scopes": ["read", "write"]}).json()
    assert read["key"].startswith("veri_")
    listed = owner.get("/api/v1/api-keys").json()
    assert all("key" not in k and "key_hash" not in k for k in listed)

    machine = new_client(app)
    bearer = {"Authorization": f"Bearer {read['key']}"}
    assert machine.get("/api/v1/creators/me", headers=bearer).json()["handle"] == "keyholder"
    denied = machine.patch("/api/v1/creators/me", json={"bio": "x"}, headers=bearer)
    assert denied.status_code == 403 and "write" in denied.json()["message"]
    # Key clients need no CSRF token: they send no cookie.
    writer = {"Authorization": f"Bearer {write['key']}"}
    assert machine.patch("/api/v1/creators/me", json={"bio": "from a script"}, headers=writer).status_code == 200

    assert owner.delete(f"/api/v1/api-keys/{read['id']}").json()["revoked_at"] is not None
    assert machine.get("/api/v1/creators/me", headers=bearer).status_code == 401
    assert machine.get("/api/v1/creators/me", headers={"Authorization": "Bearer veri_nope_nope"}).status_code == 401


def test_passwords_never_reach_the_logs(app: FastAPI, capfd: pytest.CaptureFixture[str]) -> None:
    client = new_client(app)
    sign_up(client, "creator", "quiet")
    client.post("/api/v1/auth/login", json={"email": "quiet@example.com", "password": "wrong-password-xyz"})
    log_in(client, "quiet@example.com")
    client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "new-secret-password"},
    )
    out, err = capfd.readouterr()
    logs = out + err
    assert "login_succeeded" in logs  # the logs were captured at all
    for secret in (PASSWORD, "wrong-password-xyz", "new-secret-password"):
        assert secret not in logs


def test_secrets_are_encrypted_with_the_app_key() -> None:
    from veri.identity.security import SecretBox

    box = SecretBox("one-key")
    sealed = box.encrypt("oauth-refresh-token")
    assert "oauth-refresh-token" not in sealed
    assert box.decrypt(sealed) == "oauth-refresh-token"
    with pytest.raises(ValueError):
        SecretBox("another-key").decrypt(sealed)
