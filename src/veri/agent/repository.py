"""All SQL of the agent domain."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.agent import AgentConversation, AgentTurn, TurnStatus

__all__ = ["AgentRepository"]


class AgentRepository:
    def __init__(self, db: Session):
        self.db = db

    def conversation(self, conversation_id: uuid.UUID) -> AgentConversation | None:
        return self.db.get(AgentConversation, conversation_id)

    def conversations(self, owner: uuid.UUID | None, *, limit: int, offset: int) -> tuple[list[AgentConversation], int]:
        statement = select(AgentConversation)
        if owner is not None:
            statement = statement.where(AgentConversation.user_id == owner)
        return fetch_page(
            self.db,
            statement,
            order_by=(AgentConversation.updated_at.desc(), AgentConversation.id),
            limit=limit,
            offset=offset,
        )

    def turns(self, conversation_id: uuid.UUID) -> list[AgentTurn]:
        return list(
            self.db.scalars(
                select(AgentTurn)
                .where(AgentTurn.conversation_id == conversation_id)
                .order_by(AgentTurn.created_at, AgentTurn.id)
            )
        )

    def recent_answers(self, conversation_id: uuid.UUID, limit: int) -> list[AgentTurn]:
        """The conversation's last `limit` answered turns, oldest first (the history a model reads)."""
        rows = self.db.scalars(
            select(AgentTurn)
            .where(AgentTurn.conversation_id == conversation_id, AgentTurn.status == TurnStatus.COMPLETED)
            .order_by(AgentTurn.created_at.desc(), AgentTurn.id.desc())
            .limit(limit)
        )
        return list(reversed(rows.all()))

    def turn(self, turn_id: uuid.UUID, *, for_update: bool = False) -> AgentTurn | None:
        return self.db.get(AgentTurn, turn_id, with_for_update=for_update)
