"""Creator profiles and social accounts, with the visibility rules: a creator sees only their
own profile; brands see every profile (the marketplace); admins see everything. Social
accounts are private to their creator and admins."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from veri.creators.repository import CreatorRepository
from veri.creators.schemas import CreatorOut, CreatorUpdate, SocialAccountIn
from veri.errors import Conflict, Forbidden, NotFound
from veri.events.service import emit
from veri.events.types import CreatorUpdated
from veri.identity.principal import Principal
from veri.migration.shadow import DocumentReads
from veri.models.accounts import Role
from veri.models.creators import Creator, Platform, SocialAccount, SocialAccountStatus

__all__ = [
    "add_social_account",
    "all_creators",
    "create_profile",
    "creator_by_id",
    "creator_profile",
    "get_creator",
    "get_social_account",
    "link_social_account",
    "list_creators",
    "list_social_accounts",
    "remove_social_account",
    "set_social_account_status",
    "social_account_count",
    "social_accounts_by_id",
    "update_profile",
]


def create_profile(db: Session, *, user_id: uuid.UUID, handle: str, display_name: str, **fields: object) -> Creator:
    repo = CreatorRepository(db)
    if repo.by_handle(handle) is not None:
        raise Conflict("this handle is taken", detail=[{"field": "handle", "reason": "already taken"}])
    creator = Creator(user_id=user_id, handle=handle, display_name=display_name, **fields)
    db.add(creator)
    db.flush()
    _emit_updated(db, creator, actor=f"user:{user_id}")
    return creator


def _emit_updated(db: Session, creator: Creator, *, actor: str) -> None:
    emit(
        db,
        CreatorUpdated(
            creator_id=creator.id,
            handle=creator.handle,
            niches=list(creator.niches or []),
            platforms=list(creator.platforms or []),
            audience_size=creator.audience_size or 0,
            location=creator.location or "",
            timezone=creator.timezone or "UTC",
        ),
        subject=f"creator:{creator.id}",
        actor=actor,
    )


def _visible(principal: Principal, creator: Creator) -> bool:
    return principal.role is not Role.CREATOR or creator.id == principal.creator_id


def get_creator(db: Session, *, principal: Principal, creator_id: uuid.UUID) -> Creator:
    creator = CreatorRepository(db).get(creator_id)
    if creator is None or not _visible(principal, creator):
        raise NotFound("no such creator")
    return creator


def creator_profile(db: Session, *, principal: Principal, creator_id: uuid.UUID, reads: DocumentReads) -> CreatorOut:
    """A creator's profile through the migration's read path (Postgres, or Mongo once cut over)."""
    if principal.role is Role.CREATOR and creator_id != principal.creator_id:
        raise NotFound("no such creator")
    doc = reads.read(db, "creator_profile", creator_id, subject=creator_id)
    if doc is None:
        raise NotFound("no such creator")
    return CreatorOut.model_validate({**doc, "id": doc["_id"]})


def own_creator(db: Session, *, principal: Principal) -> Creator:
    if principal.creator_id is None:
        raise Forbidden("only for creator accounts")
    creator = CreatorRepository(db).get(principal.creator_id)
    if creator is None:
        raise NotFound("this account has no creator profile")
    return creator


def list_creators(
    db: Session,
    *,
    principal: Principal,
    niche: str | None = None,
    platform: str | None = None,
    min_audience: int | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Creator], int]:
    """The creators `principal` may see (a creator only themself)."""
    only_id = principal.creator_id if principal.role is Role.CREATOR else None
    if principal.role is Role.CREATOR and only_id is None:
        return [], 0
    return CreatorRepository(db).search(
        only_id=only_id,
        niche=niche,
        platform=platform,
        min_audience=min_audience,
        query=query,
        limit=limit,
        offset=offset,
    )


def update_profile(db: Session, *, principal: Principal, changes: CreatorUpdate) -> Creator:
    creator = own_creator(db, principal=principal)
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(creator, field, value)
    db.flush()
    _emit_updated(db, creator, actor=principal.actor)
    return creator


def creator_by_id(db: Session, creator_id: uuid.UUID) -> Creator | None:
    """A creator by id, for the system itself (who to notify); never for a request."""
    return CreatorRepository(db).get(creator_id)


def social_account_count(db: Session, creator_id: uuid.UUID) -> int:
    return len(CreatorRepository(db).social_accounts(creator_id))


def all_creators(db: Session, *, limit: int) -> list[Creator]:
    """Every creator, for the system itself (the demo world casts them); never for a request."""
    creators, _ = CreatorRepository(db).search(
        only_id=None, niche=None, platform=None, min_audience=None, query=None, limit=limit, offset=0
    )
    return creators


def list_social_accounts(db: Session, *, principal: Principal) -> list[SocialAccount]:
    if principal.is_admin:
        return CreatorRepository(db).social_accounts(None)
    return CreatorRepository(db).social_accounts(own_creator(db, principal=principal).id)


def add_social_account(db: Session, *, principal: Principal, data: SocialAccountIn) -> SocialAccount:
    creator = own_creator(db, principal=principal)
    repo = CreatorRepository(db)
    if repo.social_account_by_handle(data.platform.value, data.handle) is not None:
        raise Conflict(
            f"{data.platform.value} account {data.handle!r} is already registered",
            detail=[{"field": "handle", "reason": "already registered"}],
        )
    account = SocialAccount(creator_id=creator.id, platform=data.platform, handle=data.handle, followers=data.followers)
    db.add(account)
    if data.platform.value not in creator.platforms:
        creator.platforms = [*creator.platforms, data.platform.value]
    db.flush()
    # The profile changed (its accounts): consumers that copy it (dual-write) hear of it.
    _emit_updated(db, creator, actor=principal.actor)
    return account


def remove_social_account(db: Session, *, principal: Principal, account_id: uuid.UUID) -> None:
    account = CreatorRepository(db).social_account(account_id)
    if account is None or not (principal.is_admin or account.creator_id == principal.creator_id):
        raise NotFound("no such social account")
    owner = CreatorRepository(db).get(account.creator_id)
    db.delete(account)
    db.flush()
    if owner is not None:
        _emit_updated(db, owner, actor=principal.actor)


def get_social_account(db: Session, *, principal: Principal, account_id: uuid.UUID) -> SocialAccount:
    """One social account, for its creator or an admin; anyone else: not found."""
    account = CreatorRepository(db).social_account(account_id)
    if account is None or not (principal.is_admin or account.creator_id == principal.creator_id):
        raise NotFound("no such social account")
    return account


def social_accounts_by_id(db: Session, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, SocialAccount]:
    """Social accounts by id, for the system itself (the connectors' sync); never for a request."""
    return CreatorRepository(db).social_accounts_by_id(account_ids)


def link_social_account(
    db: Session,
    *,
    creator_id: uuid.UUID,
    platform: Platform,
    handle: str,
    followers: int,
    actor: str,
    account_id: uuid.UUID | None = None,
) -> SocialAccount:
    """The creator's account on `platform` as the platform named it (after an OAuth consent):
    the one being reconnected (`account_id`), or the creator's account with that handle, or a
    new one; connected. An account another creator registered is a conflict."""
    repo = CreatorRepository(db)
    creator = repo.get(creator_id)
    if creator is None:
        raise NotFound("no such creator")
    by_handle = repo.social_account_by_handle(platform.value, handle)
    if by_handle is not None and by_handle.creator_id != creator_id:
        raise Conflict(
            f"{platform.value} account {handle!r} is registered to another creator",
            detail=[{"field": "handle", "reason": "registered to another creator"}],
        )
    account = repo.social_account(account_id) if account_id is not None else None
    if account is not None and (account.creator_id != creator_id or account.platform is not platform):
        account = None
    account = account or by_handle
    if account is None:
        account = SocialAccount(creator_id=creator_id, platform=platform, handle=handle, followers=followers)
        db.add(account)
    elif by_handle is not None and by_handle.id != account.id:
        # Reconnecting as another account of the platform that the creator also registered.
        account = by_handle
    account.handle = handle
    account.followers = followers
    account.status = SocialAccountStatus.CONNECTED
    if platform.value not in creator.platforms:
        creator.platforms = [*creator.platforms, platform.value]
    db.flush()
    _emit_updated(db, creator, actor=actor)
    return account


def set_social_account_status(
    db: Session, *, account_id: uuid.UUID, status: SocialAccountStatus, followers: int | None = None
) -> SocialAccount | None:
    """For the system itself (the connectors): a grant revoked, disconnected, or fresh numbers."""
    account = CreatorRepository(db).social_account(account_id)
    if account is None:
        return None
    account.status = status
    if followers is not None:
        account.followers = followers
    db.flush()
    return account
