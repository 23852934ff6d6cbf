"""Typed errors that carry their HTTP status; one handler in `veri.app` maps them to JSON."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "EmailTaken",
    "Forbidden",
    "Invalid",
    "NotFound",
    "RateLimited",
    "TooLarge",
    "Unauthorized",
    "UnsupportedMedia",
    "VeriError",
]


class VeriError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, detail: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.headers = headers or {}


class Unauthorized(VeriError):
    status_code = 401
    code = "unauthorized"


class Forbidden(VeriError):
    status_code = 403
    code = "forbidden"


class NotFound(VeriError):
    status_code = 404
    code = "not_found"


class Conflict(VeriError):
    status_code = 409
    code = "conflict"


class EmailTaken(Conflict):
    """An account already uses this email (sign-up must say so; it is throttled, see accounts)."""


class Invalid(VeriError):
    """A field is wrong: `Invalid("email", "is not an address")`; several at once with
    `Invalid.fields(message, detail)`, each detail naming its field and reason."""

    status_code = 422
    code = "invalid"

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}", detail=[{"field": field, "reason": reason}])
        self.field = field
        self.reason = reason

    @classmethod
    def fields(cls, message: str, detail: list[dict[str, Any]]) -> Invalid:
        first = detail[0] if detail else {"field": "body", "reason": message}
        error = cls(str(first["field"]), str(first["reason"]))
        error.message, error.detail = message, detail or [first]
        return error


class RateLimited(VeriError):
    status_code = 429
    code = "rate_limited"


class TooLarge(VeriError):
    """An upload over its size limit (the message names the limit)."""

    status_code = 413
    code = "too_large"


class UnsupportedMedia(VeriError):
    """An upload of a type that is not allowed (the message names the allowed ones)."""

    status_code = 415
    code = "unsupported_media"
