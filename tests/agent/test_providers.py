"""The guard around the primary provider, without a network: what the breaker hears."""

from __future__ import annotations

from collections.abc import Iterator

from veri.agent.providers import AgentRequest, CircuitBreaker, Fallback, Guarded, Piece, ProviderFailed, Text
from veri.agent.sources import Sources


class Failing:
    name = "anthropic"

    def __init__(self, failure: ProviderFailed, *, before: list[Piece] | None = None):
        self.failure, self.before, self.calls = failure, before or [], 0

    def respond(self, request: AgentRequest) -> Iterator[Piece]:
        self.calls += 1
        yield from self.before
        raise self.failure


def request() -> AgentRequest:
    return AgentRequest("What is my rate?", [], [], Sources(), lambda name, args: None)  # type: ignore[arg-type,return-value]


def test_a_model_that_answers_wrongly_does_not_open_the_breaker_for_everyone() -> None:
    breaker = CircuitBreaker(threshold=1)
    guarded = Guarded(Failing(ProviderFailed("malformed", retryable=True, unavailable=False)), breaker, backoff=0)
    pieces = list(guarded.respond(request()))
    assert any(isinstance(p, Fallback) for p in pieces) and breaker.state == "closed"


def test_one_request_counts_once_and_text_already_sent_is_not_repeated() -> None:
    breaker = CircuitBreaker(threshold=2)
    primary = Failing(ProviderFailed("429", retryable=True), before=[Text("It was ")])
    pieces = list(Guarded(primary, breaker, retries=2, backoff=0).respond(request()))
    assert primary.calls == 1 and breaker.failures == 1  # no retry after text went out
    assert next(p.text for p in pieces if isinstance(p, Text)) == "It was "


def test_a_cancelled_trial_lets_the_next_request_try_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cool_off=10, clock=lambda: now[0])
    breaker.failed()
    now[0] = 11.0  # half-open: one trial
    stream = Guarded(Failing(ProviderFailed("x"), before=[Text("a")]), breaker).respond(request())
    assert isinstance(next(stream), Text)
    stream.close()  # the person went away mid-answer
    assert breaker.allow()  # the trial was released, not stuck
