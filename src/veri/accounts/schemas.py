"""Pydantic shapes of the accounts API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from veri.models.accounts import Role

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "Handle",
    "LoginIn",
    "Name",
    "PasswordChangeIn",
    "PasswordResetConfirmIn",
    "PasswordResetRequestIn",
    "SignupIn",
    "UserOut",
]

SCOPES = ("read", "write")


def _strong_enough(password: str) -> str:
    if len(set(password)) < 4:
        raise ValueError("is too repetitive")
    return password


Password = Annotated[str, Field(min_length=10, max_length=128), AfterValidator(_strong_enough)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


def _handle_characters(handle: str) -> str:
    if not re.fullmatch(r"[a-z0-9_.]+", handle):
        raise ValueError("use letters, digits, '_' and '.' only")
    return handle


Handle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=40),
    AfterValidator(_handle_characters),
]


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Password
    display_name: Name
    role: Literal["creator", "brand"]
    handle: Handle | None = Field(None, description="A creator's public handle (creators only).")
    brand_name: Name | None = Field(None, description="The brand's name (brands only).")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128)]


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class PasswordResetRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class PasswordResetConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=10, max_length=200)]
    new_password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


def _read_only() -> list[Literal["read", "write"]]:
    return ["read"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    scopes: list[Literal["read", "write"]] = Field(default_factory=_read_only, min_length=1)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret: shown once, store it now.")
