"""The agent's conversations and their turns: who asked what, which tools and memories the
answer used, the answer itself, how long it took, what it cost and which provider gave it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column

__all__ = ["AgentConversation", "AgentTurn", "TurnStatus"]


class TurnStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the person closed the stream before the answer ended
    FAILED = "failed"


class AgentConversation(UUIDPrimaryKey, TimestampMixin, Base):
    """One person's conversation with the agent; only they (and admins) see it."""

    __tablename__ = "agent_conversations"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")


class AgentTurn(UUIDPrimaryKey, TimestampMixin, Base):
    """A question and its answer, with everything needed to explain and replay it."""

    __tablename__ = "agent_turns"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent_conversations.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TurnStatus] = mapped_column(enum_column(TurnStatus, "agent_turn_status"), default=TurnStatus.RUNNING)
    # "anthropic" or "offline"; `fallback` says why the offline answer stood in for Claude's.
    provider: Mapped[str] = mapped_column(String(40), default="")
    fallback: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40), default="")  # the kind of question (plan reuse)
    # [{"name", "arguments", "ms", "found"}] in the order they ran.
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    citations: Mapped[list[str]] = mapped_column(JSONB, default=list)  # memory ids
    # {"server_ms", "first_token_ms", "total_ms"}
    timings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    feedback: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # +1 / -1
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
