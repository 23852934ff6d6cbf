"""Connecting a platform through Veri: start, the consent page, the callback; the `state` bound
to the session, single use and expiring; the PKCE verifier checked by the platform; tokens
encrypted at rest and never in a response or a log line; disconnect revokes at the platform."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.connectors.helpers import connect, consent, query
from tests.factories import new_client, sign_up
from veri.connectors.service import tokens_of
from veri.db.engine import Database
from veri.demo_platform import DemoPlatformServer
from veri.models.base import utcnow
from veri.models.connectors import OAuthState, PlatformGrant, SyncState
from veri.models.creators import SocialAccount


def _creator(app: FastAPI, name: str) -> Any:
    client = new_client(app)
    sign_up(client, "creator", name)
    return client


def _grant(database: Database, account_id: str) -> PlatformGrant:
    with database.sessions() as db:
        grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == uuid.UUID(account_id)))
        assert grant is not None
        return grant


def test_a_creator_connects_youtube_and_the_tokens_are_kept_encrypted(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    maya = _creator(app, "maya")
    connection = connect(maya, "youtube", "maya_fit")
    assert connection["platform"] == "youtube" and connection["handle"] == "maya_fit"
    assert connection["status"] == "connected" and connection["connected"] and connection["followers"] > 0
    listed = maya.get("/api/v1/connectors/accounts").json()
    assert [c["account_id"] for c in listed] == [connection["account_id"]]
    assert maya.get("/api/v1/social-accounts").json()[0]["status"] == "connected"
    assert "youtube" in maya.get("/api/v1/creators/me").json()["platforms"]

    grant = _grant(clean_db, connection["account_id"])
    tokens = tokens_of(grant, app.state.connectors.cipher)
    assert tokens.access_token and tokens.refresh_token
    assert tokens.access_token not in grant.access_token and grant.access_token.startswith("gAAAAA")  # Fernet
    # The demo platform accepts what Veri holds: it is the real grant.
    answer = httpx.get(
        f"{demo.url}/youtube/youtube/v3/channels",
        params={"part": "snippet", "mine": "true"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert answer.json()["items"][0]["snippet"]["customUrl"] == "@maya_fit"
    with clean_db.sessions() as db:
        state = db.get(SyncState, uuid.UUID(connection["account_id"]))
        assert state is not None and state.requested_at is not None  # a first sync is due at once


def test_the_state_works_once_for_its_session_for_its_platform_until_it_expires(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer, capfd: pytest.CaptureFixture[str]
) -> None:
    iris = _creator(app, "iris")

    def started(client: Any, platform: str = "tiktok") -> dict[str, str]:
        url = client.post(f"/api/v1/connectors/{platform}/start").json()["authorize_url"]
        return query(consent(url, "iris_dances"))

    def finish(client: Any, back: dict[str, str], platform: str = "tiktok") -> httpx.Response:
        return client.post(
            f"/api/v1/connectors/{platform}/callback", json={"code": back["code"], "state": back["state"]}
        )

    # A forged state: never issued.
    forged = started(iris) | {"state": "made-up-by-an-attacker"}
    refused = finish(iris, forged)
    assert refused.status_code == 400 and refused.json()["error"] == "oauth_refused"
    # Another session of the same person (or another person) cannot finish this one's connection.
    back = started(iris)
    other_session = new_client(app)
    other_session.post("/api/v1/auth/login", json={"email": "iris@example.com", "password": "correct-horse-battery"})
    other_session.headers["X-CSRF-Token"] = other_session.cookies["veri_csrf"]
    assert finish(other_session, back).status_code == 400
    thief = _creator(app, "thief")
    assert finish(thief, back).status_code == 400
    # The state of another platform.
    assert finish(iris, back, platform="youtube").status_code == 400
    # Its own session: once (the refused attempts above did not use it up: they could not).
    assert finish(iris, back).status_code == 200
    assert finish(iris, back).status_code == 400  # a reused state
    # An expired one.
    back = started(iris)
    with clean_db.transaction() as db:
        db.execute(
            update(OAuthState).where(OAuthState.used_at.is_(None)).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert finish(iris, back).status_code == 400
    logs = "".join(capfd.readouterr())
    for reason in ("unknown state", "state issued to another session", "state already used", "state expired"):
        assert reason in logs, reason
    assert "made-up-by-an-attacker" not in logs


def test_a_wrong_pkce_verifier_is_refused_by_the_platform(app: FastAPI, clean_db: Database) -> None:
    zed = _creator(app, "zed")
    url = zed.post("/api/v1/connectors/twitch/start").json()["authorize_url"]
    # The verifier Veri keeps for this state is swapped: the platform must say no.
    cipher = app.state.connectors.cipher
    with clean_db.transaction() as db:
        db.execute(update(OAuthState).values(code_verifier=cipher.encrypt("x" * 64)))
    back = query(consent(url, "zed_streams"))
    refused = zed.post("/api/v1/connectors/twitch/callback", json={"code": back["code"], "state": back["state"]})
    assert refused.status_code == 400 and "refused the connection" in refused.json()["message"]
    assert zed.get("/api/v1/connectors/accounts").json() == []


def test_a_denied_consent_connects_nothing(app: FastAPI, clean_db: Database) -> None:
    kim = _creator(app, "kim")
    url = kim.post("/api/v1/connectors/instagram/start").json()["authorize_url"]
    back = query(consent(url, "kim_eats", decision="deny"))
    answer = kim.post("/api/v1/connectors/instagram/callback", json={"state": back["state"], "error": back["error"]})
    assert answer.status_code == 400 and "access_denied" in answer.json()["message"]


def test_only_creators_connect_and_brands_see_no_connections(app: FastAPI, clean_db: Database) -> None:
    brand = new_client(app)
    sign_up(brand, "brand", "acme")
    assert brand.post("/api/v1/connectors/youtube/start").status_code == 403
    assert brand.get("/api/v1/connectors/accounts").status_code == 403
    assert new_client(app).post("/api/v1/connectors/youtube/start").status_code == 401
    assert new_client(app).post("/api/v1/connectors/myspace/start").status_code in (401, 422)


def test_tokens_never_reach_a_response_or_a_log_line(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer, capfd: pytest.CaptureFixture[str]
) -> None:
    from veri.connectors.sync import SyncRunner

    ola = _creator(app, "ola")
    bodies: list[str] = []
    started = ola.post("/api/v1/connectors/instagram/start")
    bodies.append(started.text)
    back = query(consent(started.json()["authorize_url"], "ola_paints"))
    done = ola.post("/api/v1/connectors/instagram/callback", json={"code": back["code"], "state": back["state"]})
    bodies.append(done.text)
    account = done.json()["account_id"]
    SyncRunner(clean_db, app.state.connectors).run_once()
    for path in ("/api/v1/connectors/accounts", "/api/v1/social-accounts", "/api/v1/content", "/api/v1/creators/me"):
        bodies.append(ola.get(path).text)
    bodies.append(ola.post(f"/api/v1/connectors/accounts/{account}/sync").text)
    bodies.append(ola.get("/creator/profile", headers={"accept": "text/html"}).text)
    grant = _grant(clean_db, account)
    tokens = tokens_of(grant, app.state.connectors.cipher)
    with clean_db.sessions() as db:
        verifier = app.state.connectors.cipher.decrypt(db.scalars(select(OAuthState.code_verifier)).one())
    secrets = {
        "access token": tokens.access_token,
        "authorization code": back["code"],
        "PKCE verifier": verifier,
        "client secret": app.state.settings.connectors.client_secret("instagram"),
    }
    logs = "".join(capfd.readouterr())
    assert "platform_connected" in logs and "connector_round" in logs  # the flow was logged...
    for name, secret in secrets.items():
        assert secret not in logs, f"the {name} reached the logs"  # ...without a secret
        for body in bodies:
            assert secret not in body, f"the {name} reached a response"
    ola.delete(f"/api/v1/connectors/accounts/{account}")
    assert tokens.access_token not in "".join(capfd.readouterr())


def test_disconnect_revokes_at_the_platform_and_reconnect_brings_the_account_back(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    noor = _creator(app, "noor")
    connection = connect(noor, "tiktok", "noor_cooks")
    tokens = tokens_of(_grant(clean_db, connection["account_id"]), app.state.connectors.cipher)
    assert noor.delete(f"/api/v1/connectors/accounts/{connection['account_id']}").status_code == 204
    revoked = httpx.get(
        f"{demo.url}/tiktok/v2/user/info/",
        params={"fields": "open_id"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert revoked.status_code == 401  # the platform no longer honours it
    listed = noor.get("/api/v1/connectors/accounts").json()
    assert listed[0]["status"] == "disconnected" and not listed[0]["connected"]
    with clean_db.sessions() as db:
        assert db.scalars(select(PlatformGrant)).all() == []
    again = connect(noor, "tiktok", "noor_cooks")
    assert again["account_id"] == connection["account_id"] and again["status"] == "connected"
    # Another creator cannot take the same platform account.
    other = _creator(app, "copycat")
    url = other.post("/api/v1/connectors/tiktok/start").json()["authorize_url"]
    back = query(consent(url, "noor_cooks"))
    taken = other.post("/api/v1/connectors/tiktok/callback", json={"code": back["code"], "state": back["state"]})
    assert taken.status_code == 409


def test_the_browser_callback_lands_on_the_profile_with_the_account_connected(app: FastAPI, clean_db: Database) -> None:
    leo = _creator(app, "leo")
    page = leo.get("/creator/profile", headers={"accept": "text/html"})
    assert "Connect YouTube" in page.text and "Connect Twitch" in page.text
    go = leo.post(
        "/creator/connections/youtube/connect",
        data={"csrf_token": leo.cookies["veri_csrf"]},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert go.status_code == 303 and "/youtube/o/oauth2/v2/auth?" in go.headers["location"]
    back = consent(go.headers["location"], "leo_lifts")
    assert back.startswith("http://testserver/connectors/youtube/callback?")
    landed = leo.get(back.removeprefix("http://testserver"), headers={"accept": "text/html"}, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/creator/profile"
    profile = leo.get("/creator/profile", headers={"accept": "text/html"})
    assert "YouTube account leo_lifts connected" in profile.text and "Sync now" in profile.text
    # The same link again: refused, with the error page.
    again = leo.get(back.removeprefix("http://testserver"), headers={"accept": "text/html"})
    assert again.status_code == 400


def test_rotating_the_keys_re_encrypts_every_token(app: FastAPI, clean_db: Database, tmp_path: Any) -> None:
    from veri.connectors.crypto import TokenCipher, new_key
    from veri.connectors.service import rotate_keys

    sam = _creator(app, "sam")
    connection = connect(sam, "youtube", "sam_sings")
    old_cipher = app.state.connectors.cipher
    before = tokens_of(_grant(clean_db, connection["account_id"]), old_cipher)
    old_key = app.state.settings.connectors.connector_token_keys.get_secret_value()
    fresh = new_key()
    rotated = TokenCipher.from_setting(f"{fresh},{old_key}")
    with clean_db.transaction() as db:
        assert rotate_keys(db, cipher=rotated) == 3  # the access and refresh tokens, the state's verifier
    with clean_db.transaction() as db:
        assert rotate_keys(db, cipher=rotated) == 0  # nothing left on the old key
    after = _grant(clean_db, connection["account_id"])
    assert tokens_of(after, TokenCipher([fresh])) == before  # the old key is no longer needed
    with clean_db.sessions() as db:
        assert db.scalar(select(SocialAccount.status)) == "connected"
