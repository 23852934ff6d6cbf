"""`docs/events.md`, generated from the registry (`veri events docs`); a test fails when the
file and the registry disagree."""

from __future__ import annotations

import json
from pathlib import Path

import veri.events.types  # noqa: F401 - registers the event types
from veri.events.registry import REGISTRY

__all__ = ["DOCS_PATH", "render_event_docs"]

DOCS_PATH = Path("docs/events.md")


def _fields(schema: dict[str, object]) -> list[str]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))  # type: ignore[call-overload]
    assert isinstance(properties, dict)
    lines = []
    for name, spec in properties.items():
        kind = spec.get("type") or " or ".join(
            str(option.get("type", option.get("$ref", "?")).split("/")[-1]) for option in spec.get("anyOf", [])
        )
        if spec.get("format"):
            kind = f"{kind} ({spec['format']})"
        if spec.get("enum"):
            kind = " or ".join(json.dumps(v) for v in spec["enum"])
        lines.append(f"| `{name}` | {kind or 'object'} | {'yes' if name in required else 'no'} |")
    return lines


def render_event_docs() -> str:
    out = [
        "# Events",
        "",
        "Generated from the registry (`src/veri/events/types.py`) by `veri events docs`; do not edit.",
        "",
        "Every event travels in one envelope: `id` (UUIDv7, unique: a repeated id is ignored), `type`,",
        "`version`, `occurred_at` (with a time zone), `subject` (`creator:<id>`, `brand:<id>`,",
        "`campaign:<id>` or `user:<id>`: it decides the partition, so a subject's events stay in",
        "order), `actor` and `payload`. Old versions stay valid: they are upcast to the newest when read.",
        "",
        "| type | version | stream (topic) | what happened |",
        "|---|---|---|---|",
    ]
    out += [f"| `{t.name}` | {t.version} | `{t.stream}` | {t.description} |" for t in REGISTRY.all()]
    for t in REGISTRY.all():
        out += ["", f"## `{t.name}` v{t.version}", "", t.description, ""]
        if t.upcast_from_previous is not None:
            out += [f"Version {t.version - 1} is upcast to this one when read.", ""]
        out += ["| field | type | required |", "|---|---|---|", *_fields(t.payload.model_json_schema())]
    return "\n".join(out) + "\n"
