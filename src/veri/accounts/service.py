"""Sign-up: a new creator or brand account with its profile, made through the identity core and
the creators' and brands' services. No HTTP here; callers own the transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from veri.accounts.schemas import SignupIn
from veri.brands import service as brand_service
from veri.creators import service as creator_service
from veri.errors import Invalid
from veri.identity.service import create_user
from veri.models.accounts import Role, User

__all__ = ["sign_up"]


def sign_up(db: Session, *, data: SignupIn) -> User:
    """A new creator or brand account with its profile. Admins are made with the CLI only."""
    if data.role == "creator" and not data.handle:
        raise Invalid("handle", "is required for a creator account")
    if data.role == "brand" and not data.brand_name:
        raise Invalid("brand_name", "is required for a brand account")
    user = create_user(
        db,
        email=str(data.email),
        password=data.password,
        display_name=data.display_name,
        role=Role(data.role),
    )
    if data.role == "creator":
        assert data.handle is not None
        creator_service.create_profile(db, user_id=user.id, handle=data.handle, display_name=data.display_name)
    else:
        assert data.brand_name is not None
        brand_service.create_brand(db, owner_id=user.id, name=data.brand_name)
    return user
