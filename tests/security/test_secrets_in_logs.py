"""The logs of a full run hold no secret. A creator and a brand sign up, log out and in (API and
form), mistype a password, make and use an API key (and a wrong one), connect YouTube and Instagram
through the demo platform (PKCE, consent, callback), sync, have the tokens refreshed, get paid
through Stripe Connect (the SDK against the local fake, a signed webhook), change the password and
reset it by mail. Everything the process writes (structlog's JSON lines, and every stdlib log
record down to DEBUG) is captured; then every password, session id, CSRF token, API key, OAuth code,
verifier, state, access and refresh token, client and webhook secret, Fernet key, Stripe key and
signature, password hash and reset token of the run is looked for in it, and none is there.

(Instagram's token exchange and refresh take the access token and the client secret in the query
string, which the HTTP client logs at INFO with the URL: `veri.observability` keeps those loggers
to warnings.)"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.connectors.helpers import FAST, consent, query, start_demo
from tests.factories import PASSWORD, csrf_headers, free_port, make_settings, new_client, served, sign_up
from tests.ledger.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, sign
from tests.ledger.helpers import deal_to, run_ledger
from veri.app import create_app
from veri.config import ConnectorSettings, LedgerSettings
from veri.connectors.service import tokens_of
from veri.connectors.sync import SyncRunner
from veri.db.engine import Database
from veri.demo_platform import DemoPlatformServer
from veri.models.accounts import EmailOutbox, User
from veri.models.connectors import OAuthState, PlatformGrant, SyncState

NEW_PASSWORD = "plum-orchard-lantern-42"
RESET_PASSWORD = "violet-harbour-compass-77"
MISTYPED = "correct-horse-battery-stapler"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPlatformServer]:
    server = start_demo(tmp_path_factory.mktemp("demo-platform"), free_port())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stripe() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with served(fake.app()) as port:
        yield fake, f"http://127.0.0.1:{port}"


@pytest.fixture
def app(clean_db: Database, tmp_path: Path, demo: DemoPlatformServer, stripe: tuple[FakeStripe, str]) -> FastAPI:
    settings = make_settings(
        tmp_path,
        log_level="DEBUG",
        connectors=ConnectorSettings(demo_platform_port=demo.port, **FAST),
        ledger=LedgerSettings(
            payout_provider="stripe",
            stripe_api_key=SecretStr(API_KEY),
            stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
            stripe_api_base=stripe[1],
        ),
    )
    return create_app(settings, database=clean_db)


class Outside:
    """Marks the log records of what a person does outside Veri (their browser on the platform's
    consent page, which logs the URL it opens): not Veri's logs."""

    def __init__(self, caplog: pytest.LogCaptureFixture):
        self.caplog = caplog
        self.spans: list[range] = []

    @contextmanager
    def __call__(self) -> Iterator[None]:
        start = len(self.caplog.records)
        yield
        self.spans.append(range(start, len(self.caplog.records)))

    def veris(self) -> list[logging.LogRecord]:
        return [r for i, r in enumerate(self.caplog.records) if not any(i in span for span in self.spans)]


