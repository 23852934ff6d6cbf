"""Runtime flag rules must not outlive the test that set them: the runtime is per process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from veri import flags


@pytest.fixture(autouse=True)
def _environment_flags_again() -> Iterator[None]:
    yield
    flags.uninstall()
