"""The ground truth of a simulated world: hidden traits and, per deal, the ROI an oracle that
knows them would predict. Kept in its own file; only `veri.simulate` and the evaluation
commands may import this module (tests/test_simulate.py enforces it)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from veri.simulate.world import World

__all__ = ["read_truth", "write_truth"]


def write_truth(path: Path, world: World, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write(
            json.dumps({"kind": "world", "seed": world.seed, "start": world.start.isoformat(), "days": world.days})
            + "\n"
        )
        for creator in world.creators:
            out.write(json.dumps({"kind": "creator", **asdict(creator)}, default=str) + "\n")
        for brand in world.brands:
            out.write(json.dumps({"kind": "brand", **asdict(brand)}) + "\n")
        for record in records:
            out.write(json.dumps(record) + "\n")


def read_truth(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
