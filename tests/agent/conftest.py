"""Fixtures for the agent's tests: a local fake of Anthropic's Messages API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.fake_anthropic import FakeAnthropic


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake
