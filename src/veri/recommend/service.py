"""Serving: ROI predictions and recommendations for people, with who-may-see-what applied, and
the learning loop's retraining.

Features read every creator's remembered outcomes (a reputation, as a score would), but the
memories a person is shown as the "why" are only those they may open themselves.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from veri.campaigns import service as campaign_service
from veri.creators import service as creator_service
from veri.deals import service as deal_service
from veri.errors import NotFound
from veri.identity.principal import Principal
from veri.memory.service import OutcomeRow
from veri.models.accounts import Role
from veri.models.base import utcnow
from veri.models.campaigns import Campaign, CampaignStatus
from veri.models.creators import Creator
from veri.models.recommend import ModelStatus, ModelVersion
from veri.recommend import registry
from veri.recommend.features import Decision, FeatureRow, features_as_of
from veri.recommend.model import Prediction, RoiModel
from veri.recommend.training import HOLDOUT, TooFewOutcomes, examples, predict, score, train

__all__ = [
    "DEFAULT_PRIOR",
    "Ranked",
    "Recommended",
    "Retrained",
    "TooFewOutcomes",
    "predict_roi",
    "recommend_campaigns",
    "recommend_creators",
    "registry_model",
    "retrain",
]

log = structlog.get_logger(__name__)

# Before any model serves: a 1x return, between a sixth and six times (no evidence either way).
DEFAULT_PRIOR = Prediction(1.0, 1 / 6, 6.0, True)
DECLINED_DAYS = 30  # a creator who said no to the brand this recently is not suggested to it again
BUSY_DEALS = 3  # deals under way from which a creator counts as busy (ranked a little lower)
MAX_CANDIDATES = 5000
MIN_COMPARED = 10  # new decisions needed to compare two versions on the same unseen ones


@dataclass
class Recommended:
    creator: Creator | None
    campaign: Campaign | None
    fee_cents: int
    prediction: Prediction
    why: str
    memories: list[uuid.UUID] = field(default_factory=list)
    deals_under_way: int = 0

    @property
    def score(self) -> float:
        return self.prediction.roi * (0.85 if self.deals_under_way >= BUSY_DEALS else 1.0)


@dataclass
class Ranked:
    items: list[Recommended]
    model_version: int | None
    fee_cents: int | None
    reason: str = ""  # why the list is empty


def predict_roi(
    db: Session,
    *,
    principal: Principal,
    serving: registry.ServingModel,
    creator_id: uuid.UUID,
    campaign_id: uuid.UUID,
    fee_cents: int,
) -> Recommended:
    """A (creator, campaign) pair before an offer: the creator must be visible to the person
    (a creator: only themself) and the campaign too; else 404."""
    campaign = campaign_service.get_campaign(db, principal=principal, campaign_id=campaign_id)
    creator = creator_service.get_creator(db, principal=principal, creator_id=creator_id)
    (row,) = features_as_of(db, [Decision(creator.id, campaign.brand_id, fee_cents, utcnow())])
    (prediction,), _ = _predict(db, serving, [row])
    return Recommended(creator, campaign, fee_cents, prediction, _why(row, principal), _visible(row, principal))


def recommend_creators(
    db: Session,
    *,
    principal: Principal,
    serving: registry.ServingModel,
    campaign_id: uuid.UUID,
    fee_cents: int | None = None,
    limit: int = 10,
) -> Ranked:
    """Creators for a brand's campaign, best expected return first, each at `fee_cents` (a
    quarter of the budget unless given); not those already in a deal on it, nor those who said
    no to the brand in the last 30 days, nor creators of other niches when it names some."""
    campaign = campaign_service.get_campaign(db, principal=principal, campaign_id=campaign_id)
    if not (principal.is_admin or (principal.role is Role.BRAND and principal.brand_id == campaign.brand_id)):
        raise NotFound("no such campaign")  # a creator does not see whom else a brand might pick
    fee = fee_cents or _default_fee(campaign)
    on_campaign, declined, busy = deal_service.standing_for(
        db, campaign_id=campaign.id, brand_id=campaign.brand_id, declined_since=utcnow() - timedelta(days=DECLINED_DAYS)
    )
    wanted = {n.lower() for n in campaign.niches or []}
    candidates = [
        c
        for c in creator_service.all_creators(db, limit=MAX_CANDIDATES)
        if c.id not in on_campaign and c.id not in declined and (not wanted or wanted & {n.lower() for n in c.niches})
    ]
    if not candidates:
        reason = (
            "no creator is left to suggest: every creator of its niches is already in a deal on it "
            f"or said no to the brand in the last {DECLINED_DAYS} days"
        )
        return Ranked([], serving.get(db).version, fee, reason)
    now = utcnow()
    rows = features_as_of(db, [Decision(c.id, campaign.brand_id, fee, now) for c in candidates])
    predictions, version = _predict(db, serving, rows)
    items = [
        Recommended(c, campaign, fee, p, _why(row, principal), _visible(row, principal), busy.get(c.id, 0))
        for c, row, p in zip(candidates, rows, predictions, strict=True)
    ]
    items.sort(key=lambda r: (-r.score, r.creator.handle if r.creator else ""))
    return Ranked(items[:limit], version, fee)


def recommend_campaigns(
    db: Session, *, principal: Principal, serving: registry.ServingModel, limit: int = 10
) -> Ranked:
    """Open campaigns for the asking creator, best expected return first, each at the campaign's
    default fee; not those they already have a deal on, nor those of other niches."""
    creator = creator_service.own_creator(db, principal=principal)
    campaigns, _ = campaign_service.list_campaigns(db, principal=principal, status=CampaignStatus.OPEN, limit=200)
    mine = {n.lower() for n in creator.niches or []}
    deals, _ = deal_service.list_deals(db, principal=principal, limit=1000)
    answered = {d.campaign_id for d in deals}
    open_ones = [
        c
        for c in campaigns
        if c.id not in answered and (not c.niches or not mine or mine & {n.lower() for n in c.niches})
    ]
    if not open_ones:
        return Ranked([], serving.get(db).version, None, "no open campaign in your niches that you have not answered")
    now = utcnow()
    rows = features_as_of(db, [Decision(creator.id, c.brand_id, _default_fee(c), now) for c in open_ones])
    predictions, version = _predict(db, serving, rows)
    items = [
        Recommended(creator, c, _default_fee(c), p, _why(row, principal), _visible(row, principal))
        for c, row, p in zip(open_ones, rows, predictions, strict=True)
    ]
    items.sort(key=lambda r: -r.score)
    return Ranked(items[:limit], version, None)


def _default_fee(campaign: Campaign) -> int:
    return max(10_000, campaign.budget_cents // 4)


def _predict(
    db: Session, serving: registry.ServingModel, rows: list[FeatureRow]
) -> tuple[list[Prediction], int | None]:
    loaded = serving.get(db)
    if loaded.model is None:
        return [DEFAULT_PRIOR for _ in rows], None
    return predict(loaded.model, rows), loaded.version


def _visible(row: FeatureRow, principal: Principal) -> list[uuid.UUID]:
    """The evidence memories this person may open (their own brand's, or their own)."""
    return [m.id for m in row.evidence if _may_open(m, principal)]


def _may_open(memory: OutcomeRow, principal: Principal) -> bool:
    if principal.is_admin:
        return True
    if principal.role is Role.BRAND:
        return memory.brand_id is not None and memory.brand_id == principal.brand_id
    return memory.creator_id is not None and memory.creator_id == principal.creator_id


def _why(row: FeatureRow, principal: Principal) -> str:
    """A short explanation from the features, in words (the memories behind it are linked).
    Returns are quoted only where the viewer may see the deals behind them: the creator their
    own, a brand its own with this creator, admins all; other brands' deals only as a count."""
    values = row.values
    parts = []
    outcomes = int(values["creator_outcomes"])
    sees_all = principal.is_admin or principal.creator_id == row.decision.creator_id
    if not outcomes:
        parts.append("no campaign outcome remembered yet, so the interval is wide")
    elif sees_all:
        average = math.exp(values["creator_log_roi"] * (outcomes + 2) / outcomes)
        parts.append(f"{outcomes} past campaign{'s' * (outcomes != 1)} returned {average:.1f}x on average")
    else:
        parts.append(f"{outcomes} past campaign{'s' * (outcomes != 1)} remembered")
    pairs = int(values["pair_outcomes"])
    if pairs and (sees_all or principal.brand_id == row.decision.brand_id):
        together = math.exp(values["pair_log_roi"] * (pairs + 2) / pairs)
        parts.append(f"{pairs} with this brand at {together:.1f}x")
    views = math.expm1(values["log_views_per_post"])
    if views >= 1:
        parts.append(f"about {views:,.0f} views a post lately at {values['engagement_rate']:.1%} engagement")
    if outcomes and sees_all and values["creator_on_time"] < 0.7:
        parts.append("often late")
    return "; ".join(parts) + "."


# -- the learning loop ---------------------------------------------------------------------------


@dataclass
class Retrained:
    version: ModelVersion | None
    status: str  # "promoted", "rejected", "skipped"
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)


