"""`veri eval roi` and `veri eval lift`: the ROI model against a simulated world's hidden truth.

For each seed a world is simulated and played through the real pipeline into a temporary store
(analytics from every event; memory from the deal and campaign events, which are all the ROI
features read, so a run takes minutes rather than an hour). The first part of the world trains,
its last part tests, every feature as of its decision. Scored the same way:

- the memory model (every feature), the profile-only model (no memory feature), and the oracle
  (the simulator's hidden expected return: the ceiling, below 100% because outcomes are noisy);
- recommendations: for each campaign of the test window, the world's creators of its niche ranked
  at one common fee by the model, by reach (the followers baseline) and by the oracle: NDCG@10
  with the oracle's expected return as the gain, and precision@10 against the oracle's top ten;
- a learning curve: the memory and profile models trained on 1, 2, 3 ... months of outcomes,
  scored on the same test window.

This module (evaluation only) reads the truth; training and serving never do (a test checks).
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from veri.analytics.handlers import AnalyticsHandler
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.service import ingest
from veri.memory.evaluation import temporary_store
from veri.memory.handlers import MemoryHandler
from veri.recommend.features import ALL_FEATURES, PROFILE_FEATURES, Decision, features_as_of
from veri.recommend.model import score_predictions
from veri.recommend.training import MIN_OUTCOMES, Example, TooFewOutcomes, examples, predict, train
from veri.simulate.engine import Simulation, SimulationParams
from veri.simulate.world import expected_roi

__all__ = ["evaluate_world", "play", "summarise"]

PARTITIONS = 4
_FOR_MEMORY = ("deal.", "campaign.")
COMMON_FEE_CENTS = 50_000  # recommendations compare creators at one fee: the ranking is by return


def evaluate_world(
    seed: int,
    *,
    creators: int = 200,
    brands: int = 30,
    days: int = 240,
    test_days: int = 60,
    campaigns: int = 40,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    note = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    simulation = Simulation(SimulationParams(creators=creators, brands=brands, days=days, seed=seed))
    with temporary_store() as database:
        events = play(database, simulation, note)
        formed_s = time.perf_counter() - started
        truth = {t["deal_id"]: t for t in simulation.truth if t["kind"] == "deal"}
        world_start = datetime.combine(simulation.params.start, datetime.min.time(), UTC)
        cutoff = world_start + timedelta(days=days - test_days)
        with database.sessions() as db:
            found = examples(db)
            test = [e for e in found if e.decision.at >= cutoff and e.deal_id in truth]
            known = [e for e in found if e.known_at < cutoff]
            report: dict[str, Any] = {
                "seed": seed,
                "world": {"creators": creators, "brands": brands, "days": days, "test_days": test_days},
                "events": events,
                "outcomes": len(found),
                "train_outcomes": len(known),
                "test_deals": len(test),
                "formed_seconds": round(formed_s, 1),
            }
            oracle = score_predictions([truth[e.deal_id]["expected_roi"] for e in test], [e.roi for e in test])
            report["oracle"] = oracle
            models = {}
            for name, features in (("memory", ALL_FEATURES), ("profile", PROFILE_FEATURES)):
                trained = train(db, known, features=features, seed=seed)
                models[name] = trained.model
                predicted = predict(trained.model, features_as_of(db, [e.decision for e in test]))
                scores: dict[str, Any] = dict(score_predictions(predicted, [e.roi for e in test]))
                scores["accuracy_vs_oracle"] = _ratio(scores.get("accuracy"), oracle.get("accuracy"))
                report[name] = scores
            report["lift"] = {
                key: round(report["memory"][key] - report["profile"][key], 4)
                for key in ("accuracy", "spearman", "mae")
                if key in report["memory"] and key in report["profile"]
            }
            report["learning_curve"] = _learning_curve(db, found, test, world_start, cutoff, seed)
            report["recommendations"] = _recommendations(db, simulation, models, cutoff, campaigns, note)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def play(database: Database, simulation: Simulation, note: Callable[[str, int, int], None] | None = None) -> int:
    """Ingest the world; memory forms from its deal and campaign events, analytics from all.
    Returns the number of events."""
    note = note or (lambda stage, done, total: None)
    log = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=600)
    later: list[dict[str, Any]] = []
    count = 0
    for day, lines in enumerate(simulation.days(), start=1):
        batch: list[dict[str, Any]] = []
        for line in lines:
            raw = orjson.loads(line)
            (batch if raw["type"].startswith(_FOR_MEMORY) else later).append(raw)
        count += len(lines)
        _ingest(database, batch)
        note("simulate", day, simulation.params.days)
    _drain(database, log, MemoryHandler(None), "memory", note)
    _ingest(database, later)
    _drain(database, log, AnalyticsHandler(None), "analytics", note)
    return count


def _ingest(database: Database, raw: list[dict[str, Any]]) -> None:
    for start in range(0, len(raw), 2000):
        with database.transaction() as db:
            ingest(db, raw[start : start + 2000], partial=True, partitions=PARTITIONS)


def _drain(database: Database, log: EmbeddedLog, handler: Any, group: str, note: Callable[..., None]) -> None:
    consumer = log.consumer(group, "eval")
    batch = getattr(handler, "batch_size", 1000)
    loop = ConsumerLoop(database, consumer, handler, batch_size=batch, retry=RetryPolicy(1, 0.0))
    loop.drain(lambda done: note(group, done, 0))
    consumer.close()


def _learning_curve(
    db: Any, found: list[Example], test: list[Example], start: datetime, cutoff: datetime, seed: int
) -> list[dict[str, Any]]:
    curve = []
    months = 1
    while start + timedelta(days=30 * months) <= cutoff:
        until = start + timedelta(days=30 * months)
        known = [e for e in found if e.known_at < until]
        point: dict[str, Any] = {"months": months, "train_outcomes": len(known)}
        if len(known) >= MIN_OUTCOMES:
            rows = features_as_of(db, [e.decision for e in test])
            for name, features in (("memory", ALL_FEATURES), ("profile", PROFILE_FEATURES)):
                try:
                    model = train(db, known, features=features, seed=seed).model
                except TooFewOutcomes:
                    continue
                point[name] = score_predictions(predict(model, rows), [e.roi for e in test]).get("accuracy")
        curve.append(point)
        months += 1
    return curve


def _recommendations(
    db: Any,
    simulation: Simulation,
    models: dict[str, Any],
    cutoff: datetime,
    limit: int,
    note: Callable[[str, int, int], None],
) -> dict[str, Any]:
    """Rank each test-window campaign's niche creators by the memory model, the profile model
    and reach (the followers baseline); score against the oracle's expected return."""
    world = simulation.world
    brands = {str(b.id): b for b in world.brands}
    by_niche: dict[str, list[Any]] = {}
    for creator in world.creators:
        for niche in creator.niches:
            by_niche.setdefault(niche, []).append(creator)
    # One decision moment per brand deciding in the test window (from the deals memory holds).
    campaigns: list[tuple[Any, datetime]] = []
    for example in examples(db):
        brand = brands.get(str(example.decision.brand_id))
        if brand is None or example.decision.at < cutoff or any(b is brand for b, _ in campaigns):
            continue
        campaigns.append((brand, example.decision.at))
        if len(campaigns) >= limit:
            break
    scores: dict[str, list[float]] = {"memory_ndcg": [], "profile_ndcg": [], "reach_ndcg": [], "memory_p10": []}
    scores |= {"profile_p10": [], "reach_p10": []}
    for number, (brand, at) in enumerate(campaigns, start=1):
        pool = by_niche.get(brand.category, [])
        if len(pool) < 10:
            continue
        decisions = [Decision(uuid.UUID(str(c.id)), uuid.UUID(str(brand.id)), COMMON_FEE_CENTS, at) for c in pool]
        rows = features_as_of(db, decisions)
        gains = [expected_roi(c, brand, COMMON_FEE_CENTS) for c in pool]
        ideal = sorted(range(len(pool)), key=lambda i: -gains[i])
        rankings = {"reach": sorted(range(len(pool)), key=lambda i: -rows[i].values["log_views_per_post"])}
        for name, model in models.items():
            predicted = predict(model, rows)
            rankings[name] = sorted(range(len(pool)), key=lambda i: -predicted[i].roi)
        for name, ranking in rankings.items():
            scores[f"{name}_ndcg"].append(_ndcg(ranking, ideal, gains, 10))
            scores[f"{name}_p10"].append(len(set(ranking[:10]) & set(ideal[:10])) / 10)
        note("recommend", number, len(campaigns))
    means = {k: round(statistics.fmean(v), 4) if v else None for k, v in scores.items()}
    return {
        "campaigns": len(scores["memory_ndcg"]),
        **means,
        "memory_ndcg_vs_reach": _ratio(means["memory_ndcg"], means["reach_ndcg"]),
    }


