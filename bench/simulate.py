"""bench/simulate: how fast the simulator writes a world's events to a JSONL file, against the
ceiling measured in the same run: the same events, already built, only encoded (orjson) and
written. Prints JSON.

    .venv/bin/python bench/simulate.py --creators 4000 --days 180
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from veri.simulate.engine import Simulation, SimulationParams
from veri.simulate.sinks import FileSink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creators", type=int, default=4000)
    parser.add_argument("--brands", type=int, default=400)
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "events.jsonl"
    simulation = Simulation(SimulationParams(creators=args.creators, brands=args.brands, days=args.days, seed=42))
    started = time.perf_counter()
    with FileSink(out) as sink:
        for lines in simulation.days():
            sink.write_many(lines)
    seconds = time.perf_counter() - started
    events = simulation.events_emitted
    # The ceiling: the same events as Python objects, only encoded and written.
    built = [orjson.loads(line) for line in out.read_text().splitlines()]
    started = time.perf_counter()
    with (out.parent / "ceiling.jsonl").open("wb", buffering=1 << 20) as raw:
        for event in built:
            raw.write(orjson.dumps(event) + b"\n")
    ceiling = len(built) / (time.perf_counter() - started)
    rate = events / seconds
    print(
        json.dumps(
            {
                "bench": "simulate",
                "creators": args.creators,
                "days": args.days,
                "events": events,
                "seconds": round(seconds, 2),
                "events_per_s": round(rate),
                "ceiling_events_per_s": round(ceiling),
                "ceiling": "orjson-encode and write the same events, already built",
                "ratio_to_ceiling": round(rate / ceiling, 3),
                "projected_seconds_for_10M": round(10_000_000 / rate),
                "bytes_per_event": round(out.stat().st_size / events),
            }
        )
    )


if __name__ == "__main__":
    main()