def retrain(db: Session, *, min_new_outcomes: int = 20, force: bool = False, seed: int = 0) -> Retrained:
    """Train on every outcome memory holds; promote the new version only if, on the latest
    held-out window, it is not worse than the serving one (accuracy and Spearman within a small
    tolerance). Nothing to do when fewer than `min_new_outcomes` arrived since the latest version
    (serving or rejected: a rejected one is not tried again on the same data), unless `force`.
    Too few outcomes in all: TooFewOutcomes, nothing stored."""
    found = examples(db)
    current = registry.serving_version(db)
    latest = registry.latest_version(db)
    if latest is not None and not force and len(found) - latest.outcomes < min_new_outcomes:
        return Retrained(None, "skipped", f"{len(found) - latest.outcomes} new outcomes since v{latest.version}")
    trained = train(db, found, seed=seed)
    if current is None:  # the first version (or every earlier one was rejected or retired)
        version = registry.record(db, trained, status=ModelStatus.SERVING, reason="the first version")
        return Retrained(version, "promoted", version.reason, trained.metrics)
    # A fair comparison: both versions on decisions neither has learned from (those after the
    # serving version's training window, when there are enough), else each on its own window.
    unseen = [e for e in found[int(len(found) * (1 - HOLDOUT)) :] if e.decision.at > current.trained_until]
    why = ""
    new = trained.metrics
    try:
        if len(unseen) >= MIN_COMPARED:
            before, new = score(registry_model(current), db, unseen), score(trained.scored, db, unseen)
        else:
            before = dict(current.metrics)
    except Exception as exc:  # the serving version cannot be read: the new one replaces it
        before, why = {}, f"the serving v{current.version} could not be scored ({exc})"
    trained.metrics = {**trained.metrics, "compared": {"new": new, "serving": before, "on": len(unseen)}}
    compared = f"accuracy {new.get('accuracy')} vs {before.get('accuracy')}"
    if before and _worse(new, before):
        reason = f"worse than v{current.version}: {compared}"
        version = registry.record(db, trained, status=ModelStatus.REJECTED, reason=reason)
        return Retrained(version, "rejected", reason, trained.metrics)
    reason = why or f"not worse than v{current.version}: {compared}"
    version = registry.record(db, trained, status=ModelStatus.SERVING, reason=reason)
    return Retrained(version, "promoted", reason, trained.metrics)


def _worse(new: dict[str, Any], serving: dict[str, Any]) -> bool:
    """Worse beyond the noise of one window: 2 points of accuracy or 0.03 of Spearman."""
    return bool(
        new.get("accuracy", 0) < serving.get("accuracy", 0) - 0.02
        or new.get("spearman", 0) < serving.get("spearman", 0) - 0.03
    )


def registry_model(version: ModelVersion) -> RoiModel:
    return RoiModel.loads(version.blob)
