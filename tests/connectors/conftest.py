"""The demo platform, once per module on its own port, and Veri's settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connectors.helpers import settings_for, start_demo
from tests.factories import free_port
from veri.config import Settings
from veri.demo_platform import DemoPlatformServer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPlatformServer]:
    server = start_demo(tmp_path_factory.mktemp("demo-platform"), free_port())
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "demo" in request.fixturenames:
        request.getfixturevalue("demo").config.set_faults(rate_429=0.0, rate_500=0.0, hang_share=0.0, platforms=())


@pytest.fixture
def settings(tmp_path: Path, demo: DemoPlatformServer) -> Settings:
    return settings_for(tmp_path, demo.port)
