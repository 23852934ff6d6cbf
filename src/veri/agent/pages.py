"""The chat page: conversations on the side, the chosen one's turns (answers with their tool
steps and cited memories), and a box to ask; answers stream in through agent.js."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from veri.agent import service
from veri.dependencies import DbSession
from veri.identity.deps import CurrentPrincipal
from veri.models.agent import AgentConversation, AgentTurn
from veri.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/agent", response_class=HTMLResponse)
def chat(request: Request, principal: CurrentPrincipal, db: DbSession, c: uuid.UUID | None = None) -> Response:
    conversations, _ = service.list_conversations(db, principal=principal, limit=30)
    conversation: AgentConversation | None = None
    turns: list[AgentTurn] = []
    if c is not None:
        conversation, turns = service.get_conversation(db, principal=principal, conversation_id=c)
    return render(
        request,
        "agent.html",
        principal,
        conversations=conversations,
        conversation=conversation,
        turns=turns,
        provider=request.app.state.agent.provider.name,
    )
