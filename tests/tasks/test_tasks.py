"""Tasks end to end through the API and the real `scoring` group: a brand sets a task, the
creator submits proof once, it verifies automatically from the platform's numbers or through
the review queue, and points follow; bad input and other people's proofs are refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from tests.factories import accepted_deal, count, log_in, make_admin, new_client, run_group, sign_up
from veri.config import get_settings
from veri.db.engine import Database
from veri.models.accounts import EmailOutbox
from veri.scoring.boards import Leaderboards
from veri.scoring.handlers import ScoringHandler
from veri.scoring.service import rebuild


def _now() -> datetime:
    return datetime.now(UTC)


def _png(seed: int = 1, size: tuple[int, int] = (320, 200)) -> bytes:
    """A screenshot-like image with structure (a blank image proves nothing)."""
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x = (seed * 37 + i * 53) % size[0]
        draw.rectangle([x, i * 15, x + 40 + seed * 3, i * 15 + 10], fill=((seed * 70) % 255, 40 + i * 10, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _score(database: Database) -> None:
    """Run the scoring group twice: verdicts are events the group then turns into points."""
    handler = ScoringHandler(Leaderboards(None))
    run_group(database, handler)
    run_group(database, handler)


def _post(creator: TestClient, deal: dict[str, Any], url: str, title: str = "Morning run #peakform") -> dict[str, Any]:
    response = creator.post(
        "/api/v1/content",
        json={
            "platform": "youtube",
            "external_id": url[-8:],
            "kind": "video",
            "title": title,
            "url": url,
            "published_at": _now().isoformat(),
            "deal_id": deal["id"],
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _views(creator: TestClient, content_id: str, views: int, likes: int) -> None:
    response = creator.post(
        f"/api/v1/content/{content_id}/metrics",
        json={"captured_at": _now().isoformat(), "views": views, "likes": likes},
    )
    assert response.status_code == 201, response.text


def test_a_views_task_verifies_itself_from_the_platforms_numbers(app: FastAPI, clean_db: Database) -> None:
    brand, creator, deal = accepted_deal(app, "peak", "maya", title="Spring", budget_cents=100_000, fee_cents=50_000)
    due = (_now() + timedelta(days=7)).isoformat()
    task = brand.post(
        "/api/v1/tasks",
        json={
            "kind": "views",
            "title": "Reach 10k views",
            "deal_id": deal["id"],
            "views_target": 10_000,
            "due_at": due,
        },
    )
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    assert [t["id"] for t in creator.get("/api/v1/tasks").json() if t["brand_id"]] == [task_id]

    post = _post(creator, deal, "https://youtube.example/watch?v=abc12345")
    _views(creator, post["id"], 4_000, 300)
    proof = creator.post(f"/api/v1/tasks/{task_id}/proof", json={"post_url": post["url"], "claimed_views": 4_000})
    assert proof.status_code == 201, proof.text
    _score(clean_db)
    mine = creator.get(f"/api/v1/tasks/{task_id}").json()["mine"]
    assert mine["status"] == "pending" and "4,000 of 10,000" in mine["reason"]

    _views(creator, post["id"], 12_500, 900)
    _score(clean_db)
    mine = creator.get(f"/api/v1/tasks/{task_id}").json()["mine"]
    assert mine["status"] == "verified", mine
    progress = creator.get("/api/v1/me/progress").json()
    assert progress["points"] == 50
    assert progress["ledger"][0]["reason"] == "task verified"
    assert progress["veriscore"] is not None and 0 <= progress["veriscore"] <= 1000
    assert set(progress["breakdown"]) == {"reliability", "engagement", "roi", "responsiveness", "verification"}
    # The creator was told, in the app and by email.
    notes = creator.get("/api/v1/notifications").json()["items"]
    assert any(n["kind"] == "task.verified" for n in notes)
    assert count(clean_db, EmailOutbox) >= 1

    # A rebuild from the log gives the same points and tells nobody again.
    mails = count(clean_db, EmailOutbox)
    rebuild(clean_db, Leaderboards(None), partitions=get_settings().events.event_partitions)
    assert creator.get("/api/v1/me/progress").json()["points"] == 50
    assert count(clean_db, EmailOutbox) == mails

    # Submitted twice: refused, and the task verified (and paid) once.
    again = creator.post(f"/api/v1/tasks/{task_id}/proof", json={"post_url": post["url"]})
    assert again.status_code == 409
    _score(clean_db)
    assert creator.get("/api/v1/me/progress").json()["points"] == 50


def test_a_screenshot_goes_through_the_review_queue(app: FastAPI, clean_db: Database) -> None:
    brand, creator, deal = accepted_deal(app, "peak", "maya", title="Spring", budget_cents=100_000, fee_cents=50_000)
    task_id = brand.post(
        "/api/v1/tasks", json={"kind": "screenshot", "title": "Story screenshot", "deal_id": deal["id"], "points": 40}
    ).json()["id"]
    shot = creator.post(
        f"/api/v1/tasks/{task_id}/screenshot",
        files={"screenshot": ("story.png", _png(), "image/png")},
        data={"claimed_views": "1200"},
    )
    assert shot.status_code == 201, shot.text
    submission = shot.json()
    assert submission["has_screenshot"]
    _score(clean_db)

    queue = brand.get("/api/v1/tasks/review").json()
    assert [q["submission"]["id"] for q in queue] == [submission["id"]]
    image = brand.get(f"/api/v1/submissions/{submission['id']}/screenshot")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"

    # Nobody but the task's brand (or an admin) reviews; a creator never, least of all their own.
    assert (
        creator.post(f"/api/v1/submissions/{submission['id']}/review", json={"decision": "approve"}).status_code == 403
    )
    other_brand = new_client(app)
    sign_up(other_brand, "brand", "rival")
    assert (
        other_brand.post(f"/api/v1/submissions/{submission['id']}/review", json={"decision": "approve"}).status_code
        == 404
    )
    assert other_brand.get(f"/api/v1/submissions/{submission['id']}/screenshot").status_code == 404
    other_creator = new_client(app)
    sign_up(other_creator, "creator", "noor")
    assert other_creator.get(f"/api/v1/submissions/{submission['id']}/screenshot").status_code == 404
    assert other_creator.get(f"/api/v1/tasks/{task_id}").status_code == 404

    # A rejection needs a reason.
    no_reason = brand.post(f"/api/v1/submissions/{submission['id']}/review", json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    approved = brand.post(f"/api/v1/submissions/{submission['id']}/review", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "verified"
    assert brand.post(f"/api/v1/submissions/{submission['id']}/review", json={"decision": "approve"}).status_code == 409
    _score(clean_db)
    assert creator.get("/api/v1/me/progress").json()["points"] == 40
    trail = creator.get(f"/api/v1/submissions/{submission['id']}/trail").json()
    assert [t["action"] for t in trail] == ["submitted", "needs_review", "verified"]


def test_a_reused_screenshot_is_sent_to_review_with_the_reason(app: FastAPI, clean_db: Database) -> None:
    brand, creator, deal = accepted_deal(app, "peak", "maya", title="Spring", budget_cents=100_000, fee_cents=50_000)
    first, second = (
        brand.post("/api/v1/tasks", json={"kind": "screenshot", "title": f"Shot {i}", "deal_id": deal["id"]}).json()[
            "id"
        ]
        for i in (1, 2)
    )
    picture = _png(seed=3)
    for task_id in (first, second):
        sent = creator.post(
            f"/api/v1/tasks/{task_id}/screenshot", files={"screenshot": ("s.png", picture, "image/png")}
        )
        assert sent.status_code == 201, sent.text
    _score(clean_db)
    queue = {q["task"]["id"]: q["submission"] for q in brand.get("/api/v1/tasks/review").json()}
    assert queue[first]["flags"] == []
    assert any(f.startswith("reused proof") for f in queue[second]["flags"]), queue[second]


def test_bad_proofs_get_clear_errors(app: FastAPI, clean_db: Database) -> None:
    brand, creator, deal = accepted_deal(app, "peak", "maya", title="Spring", budget_cents=100_000, fee_cents=50_000)
    task_id = brand.post("/api/v1/tasks", json={"kind": "screenshot", "title": "Shot", "deal_id": deal["id"]}).json()[
        "id"
    ]
    url = f"/api/v1/tasks/{task_id}/screenshot"

    gif = creator.post(url, files={"screenshot": ("a.gif", b"GIF89a" + b"\0" * 64, "image/gif")})
    assert gif.status_code == 415 and "image/png" in gif.json()["message"]
    big = creator.post(url, files={"screenshot": ("big.png", b"\x89PNG" + b"\0" * (3 * 1024 * 1024 + 10), "image/png")})
    assert big.status_code == 413 and "3 MB" in big.json()["message"]
    huge = creator.post(url, files={"screenshot": ("huge.png", b"\x89PNG" + b"\0" * (6 * 1024 * 1024), "image/png")})
    assert huge.status_code == 413, huge.text
    broken = creator.post(url, files={"screenshot": ("cut.png", _png()[:200], "image/png")})
    assert broken.status_code in (415, 422)
    missing = creator.post(f"/api/v1/tasks/{task_id}/proof", json={"post_url": "https://x.example/p"})
    assert missing.status_code == 422 and "screenshot" in missing.text
    # Nothing was lost: the task still takes a good proof.
    assert creator.post(url, files={"screenshot": ("ok.png", _png(), "image/png")}).status_code == 201

    bad_task = brand.post("/api/v1/tasks", json={"kind": "views", "title": "No target", "deal_id": deal["id"]})
    assert bad_task.status_code == 422 and "views_target" in bad_task.text
    both = brand.post(
        "/api/v1/tasks",
        json={"kind": "post", "title": "Two", "deal_id": deal["id"], "campaign_id": deal["campaign_id"]},
    )
    assert both.status_code == 422
    assert (
        creator.post("/api/v1/tasks", json={"kind": "post", "title": "Mine", "deal_id": deal["id"]}).status_code == 403
    )
    post_task = brand.post("/api/v1/tasks", json={"kind": "post", "title": "A post", "deal_id": deal["id"]}).json()[
        "id"
    ]
    not_mine = creator.post(f"/api/v1/tasks/{post_task}/proof", json={"content_id": deal["id"]})
    assert not_mine.status_code == 422 and "content_id" in not_mine.text
    script = creator.post(f"/api/v1/tasks/{post_task}/proof", json={"post_url": "javascript:alert(1)"})
    assert script.status_code == 422 and "post_url" in script.text
    no_link = creator.post(f"/api/v1/tasks/{post_task}/proof", json={"post_url": "https://nowhere.example/p"})
    assert no_link.status_code == 422 and "post_url" in no_link.text


def test_platform_tasks_check_the_creators_own_state(app: FastAPI, clean_db: Database) -> None:
    creator = new_client(app)
    sign_up(creator, "creator", "maya")
    tasks = {t["kind"]: t for t in creator.get("/api/v1/tasks").json()}
    assert {"profile", "connect", "first_deal"} <= set(tasks)
    not_yet = creator.post(f"/api/v1/tasks/{tasks['profile']['id']}/proof", json={})
    assert not_yet.status_code == 409 and "bio" in not_yet.json()["message"]
    creator.patch(
        "/api/v1/creators/me",
        json={
            "bio": "Runner",
            "location": "Lisbon",
            "niches": ["fitness"],
            "platforms": ["youtube"],
            "timezone": "Europe/Lisbon",
        },
    )
    done = creator.post(f"/api/v1/tasks/{tasks['profile']['id']}/proof", json={})
    assert done.status_code == 201 and done.json()["status"] == "verified"
    _score(clean_db)
    assert creator.get("/api/v1/me/progress").json()["points"] == 30
    bad_zone = creator.patch("/api/v1/creators/me", json={"timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and "timezone" in bad_zone.text


def test_admin_sees_every_review(app: FastAPI, clean_db: Database) -> None:
    brand, creator, deal = accepted_deal(app, "peak", "maya", title="Spring", budget_cents=100_000, fee_cents=50_000)
    task_id = brand.post("/api/v1/tasks", json={"kind": "deliverable", "title": "Draft", "deal_id": deal["id"]}).json()[
        "id"
    ]
    creator.post(f"/api/v1/tasks/{task_id}/proof", json={"post_url": "https://drive.example/draft"})
    _score(clean_db)
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com")
    queue = admin.get("/api/v1/tasks/review").json()
    assert len(queue) == 1
    decided = admin.post(
        f"/api/v1/submissions/{queue[0]['submission']['id']}/review",
        json={"decision": "reject", "reason": "not the draft"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "rejected"
    assert creator.get("/api/v1/tasks/review").status_code == 403
