"""Identity: who a request is (a principal), and how people prove it: users, log-in, passwords,
resets, sessions and API keys. The base every domain stands on; it imports none of them. No HTTP
here; callers own the transaction (services only flush)."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta
from typing import Literal

import structlog
from sqlalchemy import delete
from sqlalchemy.orm import Session

from veri.config import SecuritySettings
from veri.errors import EmailTaken, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from veri.events.service import emit
from veri.events.types import AccountCreated
from veri.identity.principal import Principal
from veri.identity.ratelimit import RateLimiter
from veri.identity.repository import IdentityRepository
from veri.identity.security import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    tokens_equal,
    verify_password,
)
from veri.identity.sessions import SessionStore
from veri.models.accounts import ApiKey, EmailOutbox, PasswordResetToken, Role, User, UserSession
from veri.models.base import utcnow

__all__ = [
    "api_keys_of",
    "authenticate",
    "authenticate_api_key",
    "change_password",
    "create_api_key",
    "create_user",
    "get_user",
    "has_users",
    "list_users",
    "principal_for",
    "purge_expired_sessions",
    "queue_mail",
    "request_password_reset",
    "reset_password",
    "revoke_api_key",
    "user_by_email",
    "user_by_id",
]

log = structlog.get_logger(__name__)

API_KEY_PREFIX = "veri"


def principal_for(
    db: Session,
    user: User,
    *,
    via: Literal["session", "api_key"],
    scopes: frozenset[str] = frozenset({"read", "write"}),
) -> Principal:
    """The authenticated user with the profile they own, resolved once per request."""
    creator_id = brand_id = None
    if user.role is Role.CREATOR:
        creator_id = IdentityRepository(db).creator_id_of(user.id)
    elif user.role is Role.BRAND:
        brand_id = IdentityRepository(db).brand_id_of(user.id)
    return Principal(user=user, via=via, scopes=scopes, creator_id=creator_id, brand_id=brand_id)


def create_user(db: Session, *, email: str, password: str, display_name: str, role: Role) -> User:
    repo = IdentityRepository(db)
    if repo.user_by_email(email) is not None:
        raise EmailTaken(
            "an account with this email already exists",
            detail=[{"field": "email", "reason": "already registered"}],
        )
    user = User(
        email=email.lower(),
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
    )
    repo.add(user)
    emit(
        db,
        AccountCreated(user_id=user.id, role=role.value, display_name=display_name),
        subject=f"user:{user.id}",
        actor=f"user:{user.id}",
    )
    log.info("user_created", user_id=str(user.id), role=role.value)
    return user


_PAIR_PREFIX = "login:pair:"


def _pair_limits(security: SecuritySettings) -> list[tuple[int, int]]:
    """(failures, window seconds) of a pair: the first step, then twice the failures over an hour
    and four times over a day."""
    first = security.login_max_failures_per_pair
    return [(first, security.login_window_seconds), (2 * first, 3600), (4 * first, 86_400)]


def _seconds_left(window: int) -> int:
    now = int(time.time())
    return window - now % window


def authenticate(
    db: Session,
    limiter: RateLimiter,
    security: SecuritySettings,
    *,
    email: str,
    password: str,
    ip: str,
) -> User:
    """Check a log-in. Failures are counted per (account, address) pair, with a longer wait each
    time the pair keeps failing, and per address across accounts; never per account alone, so
    nobody elsewhere can lock the owner out by guessing."""
    pair = [
        (f"{_PAIR_PREFIX}{email.lower()}:{ip}:{window}", threshold, window)
        for threshold, window in _pair_limits(security)
    ]
    address = (f"login:ip:{ip}", security.login_max_failures_per_ip, security.login_window_seconds)
    limits = [*pair, address]
    for key, threshold, window in limits:
        if limiter.count(key, window) >= threshold:
            log.warning("login_rate_limited", ip=ip)
            advice = (
                "too many failed log-ins from this address: wait and try again"
                if key == address[0]
                else "too many failed log-ins to this account from here: wait and try again, or reset the password"
            )
            raise RateLimited(advice, headers={"Retry-After": str(_seconds_left(window))})
    repo = IdentityRepository(db)
    user = repo.user_by_email(email)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        for key, _, window in limits:
            limiter.hit(key, window)
        account = f"login:account:{email.lower()}"
        if limiter.hit(account, security.login_window_seconds) == security.login_account_alert_failures:
            log.warning("login_account_under_attack", failures=security.login_account_alert_failures)
        log.info("login_failed", ip=ip)
        raise Unauthorized("email or password is wrong")
    for key, _, _ in pair:  # the owner got in from here: this pair starts afresh
        limiter.reset(key)
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.flush()
    log.info("login_succeeded", user_id=str(user.id))
    return user


def change_password(
    db: Session,
    sessions: SessionStore,
    limiter: RateLimiter,
    security: SecuritySettings,
    *,
    user: User,
    current_password: str,
    new_password: str,
    revoke_api_keys: bool = False,
) -> int:
    """Every session of the user ends (the caller opens a fresh one for the current client);
    with `revoke_api_keys`, every key too, since a changed password often means a leaked one.
    Returns how many keys were revoked. Wrong current passwords are throttled like log-ins: a
    stolen session must not become a way to guess the password."""
    key, window = f"password:change:{user.id}", security.login_window_seconds
    if limiter.count(key, window) >= security.login_max_failures_per_pair:
        log.warning("password_change_rate_limited", user_id=str(user.id))
        raise RateLimited(
            "too many wrong current passwords: wait and try again, or reset the password",
            headers={"Retry-After": str(_seconds_left(window))},
        )
    if not verify_password(user.password_hash, current_password):
        limiter.hit(key, window)
        raise Invalid("current_password", "is wrong")
    limiter.reset(key)
    if tokens_equal(current_password, new_password):
        raise Invalid("new_password", "must differ from the current password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    db.flush()
    sessions.delete_all_for_user(user.id)
    revoked = IdentityRepository(db).revoke_api_keys_of(user.id, utcnow()) if revoke_api_keys else 0
    log.info("password_changed", user_id=str(user.id), api_keys_revoked=revoked)
    return revoked


def request_password_reset(
    db: Session,
    limiter: RateLimiter,
    security: SecuritySettings,
    *,
    email: str,
    base_url: str,
    ip: str,
) -> None:
    """Writes the reset mail to the outbox (and, in development only, the link to the log: it is a
    credential). Answers the same way whether or not the address is registered, so it cannot be
    used to find accounts: past an address's hourly mails nothing more is sent, silently; past a
    client's hourly requests, a 429 whatever the address."""
    by_ip = f"password:reset:ip:{ip}"
    if limiter.count(by_ip, 3600) >= security.password_reset_max_per_ip:
        log.warning("password_reset_rate_limited", ip=ip)
        raise RateLimited(
            "too many password reset requests from this address: wait and try again",
            headers={"Retry-After": str(_seconds_left(3600))},
        )
    limiter.hit(by_ip, 3600)
    if limiter.hit(f"password:reset:email:{email.lower()}", 3600) > security.password_reset_max_per_email:
        log.info("password_reset_mail_suppressed")
        return
    repo = IdentityRepository(db)
    user = repo.user_by_email(email)
    if user is None or not user.is_active:
        log.info("password_reset_unknown_email")
        return
    token = new_token()
    now = utcnow()
    repo.add(
        PasswordResetToken(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=security.password_reset_ttl_seconds),
        )
    )
    link = f"{base_url}/password/reset/{token}"
    body = (
        f"Hello {user.display_name},\n\nSomeone asked to reset the password of your Veri "
        f"account. To choose a new one, open:\n\n{link}\n\nThe link works for "
        f"{security.password_reset_ttl_seconds // 60} minutes. If it wasn't you, ignore this mail."
    )
    repo.add(EmailOutbox(to_address=user.email, subject="Reset your Veri password", body=body))
    if security.log_reset_links:
        log.info("email_outbox", to=user.email, subject="Reset your Veri password", link=link)
    else:
        log.info("email_outbox", to=user.email, subject="Reset your Veri password")


