"""The demo's loop as `make run` shows it: Maya's tasks, points, streak, badges, VeriScore and
rank after the worker applied the demo's events; Peakform's review queue holds her screenshot."""

from __future__ import annotations

from fastapi import FastAPI

from tests.factories import log_in, new_client, run_group
from veri.db.engine import Database
from veri.demo import DEMO_PASSWORD, load_demo
from veri.scoring.boards import Leaderboards
from veri.scoring.handlers import ScoringHandler


def test_the_demo_creator_sees_her_loop(clean_db: Database, app: FastAPI) -> None:
    with clean_db.transaction() as session:
        load_demo(session)
    handler = ScoringHandler(Leaderboards(None))
    run_group(clean_db, handler)
    run_group(clean_db, handler)  # the verdicts the first pass emitted

    maya = new_client(app)
    log_in(maya, "maya@creators.example", DEMO_PASSWORD)
    tasks = {t["title"]: t for t in maya.get("/api/v1/tasks").json()}
    assert tasks["Reach 2,000 views with the challenge short"]["mine"]["status"] == "verified"
    assert tasks["Screenshot of your story's reach"]["mine"]["status"] == "needs_review"
    assert tasks["Complete your profile"]["mine"]["status"] == "verified"
    progress = maya.get("/api/v1/me/progress").json()
    assert progress["points"] >= 80 + 30
    assert progress["streak"]["days"] >= 5
    assert progress["veriscore"] is not None
    assert progress["ranks"]["points:all"]["rank"] >= 1
    page = maya.get("/progress")
    assert page.status_code == 200 and "VeriScore breakdown" in page.text

    peakform = new_client(app)
    log_in(peakform, "team@peakform.example", DEMO_PASSWORD)
    queue = peakform.get("/api/v1/tasks/review").json()
    assert [q["task"]["title"] for q in queue] == ["Screenshot of your story's reach"]
    review = peakform.get("/tasks/review")
    assert review.status_code == 200 and "/screenshot" in review.text
