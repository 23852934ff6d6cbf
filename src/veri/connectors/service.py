"""Connecting a social account over OAuth and keeping the grant: start (a `state` bound to the
person's session, single use, expiring; a PKCE verifier kept encrypted), the callback (claim the
state, exchange the code, read the profile, link the account), disconnect (revoke at the
platform), sync on request, webhooks (signature, timestamp, replay), reconnect-needed with a
notification, key rotation. Tokens are encrypted here and decrypted only to call a platform;
nothing this module returns carries one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from veri.config import ConnectorSettings
from veri.connectors import webhooks
from veri.connectors.adapters import Connectors
from veri.connectors.base import ConnectorError, GrantRejected, PlatformRefused, TokenSet
from veri.connectors.crypto import TokenCipher
from veri.connectors.repository import ConnectorRepository
from veri.connectors.schemas import (
    PLATFORM_NAMES,
    ConnectionOut,
    ConnectorsOverviewOut,
    PlatformOverviewOut,
    WebhookOut,
)
from veri.creators import service as creator_service
from veri.errors import Conflict, Forbidden, NotFound, VeriError
from veri.identity.principal import Principal
from veri.identity.security import hash_token, new_token
from veri.live import service as live_service
from veri.models.base import utcnow
from veri.models.connectors import OAuthState, PlatformGrant, WebhookReceipt
from veri.models.creators import Platform, SocialAccount, SocialAccountStatus

__all__ = [
    "BadWebhook",
    "Claim",
    "ConnectorRuntime",
    "FailingSync",
    "OAuthRefused",
    "PlatformDown",
    "claim_state",
    "connection_of",
    "connections",
    "disconnect",
    "finish_connection",
    "mark_reconnect_needed",
    "overview",
    "purge",
    "receive_webhook",
    "recent_activity",
    "request_sync",
    "rotate_keys",
    "start_connection",
    "store_tokens",
    "tokens_of",
]

log = structlog.get_logger(__name__)


class OAuthRefused(VeriError):
    """A connection that cannot finish: a forged, reused, expired or foreign `state`, a consent
    the person denied, a code (or PKCE verifier) the platform refused."""

    status_code = 400
    code = "oauth_refused"


class BadWebhook(VeriError):
    status_code = 400
    code = "bad_webhook"


class PlatformDown(VeriError):
    status_code = 502
    code = "platform_unavailable"


@dataclass(frozen=True)
class ConnectorRuntime:
    """What the connectors need at run time, built once per process (wiring.connectors)."""

    connectors: Connectors
    cipher: TokenCipher
    settings: ConnectorSettings


@dataclass(frozen=True)
class Claim:
    """A `state` that checked out and is now used up: what the token exchange needs."""

    platform: Platform
    code_verifier: str
    redirect_uri: str


# -- tokens ------------------------------------------------------------------------------------


def tokens_of(grant: PlatformGrant, cipher: TokenCipher) -> TokenSet:
    return TokenSet(
        access_token=cipher.decrypt(grant.access_token),
        refresh_token=cipher.decrypt(grant.refresh_token) if grant.refresh_token else None,
        expires_at=grant.expires_at,
        scope=grant.scopes,
    )


def store_tokens(grant: PlatformGrant, tokens: TokenSet, cipher: TokenCipher) -> None:
    grant.access_token = cipher.encrypt(tokens.access_token)
    grant.refresh_token = cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
    grant.expires_at = tokens.expires_at
    grant.scopes = tokens.scope[:500]


def _binding(principal: Principal, binding: str) -> str:
    return hash_token(f"{principal.user.id}:{binding}")


# -- connecting --------------------------------------------------------------------------------


def start_connection(
    db: Session,
    *,
    principal: Principal,
    platform: Platform,
    binding: str,
    redirect_uri: str,
    runtime: ConnectorRuntime,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """The platform's consent URL for this creator, and when its `state` expires. `binding`
    names the session (or API key) that asked: only it can finish the connection."""
    creator_service.own_creator(db, principal=principal)
    connector = runtime.connectors.get(platform)
    now = now or utcnow()
    state, verifier = new_token(32), new_token(48)  # the verifier: 64 characters (RFC 7636: 43-128)
    expires_at = now + timedelta(seconds=runtime.settings.connector_state_ttl_seconds)
    ConnectorRepository(db).add_state(
        OAuthState(
            state_hash=hash_token(state),
            user_id=principal.user.id,
            binding_hash=_binding(principal, binding),
            platform=platform,
            code_verifier=runtime.cipher.encrypt(verifier),
            redirect_uri=redirect_uri[:500],
            created_at=now,
            expires_at=expires_at,
        )
    )
    url = connector.authorize_url(state=state, code_verifier=verifier, redirect_uri=redirect_uri)
    log.info("connection_started", platform=platform.value, user_id=str(principal.user.id))
    return url, expires_at


def claim_state(
    db: Session,
    *,
    principal: Principal,
    platform: Platform,
    state: str,
    binding: str,
    runtime: ConnectorRuntime,
    now: datetime | None = None,
) -> Claim:
    """Use up the `state` the platform sent back, if it is one Veri issued to this person's
    session for this platform, unused and unexpired. The caller commits before the exchange, so
    the state stays used whatever the platform answers."""
    now = now or utcnow()
    row = ConnectorRepository(db).state_for_update(hash_token(state)) if state else None
    reason = None
    if row is None:
        reason = "unknown state"
    elif row.used_at is not None:
        reason = "state already used"
    elif row.expires_at < now:
        reason = "state expired"
    elif row.user_id != principal.user.id or row.binding_hash != _binding(principal, binding):
        reason = "state issued to another session"
    elif row.platform is not platform:
        reason = "state issued for another platform"
    if reason is not None or row is None:
        log.warning("oauth_state_refused", platform=platform.value, reason=reason, user_id=str(principal.user.id))
        raise OAuthRefused("this connection link is not valid (expired, used, or from another session): start again")
    row.used_at = now
    db.flush()
    return Claim(
        platform=platform, code_verifier=runtime.cipher.decrypt(row.code_verifier), redirect_uri=row.redirect_uri
    )


def finish_connection(
    db: Session,
    *,
    principal: Principal,
    claim: Claim,
    code: str | None,
    error: str | None,
    runtime: ConnectorRuntime,
    now: datetime | None = None,
) -> SocialAccount:
    """Exchange the code (with the claim's PKCE verifier), read who the account is, and keep the
    grant (encrypted) on the creator's social account, connected and due for a first sync."""
    platform = claim.platform
    if error or not code:
        log.info("connection_declined", platform=platform.value, error=(error or "no code")[:60])
        raise OAuthRefused(f"{platform.value} did not grant access ({(error or 'no code')[:60]})")
    creator = creator_service.own_creator(db, principal=principal)
    connector = runtime.connectors.get(platform)
    now = now or utcnow()
    try:
        tokens = connector.exchange_code(code=code, code_verifier=claim.code_verifier, redirect_uri=claim.redirect_uri)
        profile = connector.profile(tokens)
    except (GrantRejected, PlatformRefused) as exc:
        log.warning("connection_refused", platform=platform.value, reason=str(exc))
        raise OAuthRefused(f"{platform.value} refused the connection: start again") from None
    except ConnectorError as exc:
        log.warning("connection_failed", platform=platform.value, reason=str(exc))
        raise PlatformDown(f"{platform.value} is not answering: try again in a minute") from None
    repo = ConnectorRepository(db)
    existing = repo.grant_by_external_id(platform, profile.external_id)
    if existing is not None and existing.creator_id != creator.id:
        raise Conflict(f"this {platform.value} account is connected to another creator")
    account = creator_service.link_social_account(
        db,
        creator_id=creator.id,
        platform=platform,
        handle=profile.handle,
        followers=profile.followers,
        actor=principal.actor,
        account_id=existing.social_account_id if existing is not None else None,
    )
    grant = existing if existing is not None and existing.social_account_id == account.id else repo.grant(account.id)
    if grant is None:
        grant = PlatformGrant(social_account_id=account.id, creator_id=creator.id, platform=platform)
        db.add(grant)
    grant.external_account_id = profile.external_id
    store_tokens(grant, tokens, runtime.cipher)
    grant.revoked_at = None
    grant.refreshed_at = now
    db.flush()
    repo.schedule(account.id, platform, at=now)
    log.info("platform_connected", platform=platform.value, account_id=str(account.id), creator_id=str(creator.id))
    return account


def disconnect(db: Session, *, principal: Principal, account_id: uuid.UUID, runtime: ConnectorRuntime) -> None:
    """Revoke the grant at the platform (best effort: the platform may be down, the grant gone
    already) and forget it; the account stays, disconnected."""
    account = creator_service.get_social_account(db, principal=principal, account_id=account_id)
    repo = ConnectorRepository(db)
    grant = repo.grant(account.id, for_update=True)
    if grant is not None and grant.revoked_at is None:
        try:
            runtime.connectors.get(grant.platform).revoke(tokens_of(grant, runtime.cipher))
        except (ConnectorError, NotFound) as exc:
            log.warning("revocation_failed", platform=grant.platform.value, account_id=str(account.id), reason=str(exc))
    repo.delete_grant(account.id)
    creator_service.set_social_account_status(db, account_id=account.id, status=SocialAccountStatus.DISCONNECTED)
    log.info("platform_disconnected", platform=account.platform.value, account_id=str(account.id))


def request_sync(
    db: Session, *, principal: Principal, account_id: uuid.UUID, now: datetime | None = None
) -> ConnectionOut:
    """Ask the worker to sync this account now."""
    account = creator_service.get_social_account(db, principal=principal, account_id=account_id)
    repo = ConnectorRepository(db)
    grant = repo.grant(account.id)
    if grant is None or grant.revoked_at is not None:
        raise Conflict("connect this account first")
    repo.request_sync([account.id], now or utcnow())
    return _connections(db, [account])[0]


def connection_of(db: Session, account: SocialAccount) -> ConnectionOut:
    return _connections(db, [account])[0]


def connections(db: Session, *, principal: Principal) -> list[ConnectionOut]:
    """The person's social accounts with their connection and sync progress (an admin: all)."""
    return _connections(db, creator_service.list_social_accounts(db, principal=principal))


def _connections(db: Session, accounts: list[SocialAccount]) -> list[ConnectionOut]:
    repo = ConnectorRepository(db)
    ids = [a.id for a in accounts]
    grants, states = repo.grants(ids), repo.sync_states(ids)
    now = utcnow()
    out = []
    for account in accounts:
        grant, state = grants.get(account.id), states.get(account.id)
        out.append(
            ConnectionOut(
                account_id=account.id,
                creator_id=account.creator_id,
                platform=account.platform,
                handle=account.handle,
                status=account.status,
                followers=account.followers,
                connected=grant is not None and grant.revoked_at is None,
                connected_at=grant.created_at if grant else None,
                scopes=grant.scopes if grant else "",
                last_synced_at=state.last_success_at if state else None,
                next_sync_at=state.next_sync_at if state else None,
                syncing=bool(state and state.lease_until and state.lease_until > now),
                posts_synced=state.posts_synced if state else 0,
                snapshots_synced=state.snapshots_synced if state else 0,
                last_error=state.last_error if state else "",
                consecutive_failures=state.consecutive_failures if state else 0,
            )
        )
    return out


# -- a grant the platform no longer honours ----------------------------------------------------


def mark_reconnect_needed(db: Session, *, grant: PlatformGrant, reason: str, now: datetime | None = None) -> None:
    """The platform refused the grant (revoked by the person, expired for good): stop syncing,
    show the account as needing a reconnect, and tell the creator."""
    if grant.revoked_at is not None:
        return
    grant.revoked_at = now or utcnow()
    state = ConnectorRepository(db).sync_state(grant.social_account_id)
    if state is not None:
        state.next_sync_at = None
        state.requested_at = None
        state.lease_until = None
        state.last_error = reason[:300]
    account = creator_service.set_social_account_status(
        db, account_id=grant.social_account_id, status=SocialAccountStatus.RECONNECT_NEEDED
    )
    creator = creator_service.creator_by_id(db, grant.creator_id)
    if creator is not None and account is not None:
        name = PLATFORM_NAMES.get(grant.platform.value, grant.platform.value)
        live_service.notify(
            db,
            user_id=creator.user_id,
            kind="connector.reconnect",
            title=f"Reconnect your {name} account {account.handle}",
            body=f"{name} no longer accepts Veri's access, so your posts and numbers stopped syncing. "
            "Reconnect it from your profile.",
            link="/creator/profile",
        )
    log.warning("reconnect_needed", platform=grant.platform.value, account_id=str(grant.social_account_id))


# -- webhooks ----------------------------------------------------------------------------------


def receive_webhook(
    db: Session,
    *,
    platform: Platform,
    headers: Mapping[str, str],
    body: bytes,
    runtime: ConnectorRuntime,
    now: datetime | None = None,
) -> WebhookOut:
    """A platform's signed notice that accounts have something new: verified (signature, then a
    timestamp within the tolerance), recorded by its id (a replay changes nothing), and the
    accounts it names asked to sync."""
    connector = runtime.connectors.get(platform)
    now = now or utcnow()
    try:
        signed = webhooks.verify(
            headers,
            body,
            secret=runtime.connectors.webhook_secret(platform),
            now=now,
            tolerance=runtime.settings.connector_webhook_tolerance_seconds,
        )
    except webhooks.WebhookRefused as exc:
        log.warning("webhook_refused", platform=platform.value, reason=exc.reason, forged=exc.forged)
        if exc.forged:
            raise Forbidden("the webhook's signature does not match") from None
        raise BadWebhook(exc.reason) from None
    try:
        notices = connector.parse_webhook(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("webhook_refused", platform=platform.value, reason="unreadable body", forged=False)
        raise BadWebhook(f"this is not a {platform.value} webhook") from None
    repo = ConnectorRepository(db)
    grants = repo.grants_by_external_ids(platform, sorted({n.account_external_id for n in notices})[:1000])
    live = [g.social_account_id for g in grants if g.revoked_at is None]
    if not repo.record_webhook(platform, signed.webhook_id, sent_at=signed.sent_at, accounts=len(live)):
        log.info("webhook_replayed", platform=platform.value, webhook_id=signed.webhook_id)
        return WebhookOut(accepted=0, duplicate=True)
    accepted = repo.request_sync(live, now)
    log.info("webhook_received", platform=platform.value, webhook_id=signed.webhook_id, accounts=accepted)
    return WebhookOut(accepted=accepted, duplicate=False)


# -- operators ---------------------------------------------------------------------------------


def overview(db: Session, *, runtime: ConnectorRuntime) -> ConnectorsOverviewOut:
    """Per platform: accounts connected and revoked, due now, failing, what sync brought in,
    the last success, and this process's circuit."""
    circuits = runtime.connectors.breakers()
    return ConnectorsOverviewOut(
        platforms=[
            PlatformOverviewOut(**vars(row), circuit=circuits.get(row.platform, "n/a"))
            for row in ConnectorRepository(db).overview()
        ]
    )


@dataclass(frozen=True)
class FailingSync:
    account_id: uuid.UUID
    platform: str
    handle: str
    failures: int
    error: str
    next_sync_at: datetime | None


def recent_activity(db: Session, *, limit: int = 20) -> tuple[list[WebhookReceipt], list[FailingSync]]:
    """The latest webhooks received and the accounts whose syncs are failing (the admin page)."""
    repo = ConnectorRepository(db)
    states = repo.recent_failures(limit)
    accounts = creator_service.social_accounts_by_id(db, [s.social_account_id for s in states])
    failing = [
        FailingSync(
            account_id=s.social_account_id,
            platform=s.platform.value,
            handle=accounts[s.social_account_id].handle if s.social_account_id in accounts else "?",
            failures=s.consecutive_failures,
            error=s.last_error,
            next_sync_at=s.next_sync_at,
        )
        for s in states
    ]
    return repo.recent_webhooks(limit), failing


def rotate_keys(db: Session, *, cipher: TokenCipher, batch: int = 500) -> int:
    """Re-encrypt every stored token and verifier under the newest key; how many values changed.
    Run after putting a new key in front of VERI_CONNECTOR_TOKEN_KEYS; then the old key can go."""
    repo = ConnectorRepository(db)
    changed = 0
    after: uuid.UUID | None = None
    while grants := repo.grant_ids_page(after, batch):
        for grant in grants:
            for field in ("access_token", "refresh_token"):
                value = getattr(grant, field)
                if value and not cipher.is_current(value):
                    setattr(grant, field, cipher.rotate(value))
                    changed += 1
        after = grants[-1].id
        db.flush()
    after = None
    while states := repo.states_page(after, batch):
        for state in states:
            if not cipher.is_current(state.code_verifier):
                state.code_verifier = cipher.rotate(state.code_verifier)
                changed += 1
        after = states[-1].id
        db.flush()
    log.info("connector_keys_rotated", values=changed)
    return changed


def purge(db: Session, *, now: datetime | None = None, keep_webhooks: timedelta = timedelta(days=7)) -> int:
    """Expired connection states and old webhook receipts (far past any replay window)."""
    now = now or utcnow()
    repo = ConnectorRepository(db)
    return repo.purge_states(now) + repo.purge_webhooks(now - keep_webhooks)
