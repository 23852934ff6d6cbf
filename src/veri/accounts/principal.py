"""Who is making a request: a user, how they authenticated, and what they own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from veri.models.accounts import Role, User

__all__ = ["Principal"]


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["session", "api_key"]
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read", "write"}))
    # The profile this user owns, resolved once at authentication.
    creator_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def actor(self) -> str:
        """How events name who caused them."""
        return f"user:{self.user.id}"

    @property
    def is_admin(self) -> bool:
        return self.user.role is Role.ADMIN
