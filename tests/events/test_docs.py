"""docs/events.md is generated from the registry and must match it."""

from __future__ import annotations

from pathlib import Path

from veri.events.docs import render_event_docs
from veri.events.registry import REGISTRY


def test_event_docs_are_up_to_date() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert path.read_text() == render_event_docs(), "run `veri events docs`"


def test_every_version_after_the_first_has_an_upcaster() -> None:
    for event_type in REGISTRY.all():
        assert (event_type.version == 1) == (event_type.upcast_from_previous is None), event_type.key
