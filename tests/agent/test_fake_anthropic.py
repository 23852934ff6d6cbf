"""The fake Messages API against the real `anthropic` SDK: if these pass, the agent's tests exercise the
SDK's own streaming, parsing, error mapping and timeouts, and what they script is what the SDK sees."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import TextBlock, TextBlockParam, ToolParam, ToolUseBlock

from tests.agent.fake_anthropic import FakeAnthropic, Reply

ASK: dict[str, Any] = {"model": "claude-test", "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]}


def client(url: str, timeout: float = 5.0) -> anthropic.Anthropic:
    # No retries: each test sees the first answer, and a failure is not retried into a slow test.
    return anthropic.Anthropic(api_key="test", base_url=url, max_retries=0, timeout=timeout)


def test_streamed_text_arrives_in_chunks_and_adds_up_to_the_final_message(fake_anthropic: FakeAnthropic) -> None:
    text = "The deal with Acme closes on Friday, the rate is agreed and the brief is signed."
    fake_anthropic.queue(Reply(text, input_tokens=1200, output_tokens=42, cache_read_input_tokens=1000))

    with client(fake_anthropic.url).messages.stream(**ASK) as stream:
        chunks = list(stream.text_stream)
        final = stream.get_final_message()

    assert len(chunks) > 3 and "".join(chunks) == text
    assert final.id.startswith("msg_") and final.model == "claude-test" and final.stop_reason == "end_turn"
    assert isinstance(final.content[0], TextBlock) and final.content[0].text == text
    # input and cache counts come from message_start, output_tokens from message_delta.
    assert final.usage.input_tokens == 1200 and final.usage.output_tokens == 42
    assert final.usage.cache_read_input_tokens == 1000 and final.usage.cache_creation_input_tokens == 0


def test_replies_are_served_in_order_then_the_default_ok(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply("first"), Reply("second"))
    sdk = client(fake_anthropic.url)

    texts = [sdk.messages.create(**ASK).content[0] for _ in range(3)]

    assert [t.text for t in texts if isinstance(t, TextBlock)] == ["first", "second", "ok"]


@pytest.mark.parametrize("stream", [True, False])
def test_tool_calls_parse_into_tool_use_blocks(fake_anthropic: FakeAnthropic, stream: bool) -> None:
    long_query = {"query": "creators in Lisbon who post about coffee", "limit": 5, "filters": {"min_followers": 10_000}}
    fake_anthropic.queue(Reply("Let me look.", tool_calls=[("search_creators", long_query), ("get_deal", {"id": 7})]))
    sdk = client(fake_anthropic.url)

    if stream:
        with sdk.messages.stream(**ASK) as s:
            message: anthropic.types.Message = s.get_final_message()
    else:
        message = sdk.messages.create(**ASK)

    assert message.stop_reason == "tool_use"
    text, first, second = message.content
    assert isinstance(text, TextBlock) and text.text == "Let me look."
    assert isinstance(first, ToolUseBlock) and isinstance(second, ToolUseBlock)
    assert (first.id, first.name, first.input) == ("toolu_1", "search_creators", long_query)
    assert (second.id, second.name, second.input) == ("toolu_2", "get_deal", {"id": 7})


def test_malformed_tool_json_breaks_the_sdk_stream_with_a_plain_value_error(fake_anthropic: FakeAnthropic) -> None:
    # The SDK parses tool input as it streams; invalid JSON is a ValueError, not an anthropic.APIError.
    fake_anthropic.queue(Reply(tool_calls=[("search_creators", {})], raw_tool_json='{"query": oops}'))

    sdk = client(fake_anthropic.url)
    with pytest.raises(ValueError, match="Unable to parse tool parameter JSON"), sdk.messages.stream(**ASK) as stream:
        stream.get_final_message()

    # Truncated JSON is no error at all: the SDK's partial parser keeps the complete keys and drops the rest.
    fake_anthropic.queue(Reply(tool_calls=[("search_creators", {})], raw_tool_json='{"query": "Lisbon", "limit": "fi'))
    with sdk.messages.stream(**ASK) as stream:
        block = stream.get_final_message().content[0]
    assert isinstance(block, ToolUseBlock) and block.input == {"query": "Lisbon"}


def test_delays_hold_back_the_first_token_and_the_chunks(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply("one two three four five six seven", first_token_delay=0.3, chunk_delay=0.1))

    started = time.monotonic()
    arrivals = []
    with client(fake_anthropic.url).messages.stream(**ASK) as stream:
        for _ in stream.text_stream:
            arrivals.append(time.monotonic() - started)

    assert len(arrivals) == 3
    assert arrivals[0] >= 0.3 and arrivals[-1] >= 0.5


@pytest.mark.parametrize(
    ("status", "error_type", "raised"),
    [
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        # The SDK maps 529 to OverloadedError, a subclass of InternalServerError.
        (529, "overloaded_error", anthropic.OverloadedError),
    ],
)
def test_error_statuses_raise_the_sdks_errors(
    fake_anthropic: FakeAnthropic, status: int, error_type: str, raised: type[anthropic.APIStatusError]
) -> None:
    fake_anthropic.queue(Reply(status=status, error_type=error_type), Reply(status=status, error_type=error_type))
    sdk = client(fake_anthropic.url)

    with pytest.raises(raised) as info:
        sdk.messages.create(**ASK)
    # A streamed request fails the same way, when the stream is opened.
    with pytest.raises(raised), sdk.messages.stream(**ASK) as stream:
        stream.get_final_message()

    assert info.value.status_code == status
    assert info.value.body == {"type": "error", "error": {"type": error_type, "message": f"fake {error_type}"}}
    assert info.value.response.headers.get("retry-after") == ("0" if status == 429 else None)


def test_a_hanging_request_times_out_and_does_not_hold_up_stop() -> None:
    fake = FakeAnthropic().start()
    fake.queue(Reply(hang=True))
    started = time.monotonic()

    with pytest.raises(anthropic.APITimeoutError):
        client(fake.url, timeout=0.5).messages.create(**ASK)
    assert time.monotonic() - started < 1.0

    stopping = time.monotonic()
    fake.stop()
    assert time.monotonic() - stopping < 1.0


def test_a_stall_mid_stream_is_httpx2s_timeout_not_the_sdks(fake_anthropic: FakeAnthropic) -> None:
    # Once the stream is open, the SDK does not wrap read errors: a stalled stream raises httpx2's ReadTimeout.
    fake_anthropic.queue(Reply("one two three four five six seven", chunk_delay=1.0))

    sdk = client(fake_anthropic.url, timeout=0.3)
    with pytest.raises(httpx2.ReadTimeout), sdk.messages.stream(**ASK) as stream:
        stream.get_final_message()


def test_a_provider_that_is_down_is_a_connection_error() -> None:
    with pytest.raises(anthropic.APIConnectionError) as info:
        client(FakeAnthropic.down_url()).messages.create(**ASK)
    assert not isinstance(info.value, anthropic.APITimeoutError)


def test_requests_are_recorded_with_system_tools_and_cache_control(fake_anthropic: FakeAnthropic) -> None:
    system: list[TextBlockParam] = [
        {"type": "text", "text": "You are Veri's assistant.", "cache_control": {"type": "ephemeral"}}
    ]
    tools: list[ToolParam] = [
        {"name": "search_creators", "description": "Find creators.", "input_schema": {"type": "object"}}
    ]

    with client(fake_anthropic.url).messages.stream(**ASK, system=system, tools=tools) as stream:
        stream.get_final_message()

    (request,) = fake_anthropic.requests
    # This SDK sends the key as "authorization: Bearer ..."; `api_key` reads either that or x-api-key.
    assert request["path"] == "/v1/messages" and request["api_key"] == "test"
    assert "anthropic-version" in request["headers"]
    body = request["body"]
    assert body["stream"] is True and body["model"] == "claude-test"
    assert body["system"] == system and body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"] == tools and body["messages"] == ASK["messages"]
