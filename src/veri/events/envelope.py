"""The envelope every event travels in, the check of incoming batches, and the keys that place
an event in the log (its stream and partition)."""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import uuid_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import veri.events.types  # noqa: F401 - registers the event types
from veri.events.registry import REGISTRY, EventPayload, UnknownEventType
from veri.fields import UNSTORABLE_REASON, AwareMoment, unstorable_paths

__all__ = ["Event", "EventIn", "FieldError", "new_event_id", "partition_of", "validate_batch"]

SUBJECT = re.compile(r"^(creator|brand|campaign|user|deal|content):[A-Za-z0-9._:\-]{1,100}$")


def new_event_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so ids sort roughly by creation."""
    return uuid.UUID(str(uuid_utils.uuid7()))


def partition_of(subject: str, partitions: int) -> int:
    """Stable across processes and languages (unlike hash()): every event of a subject lands in
    the same partition, so a subject's events keep their order."""
    return zlib.crc32(subject.encode()) % partitions


@dataclass(frozen=True)
class Event:
    """An event as consumers see it: validated and upcast to its type's newest version."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    subject: str
    actor: str
    payload: EventPayload
    stream: str
    position: int = 0
    # When Veri learned of it (the log's recorded_at); None for an event not yet stored.
    recorded_at: datetime | None = None

    @classmethod
    def new(cls, payload: EventPayload, *, subject: str, actor: str, occurred_at: datetime | None = None) -> Event:
        event_type = next(t for t in REGISTRY.all() if t.payload is type(payload))
        return cls(
            id=new_event_id(),
            type=event_type.name,
            version=event_type.version,
            occurred_at=occurred_at or datetime.now(UTC),
            subject=subject,
            actor=actor,
            payload=payload,
            stream=event_type.stream,
        )

    @classmethod
    def from_stored(
        cls,
        *,
        event_id: uuid.UUID,
        type: str,
        version: int,
        occurred_at: datetime,
        subject: str,
        actor: str,
        payload: dict[str, Any] | str,
        position: int = 0,
        recorded_at: datetime | None = None,
    ) -> Event:
        event_type, model = REGISTRY.parse(type, version, payload)
        return cls(
            event_id,
            type,
            event_type.version,
            occurred_at,
            subject,
            actor,
            model,
            event_type.stream,
            position,
            recorded_at,
        )


class EventIn(BaseModel):
    """An event as a client sends it to `POST /api/v1/events`."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="UUIDv7 chosen by the client; a repeated id is ignored.")
    type: str = Field(max_length=80)
    version: int | None = Field(None, ge=1, le=1000, description="Defaults to the newest version.")
    occurred_at: AwareMoment
    subject: str = Field(max_length=120, description="creator:<id>, brand:<id>, campaign:<id>, user:<id>")
    actor: str = Field(max_length=120)
    payload: dict[str, Any]

    @field_validator("id")
    @classmethod
    def _uuid7(cls, value: uuid.UUID) -> uuid.UUID:
        # What `value.version != 7` checks (RFC 4122 variant, version 7), from the integer at
        # once: the property costs several times more, for every event ingested.
        if (value.int >> 76) & 0xF != 7 or (value.int >> 62) & 0x3 != 0b10:
            raise ValueError("must be a UUIDv7")
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not SUBJECT.match(value):
            raise ValueError("must look like creator:<id>, brand:<id>, campaign:<id> or user:<id>")
        return value


@dataclass(frozen=True)
class FieldError:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


def _errors(index: int, prefix: str, exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(index, ".".join([prefix, *(str(p) for p in e["loc"])]).strip("."), e["msg"]) for e in exc.errors()
    ]


def _maybe_unstorable(raw: list[Any]) -> bool:
    """False when no text in `raw` holds NUL or a lone surrogate: orjson refuses surrogates and
    writes NUL as an escape. True when it might (or orjson cannot encode the batch at all)."""
    try:
        encoded = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        return True
    return b"\\u0000" in encoded


def validate_batch(raw: list[Any]) -> tuple[list[Event], list[FieldError]]:
    """Check every event of a batch; return the valid ones and an error per bad field, each
    with the event's index in the batch."""
    valid: list[Event] = []
    errors: list[FieldError] = []
    # Walking every value in Python cost most of ingestion's time; one encoding of the whole batch
    # finds that nothing is unstorable in a few microseconds an event, and only a batch that holds
    # something suspect is walked to name the field.
    suspect = _maybe_unstorable(raw)
    for index, item in enumerate(raw):
        # PostgreSQL cannot store NUL or lone surrogates: such an event is invalid here, at ingestion,
        # rather than a failed write (consumers read events the outbox accepted, unchecked).
        unfit = next(unstorable_paths(item, f"events.{index}"), None) if suspect else None
        if unfit is not None:
            errors.append(FieldError(index, unfit, UNSTORABLE_REASON))
            continue
        try:
            envelope = EventIn.model_validate(item)
        except ValidationError as exc:
            errors.extend(_errors(index, f"events.{index}", exc))
            continue
        try:
            event_type = (
                REGISTRY.get(envelope.type, envelope.version) if envelope.version else REGISTRY.latest(envelope.type)
            )
            # Stored as sent, at its own version; consumers read it upcast to the newest.
            payload = event_type.payload.model_validate(envelope.payload)
        except UnknownEventType as exc:
            field = "version" if envelope.version and "version" in str(exc) else "type"
            errors.append(FieldError(index, f"events.{index}.{field}", str(exc)))
            continue
        except ValidationError as exc:
            errors.extend(_errors(index, f"events.{index}.payload", exc))
            continue
        valid.append(
            Event(
                id=envelope.id,
                type=event_type.name,
                version=event_type.version,
                occurred_at=envelope.occurred_at,
                subject=envelope.subject,
                actor=envelope.actor,
                payload=payload,
                stream=event_type.stream,
            )
        )
    return valid, errors
