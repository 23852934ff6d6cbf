"""The recommendations API: ROI predictions, creators for a campaign, campaigns for a creator,
the model registry (admins)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from veri.dependencies import DbSession
from veri.identity.deps import AdminPrincipal, CurrentPrincipal
from veri.recommend import registry, service
from veri.recommend.model import Prediction
from veri.recommend.schemas import (
    ModelVersionOut,
    PredictionIn,
    PredictionOut,
    RecommendationOut,
    RecommendationsOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["recommendations"])

Limit = Annotated[int, Query(ge=1, le=100)]


def _serving(request: Request) -> registry.ServingModel:
    serving: registry.ServingModel = request.app.state.serving_model
    return serving


@router.post("/predictions/roi", response_model=PredictionOut)
def predict_roi(data: PredictionIn, request: Request, principal: CurrentPrincipal, db: DbSession) -> PredictionOut:
    """The expected return of a (creator, campaign) pair at a fee, with its 80% interval."""
    found = service.predict_roi(
        db,
        principal=principal,
        serving=_serving(request),
        creator_id=data.creator_id,
        campaign_id=data.campaign_id,
        fee_cents=data.fee_cents,
    )
    loaded = _serving(request).get(db)
    return PredictionOut(
        creator_id=data.creator_id,
        campaign_id=data.campaign_id,
        fee_cents=data.fee_cents,
        **_prediction(found.prediction),
        why=found.why,
        memories=found.memories,
        model_version=loaded.version,
    )


@router.get("/campaigns/{campaign_id}/recommendations", response_model=RecommendationsOut)
def campaign_recommendations(
    campaign_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    limit: Limit = 10,
    fee_cents: Annotated[int | None, Query(gt=0, le=10**11)] = None,
) -> RecommendationsOut:
    """Creators for the brand's campaign, best expected return first (the brand and admins)."""
    ranked = service.recommend_creators(
        db, principal=principal, serving=_serving(request), campaign_id=campaign_id, fee_cents=fee_cents, limit=limit
    )
    return _out(ranked)


@router.get("/creators/me/recommendations", response_model=RecommendationsOut)
def my_recommendations(
    request: Request, principal: CurrentPrincipal, db: DbSession, limit: Limit = 10
) -> RecommendationsOut:
    """Open campaigns for the asking creator, best expected return first."""
    return _out(service.recommend_campaigns(db, principal=principal, serving=_serving(request), limit=limit))


@router.get("/models/roi", response_model=list[ModelVersionOut])
def model_versions(principal: AdminPrincipal, db: DbSession) -> object:
    """Every version of the ROI model with its training window and held-out scores."""
    return registry.versions(db)


def _out(ranked: service.Ranked) -> RecommendationsOut:
    items = [
        RecommendationOut(
            creator_id=r.creator.id,
            handle=r.creator.handle,
            display_name=r.creator.display_name,
            campaign_id=r.campaign.id,
            campaign_title=r.campaign.title,
            fee_cents=r.fee_cents,
            **_prediction(r.prediction),
            deals_under_way=r.deals_under_way,
            why=r.why,
            memories=r.memories,
        )
        for r in ranked.items
        if r.creator is not None and r.campaign is not None
    ]
    return RecommendationsOut(items=items, model_version=ranked.model_version, reason=ranked.reason)


def _prediction(prediction: Prediction) -> dict[str, Any]:
    """A prediction as both answers show it."""
    return {
        "predicted_roi": round(prediction.roi, 3),
        "interval": (round(prediction.low, 3), round(prediction.high, 3)),
        "cold_start": prediction.prior,
    }
