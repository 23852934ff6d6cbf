"""bench/recommend: serving latency of the ROI model, against the raw model call it wraps.
Prints one JSON object per measure.

    .venv/bin/python bench/recommend.py --creators 1000 --days 100 --rounds 60

A world of N creators is played through the real pipeline into a temporary embedded PostgreSQL
(analytics from every event, memory from the deal and campaign events: recommend/evaluation.py's
`play`) and a model trained on its outcomes. Then, interleaved round by round:

- `rank_1000`: what ranking one campaign's candidates costs: every candidate's features as of now
  (their remembered outcomes, the brand's, 90 days of analytics; two queries) and the model's
  predictions, sorted; its ratio to the raw `RoiModel.predict` on the same 1,000 ready rows;
- `predict_one`: one (creator, campaign) prediction the same way, and its ratio to the raw call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from veri.memory.evaluation import percentile, temporary_store  # noqa: E402
from veri.models.base import utcnow  # noqa: E402
from veri.recommend.evaluation import play  # noqa: E402
from veri.recommend.features import Decision, features_as_of  # noqa: E402
from veri.recommend.training import examples, predict, train  # noqa: E402
from veri.simulate.engine import Simulation, SimulationParams  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def report(name: str, samples: list[float], baseline: list[float], **extra: object) -> None:
    p95, base95 = percentile(samples, 0.95), percentile(baseline, 0.95)
    print(
        json.dumps(
            {
                "measure": name,
                "p50_ms": round(statistics.median(samples), 2),
                "p95_ms": round(p95, 2),
                "raw_model_p50_ms": round(statistics.median(baseline), 3),
                "raw_model_p95_ms": round(base95, 3),
                "ratio_to_raw_model": round(p95 / base95, 1) if base95 else None,
                **extra,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--brands", type=int, default=60)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--profile", action="store_true", help="Also print where one ranking spends its time.")
    args = parser.parse_args()
    simulation = Simulation(SimulationParams(creators=args.creators, brands=args.brands, days=args.days, seed=77))
    with temporary_store() as database:
        started = time.perf_counter()
        events = play(database, simulation)
        with database.engine.connect() as connection:  # fresh planner statistics, as autovacuum would
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        with database.sessions() as db:
            found = examples(db)
            model = train(db, found).model
        print(
            json.dumps(
                {"world_events": events, "outcomes": len(found), "played_s": round(time.perf_counter() - started, 1)}
            )
        )
        creators = [c.id for c in simulation.world.creators][:1000]
        brand = simulation.world.brands[0].id
        at = utcnow()
        decisions = [Decision(c, brand, 50_000, at) for c in creators]  # type: ignore[arg-type]
        with database.sessions() as db:
            ready = features_as_of(db, decisions)
        matrix = [r.vector(model.features) for r in ready]
        fees = [500.0] * len(matrix)
        rank, rank_raw, one, one_raw = [], [], [], []
        for round_ in range(args.rounds):
            with database.sessions() as db:
                rank.append(timed(lambda: sorted(predict(model, features_as_of(db, decisions)), key=lambda p: -p.roi)))
                rank_raw.append(timed(lambda: model.predict(matrix, fees)))
                single = decisions[round_ % len(decisions)]
                one.append(timed(lambda single=single: predict(model, features_as_of(db, [single]))))  # type: ignore[misc]
                one_raw.append(timed(lambda: model.predict(matrix[:1], fees[:1])))
        if args.profile:
            import cProfile
            import pstats

            with database.sessions() as db:
                profiler = cProfile.Profile()
                profiler.runcall(lambda: predict(model, features_as_of(db, decisions)))
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        report("rank_1000", rank[1:], rank_raw[1:], candidates=len(decisions), goal_p95_ms=100)
        report("predict_one", one[1:], one_raw[1:], goal_p95_ms=20)


if __name__ == "__main__":
    main()
