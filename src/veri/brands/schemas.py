"""Pydantic shapes of the brands API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from veri.fields import Patch

__all__ = ["BrandOut", "BrandUpdate"]


class BrandUpdate(Patch):
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    website: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=300, pattern=r"^(https?://\S+)?$"),
        ]
        | None
    ) = None
    description: Annotated[str, Field(max_length=2000)] | None = None


class BrandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    category: str
    website: str
    description: str
    created_at: datetime
