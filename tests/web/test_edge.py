"""What every request passes: a bug answers a clean 500 with a request id and keeps the
connection; security headers on every response; /metrics only for operators."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tests.factories import log_in, make_admin, new_client, served, sign_up
from veri.db.engine import Database


@pytest.fixture
def boom_port(app: FastAPI) -> Iterator[int]:
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with served(app) as port:
        yield port


def test_a_bug_is_a_clean_500_with_a_request_id_and_the_connection_survives(boom_port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", boom_port, timeout=10)
    connection.request("GET", "/boom")
    failed = connection.getresponse()
    body = failed.read().decode()
    request_id = failed.getheader("x-request-id")
    assert failed.status == 500 and request_id and request_id in body
    assert "RuntimeError" not in body and "a bug" not in body
    connection.request("GET", "/healthz")  # the same keep-alive connection
    alive = connection.getresponse()
    assert alive.status == 200 and alive.read()
    connection.request("GET", "/boom", headers={"accept": "text/html", "x-request-id": "trace-42"})
    page = connection.getresponse()
    assert page.status == 500 and "trace-42" in page.read().decode()
    connection.close()


def test_security_headers_on_pages_and_api(app: FastAPI) -> None:
    client = new_client(app)
    for path in ("/login", "/api/v1/campaigns", "/healthz"):
        headers = client.get(path, headers={"accept": "text/html"}).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self';" in headers["content-security-policy"]  # no inline scripts
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in headers  # development: plain HTTP
    assert "x-request-id" in client.get("/healthz").headers


def test_pages_carry_no_inline_script(app: FastAPI) -> None:
    """The Content-Security-Policy forbids inline scripts: no page may rely on one."""
    client = new_client(app)
    sign_up(client, "brand", "inline")
    for path in ("/brand", "/campaigns", "/creators", "/analytics", "/memories", "/settings"):
        html = client.get(path, headers={"accept": "text/html"}).text
        scripts = [part.split(">", 1)[0] for part in html.split("<script")[1:]]
        assert all("src=" in s or 'type="application/json"' in s for s in scripts), (path, scripts)
        assert " onclick=" not in html and " onchange=" not in html and " onload=" not in html


def test_metrics_are_for_operators_only(app: FastAPI, database: Database) -> None:
    anonymous = new_client(app)
    assert anonymous.get("/metrics").status_code == 401
    creator = new_client(app)
    sign_up(creator, "creator", "curious")
    assert creator.get("/metrics").status_code == 403
    make_admin(database, "ops@example.com")
    admin = new_client(app)
    log_in(admin, "ops@example.com")
    admin.get("/api/v1/campaigns/0d9d6b5e-1c1a-4a5e-9c58-2a0f2f7f6f6f")
    text = admin.get("/metrics").text
    # Labelled by route template: the id someone looked at is not in the series.
    assert 'route="/api/v1/campaigns/{campaign_id}"' in text and "0d9d6b5e" not in text

    from pydantic import SecretStr

    app.state.settings.security.metrics_token = SecretStr("scrape-me")
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    assert anonymous.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_answers_are_not_cached_but_assets_are_and_features_are_off(app: FastAPI) -> None:
    client = new_client(app)
    page = client.get("/", headers={"accept": "text/html"})
    assert page.headers["cache-control"] == "no-store"
    assert "camera=()" in page.headers["permissions-policy"]
    assert client.get("/healthz").headers["cache-control"] == "no-store"
    asset = client.get("/static/favicon.svg")
    assert asset.status_code == 200 and asset.headers.get("cache-control") != "no-store"
