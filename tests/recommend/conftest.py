"""The ROI model's tests play a whole simulated world each: on the embedded PostgreSQL only (what
`make run` uses), not again on the external one; the SQL they run is the same on both, and the
external server is covered by every other domain's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import open_test_database
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database


@pytest.fixture(scope="session")
def database(embedded_server: EmbeddedPostgres) -> Iterator[Database]:
    db = open_test_database(embedded_server.url("veri_test"), embedded_server)
    yield db
    db.dispose()
