"""Sign-up: a new creator or brand account with its profile, made through the identity core and
the creators' and brands' services. No HTTP here; callers own the transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from veri.accounts.schemas import SignupIn
from veri.brands import service as brand_service
from veri.creators import service as creator_service
from veri.errors import EmailTaken, Invalid, RateLimited
from veri.identity.ratelimit import RateLimiter
from veri.identity.service import create_user
from veri.models.accounts import Role, User

__all__ = ["sign_up"]


# Sign-up must say when an address is taken (there is no account to log in to otherwise), so
# asking is throttled per address of the asker, as log-ins are: finding out which of a list of
# emails have accounts takes hours, not seconds. (Password reset never says.)
TAKEN_EMAILS_PER_WINDOW = 5
TAKEN_WINDOW_SECONDS = 15 * 60


def sign_up(db: Session, *, data: SignupIn, limiter: RateLimiter | None = None, ip: str = "") -> User:
    """A new creator or brand account with its profile. Admins are made with the CLI only."""
    key = f"signup:taken:{ip}"
    if limiter is not None and limiter.count(key, TAKEN_WINDOW_SECONDS) >= TAKEN_EMAILS_PER_WINDOW:
        raise RateLimited(
            "too many sign-ups with addresses that already have an account: try again later",
            headers={"Retry-After": str(TAKEN_WINDOW_SECONDS)},
        )
    try:
        return _create_account(db, data)
    except EmailTaken:
        if limiter is not None:
            limiter.hit(key, TAKEN_WINDOW_SECONDS)
        raise


def _create_account(db: Session, data: SignupIn) -> User:
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
