"""Memory's repository: its SQL is the `veri.memory.store` package, its consolidation rules
`veri.memory.consolidation`; this module keeps the names others import from here."""

from veri.memory.consolidation import Applied
from veri.memory.drafts import EMBEDDED_KINDS
from veri.memory.store import MemoryRepository, vectors_enabled

__all__ = ["EMBEDDED_KINDS", "Applied", "MemoryRepository", "vectors_enabled"]
