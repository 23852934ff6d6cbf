"""The operator's migration page and its API: who may see it, what it shows without a MongoDB,
backfills and verifications as jobs (progress, one of a kind at a time, interrupted ones shown
and resumed), validation naming the field, flag steps refused with their reason; and in Chromium
the whole sequence as an operator clicks it, from PostgreSQL only to a 10% cutover and back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import (
    PASSWORD,
    log_in,
    make_admin,
    make_settings,
    new_client,
    open_test_database,
    served,
    sign_up,
    signup_body,
)
from tests.migration.conftest import mongo_app, mongo_url, store  # noqa: F401 (fixtures)
from veri import flags
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database
from veri.events.handlers import DependencyDown
from veri.migration import jobs
from veri.migration.service import backfill
from veri.migration.store import MongoStore
from veri.models.base import utcnow
from veri.models.migration import MigrationJob

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
API = "/api/v1/admin/migration"
VECTORS = "No MongoDB-protocol server installable here runs"


def _admin(app: FastAPI, database: Database) -> TestClient:
    make_admin(database)
    client = new_client(app)
    log_in(client, "root@example.com", PASSWORD)
    return client


def _form(client: TestClient, url: str, **values: str) -> str:
    """Post a form of the page as a browser does and return the page it lands on."""
    response = client.post(
        url, data={**values, "csrf_token": client.cookies["veri_csrf"]}, headers={"accept": "text/html"}
    )
    assert response.status_code == 200, response.text
    return response.text


def _start(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/jobs", json=body)
    assert response.status_code == 202, response.text
    job = dict(response.json())
    assert jobs.wait_for(uuid.UUID(job["id"]), timeout=60)
    return job


def _status(client: TestClient) -> dict[str, Any]:
    response = client.get(API)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _phase(status: dict[str, Any], aggregate: str, cohort: float = 100) -> str:
    return str(next(p["phase"] for p in status["phases"] if p["aggregate"] == aggregate and p["cohort"] == cohort))


def test_only_admins_see_it_and_every_form_needs_the_csrf_token(app: FastAPI, clean_db: Database) -> None:
    anonymous = new_client(app)
    page = anonymous.get("/admin/migration", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert anonymous.get(API).status_code == 401
    creator = new_client(app)
    sign_up(creator, "creator", "maya")
    assert creator.get("/admin/migration", headers={"accept": "text/html"}).status_code == 403
    assert creator.get(API).status_code == 403
    assert creator.post(f"{API}/jobs", json={"kind": "verify"}).status_code == 403
    admin = _admin(app, clean_db)
    del admin.headers["X-CSRF-Token"]  # a form from another site carries the cookies, never the token
    for action in ("dual-write", "shadow", "cutover", "rollback", "jobs"):
        forged = admin.post(f"/admin/migration/{action}", data={"reason": "forged", "percent": "100"})
        assert forged.status_code == 403, action
    with clean_db.sessions() as db:
        assert db.scalar(select(MigrationJob.id)) is None


def test_without_mongo_the_page_says_how_to_turn_it_on(app: FastAPI, clean_db: Database) -> None:
    admin = _admin(app, clean_db)
    page = admin.get("/admin/migration", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "make run MONGO=1" in page.text and VECTORS in page.text
    assert 'data-phase="postgres_only"' in page.text and "Start backfill" not in page.text
    status = _status(admin)
    assert status["configured"] is False and status["vector_search"]["available"] is False
    assert {p["phase"] for p in status["phases"]} == {"postgres_only"} and len(status["phases"]) == 4
    refused = admin.post(f"{API}/jobs", json={"kind": "backfill"})
    assert refused.status_code == 409 and "make run MONGO=1" in refused.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "copy"}, "kind"),
        ({"kind": "backfill", "aggregate": "orders"}, "aggregate"),
        ({"kind": "verify", "cohort": 0}, "cohort"),
        ({"kind": "verify", "cohort": 101}, "cohort"),
        ({"kind": "backfill", "page": 0}, "page"),
        ({"kind": "backfill", "pause": -1}, "pause"),
        ({"kind": "verify", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_jobs_are_422_naming_the_field(
    app: FastAPI, clean_db: Database, body: dict[str, Any], field: str
) -> None:
    admin = _admin(app, clean_db)
    response = admin.post(f"{API}/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_repair_only_with_a_verification(app: FastAPI, clean_db: Database) -> None:
    admin = _admin(app, clean_db)
    response = admin.post(f"{API}/jobs", json={"kind": "backfill", "repair": True})
    assert response.status_code == 422 and "repair" in response.json()["message"]


def test_backfill_and_verify_as_jobs_move_the_phase(
    mongo_app: FastAPI,  # noqa: F811
    clean_db: Database,
    store: MongoStore,  # noqa: F811
) -> None:
    admin = _admin(mongo_app, clean_db)
    for name in ("maya", "iris", "noor", "lena"):
        sign_up(new_client(mongo_app), "creator", name)
    status = _status(admin)
    assert status["configured"] and _phase(status, "creators") == "postgres_only"
    assert status["next_step"].startswith("Turn on dual-write")
    assert admin.put("/api/v1/admin/flags/USE_MONGO", json={"mode": "on", "reason": "phase 2"}).status_code == 200
    assert _phase(_status(admin), "creators") == "dual_write"

    # A slow backfill (a page of one, half a second apart) is running: a second one is refused.
    slow = admin.post(f"{API}/jobs", json={"kind": "backfill", "aggregate": "creators", "page": 1, "pause": 0.4})
    assert slow.status_code == 202, slow.text
    again = admin.post(f"{API}/jobs", json={"kind": "backfill"})
    assert again.status_code == 409 and "already running" in again.json()["message"]
    running = next(j for j in _status(admin)["jobs"] if j["id"] == slow.json()["id"])
    assert running["status"] == "running" and running["total"] == 4
    assert jobs.wait_for(uuid.UUID(slow.json()["id"]))
    done = next(j for j in _status(admin)["jobs"] if j["id"] == slow.json()["id"])
    assert (done["status"], done["progress"], done["result"]["copied"]) == ("done", 4, 4)
    status = _status(admin)
    creators = next(b for b in status["backfill"] if b["aggregate"] == "creators")
    assert creators["rows"] == 4 and creators["checkpoints"][0]["done"] and creators["checkpoints"][0]["position"] == 4
    assert _phase(status, "creators") == "backfilled" and _phase(status, "campaigns") == "dual_write"

    _start(admin, kind="backfill")
    verified = _start(admin, kind="verify")
    status = _status(admin)
    job = next(j for j in status["jobs"] if j["id"] == verified["id"])
    assert (job["status"], job["progress"], job["total"], job["result"]["mismatches"]) == ("done", 4, 4, 0)
    assert {p["phase"] for p in status["phases"]} == {"verified"} and status["verified_cohort"] == 100
    assert [v["mismatches"] for v in status["verifications"]] == [0, 0, 0, 0]
    assert status["next_step"].startswith("Turn on shadow reads")

    # A mismatch is listed by id on the page, and a verification with repair clears it.
    tampered = str(next(iter(store.ids("creators"))))
    store.db["creators"].update_one({"_id": tampered}, {"$set": {"bio": "tampered"}})
    _start(admin, kind="verify", aggregate="creators")
    status = _status(admin)
    assert status["verifications"][0]["differ"] == [tampered] and _phase(status, "creators") == "backfilled"
    page = admin.get("/admin/migration", headers={"accept": "text/html"}).text
    assert tampered in page and "differ" in page
    repaired = _start(admin, kind="verify", aggregate="creators", repair=True)
    assert next(j for j in _status(admin)["jobs"] if j["id"] == repaired["id"])["result"]["repaired"] == 1
    assert _phase(_status(admin), "creators") == "backfilled"  # a repair is not a clean check
    _start(admin, kind="verify", aggregate="creators")
    assert _phase(_status(admin), "creators") == "verified"


def test_an_interrupted_job_shows_as_such_and_the_backfill_resumes(
    mongo_app: FastAPI,  # noqa: F811
    clean_db: Database,
    store: MongoStore,  # noqa: F811
) -> None:
    admin = _admin(mongo_app, clean_db)
    for n in range(6):
        sign_up(new_client(mongo_app), "creator", f"creator{n}")
    # A backfill started from the page in a process that died after one page of two.
    first = backfill(clean_db, store, "creators", page=2, max_pages=1)
    assert (first.copied, first.done) == (2, False)
    stale = utcnow() - timedelta(seconds=jobs.STALE_SECONDS + 5)
    with clean_db.transaction() as db:
        dead = MigrationJob(
            kind="backfill",
            aggregate="creators",
            cohort=100.0,
            status="running",
            progress=2,
            result={"unit": "rows", "total": 6},
            started_by="root@example.com",
            started_at=stale,
            heartbeat_at=stale,
        )
        db.add(dead)
        db.flush()
        dead_id = str(dead.id)
    shown = next(j for j in _status(admin)["jobs"] if j["id"] == dead_id)
    assert shown["status"] == "interrupted"
    page = admin.get("/admin/migration", headers={"accept": "text/html"}).text
    assert "start it again to continue after its checkpoints" in page

    again = _start(admin, kind="backfill", aggregate="creators", page=2)
    result = next(j for j in _status(admin)["jobs"] if j["id"] == again["id"])["result"]
    creators = result["done"][0]
    assert creators["resumed_after"] and creators["copied"] == 4 and creators["read"] == 4 and creators["done"]
    with clean_db.sessions() as db:
        assert db.get(MigrationJob, uuid.UUID(dead_id)).status == "interrupted"  # type: ignore[union-attr]


def test_a_job_that_fails_says_why_and_does_not_block_the_next(
    mongo_app: FastAPI,  # noqa: F811
    clean_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = _admin(mongo_app, clean_db)
    sign_up(new_client(mongo_app), "creator", "maya")

    def down(*args: Any, **kwargs: Any) -> int:
        raise DependencyDown("MongoDB: connection refused")

    monkeypatch.setattr(mongo_app.state.reads.store, "insert_missing", down)
    failed = _start(admin, kind="backfill", aggregate="creators")
    shown = next(j for j in _status(admin)["jobs"] if j["id"] == failed["id"])
    assert shown["status"] == "failed" and shown["finished_at"]
    assert shown["error"] == "DependencyDown: MongoDB: connection refused"
    assert "DependencyDown: MongoDB: connection refused" in admin.get("/admin/migration").text
    monkeypatch.undo()
    done = _start(admin, kind="backfill", aggregate="creators")
    assert next(j for j in _status(admin)["jobs"] if j["id"] == done["id"])["result"]["copied"] == 1


def test_the_page_forms_go_through_the_flag_rules(
    mongo_app: FastAPI,  # noqa: F811
    clean_db: Database,
) -> None:
    admin = _admin(mongo_app, clean_db)
    sign_up(new_client(mongo_app), "creator", "maya")
    early = _form(admin, "/admin/migration/cutover", percent="10", reason="too early")
    assert "Refused: READ_FROM_MONGO unchanged" in early and "USE_MONGO does not write for" in early
    shadow = _form(admin, "/admin/migration/shadow", shadow="on", reason="compare")
    assert "Refused" in shadow and "it writes for none" in shadow
    invalid = _form(admin, "/admin/migration/dual-write", percent="150", reason="too much")
    assert "USE_MONGO unchanged: percent" in invalid
    short = _form(admin, "/admin/migration/dual-write", percent="50", reason="x")
    assert "USE_MONGO unchanged: reason" in short
    half = _form(admin, "/admin/migration/dual-write", percent="50", reason="half the creators")
    assert "Dual-write (USE_MONGO) now covers 50% of creators." in half
    assert 'id="stat-write">50%<' in half
    shadow = _form(admin, "/admin/migration/shadow", shadow="on", reason="compare")
    assert "Shadow reads on." in shadow
    unverified = _form(admin, "/admin/migration/cutover", percent="10", reason="canary")
    assert "the backfill is verified for 0% of creators" in unverified
    back = _form(admin, "/admin/migration/rollback", reason="rolled back from the page")
    assert "Rolled back: PostgreSQL serves every read (shadow reads stay on)." in back
    history = admin.get("/api/v1/admin/flags/READ_FROM_MONGO/history").json()
    assert [c["new"]["shadow"] for c in history] == [True, True]
    bad_job = _form(admin, "/admin/migration/jobs", kind="verify", cohort="0", aggregate="")
    assert "Not started: cohort" in bad_job
    with clean_db.sessions() as db:
        assert db.scalar(select(MigrationJob.id)) is None


# -- in Chromium ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migration_site(
    embedded_server: EmbeddedPostgres,
    mongo_url: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, FastAPI, Database]]:
    embedded_server.drop_database("veri_migration_browser")
    embedded_server.ensure_database("veri_migration_browser")
    database = open_test_database(embedded_server.url("veri_migration_browser"), embedded_server)
    settings = make_settings(tmp_path_factory.mktemp("migration-browser"))
    mongo = settings.mongo.model_copy(
        update={"mongo_url": mongo_url, "mongo_db": f"b{uuid.uuid4().hex[:10]}", "mongo_cutover_reads": 5}
    )
    app = create_app(settings.model_copy(update={"mongo": mongo}), database=database)
    with served(app) as port:
        yield f"http://127.0.0.1:{port}", app, database
    flags.uninstall()
    database.dispose()


def _person(url: str, role: str, name: str) -> httpx.Client:
    """Someone signed up on the served app, sending the CSRF header from now on."""
    client = httpx.Client(base_url=url, timeout=30)
    _ok(client.post("/api/v1/auth/signup", json=signup_body(role, name)))
    client.headers["X-CSRF-Token"] = client.cookies["veri_csrf"]
    return client


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, response.text
    return dict(response.json())


@pytest.mark.browser
def test_an_operator_moves_the_migration_forward_and_back_on_the_page(
    browser: Any, migration_site: tuple[str, FastAPI, Database]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # two cores shared with other suites: a page may take a while
    try:
        _operate(browser, *migration_site)
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the other browser tests


def _operate(browser: Any, url: str, app: FastAPI, database: Database) -> None:
    """As an admin in Chromium: each step clicked on the page, the phase followed, refusals read."""
    from playwright.sync_api import expect

    # The world before the migration: creators, a campaign, a deal with messages.
    brand, creator = _person(url, "brand", "peak"), _person(url, "creator", "maya")
    _person(url, "creator", "iris")
    campaign = _ok(brand.post("/api/v1/campaigns", json={"title": "Peak week", "budget_cents": 300_000}))
    _ok(brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"}))
    deal = _ok(creator.post("/api/v1/deals", json={"campaign_id": campaign["id"], "fee_cents": 90_000}))
    _ok(creator.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Two reels and a story?"}))
    _ok(brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Deal."}))
    creator_id = _ok(creator.get("/api/v1/creators/me"))["id"]
    make_admin(database)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    login = context.request.post(f"{url}/api/v1/auth/login", data={"email": "root@example.com", "password": PASSWORD})
    assert login.ok, login.text()
    page = context.new_page()
    page.goto(f"{url}/admin")
    page.get_by_role("link", name="the migration page").click()
    page.wait_for_url(f"{url}/admin/migration")
    creators = page.locator('tr[data-aggregate="creators"][data-cohort="100"]')
    flash = page.locator(".flash")
    expect(creators).to_have_attribute("data-phase", "postgres_only")
    expect(page.locator("#vector-search")).to_contain_text(f"{VECTORS} $vectorSearch: pgvector keeps serving vectors")

    def cut_over(percent: str, reason: str) -> None:
        page.get_by_label("Cutover percent").fill(percent)
        page.get_by_label("Cutover reason").fill(reason)
        page.get_by_role("button", name="Cut over", exact=True).click()
        page.wait_for_load_state()

    # Too early: nothing writes to Mongo yet.
    cut_over("10", "try it")
    expect(flash).to_contain_text("Refused: READ_FROM_MONGO unchanged")
    expect(flash).to_contain_text("USE_MONGO does not write for")

    page.get_by_label("Dual-write percent").fill("100")
    page.get_by_label("Dual-write reason").fill("phase 2 for everyone")
    page.get_by_role("button", name="Set dual-write").click()
    expect(flash).to_contain_text("Dual-write (USE_MONGO) now covers 100% of creators.")
    expect(creators).to_have_attribute("data-phase", "dual_write")

    page.get_by_role("button", name="Start backfill").click()
    expect(flash).to_contain_text("Backfill of every aggregate (100% cohort) started.")
    jobs_table = page.locator("#jobs")
    expect(jobs_table.locator('tr[data-status="done"]')).to_have_count(1, timeout=30_000)  # the page polls
    expect(creators).to_have_attribute("data-phase", "backfilled")

    cut_over("10", "still early")
    expect(flash).to_contain_text("the backfill is verified for 0% of creators")

    page.get_by_role("button", name="Start verification").click()
    expect(flash).to_contain_text("Verify of every aggregate (100% cohort) started.")
    expect(jobs_table.locator('tr[data-status="done"]')).to_have_count(2, timeout=30_000)
    expect(creators).to_have_attribute("data-phase", "verified")
    expect(page.locator('tr[data-aggregate="threads"][data-cohort="100"]')).to_have_attribute("data-phase", "verified")
    expect(page.locator("#verifications")).to_contain_text("creators")

    page.get_by_label("Shadow reason").fill("compare both stores")
    page.get_by_role("button", name="Shadow on").click()
    expect(flash).to_contain_text("Shadow reads on.")
    expect(creators).to_have_attribute("data-phase", "shadow")

    # The read paths have not passed their trial of 5 clean reads in a row: refused, with the reason.
    cut_over("10", "canary")
    expect(flash).to_contain_text("creator_profile has 0 of 5 shadow reads in a row without a mismatch")
    expect(creators).to_have_attribute("data-phase", "shadow")

    # Readers come by: every read is compared on both stores, off the response path.
    time.sleep(flags.REFRESH_SECONDS + 0.2)  # the served app follows the new rules
    for _ in range(6):
        assert creator.get(f"/api/v1/creators/{creator_id}").status_code == 200
        assert brand.get(f"/api/v1/deals/{deal['id']}/messages").status_code == 200
    app.state.reads.wait_idle()
    page.reload()
    for path in ("creator_profile", "deal_messages"):
        card = page.locator(f'article.path[data-path="{path}"]')
        expect(card).to_contain_text("passed its trial")
        expect(card.locator(".streak")).to_have_text("6 of 5")
    expect(page.locator("#next-step")).to_contain_text("Every read path passed its trial")

    cut_over("10", "first cohort")
    expect(flash).to_contain_text("Reads cut over: 10% served from Mongo.")
    expect(creators).to_have_attribute("data-phase", "serving")
    expect(creators).to_contain_text("serving 10% from Mongo")
    expect(page.locator("#stat-read")).to_have_text("10%")
    page.wait_for_function("document.querySelectorAll('#chart-latency .scatterlayer .trace').length === 4")
    page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "16-migration-page.png"), full_page=True)

    page.get_by_role("button", name="Roll back reads").click()
    expect(flash).to_contain_text("Rolled back: PostgreSQL serves every read (shadow reads stay on).")
    expect(creators).to_have_attribute("data-phase", "shadow")
    expect(page.locator("#stat-read")).to_have_text("0%")
    expect(page.locator("#flag-history li").first).to_contain_text("rolled back from the migration page")
    context.close()
