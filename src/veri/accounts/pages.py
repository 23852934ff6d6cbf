"""Account pages: log in, sign up, log out, settings (password, API keys), password reset."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from veri.accounts import service as account_service
from veri.accounts.schemas import (
    ApiKeyCreate,
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetRequestIn,
    SignupIn,
)
from veri.dependencies import DbSession, SettingsDep
from veri.errors import VeriError
from veri.identity import service
from veri.identity.cookies import client_ip, end_session, start_session
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import CurrentPrincipal, Limiter, OptionalPrincipal, Sessions
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.web.forms import FormErrors, errors_from, form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["home_for", "router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


def home_for(principal: Principal) -> str:
    return {Role.CREATOR: "/creator", Role.BRAND: "/brand", Role.ADMIN: "/admin"}[principal.role]


def _safe_next(target: str | None) -> str | None:
    """Only local paths: a `next` pointing elsewhere would be an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal) -> Response:
    """What Veri is, for someone not logged in; one's own dashboard otherwise."""
    if principal:
        return RedirectResponse(home_for(principal), status_code=303)
    return render(request, "landing.html", None)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    principal: OptionalPrincipal,
    next: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    if principal:
        return RedirectResponse(home_for(principal), status_code=303)
    return render(request, "login.html", None, errors={}, values={}, next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request, db: DbSession, sessions: Sessions, limiter: Limiter, settings: SettingsDep
) -> Response:
    values = form_values(await request.form())
    target = _safe_next(values.pop("next", None))
    data, errors = parse_form(LoginIn, values)
    if data is not None:
        try:
            user = service.authenticate(
                db,
                limiter,
                settings.security,
                email=str(data.email),
                password=data.password,
                ip=client_ip(request),
            )
        except VeriError as exc:
            errors = {"form": exc.message}
            status = exc.status_code
        else:
            response = redirect(target or home_for(Principal(user=user, via="session")))
            start_session(request, response, sessions, settings, user)
            return response
    else:
        status = 422
    values.pop("password", None)
    return render(request, "login.html", None, errors=errors, values=values, next=target, status_code=status)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, principal: OptionalPrincipal, role: str = "creator") -> Response:
    if principal:
        return RedirectResponse(home_for(principal), status_code=303)
    return render(
        request,
        "signup.html",
        None,
        errors={},
        values={"role": role if role in ("creator", "brand") else "creator"},
    )


@router.post("/signup", response_class=HTMLResponse)
async def signup_submit(
    request: Request, db: DbSession, sessions: Sessions, settings: SettingsDep, limiter: Limiter
) -> Response:
    values = form_values(await request.form())
    if values.get("role") == "creator":
        values.pop("brand_name", None)
    elif values.get("role") == "brand":
        values.pop("handle", None)
    data, errors = parse_form(SignupIn, values)
    if data is not None:
        try:
            with db.begin_nested():
                user = account_service.sign_up(db, data=data, limiter=limiter, ip=client_ip(request))
        except VeriError as exc:
            errors = errors_from(exc)
        else:
            response = redirect(
                home_for(Principal(user=user, via="session")),
                flash=f"Welcome to Veri, {user.display_name}!",
            )
            start_session(request, response, sessions, settings, user)
            return response
    values.pop("password", None)
    return render(request, "signup.html", None, errors=errors, values=values, status_code=422)


@router.post("/logout")
def logout(request: Request, sessions: Sessions, settings: SettingsDep) -> Response:
    response = redirect("/login", flash="You are logged out.")
    end_session(request, response, sessions, settings)
    return response


def _settings_page(
    request: Request,
    principal: Principal,
    db: DbSession,
    *,
    errors: FormErrors | None = None,
    new_key: str | None = None,
    status_code: int = 200,
) -> Response:
    keys = service.api_keys_of(db, user=principal.user)
    return render(
        request,
        "settings.html",
        principal,
        errors=errors or {},
        keys=keys,
        new_key=new_key,
        status_code=status_code,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    return _settings_page(request, principal, db)


@router.post("/settings/password", response_class=HTMLResponse)
async def settings_password(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    sessions: Sessions,
    limiter: Limiter,
    settings: SettingsDep,
) -> Response:
    data, errors = parse_form(PasswordChangeIn, form_values(await request.form()))
    if data is not None:
        try:
            with db.begin_nested():
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
        except VeriError as exc:
            errors = errors_from(exc)
        else:
            response = redirect(
                "/settings",
                flash="Password changed. Other sessions were logged out"
                + (", and your API keys revoked." if data.revoke_api_keys else "."),
            )
            start_session(request, response, sessions, settings, principal.user)
            return response
    return _settings_page(request, principal, db, errors=errors, status_code=422)


@router.post("/settings/api-keys", response_class=HTMLResponse)
async def settings_create_key(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    data, errors = parse_form(ApiKeyCreate, form_values(await request.form(), lists=("scopes",)))
    if data is None:
        return _settings_page(request, principal, db, errors=errors, status_code=422)
    _, secret = service.create_api_key(db, principal=principal, name=data.name, scopes=list(data.scopes))
    return _settings_page(request, principal, db, new_key=secret)


@router.post("/settings/api-keys/{key_id}/revoke")
def settings_revoke_key(key_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    key = service.revoke_api_key(db, principal=principal, key_id=key_id)
    return redirect("/settings", flash=f"API key {key.name} revoked.")


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "password_forgot.html", None, errors={}, values={}, sent=False)


@router.post("/password/forgot", response_class=HTMLResponse)
async def forgot_submit(request: Request, db: DbSession, limiter: Limiter, settings: SettingsDep) -> Response:
    values = form_values(await request.form())
    data, errors = parse_form(PasswordResetRequestIn, values)
    if data is None:
        return render(
            request,
            "password_forgot.html",
            None,
            errors=errors,
            values=values,
            sent=False,
            status_code=422,
        )
    service.request_password_reset(
        db, limiter, settings.security, email=str(data.email), base_url=settings.base_url, ip=client_ip(request)
    )
    return render(request, "password_forgot.html", None, errors={}, values={}, sent=True)


@router.get("/password/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str) -> Response:
    return render(request, "password_reset.html", None, errors={}, token=token)


@router.post("/password/reset/{token}", response_class=HTMLResponse)
async def reset_submit(request: Request, token: str, db: DbSession, sessions: Sessions, limiter: Limiter) -> Response:
    values = form_values(await request.form())
    data, errors = parse_form(PasswordResetConfirmIn, {**values, "token": token})
    if data is not None:
        try:
            with db.begin_nested():
                service.reset_password(
                    db,
                    sessions,
                    limiter,
                    token=data.token,
                    new_password=data.new_password,
                    revoke_api_keys=data.revoke_api_keys,
                )
        except VeriError as exc:
            errors = errors_from(exc)
        else:
            return redirect("/login", flash="Password changed: log in with the new one.")
    return render(request, "password_reset.html", None, errors=errors, token=token, status_code=422)
