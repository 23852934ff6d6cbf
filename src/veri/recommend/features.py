"""What the ROI model sees of a (creator, brand, fee) decision, computed as of the decision's
moment from what Veri legitimately knows then: the analytics rollups of the creator's content
before that day, and the campaign outcomes memory holds from before that moment. Nothing later
can reach a feature (tests/recommend: changing only later events changes no feature).

Two groups, so the lift of memory can be measured (`veri eval lift`):
- PROFILE: the fee and what a listing shows (reach per post, engagement, activity);
- MEMORY: what past campaigns taught, the creator's and the brand's returns and timeliness.
"""

from __future__ import annotations

import bisect
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from veri.analytics import service as analytics_service
from veri.memory import service as memory_service
from veri.memory.service import OutcomeRow
from veri.recommend.model import LOG_FLOOR

__all__ = ["ALL_FEATURES", "MEMORY_FEATURES", "PROFILE_FEATURES", "Decision", "FeatureRow", "features_as_of"]

ACTIVITY_DAYS = 90
SHRINK = 2.0  # pseudo-outcomes at a 1x return: two lucky deals do not make a star

PROFILE_FEATURES = ["log_fee", "log_views_per_post", "engagement_rate", "posts_per_week", "log_reach_per_dollar"]
MEMORY_FEATURES = [
    "creator_outcomes",
    "creator_log_roi",
    "creator_log_revenue_per_view",
    "creator_on_time",
    "brand_outcomes",
    "brand_log_roi",
    "pair_outcomes",
    "pair_log_roi",
]
ALL_FEATURES = PROFILE_FEATURES + MEMORY_FEATURES


@dataclass(frozen=True)
class Decision:
    creator_id: uuid.UUID
    brand_id: uuid.UUID
    fee_cents: int
    at: datetime


@dataclass
class FeatureRow:
    decision: Decision
    values: dict[str, float]
    # The outcome memories behind the memory features, most telling first (the "why").
    evidence: list[OutcomeRow] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """Whether memory holds any outcome of this creator (else the prediction is cold-start)."""
        return self.values["creator_outcomes"] > 0

    def vector(self, names: Sequence[str]) -> list[float]:
        return [self.values[name] for name in names]


@dataclass(frozen=True)
class _Outcome:
    at: datetime
    log_roi: float
    log_revenue: float
    on_time: bool
    brand_id: uuid.UUID | None
    memory: OutcomeRow


def features_as_of(db: Session, decisions: Sequence[Decision]) -> list[FeatureRow]:
    """The features of each decision, as of its own moment."""
    if not decisions:
        return []
    latest = max(d.at for d in decisions)
    creators = sorted({d.creator_id for d in decisions})
    brands = sorted({d.brand_id for d in decisions})
    by_creator, by_brand = _outcomes(db, creators, brands, latest)
    activity: dict[tuple[uuid.UUID, object], analytics_service.Activity] = {}
    for day in sorted({d.at.date() for d in decisions}):
        wanted = sorted({d.creator_id for d in decisions if d.at.date() == day})
        found = analytics_service.creator_activity(
            db, wanted, start=day - timedelta(days=ACTIVITY_DAYS), end=day
        )  # up to the day before: a day's rollup is not complete until it is over
        activity.update({(c, day): a for c, a in found.items()})
    rows = []
    for decision in decisions:
        seen = activity.get((decision.creator_id, decision.at.date()))
        rows.append(_row(decision, seen, by_creator[decision.creator_id], by_brand[decision.brand_id]))
    return rows


def _outcomes(
    db: Session, creators: list[uuid.UUID], brands: list[uuid.UUID], before: datetime
) -> tuple[dict[uuid.UUID, list[_Outcome]], dict[uuid.UUID, list[_Outcome]]]:
    by_creator: dict[uuid.UUID, list[_Outcome]] = defaultdict(list)
    by_brand: dict[uuid.UUID, list[_Outcome]] = defaultdict(list)
    for memory in memory_service.outcomes(db, creator_ids=creators, brand_ids=brands, before=before):
        attributes = memory.attributes or {}
        try:
            roi = float(attributes["roi"])
            revenue = float(attributes.get("revenue_cents") or 0)
        except (KeyError, TypeError, ValueError):
            continue  # an outcome without its numbers teaches nothing
        outcome = _Outcome(
            memory.valid_from,
            math.log(max(roi, LOG_FLOOR)),
            math.log1p(revenue / 100),
            bool(attributes.get("on_time", True)),
            memory.brand_id,
            memory,
        )
        if memory.creator_id is not None:
            by_creator[memory.creator_id].append(outcome)
        if memory.brand_id is not None:
            by_brand[memory.brand_id].append(outcome)
    return by_creator, by_brand


def _before(outcomes: list[_Outcome], at: datetime) -> list[_Outcome]:
    """The outcomes known strictly before `at` (they are in time order)."""
    return outcomes[: bisect.bisect_left([o.at for o in outcomes], at)]


def _row(
    decision: Decision,
    activity: analytics_service.Activity | None,
    creator_outcomes: list[_Outcome],
    brand_outcomes: list[_Outcome],
) -> FeatureRow:
    views = activity.views if activity else 0
    posts = activity.posts if activity else 0
    dollars = max(decision.fee_cents, 100) / 100
    views_per_post = views / posts if posts else 0.0
    values = {
        "log_fee": math.log(dollars),
        "log_views_per_post": math.log1p(views_per_post),
        "engagement_rate": (activity.engagements / views) if activity and views else 0.0,
        "posts_per_week": posts / (ACTIVITY_DAYS / 7),
        "log_reach_per_dollar": math.log1p(views_per_post) - math.log(dollars),
    }
    mine = _before(creator_outcomes, decision.at)
    theirs = _before(brand_outcomes, decision.at)
    pair = [o for o in mine if o.brand_id == decision.brand_id]
    values |= {
        "creator_outcomes": float(len(mine)),
        "creator_log_roi": sum(o.log_roi for o in mine) / (len(mine) + SHRINK),
        # Revenue per view of reach: what the creator's audience buys, whatever the fee was.
        "creator_log_revenue_per_view": (
            sum(o.log_revenue for o in mine) / len(mine) - math.log1p(views_per_post) if mine else 0.0
        ),
        "creator_on_time": (sum(o.on_time for o in mine) + 0.8 * SHRINK) / (len(mine) + SHRINK),
        "brand_outcomes": float(len(theirs)),
        "brand_log_roi": sum(o.log_roi for o in theirs) / (len(theirs) + SHRINK),
        "pair_outcomes": float(len(pair)),
        "pair_log_roi": sum(o.log_roi for o in pair) / (len(pair) + SHRINK),
    }
    evidence = [o.memory for o in sorted(pair + mine[-5:], key=lambda o: o.at, reverse=True)]
    return FeatureRow(decision, values, list({o.id: o for o in evidence}.values())[:5])
