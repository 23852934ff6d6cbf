"""Accounts API: sign-up, log-in/out, passwords, API keys, users (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from veri.accounts import service as account_service
from veri.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetRequestIn,
    SignupIn,
    UserOut,
)
from veri.dependencies import DbSession, SettingsDep
from veri.identity import service
from veri.identity.cookies import client_ip, end_session, start_session
from veri.identity.deps import AdminPrincipal, CurrentPrincipal, Limiter, Sessions
from veri.models.accounts import Role, User
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def signup(
    data: SignupIn,
    request: Request,
    response: Response,
    db: DbSession,
    sessions: Sessions,
    settings: SettingsDep,
    limiter: Limiter,
) -> User:
    user = account_service.sign_up(db, data=data, limiter=limiter, ip=client_ip(request))
    start_session(request, response, sessions, settings, user)
    return user


@router.post("/auth/login", response_model=UserOut)
def login(
    data: LoginIn,
    request: Request,
    response: Response,
    db: DbSession,
    sessions: Sessions,
    limiter: Limiter,
    settings: SettingsDep,
) -> User:
    user = service.authenticate(
        db,
        limiter,
        settings.security,
        email=str(data.email),
        password=data.password,
        ip=client_ip(request),
    )
    start_session(request, response, sessions, settings, user)
    return user


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    sessions: Sessions,
    settings: SettingsDep,
) -> None:
    end_session(request, response, sessions, settings)


@router.get("/auth/me", response_model=UserOut)
def me(principal: CurrentPrincipal) -> User:
    return principal.user


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    data: PasswordChangeIn,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    db: DbSession,
    sessions: Sessions,
    limiter: Limiter,
    settings: SettingsDep,
) -> None:
    service.change_password(
        db,
        sessions,
        limiter,
        settings.security,
        user=principal.user,
        current_password=data.current_password,
        new_password=data.new_password,
        revoke_api_keys=data.revoke_api_keys,
    )
    if principal.via == "session":
        start_session(request, response, sessions, settings, principal.user)


@router.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED)
def request_password_reset(
    data: PasswordResetRequestIn, request: Request, db: DbSession, limiter: Limiter, settings: SettingsDep
) -> dict[str, str]:
    service.request_password_reset(
        db, limiter, settings.security, email=str(data.email), base_url=settings.base_url, ip=client_ip(request)
    )
    return {"status": "if the address is registered, a reset link is on its way"}


@router.post("/auth/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_password_reset(data: PasswordResetConfirmIn, db: DbSession, sessions: Sessions, limiter: Limiter) -> None:
    service.reset_password(
        db,
        sessions,
        limiter,
        token=data.token,
        new_password=data.new_password,
        revoke_api_keys=data.revoke_api_keys,
    )


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(principal: CurrentPrincipal, db: DbSession) -> object:
    return service.api_keys_of(db, user=principal.user)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(data: ApiKeyCreate, principal: CurrentPrincipal, db: DbSession) -> ApiKeyCreated:
    key, secret = service.create_api_key(db, principal=principal, name=data.name, scopes=list(data.scopes))
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> object:
    return service.revoke_api_key(db, principal=principal, key_id=key_id)


@router.get("/users", response_model=Page[UserOut])
def list_users(
    principal: AdminPrincipal,
    db: DbSession,
    paging: Paging,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> object:
    users, total = service.list_users(db, role=role, query=q, limit=paging.limit, offset=paging.offset)
    return Page[UserOut](items=[UserOut.model_validate(u) for u in users], total=total, **paging.model_dump())


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: uuid.UUID, principal: AdminPrincipal, db: DbSession) -> User:
    return service.get_user(db, user_id=user_id)
