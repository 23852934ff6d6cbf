"""The optional LLM extractor: the real `anthropic` client against a local fake Messages API
(Anthropic itself cannot be reached from here), inside the real memory pipeline."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import pytest

from tests.factories import START, form_memories, memories, message, put
from veri.config import MemorySettings
from veri.db.engine import Database
from veri.memory.handlers import MemoryHandler
from veri.models.memory import Memory, MemoryType
from veri.signals.llm import LLMMessageExtractor


class FakeMessages(BaseHTTPRequestHandler):
    """POST /v1/messages: answers with whatever the test queued (status, text)."""

    answers: list[tuple[int, str]] = []
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("x-api-key") or self.headers.get("authorization", "").removeprefix("Bearer ")
        FakeMessages.requests.append({"path": self.path, "key": key, "body": body})
        status, text = FakeMessages.answers.pop(0) if FakeMessages.answers else (200, '{"facts": []}')
        payload: dict[str, Any] = (
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 10},
            }
            if status == 200
            else {"type": "error", "error": {"type": "api_error", "message": text}}
        )
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def fake_anthropic() -> Iterator[str]:
    FakeMessages.answers, FakeMessages.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def extractor(url: str) -> LLMMessageExtractor:
    return LLMMessageExtractor(anthropic.Anthropic(api_key="test-key", base_url=url, max_retries=0), "claude-test")


def test_llm_facts_form_memories_and_failures_fall_back_to_the_rules(fake_anthropic: str, clean_db: Database) -> None:
    creator = uuid.uuid4()
    FakeMessages.answers = [
        (200, 'Sure! {"facts": [{"name": "location", "value": "Lisbon", "valid_from": "2026-05-01"}]}'),
        (500, "overloaded"),
        (200, "I cannot answer in JSON today."),
    ]
    put(
        clean_db,
        [
            message(creator, "Next month the studio moves with me to the Portuguese capital.", START),
            message(creator, "I usually charge 1,500 for a dedicated YouTube video.", START.replace(hour=11)),
            message(creator, "I'm based in Porto.", START.replace(hour=12)),
        ],
    )
    form_memories(clean_db, MemoryHandler(None, extractor=extractor(fake_anthropic)))

    facts = {m.attributes["fact"]: m for m in memories(clean_db, Memory.type == MemoryType.CREATOR_ENTITY)}
    # The model found what the rules cannot; when it failed, the rules' facts stand.
    assert facts["location"].attributes["value"] == "Lisbon"
    assert facts["location"].valid_from.date() == date(2026, 5, 1)
    assert facts["rate"].attributes["value"] == "$1,500"
    assert len(FakeMessages.requests) == 3
    first = FakeMessages.requests[0]
    assert first["path"] == "/v1/messages" and first["key"] == "test-key" and first["body"]["model"] == "claude-test"
    assert json.loads(first["body"]["messages"][0]["content"])["written_by_creator"] is True


def test_the_llm_extractor_is_off_unless_configured() -> None:
    assert MemorySettings().message_extractor == "rules"
    with pytest.raises(ValueError, match="VERI_ANTHROPIC_API_KEY"):
        MemorySettings(message_extractor="llm")