def reset_password(
    db: Session,
    sessions: SessionStore,
    limiter: RateLimiter,
    *,
    token: str,
    new_password: str,
    revoke_api_keys: bool = False,
) -> User:
    """Set a new password from a reset link. It is also the way out of log-in throttling: the
    account's failure counts are forgotten."""
    repo = IdentityRepository(db)
    row = repo.reset_token(hash_token(token))
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid("token", "is invalid or has expired: ask for a new reset link")
    user = repo.user_by_id(row.user_id)
    if user is None or not user.is_active:
        raise Invalid("token", "is invalid or has expired: ask for a new reset link")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    repo.invalidate_reset_tokens(user.id, now)
    db.flush()
    sessions.delete_all_for_user(user.id)
    revoked = repo.revoke_api_keys_of(user.id, now) if revoke_api_keys else 0
    limiter.reset_prefix(f"{_PAIR_PREFIX}{user.email.lower()}:")
    log.info("password_reset", user_id=str(user.id), api_keys_revoked=revoked)
    return user


def _managing_keys(principal: Principal) -> None:
    # A key must not mint or revoke keys: a leaked one would outlive its own revocation.
    if principal.via != "session":
        raise Forbidden("API keys are managed from a logged-in session, not with an API key")


def create_api_key(db: Session, *, principal: Principal, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is never stored or shown again."""
    _managing_keys(principal)
    user = principal.user
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}_{prefix}_{new_token()}"
    key = ApiKey(
        user_id=user.id,
        name=name,
        prefix=prefix,
        key_hash=hash_token(secret),
        scopes=sorted(set(scopes)),
    )
    IdentityRepository(db).add(key)
    log.info("api_key_created", user_id=str(user.id), key_id=str(key.id), scopes=key.scopes)
    return key, secret


def revoke_api_key(db: Session, *, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    _managing_keys(principal)
    key = IdentityRepository(db).api_key(key_id)
    if key is None or (key.user_id != principal.user.id and not principal.is_admin):
        raise NotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.flush()
        log.info("api_key_revoked", key_id=str(key.id))
    return key


def authenticate_api_key(db: Session, *, secret: str) -> tuple[ApiKey, User] | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    repo = IdentityRepository(db)
    key = repo.api_key_by_prefix(parts[1])
    if key is None or key.revoked_at is not None or not tokens_equal(key.key_hash, hash_token(secret)):
        return None
    user = repo.user_by_id(key.user_id)
    if user is None or not user.is_active:
        return None
    key.last_used_at = utcnow()
    return key, user


def purge_expired_sessions(db: Session) -> int:
    """Delete PostgreSQL sessions past their expiry (Redis expires its own). The worker runs
    this periodically; an expired session is refused anyway, this only keeps the table small."""
    removed = db.execute(delete(UserSession).where(UserSession.expires_at <= utcnow())).rowcount  # type: ignore[attr-defined]
    if removed:
        log.info("sessions_purged", count=removed)
    return int(removed or 0)


def api_keys_of(db: Session, *, user: User) -> list[ApiKey]:
    return IdentityRepository(db).api_keys_of(user.id)


def list_users(db: Session, *, role: Role | None, query: str | None, limit: int, offset: int) -> tuple[list[User], int]:
    return IdentityRepository(db).list_users(role=role, query=query, limit=limit, offset=offset)


def user_by_id(db: Session, *, user_id: uuid.UUID) -> User | None:
    return IdentityRepository(db).user_by_id(user_id)


def user_by_email(db: Session, *, email: str) -> User | None:
    return IdentityRepository(db).user_by_email(email)


def queue_mail(db: Session, *, user_id: uuid.UUID, subject: str, body: str) -> EmailOutbox | None:
    """Mail to a user, through the outbox (in the caller's transaction); None when the user is
    gone or deactivated, who get no mail."""
    repo = IdentityRepository(db)
    user = repo.user_by_id(user_id)
    if user is None or not user.is_active:
        return None
    mail = EmailOutbox(to_address=user.email, subject=subject[:200], body=body)
    repo.add(mail)
    log.info("email_outbox", to=user.email, subject=mail.subject)
    return mail


def get_user(db: Session, *, user_id: uuid.UUID) -> User:
    user = IdentityRepository(db).user_by_id(user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def has_users(db: Session) -> bool:
    return IdentityRepository(db).has_users()
