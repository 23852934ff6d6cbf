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

    def owned_scope(self) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
        """The (creator, brand) a list must be limited to: (creator, None) for a creator,
        (None, brand) for a brand, (None, None) for an admin who sees all; None when the user
        owns no profile and sees nothing."""
        if self.is_admin:
            return (None, None)
        if self.role is Role.CREATOR and self.creator_id is not None:
            return (self.creator_id, None)
        if self.role is Role.BRAND and self.brand_id is not None:
            return (None, self.brand_id)
        return None

    @property
    def is_admin(self) -> bool:
        return self.user.role is Role.ADMIN
