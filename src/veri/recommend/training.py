"""Learning from outcomes: the examples memory holds, training with a held-out window, and the
promotion rule of the learning loop (a new version serves only if it is not worse).

An example is a deal whose outcome is remembered: its decision is the moment the deal was
accepted (its `deal:<id>:accepted` memory), at the fee agreed; its label, the return reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from veri.memory import service as memory_service
from veri.recommend.features import ALL_FEATURES, Decision, FeatureRow, features_as_of
from veri.recommend.model import Prediction, RoiModel, score_predictions

__all__ = ["MIN_OUTCOMES", "Example", "TooFewOutcomes", "Trained", "examples", "predict", "score", "train"]

MIN_OUTCOMES = 40
HOLDOUT = 0.2  # the latest fifth of decisions scores a version


class TooFewOutcomes(Exception):
    def __init__(self, found: int):
        super().__init__(
            f"only {found} remembered outcomes; at least {MIN_OUTCOMES} are needed to train a model worth serving"
        )
        self.found = found


@dataclass(frozen=True)
class Example:
    decision: Decision
    roi: float
    known_at: datetime  # when the outcome was reported (a model trained before then cannot know it)
    deal_id: str = ""


def examples(db: Session, *, before: datetime | None = None) -> list[Example]:
    """Every deal whose outcome memory holds (reported before `before`), in decision order."""
    accepted: dict[tuple[uuid.UUID | None, uuid.UUID | None], tuple[datetime, int, str]] = {}
    for deal in memory_service.deals_at_stage(db, stage="accepted", before=before):
        attributes = deal.attributes or {}
        fee = int(attributes.get("fee_cents") or 0)
        accepted[(deal.campaign_id, deal.creator_id)] = (deal.valid_from, fee, str(attributes.get("deal_id", "")))
    found = []
    for memory in memory_service.outcomes(db, before=before):
        attributes = memory.attributes or {}
        decided = accepted.get((memory.campaign_id, memory.creator_id))
        if decided is None or memory.creator_id is None or memory.brand_id is None or "roi" not in attributes:
            continue
        fee = int(attributes.get("fee_cents") or decided[1])
        if fee <= 0:
            continue
        decision = Decision(memory.creator_id, memory.brand_id, fee, decided[0])
        found.append(Example(decision, float(attributes["roi"]), memory.valid_from, decided[2]))
    return sorted(found, key=lambda e: e.decision.at)


@dataclass
class Trained:
    model: RoiModel  # fitted on every example
    metrics: dict[str, Any]  # of `scored` on the latest fifth
    trained_from: datetime
    trained_until: datetime
    outcomes: int
    scored: RoiModel  # fitted on the earlier four fifths only: it never saw the held-out window


def train(db: Session, found: Sequence[Example], *, features: Sequence[str] = ALL_FEATURES, seed: int = 0) -> Trained:
    """Fit on the earlier decisions, score on the latest fifth (`metrics`), then refit on all."""
    if len(found) < MIN_OUTCOMES:
        raise TooFewOutcomes(len(found))
    rows = features_as_of(db, [e.decision for e in found])
    cut = int(len(found) * (1 - HOLDOUT))
    # The model scored on the latest fifth learns only outcomes reported before that fifth began.
    early = [i for i in range(cut) if found[i].known_at < found[cut].decision.at]
    blind = len(early) >= MIN_OUTCOMES // 2
    if not blind:
        early = list(range(cut))  # too few reported so early: the earlier decisions, said so below
    scored = _fit(RoiModel(features, seed=seed), [rows[i] for i in early], [found[i] for i in early])
    held = rows[cut:]
    predictions = predict(scored, held)
    metrics: dict[str, Any] = {
        **score_predictions(predictions, [e.roi for e in found[cut:]]),
        "holdout_from": found[cut].decision.at.isoformat(),
        # False: the scored model also learned outcomes reported after the window began (optimistic).
        "holdout_blind": blind,
    }
    model = _fit(RoiModel(features, seed=seed), rows, found)
    return Trained(model, metrics, found[0].decision.at, found[-1].decision.at, len(found), scored)


def score(model: RoiModel, db: Session, found: Sequence[Example]) -> dict[str, Any]:
    rows = features_as_of(db, [e.decision for e in found])
    return score_predictions(predict(model, rows), [e.roi for e in found])


def predict(model: RoiModel, rows: Sequence[FeatureRow]) -> list[Prediction]:
    """The model's predictions for feature rows, each at its decision's fee."""
    return model.predict(
        [row.vector(model.features) for row in rows],
        [row.decision.fee_cents / 100 for row in rows],
        known=[row.known for row in rows],
    )


def _fit(model: RoiModel, rows: Sequence[FeatureRow], found: Sequence[Example]) -> RoiModel:
    return model.fit(
        [row.vector(model.features) for row in rows],
        [e.roi for e in found],
        [e.decision.fee_cents / 100 for e in found],
        known=[row.known for row in rows],
    )
