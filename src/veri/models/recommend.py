"""Versions of the ROI model: what each was trained on, how it scored, whether it serves.
The fitted model itself is stored with it (joblib bytes), so every API and worker process
loads the same one from the database."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column

__all__ = ["ModelStatus", "ModelVersion"]


class ModelStatus(enum.StrEnum):
    SERVING = "serving"  # the one predictions come from
    RETIRED = "retired"  # served before a better one was promoted
    REJECTED = "rejected"  # scored worse than the serving one on the held-out window


class ModelVersion(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    name: Mapped[str] = mapped_column(String(40), index=True)  # "roi"
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ModelStatus] = mapped_column(enum_column(ModelStatus, "model_status"))
    # The decisions it learned from (world time) and the window it was scored on.
    trained_from: Mapped[datetime]
    trained_until: Mapped[datetime]
    outcomes: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSONB)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(300), default="")
