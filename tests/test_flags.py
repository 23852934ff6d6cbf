"""Feature flags: the seed's names, read from the environment. No database needed."""

from __future__ import annotations

import pytest

from veri.flags import Flag, all_flags, is_enabled


def test_flags_read_the_seed_names_and_default_off() -> None:
    assert [f.flag.value for f in all_flags({})] == [
        "USE_MONGO",
        "READ_FROM_MONGO",
        "HYBRID_SEARCH",
        "MEMORY_DECAY",
    ]
    assert not any(f.enabled for f in all_flags({}))
    env = {"HYBRID_SEARCH": "true", "MEMORY_DECAY": "1", "USE_MONGO": "off"}
    assert is_enabled(Flag.HYBRID_SEARCH, env) and is_enabled(Flag.MEMORY_DECAY, env)
    assert not is_enabled(Flag.USE_MONGO, env)
    assert {f.flag: f.source for f in all_flags(env)}[Flag.USE_MONGO] == "environment"
    with pytest.raises(ValueError, match="READ_FROM_MONGO"):
        is_enabled(Flag.READ_FROM_MONGO, {"READ_FROM_MONGO": "maybe"})
