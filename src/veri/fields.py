"""Field types the schemas share, so that a column and every schema that fills it agree: counts
and money that fit their BIGINT columns, ISO 4217 currency codes, and moments and days in a range
a person can mean (year 1 is a typo, and PostgreSQL date arithmetic on it overflows)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_CENTS",
    "MAX_COUNT",
    "UNSTORABLE_REASON",
    "AwareMoment",
    "Cents",
    "Count",
    "CurrencyCode",
    "Day",
    "Moment",
    "Patch",
    "PositiveCents",
    "check_moment",
    "unstorable",
    "unstorable_paths",
]

MAX_COUNT = 1_000_000_000_000  # a trillion views is already absurd; BIGINT holds 9.2e18
MAX_CENTS = 10_000_000_000  # $100M in minor units

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
PositiveCents = Annotated[int, Field(gt=0, le=MAX_CENTS)]

# From the Unix epoch to long after anyone reading this: wide enough for any history a person
# imports, narrow enough that date arithmetic never leaves PostgreSQL's range.
EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)


def _day_in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def check_moment(value: datetime) -> datetime:
    """A moment in the sane range, in UTC; a naive one is read as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        # In UTC from here on: PostgreSQL refuses offsets beyond 15:59 that ISO 8601 allows.
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset leaves datetime's range
        _day_in_range(date.min if value.year < EARLIEST.year else date.max)
    _day_in_range(value.date())
    return value


Day = Annotated[date, AfterValidator(_day_in_range)]
Moment = Annotated[datetime, AfterValidator(check_moment)]
# Event payloads insist on an explicit offset (they cross systems); the range is the same.
AwareMoment = Annotated[AwareDatetime, AfterValidator(check_moment)]

_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)


def _currency(value: object) -> object:
    if isinstance(value, str):
        value = value.strip().upper()
        if value not in _CURRENCIES:
            raise ValueError("must be an ISO 4217 currency code, such as USD or EUR")
    return value


CurrencyCode = Annotated[str, BeforeValidator(_currency), Field(min_length=3, max_length=3)]


# Text PostgreSQL cannot store: NUL (refused in text and JSONB) and unpaired UTF-16 surrogates
# ("\\ud800" is valid JSON, but no UTF-8 encodes it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_REASON = "must not contain NUL characters or unpaired surrogates"


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def unstorable_paths(value: Any, path: str = "") -> Iterator[str]:
    """Where unstorable text hides in a JSON-like value, as dotted paths ("events.3.payload.text"),
    so that it is refused at the edge, naming the field, instead of failing a write."""
    if isinstance(value, str):
        if unstorable(value):
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and unstorable(key):
                yield path or "body"  # the key itself cannot be named: the object holding it is
                continue
            yield from unstorable_paths(item, f"{path}.{key}".lstrip("."))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from unstorable_paths(item, f"{path}.{index}".lstrip("."))


class Patch(BaseModel):
    """A partial update: a field left out keeps its value; `null` clears a field only where
    clearing means something (`clearable`), and is a 422 naming the field elsewhere, never a
    NOT NULL violation in the database."""

    model_config = ConfigDict(extra="forbid")
    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _null_only_where_clearable(cls, data: Any) -> Any:
        if isinstance(data, dict):
            refused = [
                name
                for name, value in data.items()
                if value is None and name in cls.model_fields and name not in cls.clearable
            ]
            if refused:
                errors = [
                    InitErrorDetails(
                        type=PydanticCustomError("not_null", "may not be null: leave the field out to keep its value"),
                        loc=(name,),
                        input=None,
                    )
                    for name in refused
                ]
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
