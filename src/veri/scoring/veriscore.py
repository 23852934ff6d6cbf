"""The VeriScore: an explainable reputation from 0 to 1000.

Five components, each a Bayesian estimate (the evidence plus a prior worth a few observations,
so two lucky deals do not outrank fifty good ones), each on 0..1, weighted:

| component        | evidence                                         | prior (mean, worth) |
|------------------|--------------------------------------------------|---------------------|
| reliability      | deals delivered on time / deals delivered        | 0.75, 4 deals       |
| engagement       | likes per view of the creator's posts            | 4%, 3 posts         |
| roi              | the return brands reported on the creator's work | 1.0x, 3 outcomes    |
| responsiveness   | hours to answer a brand's message (72 h = 0)      | 12 h, 3 replies     |
| verification     | proofs verified / proofs decided                  | 0.8, 4 proofs       |

Old evidence counts less: every observation's weight halves each `HALF_LIFE`. The decay is
measured from the creator's latest evidence (an event's time, never the clock), so a replay
computes the same score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["COMPONENTS", "HALF_LIFE", "Component", "add_evidence", "score", "suggestions"]

HALF_LIFE = timedelta(days=180)


@dataclass(frozen=True)
class Component:
    key: str
    title: str
    weight: float
    prior: float  # in the evidence's own unit
    prior_weight: float
    advice: str


COMPONENTS: tuple[Component, ...] = (
    Component(
        "reliability", "Delivery reliability", 0.30, 0.75, 4, "Deliver your next deals on or before the due date"
    ),
    Component(
        "engagement", "Verified engagement quality", 0.25, 0.04, 3, "Post content your audience likes and comments on"
    ),
    Component("roi", "ROI delivered to brands", 0.20, 1.0, 3, "Work with brands whose products fit your audience"),
    Component("responsiveness", "Responsiveness", 0.10, 12.0, 3, "Answer brand messages within a few hours"),
    Component(
        "verification",
        "Verification history",
        0.15,
        0.8,
        4,
        "Submit proofs that verify: honest numbers, your own posts",
    ),
)
_BY_KEY = {c.key: c for c in COMPONENTS}


def _decay(elapsed: timedelta) -> float:
    return float(0.5 ** (max(elapsed.total_seconds(), 0.0) / HALF_LIFE.total_seconds()))


def add_evidence(
    evidence: dict[str, Any], last: datetime | None, at: datetime, component: str, value: float, weight: float = 1.0
) -> tuple[dict[str, Any], datetime]:
    """Fold one observation into the decayed sums (weight and weight x value per component).
    Evidence older than the newest is decayed by its own age instead of decaying the sums."""
    sums = {k: list(v) for k, v in evidence.items()}
    newest = last or at
    if at > newest:
        factor = _decay(at - newest)
        for pair in sums.values():
            pair[0] *= factor
            pair[1] *= factor
        newest = at
    w = weight * _decay(newest - at)
    pair = sums.setdefault(component, [0.0, 0.0])
    pair[0] += w
    pair[1] += w * value
    return sums, newest


def _normalise(key: str, estimate: float) -> float:
    """Each component's estimate on 0..1."""
    if key == "engagement":  # 1% likes per view is poor, 10% excellent
        value = (estimate - 0.01) / 0.09
    elif key == "roi":  # 0x is nothing, 6x and more is the best
        value = math.log2(1 + max(estimate, 0.0)) / math.log2(7)
    elif key == "responsiveness":  # hours: 0 is instant, 72 and more is silence
        value = 1 - estimate / 72
    else:
        value = estimate
    return min(max(value, 0.0), 1.0)


def score(evidence: dict[str, Any], posts: Iterable[tuple[float, float]] = ()) -> tuple[float | None, dict[str, Any]]:
    """The VeriScore and its breakdown. `posts` are (weight, likes per view) of the creator's
    posts (engagement is read from their latest numbers, not accumulated per snapshot).
    None before any evidence."""
    sums = {k: (float(v[0]), float(v[1])) for k, v in evidence.items()}
    post_list = list(posts)
    if post_list:
        sums["engagement"] = (sum(w for w, _ in post_list), sum(w * r for w, r in post_list))
    if not any(w > 0 for w, _ in sums.values()):
        return None, {}
    total = 0.0
    parts: dict[str, Any] = {}
    for c in COMPONENTS:
        weight, weighted = sums.get(c.key, (0.0, 0.0))
        estimate = (weighted + c.prior * c.prior_weight) / (weight + c.prior_weight)
        value = _normalise(c.key, estimate)
        points = 1000 * c.weight * value
        total += points
        parts[c.key] = {
            "title": c.title,
            "weight": c.weight,
            "estimate": round(estimate, 4),
            "value": round(value, 4),
            "points": round(points, 1),
            "evidence": round(weight, 2),
            "max_points": round(1000 * c.weight),
        }
    return round(total, 1), parts


def suggestions(breakdown: dict[str, Any], limit: int = 2) -> list[dict[str, Any]]:
    """What would raise the score most: the components furthest below their maximum, weighted."""
    gaps = sorted(
        ((part["max_points"] - part["points"], key) for key, part in breakdown.items()),
        reverse=True,
    )
    return [
        {"component": key, "title": _BY_KEY[key].title, "advice": _BY_KEY[key].advice, "up_to": round(gap)}
        for gap, key in gaps[:limit]
        if gap >= 5
    ]
