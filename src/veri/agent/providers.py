"""The port every answerer plugs into, the offline answerer, and the guard around Claude.

A provider turns a prepared request into a stream of pieces: text as it is written, a tool step
when a tool ran, and the tokens it used. `Guarded` puts a circuit breaker, a first-token deadline
and bounded retries around the primary provider and, when it is slow, down or talking nonsense,
answers offline within the latency budget, marked as such.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from veri.agent.offline import answer_offline, stream_words
from veri.agent.sources import Sources
from veri.agent.tools import ToolResult

__all__ = [
    "AgentRequest",
    "CircuitBreaker",
    "Fallback",
    "Guarded",
    "OfflineProvider",
    "Piece",
    "Provider",
    "ProviderFailed",
    "Step",
    "Text",
    "Usage",
]

log = structlog.get_logger(__name__)


@dataclass
class Text:
    text: str


@dataclass
class Step:
    result: ToolResult


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    calls: int = 0


@dataclass
class Fallback:
    """The primary provider failed before it answered: the offline answer follows."""

    reason: str


Piece = Text | Step | Usage | Fallback


@dataclass
class AgentRequest:
    question: str
    # Earlier turns of the conversation, oldest first: (question, answer).
    history: list[tuple[str, str]]
    # The tools already run for this question (the plan), in order.
    results: list[ToolResult]
    sources: Sources
    # Run a tool the model asks for, with the person's visibility.
    call_tool: Callable[[str, object], ToolResult]
    kind: str = "general"
    extra_steps: list[ToolResult] = field(default_factory=list)


class Provider(Protocol):
    name: str

    def respond(self, request: AgentRequest) -> Iterator[Piece]: ...


class ProviderFailed(Exception):
    """The provider could not answer (down, slow, rate-limited, malformed output)."""

    def __init__(self, reason: str, *, retryable: bool = False, wait: float = 0.0, unavailable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.wait = wait
        # False when the model answered but wrongly (malformed output): not a sign it is down.
        self.unavailable = unavailable


class OfflineProvider:
    """Answers from the plan's results alone: no model, no network."""

    name = "offline"

    def respond(self, request: AgentRequest) -> Iterator[Piece]:
        answer = answer_offline(request.question, request.results + request.extra_steps, request.sources)
        for word in stream_words(answer.text):
            yield Text(word)


class CircuitBreaker:
    """Closed: calls go through. After `threshold` failures in a row it opens for `cool_off`
    seconds (calls fail at once); then one trial call decides: success closes it, failure opens
    it again. Shared by every request of a process."""

    def __init__(self, threshold: int = 3, cool_off: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.threshold, self.cool_off, self.clock = threshold, cool_off, clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cool_off else "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial = 0, None, False

    def release(self) -> None:
        """A call that ended without telling (cancelled): let the next one be the trial."""
        with self._lock:
            self._trial = False

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = self.clock()


class Guarded:
    """The primary provider behind a breaker, with retries for what is worth retrying, and the
    offline answer when it fails before its answer began. A failure after text was streamed ends
    that text with a note, then the offline answer follows."""

    def __init__(self, primary: Provider, breaker: CircuitBreaker, *, retries: int = 2, backoff: float = 0.1):
        self.primary, self.breaker = primary, breaker
        self.retries, self.backoff = retries, backoff
        self.offline = OfflineProvider()
        self.name = primary.name

    def respond(self, request: AgentRequest) -> Iterator[Piece]:
        if not self.breaker.allow():
            yield Fallback("the model is unavailable (circuit open)")
            yield from self.offline.respond(request)
            return
        settled = False  # the breaker heard of this request's outcome
        try:
            for attempt in range(self.retries + 1):
                # Once text or a tool step went out, a retry would repeat it: fall back instead.
                began = False
                try:
                    for piece in self.primary.respond(request):
                        began = began or isinstance(piece, Text | Step)
                        yield piece
                    self.breaker.succeeded()
                    settled = True
                    return
                except ProviderFailed as failure:
                    log.warning("agent_provider_failed", provider=self.name, reason=failure.reason, attempt=attempt)
                    if began or not failure.retryable or attempt == self.retries:
                        # One request counts once, and only when the model was unavailable: output
                        # it got wrong (a prompt can cause that) must not switch Claude off for all.
                        if failure.unavailable:
                            self.breaker.failed()
                            settled = True
                        if began:
                            yield Text(
                                "\n\n(The model stopped before finishing; what follows is from memory alone.)\n\n"
                            )
                        yield Fallback(failure.reason)
                        yield from self.offline.respond(request)
                        return
                    time.sleep(min(failure.wait or self.backoff * 2**attempt, 0.5))
        finally:
            if not settled:  # cancelled, or failed in a way that says nothing of the model's health
                self.breaker.release()
