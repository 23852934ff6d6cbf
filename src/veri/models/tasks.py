"""Tasks a brand (or the platform) sets, a creator's take on one (accepted, proof, verdict), the
audit trail of every verdict, and the screenshots creators upload as proof."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column, utcnow

__all__ = ["ProofFile", "Task", "TaskKind", "TaskReview", "TaskSubmission", "TaskSubmissionStatus"]


class TaskKind(enum.StrEnum):
    POST = "post"  # publish a post (with a hashtag) on a platform
    VIEWS = "views"  # a post reaches `views_target` views by the due date
    DELIVERABLE = "deliverable"  # deliver something (a draft) by the due date: proof is a link
    SCREENSHOT = "screenshot"  # proof is a screenshot a person checks
    PROFILE = "profile"  # the platform's: complete the profile
    CONNECT = "connect"  # the platform's: connect a social account
    FIRST_DEAL = "first_deal"  # the platform's: complete a first deal


class TaskSubmissionStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # taken on, no proof yet
    PENDING = "pending"  # proof in, waiting for the evidence (metrics) to decide
    NEEDS_REVIEW = "needs_review"  # a person decides (a screenshot, or suspicious)
    VERIFIED = "verified"
    REJECTED = "rejected"


class Task(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "tasks"

    kind: Mapped[TaskKind] = mapped_column(enum_column(TaskKind, "task_kind"))
    title: Mapped[str] = mapped_column(String(160))
    instructions: Mapped[str] = mapped_column(Text, default="")
    # Plain ids, not foreign keys: tasks also come from events (a simulated world, a replay)
    # whose brands and campaigns have no rows here.
    brand_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    creator_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # a deal's task: its creator only
    hashtag: Mapped[str] = mapped_column(String(60), default="")
    platform: Mapped[str] = mapped_column(String(20), default="")
    views_target: Mapped[int] = mapped_column(BigInteger, default=0)
    due_at: Mapped[datetime | None]
    points: Mapped[int] = mapped_column(Integer, default=50)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TaskSubmission(UUIDPrimaryKey, TimestampMixin, Base):
    """One creator's take on one task: accepted, then one proof, then one verdict."""

    __tablename__ = "task_submissions"
    __table_args__ = (UniqueConstraint("task_id", "creator_id"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[TaskSubmissionStatus] = mapped_column(
        enum_column(TaskSubmissionStatus, "task_submission_status"), default=TaskSubmissionStatus.ACCEPTED
    )
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(60), default="")  # auto | user:<id>
    reason: Mapped[str] = mapped_column(Text, default="")
    proof_kind: Mapped[str] = mapped_column(String(20), default="")
    proof_url: Mapped[str] = mapped_column(String(500), default="")
    content_id: Mapped[uuid.UUID | None]
    claimed_views: Mapped[int] = mapped_column(BigInteger, default=0)
    proof_file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("proof_files.id", ondelete="SET NULL"))
    image_hash: Mapped[str | None] = mapped_column(String(16), index=True)
    # Why fraud detection sent it to a person (empty when nothing looked wrong).
    flags: Mapped[list[str]] = mapped_column(JSONB, default=list)


class TaskReview(UUIDPrimaryKey, Base):
    """The audit trail: every submission, automatic verdict and person's decision."""

    __tablename__ = "task_reviews"

    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_submissions.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(60))  # auto | user:<id>
    action: Mapped[str] = mapped_column(String(20))  # submitted | verified | rejected | needs_review
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProofFile(UUIDPrimaryKey, Base):
    """An uploaded screenshot: in the database (transactional, shared by every process), only
    after Pillow decoded it as one of the allowed formats; served only to who may see the task."""

    __tablename__ = "proof_files"

    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
