"""Agent API: conversations, questions answered as server-sent events (or whole, with
`?stream=false`), history, feedback and confirming what the agent proposed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from veri.agent import service
from veri.agent.schemas import AnswerOut, AskIn, ConversationIn, ConversationOut, FeedbackIn, TurnOut
from veri.dependencies import DbSession
from veri.identity.deps import CurrentPrincipal, Limiter
from veri.pagination import Page, Paging

__all__ = ["router", "sse_stream", "whole_answer"]

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])


@router.post("/conversations", status_code=status.HTTP_201_CREATED, response_model=ConversationOut)
def create_conversation(data: ConversationIn, principal: CurrentPrincipal, db: DbSession) -> object:
    return service.create_conversation(db, principal=principal, title=data.title)


@router.get("/conversations", response_model=Page[ConversationOut])
def list_conversations(principal: CurrentPrincipal, db: DbSession, paging: Paging) -> Page[ConversationOut]:
    rows, total = service.list_conversations(db, principal=principal, limit=paging.limit, offset=paging.offset)
    items = [ConversationOut.model_validate(c) for c in rows]
    return Page[ConversationOut](items=items, total=total, **paging.model_dump())


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> ConversationOut:
    conversation, turns = service.get_conversation(db, principal=principal, conversation_id=conversation_id)
    out = ConversationOut.model_validate(conversation)
    out.turns = [TurnOut.model_validate(t) for t in turns]
    return out


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events, or the whole answer"}},
)
def ask(
    conversation_id: uuid.UUID,
    data: AskIn,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    limiter: Limiter,
    stream: Annotated[bool, Query(description="Stream server-sent events (default) or answer whole.")] = True,
) -> Any:
    """Ask a question. Streamed as server-sent events: `step` (a tool ran), `token` (text),
    `fallback` (the offline answer stands in, and why), `done` (citations, timings), `error`."""
    agent = request.app.state.agent
    prepared = service.begin_turn(
        db,
        principal=principal,
        conversation_id=conversation_id,
        question=data.question,
        limiter=limiter,
        settings=agent.settings,
    )
    db.commit()  # the turn exists before the answer streams
    events = service.run_turn(agent, principal, prepared)
    if not stream:
        return whole_answer(events)
    return StreamingResponse(
        sse_stream(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/turns/{turn_id}/proposals/{step}/confirm")
def confirm_proposal(turn_id: uuid.UUID, step: int, principal: CurrentPrincipal, db: DbSession) -> dict[str, str]:
    """Do what the agent proposed in that step of the turn (a reply, an offer), as the person."""
    return service.confirm_proposal(db, principal=principal, turn_id=turn_id, step=step)


@router.post("/turns/{turn_id}/feedback", response_model=TurnOut)
def feedback(turn_id: uuid.UUID, data: FeedbackIn, principal: CurrentPrincipal, db: DbSession) -> object:
    return service.set_feedback(db, principal=principal, turn_id=turn_id, value=data.value)


def whole_answer(events: Iterator[service.RunEvent]) -> AnswerOut:
    run = service.collect(events)
    return AnswerOut(
        turn_id=run.done.get("turn_id") or uuid.UUID(int=0),
        answer=run.text or run.done.get("message", ""),
        provider=run.done.get("provider", ""),
        fallback=run.fallback,
        citations=run.done.get("citations", []),
        steps=run.steps,
        proposals=run.done.get("proposals", []),
        timings=run.done.get("timings", {}),
    )


async def sse_stream(events: Iterator[service.RunEvent]) -> AsyncIterator[str]:
    """The run's events as server-sent events. When the client goes away the run is closed in
    its thread, so it records itself as cancelled."""
    try:
        async for event in iterate_in_threadpool(events):
            yield f"event: {event['event']}\ndata: {json.dumps(event, default=str)}\n\n"
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            # Shielded: on a disconnect this task is being cancelled, and the close is what
            # records the turn as cancelled.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(close)
