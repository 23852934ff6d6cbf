"""The registry of event types: one pydantic payload model per (type, version), and the
upcasters that turn an old version's payload into the next one, so consumers only ever see the
newest shape while the log keeps what was written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["REGISTRY", "EventPayload", "EventType", "Registry", "UnknownEventType"]

P = TypeVar("P", bound="EventPayload")
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnknownEventType(LookupError):
    pass


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    stream: str
    description: str
    payload: type[EventPayload]
    # Turns the payload of version - 1 into this version's; None for version 1.
    upcast_from_previous: Upcaster | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)


@dataclass
class Registry:
    _types: dict[tuple[str, int], EventType] = field(default_factory=dict)
    _latest: dict[str, EventType] = field(default_factory=dict)

    def register(
        self,
        name: str,
        version: int,
        *,
        stream: str,
        description: str,
        upcast: Upcaster | None = None,
    ) -> Callable[[type[P]], type[P]]:
        def add(payload: type[P]) -> type[P]:
            if (name, version) in self._types:
                raise ValueError(f"{name} v{version} is registered twice")
            if version > 1 and (name, version - 1) not in self._types:
                raise ValueError(f"{name} v{version} needs v{version - 1} registered first")
            if version > 1 and upcast is None:
                raise ValueError(f"{name} v{version} needs an upcaster from v{version - 1}")
            event_type = EventType(name, version, stream, description, payload, upcast)
            self._types[(name, version)] = event_type
            if name not in self._latest or self._latest[name].version < version:
                self._latest[name] = event_type
            return payload

        return add

    def get(self, name: str, version: int) -> EventType:
        try:
            return self._types[(name, version)]
        except KeyError:
            known = sorted(v for n, v in self._types if n == name)
            if not known:
                raise UnknownEventType(f"unknown event type {name!r}") from None
            raise UnknownEventType(f"{name!r} has no version {version} (known: {known})") from None

    def latest(self, name: str) -> EventType:
        newest = self._latest.get(name)
        if newest is None:
            raise UnknownEventType(f"unknown event type {name!r}")
        return newest

    def parse(self, name: str, version: int, payload: dict[str, Any] | str | bytes) -> tuple[EventType, EventPayload]:
        """Validate a payload (a dict, or JSON text) at its own version, then upcast it step by
        step to the newest."""
        current = self.get(name, version)
        if isinstance(payload, str | bytes):
            model = current.payload.model_validate_json(payload)
        else:
            model = current.payload.model_validate(payload)
        newest = self.latest(name)
        while current.version < newest.version:
            following = self._types[(name, current.version + 1)]
            assert following.upcast_from_previous is not None
            model = following.payload.model_validate(following.upcast_from_previous(model.model_dump(mode="json")))
            current = following
        return current, model

    def names_of(self, *payloads: type[EventPayload]) -> frozenset[str]:
        """The type names these payload models are registered under: a consumer group declares
        what it handles by the models it reads, never by a second list of strings."""
        by_model = {t.payload: t.name for t in self._types.values()}
        missing = [p.__name__ for p in payloads if p not in by_model]
        if missing:
            raise UnknownEventType(f"not registered as event payloads: {', '.join(missing)}")
        return frozenset(by_model[p] for p in payloads)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._types})

    def all(self) -> list[EventType]:
        return [self._types[key] for key in sorted(self._types)]


REGISTRY = Registry()
