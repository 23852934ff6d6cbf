"""`veri eval scores`: fraud detection and the VeriScore against a simulated world's hidden truth.

Each seed's world is played through the real ingestion and the real `scoring` consumer group
into a temporary store; proofs still waiting for evidence are settled as of the world's end.
Then, against the truth file's records (which only this module reads):

- fraud: precision and recall of the proofs sent to review with fraud signals, over the proofs
  the simulator planted as fraudulent (recall per kind of fraud too);
- VeriScore: Spearman correlation with the hidden reliability, the hidden quality and their
  mean, beside a followers-count baseline; also among creators with at least five outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from scipy.stats import spearmanr
from sqlalchemy import select

from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.service import ingest
from veri.memory.evaluation import temporary_store
from veri.models.scoring import Standing
from veri.models.tasks import TaskSubmission
from veri.scoring.handlers import ScoringHandler
from veri.scoring.service import settle_pending
from veri.simulate.engine import Simulation, SimulationParams

__all__ = ["evaluate_scores"]

PARTITIONS = 4


def evaluate_scores(
    seed: int,
    *,
    creators: int = 300,
    brands: int = 40,
    days: int = 240,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    note = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    simulation = Simulation(SimulationParams(creators=creators, brands=brands, days=days, seed=seed))
    world_end = datetime.combine(simulation.params.start, datetime.min.time(), UTC) + timedelta(days=days)
    with temporary_store() as database:
        events = _play(database, simulation, note)
        with database.transaction() as db:
            settle_pending(db, world_end)
        _drain(database, note)
        with database.sessions() as db:
            submissions = list(db.scalars(select(TaskSubmission)))
            standings = {s.creator_id: s for s in db.scalars(select(Standing))}
    truth_tasks = {t["task_id"]: t for t in simulation.truth if t["kind"] == "task"}
    report: dict[str, Any] = {
        "seed": seed,
        "world": {"creators": creators, "brands": brands, "days": days},
        "events": events,
        "fraud": _fraud(submissions, truth_tasks),
        "veriscore": _veriscore(simulation, standings),
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _play(database: Database, simulation: Simulation, note: Callable[[str, int, int], None]) -> int:
    count = 0
    for day, lines in enumerate(simulation.days(), start=1):
        raw = [orjson.loads(line) for line in lines]
        for start in range(0, len(raw), 2000):
            with database.transaction() as db:
                ingest(db, raw[start : start + 2000], partial=True, partitions=PARTITIONS)
        count += len(raw)
        note("simulate", day, simulation.params.days)
    _drain(database, note)
    return count


def _drain(database: Database, note: Callable[[str, int, int], None]) -> None:
    handler = ScoringHandler()
    consumer = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=600).consumer(handler.group, "eval")
    loop = ConsumerLoop(database, consumer, handler, batch_size=1000, retry=RetryPolicy(1, 0.0))
    loop.drain(lambda done: note("scoring", done, 0))
    consumer.close()


def _fraud(submissions: list[TaskSubmission], truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    judged = [(s, truth[str(s.task_id)]) for s in submissions if str(s.task_id) in truth and s.submitted_at]
    flagged = [(s, t) for s, t in judged if s.flags]
    true_positive = sum(1 for _, t in flagged if t["fraudulent"])
    fraudulent = [t for _, t in judged if t["fraudulent"]]
    by_mode: dict[str, dict[str, int]] = {}
    for s, t in judged:
        if t["fraudulent"]:
            counts = by_mode.setdefault(t.get("mode") or "?", {"planted": 0, "caught": 0})
            counts["planted"] += 1
            counts["caught"] += bool(s.flags)
    statuses: dict[str, int] = {}
    for s, _ in judged:
        statuses[s.status.value] = statuses.get(s.status.value, 0) + 1
    return {
        "proofs": len(judged),
        "planted": len(fraudulent),
        "flagged": len(flagged),
        "precision": round(true_positive / len(flagged), 3) if flagged else None,
        "recall": round(true_positive / len(fraudulent), 3) if fraudulent else None,
        "by_mode": by_mode,
        "statuses": statuses,
        "false_positive_reasons": sorted({r.split(":")[0] for s, t in flagged if not t["fraudulent"] for r in s.flags}),
    }


def _spearman(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3:
        return None
    value = spearmanr(xs, ys).statistic
    return round(float(value), 3)


def _veriscore(simulation: Simulation, standings: dict[Any, Standing]) -> dict[str, Any]:
    import uuid

    rows = []
    for creator in simulation.world.creators:
        standing = standings.get(uuid.UUID(creator.id))
        if standing is None or standing.veriscore is None:
            continue
        outcomes = float(standing.evidence.get("reliability", [0, 0])[0])
        rows.append((standing.veriscore, creator.reliability, creator.quality, float(creator.audience), outcomes))
    if not rows:
        return {"creators": 0}
    scores = [r[0] for r in rows]
    reliability = [r[1] for r in rows]
    quality = [r[2] for r in rows]
    combined = [(r[1] + r[2]) / 2 for r in rows]
    followers = [r[3] for r in rows]
    seasoned = [r for r in rows if r[4] >= 5]
    return {
        "creators": len(rows),
        "spearman": {
            "combined": _spearman(scores, combined),
            "reliability": _spearman(scores, reliability),
            "quality": _spearman(scores, quality),
        },
        "followers_baseline": {
            "combined": _spearman(followers, combined),
            "reliability": _spearman(followers, reliability),
            "quality": _spearman(followers, quality),
        },
        "seasoned": {
            "creators": len(seasoned),
            "combined": _spearman([r[0] for r in seasoned], [(r[1] + r[2]) / 2 for r in seasoned]),
        },
    }
