"""A consumer group's derived tables as `veri check consistency` compares them with a replay of
the log: each group declares its own (`Handler.derived`), next to the `reset` that deletes them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DerivedTable", "whole"]


@dataclass(frozen=True)
class DerivedTable:
    """`query` projects the table's natural columns (no random ids, no wall-clock columns the
    system stamps); `key` names the columns that identify a row."""

    name: str
    key: tuple[str, ...]
    query: str


def whole(name: str, *key: str) -> DerivedTable:
    """A table every column of which is a fact of the log."""
    return DerivedTable(name, key, f"SELECT * FROM {name}")  # noqa: S608  # nosec B608 - our own table names
