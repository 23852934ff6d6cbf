"""The creator's loop from events: rules (levels, streaks with a grace day, badges), the fraud
signals, caps and cool-downs, the VeriScore's smoothing, a replay that rebuilds the same loop,
and `veri eval scores` on a small simulated world."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.factories import envelope, put, run_group
from veri.config import get_settings
from veri.db.engine import Database
from veri.models.scoring import PointsEntry, Standing
from veri.scoring import rules, veriscore
from veri.scoring.boards import Board, Leaderboards
from veri.scoring.evaluation import evaluate_scores
from veri.scoring.handlers import ScoringHandler
from veri.scoring.service import rebuild
from veri.tasks.verification import History, Post, Proof, TaskSpec, decide, suspicions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- rules -------------------------------------------------------------------------------------


def test_levels_follow_a_square_curve() -> None:
    assert rules.level_of(0)["level"] == 1
    assert rules.level_of(99) == {"level": 1, "points": 99, "floor": 0, "next_at": 100, "to_next": 1}
    assert rules.level_of(100)["level"] == 2
    assert rules.level_of(400)["level"] == 3


def test_a_streak_forgives_one_missed_day_a_week() -> None:
    def days(*numbers: int) -> list[date]:
        return [date(2026, 3, n) for n in numbers]

    assert rules.streak_of([]) == (0, None)
    assert rules.streak_of(days(1, 2, 3)) == (3, None)
    assert rules.streak_of(days(1, 2, 3, 5)) == (4, date(2026, 3, 4))  # the 4th missed: the grace day
    assert rules.streak_of(days(1, 2, 3, 5, 7)) == (2, date(2026, 3, 6))  # a second miss within the week ends it
    assert rules.streak_of(days(1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13)) == (
        11,
        date(2026, 3, 12),
    )  # a week apart: both forgiven
    assert rules.streak_of(days(1, 2, 4, 5)) == rules.streak_of(days(5, 4, 2, 1))  # order does not matter
    assert rules.streak_of(days(1, 4)) == (1, None)


def test_a_streak_counts_days_in_the_creators_time_zone() -> None:
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert rules.local_day(late, "UTC") == date(2026, 3, 2)
    assert rules.local_day(late, "Asia/Tokyo") == date(2026, 3, 3)
    assert rules.local_day(late, "Not/AZone") == date(2026, 3, 2)


def test_badges_come_from_declarative_rules() -> None:
    earned = rules.earned_badges({"deals_completed": 1, "best_streak": 7}, {}, T0)
    assert set(earned) == {"first-deal", "streak-7"}
    assert rules.earned_badges({"deals_completed": 1}, earned, T0) == {}
    nearest = rules.next_badge({"tasks_verified": 4}, earned)
    assert nearest is not None and nearest["key"] == "verified-5" and nearest["share"] == 0.8


def test_the_veriscore_does_not_rank_two_lucky_deals_above_fifty_good_ones() -> None:
    lucky: dict[str, Any] = {}
    steady: dict[str, Any] = {}
    at: datetime | None = None
    for i in range(2):
        lucky, at = veriscore.add_evidence(lucky, at, T0 + timedelta(days=i), "reliability", 1.0)
    at = None
    for i in range(50):
        steady, at = veriscore.add_evidence(steady, at, T0 + timedelta(days=i), "reliability", 1.0 if i % 10 else 0.0)
    lucky_score, _ = veriscore.score(lucky)
    steady_score, parts = veriscore.score(steady)
    assert lucky_score is not None and steady_score is not None
    assert steady_score > lucky_score  # 90% over fifty beats 100% over two
    assert veriscore.suggestions(parts)[0]["component"] != "reliability" or parts["reliability"]["value"] < 1
    assert veriscore.score({}) == (None, {})


def test_old_evidence_counts_less() -> None:
    evidence, at = veriscore.add_evidence({}, None, T0, "reliability", 0.0)
    later = T0 + veriscore.HALF_LIFE
    evidence, at = veriscore.add_evidence(evidence, at, later, "reliability", 1.0)
    weight, weighted = evidence["reliability"]
    assert abs(weight - 1.5) < 1e-9 and abs(weighted - 1.0) < 1e-9


# -- fraud signals -----------------------------------------------------------------------------


def _post(views: int, likes: int, *, published: datetime = T0, measured: datetime | None = None) -> Post:
    return Post(
        uuid.uuid4(), CREATOR, "youtube", "a post", published, views, likes, measured or published + timedelta(days=7)
    )


CREATOR = uuid.uuid4()
TASK = TaskSpec(kind="views", created_at=T0 - timedelta(days=2), views_target=1000, due_at=T0 + timedelta(days=8))
HISTORY = History(posts=10, median_views=5000, median_like_rate=0.05)


def _proof(post: Post, claimed: int, image_hash: str | None = None) -> Proof:
    return Proof(CREATOR, "metrics", T0 + timedelta(days=7, hours=12), post.content_id, claimed, image_hash)


def test_honest_proofs_raise_nothing() -> None:
    post = _post(6000, 300)
    assert suspicions(TASK, _proof(post, 5900), post, HISTORY, []) == []
    decision = decide(TASK, _proof(post, 5900), post, HISTORY, [], T0 + timedelta(days=8))
    assert decision.outcome == "verified"


def test_each_kind_of_fraud_names_its_reason() -> None:
    post = _post(6000, 300)
    assert suspicions(TASK, _proof(post, 40_000), post, HISTORY, [])[0].startswith("claim above")
    bought = _post(45_000, 300)
    reasons = suspicions(TASK, _proof(bought, 45_000), bought, HISTORY, [])
    assert any(r.startswith("views without likes") for r in reasons)
    assert any(r.startswith("engagement spike") for r in reasons)
    old = _post(6000, 300, published=T0 - timedelta(days=20))
    assert suspicions(TASK, _proof(old, 6000), old, HISTORY, [])[0].startswith("proof before the task")
    reused = suspicions(TASK, _proof(post, 5900, "f0f0f0f0f0f0f0f1"), post, HISTORY, ["f0f0f0f0f0f0f0f0"])
    assert reused[0].startswith("reused proof")
    assert suspicions(TASK, _proof(post, 5900, "0000000000000000"), post, HISTORY, ["0000000000000000"]) == []
    decision = decide(TASK, _proof(post, 40_000), post, HISTORY, [], T0 + timedelta(days=8))
    assert decision.outcome == "needs_review" and decision.flags


def test_a_views_target_counts_what_was_reached_by_the_due_date() -> None:
    due = TASK.due_at
    assert due is not None
    before, after = due - timedelta(hours=6), due + timedelta(days=2)
    # Measurements that arrive in any order: 11k before the due date, 12k after it.
    post = Post(uuid.uuid4(), CREATOR, "youtube", "a post", T0, 12_000, 600, after, ((after, 12_000), (before, 11_000)))
    task = TaskSpec(kind="views", created_at=TASK.created_at, views_target=10_000, due_at=due)
    assert decide(task, _proof(post, 0), post, HISTORY, [], after).outcome == "verified"
    late = Post(uuid.uuid4(), CREATOR, "youtube", "a post", T0, 12_000, 600, after, ((before, 8_000), (after, 12_000)))
    verdict = decide(task, _proof(late, 0), late, HISTORY, [], after)
    assert verdict.outcome == "rejected" and "8,000 views by the due date" in verdict.reasons[0]


def test_a_hashtag_is_a_whole_tag() -> None:
    task = TaskSpec(kind="post", created_at=T0 - timedelta(days=1), hashtag="peakform")
    tagged = Post(uuid.uuid4(), CREATOR, "youtube", "Day 1 #peakform!", T0, 100, 5, T0)
    other = Post(uuid.uuid4(), CREATOR, "youtube", "Day 1 #peakformula", T0, 100, 5, T0)
    assert decide(task, _proof(tagged, 0), tagged, History(), [], T0).outcome == "verified"
    assert decide(task, _proof(other, 0), other, History(), [], T0).outcome == "rejected"


def test_a_claim_waits_for_a_fresh_measurement() -> None:
    post = _post(3000, 150, measured=T0 + timedelta(days=3))
    waiting = decide(TASK, _proof(post, 9000), post, HISTORY, [], T0 + timedelta(days=7, hours=13))
    assert waiting.outcome == "pending"
    given_up = decide(TASK, _proof(post, 9000), post, HISTORY, [], T0 + timedelta(days=20))
    assert given_up.outcome == "needs_review"


# -- the group over events ---------------------------------------------------------------------


def _task_events(creator: str, brand: str, n: int, start: datetime) -> list[dict[str, Any]]:
    """`n` verified tasks of one brand for one creator, an hour apart."""
    out = []
    for i in range(n):
        task = str(uuid.uuid4())
        at = start + timedelta(hours=i)
        subject = f"creator:{creator}"
        out.append(
            envelope(
                "task.created",
                {
                    "task_id": task,
                    "kind": "screenshot",
                    "title": f"T{i}",
                    "brand_id": brand,
                    "creator_id": creator,
                    "points": 120,
                },
                subject=subject,
                at=at,
            )
        )
        out.append(
            envelope(
                "task.reviewed",
                {
                    "task_id": task,
                    "creator_id": creator,
                    "outcome": "verified",
                    "by": "brand",
                    "points": 120,
                    "brand_id": brand,
                },
                subject=subject,
                at=at + timedelta(minutes=5),
            )
        )
    return out


def _world(creator: str) -> list[dict[str, Any]]:
    subject = f"creator:{creator}"
    brand = str(uuid.uuid4())
    events = [
        envelope(
            "creator.updated",
            {
                "creator_id": creator,
                "handle": "maya",
                "niches": ["fitness"],
                "platforms": ["youtube"],
                "timezone": "Europe/Lisbon",
            },
            subject=subject,
            at=T0 - timedelta(days=1),
        ),
    ]
    for day in range(6):
        content = str(uuid.uuid4())
        at = T0 + timedelta(days=day)
        events.append(
            envelope(
                "content.published",
                {
                    "content_id": content,
                    "creator_id": creator,
                    "platform": "youtube",
                    "kind": "video",
                    "published_at": at.isoformat(),
                },
                subject=subject,
                at=at,
            )
        )
        events.append(
            envelope(
                "content.metrics_snapshot",
                {
                    "content_id": content,
                    "creator_id": creator,
                    "platform": "youtube",
                    "captured_at": (at + timedelta(hours=20)).isoformat(),
                    "metrics": {"viewCount": 5000 + day * 100, "likeCount": 250},
                },
                subject=subject,
                at=at + timedelta(hours=20),
            )
        )
    deal = str(uuid.uuid4())
    refs = {"deal_id": deal, "campaign_id": str(uuid.uuid4()), "brand_id": brand, "creator_id": creator}
    events.append(
        envelope(
            "message.sent",
            {
                "message_id": str(uuid.uuid4()),
                "creator_id": creator,
                "brand_id": brand,
                "deal_id": deal,
                "sender_role": "brand",
                "sender_name": "Peak",
                "text": "Hi",
            },
            subject=subject,
            at=T0 + timedelta(hours=1),
        )
    )
    events.append(
        envelope(
            "message.sent",
            {
                "message_id": str(uuid.uuid4()),
                "creator_id": creator,
                "brand_id": brand,
                "deal_id": deal,
                "sender_role": "creator",
                "sender_name": "Maya",
                "text": "Hello",
            },
            subject=subject,
            at=T0 + timedelta(hours=3),
        )
    )
    events.append(
        envelope(
            "deal.status_changed",
            {**refs, "from_status": "delivered", "to_status": "completed", "fee_cents": 50_000},
            subject=subject,
            at=T0 + timedelta(days=5),
        )
    )
    events.append(
        envelope(
            "campaign.outcome_reported",
            {**refs, "roi": 2.5, "revenue_cents": 125_000, "fee_cents": 50_000, "delivered_on_time": True},
            subject=subject,
            at=T0 + timedelta(days=5, hours=1),
        )
    )
    return events + _task_events(creator, brand, 5, T0 + timedelta(days=2))


def _loop_state(database: Database, boards: Leaderboards) -> dict[str, Any]:
    with database.sessions() as db:
        standings = {
            str(s.creator_id): (s.points, s.streak, s.best_streak, s.veriscore, dict(s.badges), s.grace_used_on)
            for s in db.scalars(select(Standing))
        }
        ledger = sorted((e.key, e.points, e.asked) for e in db.scalars(select(PointsEntry)))
        board = Board("points", "global", "all")
        top = [(s.creator_id, s.score, s.rank) for s in boards.top(db, board)]
    return {"standings": standings, "ledger": ledger, "top": top}


def test_caps_cool_downs_streaks_and_a_replay_that_rebuilds_the_same_loop(clean_db: Database) -> None:
    creator = str(uuid.uuid4())
    put(clean_db, _world(creator))
    boards = Leaderboards(None)
    run_group(clean_db, ScoringHandler(boards))
    first = _loop_state(clean_db, boards)
    points, streak, best, score, badges, _ = first["standings"][creator]
    # Five 120-point tasks of one brand on one day: the brand's weekly cool-down pays three, the
    # daily cap 300 of those 360; a completed deal 100; two weekly quests (three posts: 30, two
    # verified tasks: 50).
    paid = [e for e in first["ledger"] if e[0].startswith("task:")]
    assert sorted(p for _, p, _ in paid) == [0, 0, 60, 120, 120]
    assert sorted(p for k, p, _ in first["ledger"] if k.startswith("quest:")) == [30, 50]
    assert points == 300 + 100 + 30 + 50
    assert streak == 6 and best == 6
    assert score is not None and 0 < score <= 1000
    assert "first-deal" in badges
    assert first["top"][0][0] == uuid.UUID(creator)

    # Applying the same events again changes nothing; a rebuild from the log gives the same loop.
    run_group(clean_db, ScoringHandler(boards))
    assert _loop_state(clean_db, boards) == first
    rebuild(clean_db, boards, partitions=get_settings().events.event_partitions)
    assert _loop_state(clean_db, boards) == first


def test_eval_scores_on_a_small_world() -> None:
    report = evaluate_scores(11, creators=60, brands=12, days=120)
    fraud, score = report["fraud"], report["veriscore"]
    assert fraud["proofs"] > 10
    assert fraud["recall"] is None or fraud["recall"] >= 0.5
    assert score["creators"] >= 30
    assert score["spearman"]["quality"] is not None and score["spearman"]["quality"] > 0.3


def test_the_cli_rebuilds_and_shows_a_creators_loop(
    clean_db: Database, app: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    import json

    from typer.testing import CliRunner

    from tests.factories import new_client, sign_up
    from veri.cli import app as cli

    creator = new_client(app)
    sign_up(creator, "creator", "maya")
    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        rebuilt = runner.invoke(cli, ["scores", "rebuild", "--json"])
        assert rebuilt.exit_code == 0, rebuilt.output
        assert json.loads(rebuilt.stdout.strip().splitlines()[-1])["events_applied"] >= 1
        shown = runner.invoke(cli, ["scores", "show", "maya@example.com", "--json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["points"] == 0
        unknown = runner.invoke(cli, ["scores", "show", "nobody@example.com"])
        assert unknown.exit_code == 2
    finally:
        get_settings.cache_clear()