def _ndcg(ranking: Sequence[int], ideal: Sequence[int], gains: Sequence[float], k: int) -> float:
    def dcg(order: Sequence[int]) -> float:
        return sum(gains[i] / math.log2(rank + 2) for rank, i in enumerate(order[:k]))

    best = dcg(ideal)
    return dcg(ranking) / best if best > 0 else 0.0


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 4) if value is not None and baseline else None


def summarise(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Across seeds: each score's mean and range, the lift's, and the goals met or not."""

    def column(*path: str) -> list[float]:
        values = []
        for report in reports:
            value: Any = report
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, int | float) and not math.isnan(value):
                values.append(float(value))
        return values

    def spread(*path: str) -> dict[str, float] | None:
        values = column(*path)
        if not values:
            return None
        return {"mean": round(statistics.fmean(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}

    summary = {
        "seeds": [r["seed"] for r in reports],
        "oracle_accuracy": spread("oracle", "accuracy"),
        "memory_accuracy": spread("memory", "accuracy"),
        "profile_accuracy": spread("profile", "accuracy"),
        "accuracy_vs_oracle": spread("memory", "accuracy_vs_oracle"),
        "memory_spearman": spread("memory", "spearman"),
        "profile_spearman": spread("profile", "spearman"),
        "coverage": spread("memory", "coverage"),
        "width_ratio": spread("memory", "width_ratio"),
        "lift_accuracy": spread("lift", "accuracy"),
        "lift_spearman": spread("lift", "spearman"),
        "memory_ndcg": spread("recommendations", "memory_ndcg"),
        "reach_ndcg": spread("recommendations", "reach_ndcg"),
        "memory_p10": spread("recommendations", "memory_p10"),
    }
    ratio, accuracy = column("memory", "accuracy_vs_oracle"), column("memory", "accuracy")
    lift = column("lift", "spearman")
    summary["goals"] = {
        "accuracy_at_least_0.9_of_oracle": bool(ratio) and min(ratio) >= 0.9,
        "accuracy_at_least_0.5": bool(accuracy) and min(accuracy) >= 0.5,
        # Outside the run-to-run spread: the smallest lift is above zero on every seed.
        "memory_beats_profile_on_every_seed": bool(lift) and min(lift) > 0,
        "coverage_near_0.8": all(0.7 <= c <= 0.9 for c in column("memory", "coverage")),
    }
    return summary
