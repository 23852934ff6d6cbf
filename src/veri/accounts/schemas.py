"""Pydantic shapes of the accounts API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from zxcvbn import zxcvbn

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


# The weakest password accepted, on zxcvbn's 0-4 scale ("safely unguessable" against an
# online attack, a throttled one, starts at 3).
PASSWORD_MIN_SCORE = 3


def _strong_enough(password: str) -> str:
    """zxcvbn's estimate of how hard the password is to guess (common passwords, keyboard walks,
    repeats, dates...), with its own advice in the message."""
    estimate = zxcvbn(password[:100])
    if estimate["score"] < PASSWORD_MIN_SCORE:
        feedback = estimate["feedback"]
        advice = feedback.get("warning") or " ".join(feedback.get("suggestions") or []) or "add more words"
        raise ValueError(f"is too easy to guess: {advice.rstrip('.')}")
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

    @model_validator(mode="after")
    def _password_not_made_of_who_you_are(self) -> SignupIn:
        about_you = [str(self.email).split("@")[0], self.display_name, self.handle or "", self.brand_name or ""]
        if zxcvbn(self.password[:100], user_inputs=[w for w in about_you if w])["score"] < PASSWORD_MIN_SCORE:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "weak_password", "is too easy to guess: it contains your name or email"
                        ),
                        loc=("password",),
                        input=self.password,
                    )
                ],
            )
        return self


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128)]


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password
    # A changed password often means a leaked one: the settings page offers this, checked.
    revoke_api_keys: bool = False


class PasswordResetRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class PasswordResetConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=10, max_length=200)]
    new_password: Password
    # A reset often follows a compromise: the page offers this, checked.
    revoke_api_keys: bool = False


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