class Secrets:
    """Every secret the run handled, by what it is."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, name: str, value: str | None) -> None:
        assert value, f"the run produced no {name}"
        self.found[f"{name} ({len(self.found)})"] = value

    def cookies(self, client: TestClient, who: str) -> None:
        self.add(f"{who}'s session id", client.cookies.get("veri_session"))
        self.add(f"{who}'s CSRF token", client.cookies.get("veri_csrf"))


def _form_login(client: TestClient, email: str, password: str) -> int:
    client.get("/login", headers={"accept": "text/html"})
    client.headers.pop("X-CSRF-Token", None)  # the form's field carries it, as a browser sends it
    form = {"email": email, "password": password, "csrf_token": client.cookies["veri_csrf"]}
    answer = client.post("/login", data=form, headers={"accept": "text/html"}, follow_redirects=False)
    client.headers.update(csrf_headers(client))
    return answer.status_code


def _run(app: FastAPI, database: Database, fake: FakeStripe, secrets: Secrets, outside: Outside) -> None:
    settings = app.state.settings
    cipher = app.state.connectors.cipher

    # Accounts: sign-up, log-out, a mistyped password, log-in through the form.
    creator = new_client(app)
    sign_up(creator, "creator", "maya")
    secrets.cookies(creator, "creator")
    assert creator.post("/api/v1/auth/logout").status_code == 204
    assert _form_login(creator, "maya@example.com", MISTYPED) == 401
    assert _form_login(creator, "maya@example.com", PASSWORD) == 303
    secrets.cookies(creator, "creator")
    brand = new_client(app)
    sign_up(brand, "brand", "lena")
    secrets.cookies(brand, "brand")

    # API keys: one made and used, one that does not exist.
    key = creator.post("/api/v1/api-keys", json={"name": "script", "scopes": ["read", "write"]}).json()["key"]
    secrets.add("API key", key)
    script = new_client(app)
    assert script.get("/api/v1/creators/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    wrong = "veri_" + uuid.uuid4().hex + uuid.uuid4().hex
    secrets.add("wrong API key", wrong)
    assert script.get("/api/v1/creators/me", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401

    # Platforms connected through the demo platform (YouTube: tokens in headers; Instagram: in the
    # query string of its token exchanges), synced, their tokens refreshed.
    for platform, handle in (("youtube", "maya_fit"), ("instagram", "maya_ig")):
        started = creator.post(f"/api/v1/connectors/{platform}/start")
        assert started.status_code == 200, started.text
        with outside():
            back = query(consent(started.json()["authorize_url"], handle))
        secrets.add("OAuth authorization code", back["code"])
        secrets.add("OAuth state", back["state"])
        done = creator.post(
            f"/api/v1/connectors/{platform}/callback", json={"code": back["code"], "state": back["state"]}
        )
        assert done.status_code == 200, done.text
        account = uuid.UUID(done.json()["account_id"])
        assert SyncRunner(database, app.state.connectors).run_once().synced == 1
        with database.transaction() as db:
            grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == account))
            assert grant is not None
            first = tokens_of(grant, cipher)
            grant.expires_at = datetime.now(UTC) + timedelta(minutes=2)  # due for a refresh
            now = datetime.now(UTC)
            db.execute(update(SyncState).where(SyncState.social_account_id == account).values(requested_at=now))
        assert SyncRunner(database, app.state.connectors).run_once().synced == 1
        with database.sessions() as db:
            grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == account))
            assert grant is not None
            refreshed = tokens_of(grant, cipher)
        assert refreshed.access_token != first.access_token
        for tokens in (first, refreshed):
            secrets.add(f"{platform} access token", tokens.access_token)
            if tokens.refresh_token:  # Instagram has none: its long-lived token refreshes itself
                secrets.add(f"{platform} refresh token", tokens.refresh_token)
        secrets.add(f"{platform} access token as stored (encrypted)", grant.access_token)
        secrets.add(f"{platform} client secret", settings.connectors.client_secret(platform))
        secrets.add(f"{platform} webhook secret", settings.connectors.webhook_secret(platform))
    with database.sessions() as db:
        for verifier in db.scalars(select(OAuthState.code_verifier)):
            secrets.add("PKCE verifier", cipher.decrypt(verifier))
    for fernet_key in settings.connectors.connector_token_keys.get_secret_value().split(","):
        secrets.add("Fernet key", fernet_key)

    # Money: a completed deal, a payout through Stripe Connect, its signed webhook.
    deal_to(brand, creator, "completed", fee_cents=100_000)
    run_ledger(database)
    asked = creator.post(
        "/api/v1/payouts", json={"currency": "USD", "amount": "300.00"}, headers={"Idempotency-Key": "logs-1"}
    )
    assert asked.status_code == 201, asked.text
    payout = creator.get(f"/api/v1/payouts/{asked.json()['id']}").json()
    assert payout["status"] == "sent", payout
    body = fake.event(payout["provider_ref"], "payout.paid")
    signature = sign(body)
    answer = creator.post(
        "/api/v1/payouts/webhook",
        content=body,
        headers={"content-type": "application/json", "Stripe-Signature": signature},
    )
    assert answer.json()["result"] == "paid", answer.text
    secrets.add("Stripe API key", API_KEY)
    secrets.add("Stripe webhook secret", WEBHOOK_SECRET)
    secrets.add("Stripe signature", signature.split("v1=")[1])

    # Passwords: changed, then reset by mail (the link's token is a credential too).
    changed = creator.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code in (200, 204), changed.text
    secrets.cookies(creator, "creator")
    assert creator.post("/api/v1/auth/password-reset", json={"email": "maya@example.com"}).status_code == 202
    with database.sessions() as db:
        mail = db.scalars(select(EmailOutbox.body).order_by(EmailOutbox.created_at.desc())).first()
    assert mail is not None
    token = re.search(r"/password/reset/(\S+)", mail)
    assert token is not None
    secrets.add("password reset token", token.group(1))
    assert new_client(app).get(f"/password/reset/{token.group(1)}", headers={"accept": "text/html"}).status_code == 200
    reset = new_client(app).post(
        "/api/v1/auth/password-reset/confirm", json={"token": token.group(1), "new_password": RESET_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    again = new_client(app)
    assert again.post("/api/v1/auth/login", json={"email": "maya@example.com", "password": RESET_PASSWORD}).is_success
    secrets.cookies(again, "creator")
    assert again.post("/api/v1/auth/logout", headers=csrf_headers(again)).status_code == 204

    for password in (PASSWORD, MISTYPED, NEW_PASSWORD, RESET_PASSWORD):
        secrets.add("password", password)
    with database.sessions() as db:
        for password_hash in db.scalars(select(User.password_hash)):
            secrets.add("password hash", password_hash)
    secrets.add("the app's secret key", settings.security.secret_key)


def test_no_secret_reaches_the_logs_of_a_full_run(
    app: FastAPI,
    clean_db: Database,
    stripe: tuple[FakeStripe, str],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = Secrets()
    outside = Outside(caplog)
    _run(app, clean_db, stripe[0], secrets, outside)
    out, err = capfd.readouterr()
    # The test's own clients log their requests too (httpx, to http://testserver): not Veri's logs.
    records = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()}"
        for r in outside.veris()
        if "http://testserver/" not in r.getMessage()
    )
    logs = "\n".join((out, err, records))

    # The run was logged, as JSON lines: the log has something to hide things from.
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = {line.get("event") for line in lines}
    assert len(lines) > 50, err[-2000:]
    expected = {"user_created", "login_succeeded", "login_failed", "api_key_created", "platform_connected"}
    expected |= {"token_refreshed", "payout_sent", "payout_settled", "password_changed", "password_reset", "request"}
    assert expected <= events, sorted(e for e in events if e)

    leaked = [name for name, value in secrets.found.items() if value in logs]
    assert not leaked, f"in the logs: {leaked}"
