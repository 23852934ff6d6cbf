"""Where simulated events go: a JSONL file, or a running Veri through POST /api/v1/events in
batches of 1,000 (the real ingestion path; re-sending is harmless, ids are deterministic)."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

__all__ = ["ApiSink", "FileSink"]


class FileSink:
    """Writes in a background thread: the kernel copies one day's lines while the next day is
    being simulated (file writes release the GIL)."""

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[bytes] | None = None
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=8)
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self.lines = 0

    def __enter__(self) -> FileSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb", buffering=1 << 20)
        self._writer = threading.Thread(target=self._drain, name="veri-sim-writer", daemon=True)
        self._writer.start()
        return self

    def _drain(self) -> None:
        assert self._file is not None
        while (lines := self._queue.get()) is not None:
            try:
                self._file.writelines(lines)  # lines end with their newline
            except BaseException as exc:  # surfaced to the producer at the next write or at exit
                self._error = exc

    def write(self, line: bytes) -> None:
        self.write_many([line])

    def write_many(self, lines: list[bytes]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(lines)
        self.lines += len(lines)

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        if self._writer is not None:
            self._writer.join()
        if self._file is not None:
            self._file.close()
        if self._error is not None:
            raise self._error

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines}


class ApiSink:
    def __init__(self, base_url: str, api_key: str, *, batch: int = 1000, attempts: int = 5):
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=60
        )
        self.batch_size = batch
        self.attempts = attempts
        self._pending: list[bytes] = []
        self.accepted = 0
        self.duplicates = 0

    def __enter__(self) -> ApiSink:
        return self

    def write(self, line: bytes) -> None:
        self.write_many([line])

    def write_many(self, lines: list[bytes]) -> None:
        self._pending.extend(lines)
        while len(self._pending) >= self.batch_size:
            rest = self._pending[self.batch_size :]
            self._pending = self._pending[: self.batch_size]
            self.flush()
            self._pending = rest

    def flush(self) -> None:
        if not self._pending:
            return
        body = b'{"events":[' + b",".join(self._pending) + b"]}"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post(
                    "/api/v1/events", content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError:
                if attempt == self.attempts:
                    raise
                time.sleep(0.5 * attempt)
                continue
            if response.status_code >= 500 and attempt < self.attempts:
                time.sleep(0.5 * attempt)
                continue
            if response.status_code != 202:
                raise RuntimeError(f"the platform refused a batch: {response.status_code} {response.text[:300]}")
            result = response.json()
            self.accepted += result["accepted"]
            self.duplicates += result["duplicates"]
            break
        self._pending = []

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.flush()
        self.client.close()

    def summary(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates}
