"""The agent's API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veri.models.agent import TurnStatus

__all__ = ["AnswerOut", "AskIn", "ConversationIn", "ConversationOut", "FeedbackIn", "TurnOut"]

MAX_QUESTION = 4000


class ConversationIn(BaseModel):
    title: str = Field("", max_length=200)


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="The question, in plain words.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class FeedbackIn(BaseModel):
    value: Literal[-1, 1] = Field(description="1: the answer helped; -1: it did not.")


class TurnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    question: str
    answer: str
    status: TurnStatus
    provider: str
    fallback: str
    kind: str
    tools: list[dict[str, Any]]
    citations: list[str]
    timings: dict[str, Any]
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    feedback: int | None
    created_at: datetime


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    created_at: datetime
    updated_at: datetime
    turns: list[TurnOut] | None = None


class CitationOut(BaseModel):
    memory_id: uuid.UUID
    text: str
    type: str
    when: datetime
    sources: list[uuid.UUID]  # the events the memory came from


class AnswerOut(BaseModel):
    """A whole answer (`?stream=false`)."""

    turn_id: uuid.UUID
    answer: str
    provider: str
    fallback: str
    citations: list[CitationOut]
    steps: list[dict[str, Any]]
    # What the agent proposes to do (a reply, an offer): nothing is written until the person
    # confirms it at POST /agent/turns/{turn_id}/proposals/{step}/confirm.
    proposals: list[dict[str, Any]] = []
    timings: dict[str, Any]
