"""Pydantic shapes of the tasks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from veri.fields import AwareMoment, Count
from veri.models.tasks import TaskKind, TaskSubmissionStatus

__all__ = ["ProofIn", "ReviewIn", "SubmissionOut", "TaskIn", "TaskOut"]

Hashtag = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60, pattern=r"^#?[\w-]*$")]
BRAND_KINDS = (TaskKind.POST, TaskKind.VIEWS, TaskKind.DELIVERABLE, TaskKind.SCREENSHOT)


class TaskIn(BaseModel):
    """A brand's task on one of its campaigns (every creator with an accepted deal on it) or on
    one deal (its creator only)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["post", "views", "deliverable", "screenshot"]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=160)]
    instructions: Annotated[str, Field(max_length=2000)] = ""
    campaign_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    hashtag: Hashtag = ""
    platform: Literal["", "youtube", "instagram", "tiktok", "twitch"] = ""
    views_target: Annotated[int, Field(ge=0, le=10_000_000_000)] = 0
    due_at: AwareMoment | None = None
    points: Annotated[int, Field(ge=0, le=200)] = 50

    @model_validator(mode="after")
    def _consistent(self) -> TaskIn:
        if (self.campaign_id is None) == (self.deal_id is None):
            raise ValueError("give exactly one of campaign_id and deal_id")
        if self.kind == "views" and self.views_target <= 0:
            raise ValueError("views_target: a views task needs a target above 0")
        return self


class ProofIn(BaseModel):
    """What a creator offers as proof (a screenshot comes as a file upload instead)."""

    model_config = ConfigDict(extra="forbid")

    post_url: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^(https?://[^\s<>\"']+)?$")
    ] = ""
    content_id: uuid.UUID | None = None
    claimed_views: Count = 0


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> ReviewIn:
        if self.decision == "reject" and not self.reason:
            raise ValueError("reason: say why the proof is rejected")
        return self


class SubmissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    creator_id: uuid.UUID
    status: TaskSubmissionStatus
    accepted_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: str
    reason: str
    proof_kind: str
    proof_url: str
    content_id: uuid.UUID | None
    claimed_views: int
    has_screenshot: bool = False
    flags: list[str]


class TaskOut(BaseModel):
    id: uuid.UUID
    kind: TaskKind
    title: str
    instructions: str
    brand_id: uuid.UUID | None
    brand_name: str = ""
    campaign_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    hashtag: str
    platform: str
    views_target: int
    due_at: datetime | None
    points: int
    created_at: datetime
    mine: SubmissionOut | None = None  # the asking creator's take on it
