"""A circuit breaker per platform: after `failures` consecutive failed calls it opens and calls
fail fast; after `cool_off` seconds one trial call is let through (half-open): its success closes
the circuit, its failure opens it again. Thread-safe: the sync's threads share one per platform."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, failures: int, cool_off: float, *, clock: Callable[[], float] = time.monotonic):
        self.threshold = failures
        self.cool_off = cool_off
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cool_off:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go now? In half-open, only one caller gets the trial."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial:
                self._trial = True
                return True
            return False

    def retry_in(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cool_off - (self._clock() - self._opened_at))

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._trial = False
