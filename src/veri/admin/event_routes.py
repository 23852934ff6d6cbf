"""The event pipeline's API: batch ingestion for integration accounts, and the operator's view of
the pipeline (event types, dead letters, lag). It lives with the operator's other pages, above the
event infrastructure it calls."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from veri.dependencies import DbSession, SettingsDep
from veri.errors import Conflict, Forbidden, Invalid, NotFound
from veri.events import service
from veri.events.registry import REGISTRY
from veri.events.schemas import DeadLetterOut, EventBatchIn, EventTypeOut, IngestOut, LagOut
from veri.identity.deps import AdminPrincipal, CurrentPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=IngestOut)
def ingest_events(
    batch: EventBatchIn,
    principal: AdminPrincipal,
    db: DbSession,
    settings: SettingsDep,
    partial: Annotated[bool, Query(description="Keep the valid events of a batch with invalid ones")] = False,
) -> object:
    """Append a batch of events (API key of an integration account). Idempotent by event id:
    a repeated id is accepted and ignored. Without `partial`, one invalid event rejects the
    whole batch and nothing is written."""
    if principal.via != "api_key":
        raise Forbidden("events are ingested with an API key (Authorization: Bearer ...)")
    limit = settings.events.event_ingest_max_batch
    if len(batch.events) > limit:
        raise Invalid("events", f"at most {limit} events per batch, got {len(batch.events)}")
    result = service.ingest(db, batch.events, partial=partial, partitions=settings.events.event_partitions)
    rejected = [e.as_dict() for e in result.rejected]
    if rejected and not partial:
        raise Invalid.fields(
            f"{len(rejected)} invalid field(s); nothing was written (?partial=true keeps the rest)",
            [{"field": e["field"], "reason": e["reason"], "index": e["index"]} for e in rejected],
        )
    return IngestOut(accepted=result.accepted, duplicates=result.duplicates, rejected=rejected)


@router.get("/types", response_model=list[EventTypeOut])
def event_types(principal: CurrentPrincipal) -> list[EventTypeOut]:
    return [
        EventTypeOut(
            type=t.name,
            version=t.version,
            stream=t.stream,
            description=t.description,
            payload_schema=t.payload.model_json_schema(),
        )
        for t in REGISTRY.all()
    ]


@router.get("/dead-letters", response_model=list[DeadLetterOut])
def list_dead_letters(
    principal: AdminPrincipal,
    db: DbSession,
    group: Annotated[str | None, Query(max_length=80)] = None,
    include_replayed: bool = False,
) -> object:
    return service.dead_letters(db, group=group, include_replayed=include_replayed)


@router.post("/dead-letters/{letter_id}/replay")
def replay_dead_letter(
    letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)], principal: AdminPrincipal, request: Request
) -> dict[str, object]:
    handlers = {h.group: h for h in request.app.state.handlers}
    try:
        replayed = service.replay_dead_letter(request.app.state.db, handlers, letter_id)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except Exception as exc:  # the handler still fails: the letter stays for another try
        raise Conflict(f"the event still fails: {exc}") from None
    return {"id": letter_id, "replayed": replayed}


@router.get("/lag", response_model=list[LagOut])
def consumer_lag(principal: AdminPrincipal, db: DbSession) -> list[LagOut]:
    return [LagOut(**asdict(row)) for row in service.pipeline_status(db).lag]
