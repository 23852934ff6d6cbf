"""A local fake of Anthropic's Messages API for the agent's tests: the real `anthropic` SDK talks to it
over HTTP (Anthropic itself cannot be reached from here), so retries, timeouts, SSE parsing and error
mapping are the SDK's own, not a mock's.

Replies are scripted per request (`fake.queue(Reply(...), ...)`), streamed with the same event sequence
as the real API, and every request is recorded so tests can assert on what the agent sent."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar

_WORDS_PER_CHUNK = 3
_JSON_CHARS_PER_CHUNK = 16


@dataclass
class Reply:
    """One scripted answer to one POST /v1/messages."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The single tool_use block's JSON sent verbatim, to script malformed or truncated tool input.
    raw_tool_json: str | None = None
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 200
    error_type: str = "api_error"
    hang: bool = False
    input_tokens: int = 100
    output_tokens: int = 20
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __post_init__(self) -> None:
        if self.raw_tool_json is not None and len(self.tool_calls) != 1:
            raise ValueError("raw_tool_json replaces the input of exactly one tool call")

    def blocks(self) -> list[dict[str, Any]]:
        """The content blocks of the final message: text first (always, unless the reply is only tool
        calls, so a message never has empty content), then one tool_use block per call."""
        blocks: list[dict[str, Any]] = []
        if self.text or not self.tool_calls:
            blocks.append({"type": "text", "text": self.text})
        for n, (name, tool_input) in enumerate(self.tool_calls, start=1):
            blocks.append({"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": tool_input})
        return blocks

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_calls else "end_turn"

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
        }


def _text_chunks(text: str) -> list[str]:
    # Split after whitespace so the chunks concatenate back to the exact text.
    words = [w for w in re.split(r"(?<=\s)(?=\S)", text) if w]
    return ["".join(words[i : i + _WORDS_PER_CHUNK]) for i in range(0, len(words), _WORDS_PER_CHUNK)]


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so a stream is chunked like the real API's: cut short, the client sees a broken body rather
    # than a clean end. Every response closes its connection, so a stopped fake leaves none that still answers.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body: dict[str, Any] = json.loads(raw) if raw else {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        # The key as sent: older SDKs use x-api-key, newer ones "authorization: Bearer <key>".
        api_key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        number = fake._record(
            {"method": "POST", "path": self.path, "headers": headers, "api_key": api_key, "body": body}
        )
        if self.path.split("?", 1)[0] != "/v1/messages":
            self._json(404, _error("not_found_error", f"no route {self.path}"), number)
            return
        reply = fake._next_reply(body)
        if reply.hang:
            # Accept and never answer; stop() sets the event so the thread ends with the server.
            fake._stopping.wait()
            self.close_connection = True
            return
        if reply.status != 200:
            extra = {"retry-after": "0"} if reply.status == 429 else {}
            self._json(reply.status, _error(reply.error_type, f"fake {reply.error_type}"), number, extra)
            return
        message = {
            "id": f"msg_fake_{number}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-fake"),
            "stop_sequence": None,
        }
        if body.get("stream"):
            self._stream(reply, message, number)
        else:
            content = reply.blocks()
            if reply.raw_tool_json is not None:
                # A non-streamed body must stay JSON: valid raw JSON becomes the input, else the string.
                try:
                    content[-1]["input"] = json.loads(reply.raw_tool_json)
                except ValueError:
                    content[-1]["input"] = reply.raw_tool_json
            self._json(
                200, {**message, "content": content, "stop_reason": reply.stop_reason, "usage": reply.usage()}, number
            )

    def _json(self, status: int, payload: dict[str, Any], number: int, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.send_header("request-id", f"req_fake_{number}")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply, message: dict[str, Any], number: int) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.send_header("request-id", f"req_fake_{number}")
        self.end_headers()
        # Like the real API: message_start carries the input-side usage and output_tokens so far.
        start_usage = {**reply.usage(), "output_tokens": 1}
        self._event(
            "message_start",
            {"type": "message_start", "message": {**message, "content": [], "stop_reason": None, "usage": start_usage}},
        )
        self._event("ping", {"type": "ping"})
        if not fake._pause(reply.first_token_delay):
            return
        first_delta = True
        for index, block in enumerate(reply.blocks()):
            if block["type"] == "text":
                start: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": chunk} for chunk in _text_chunks(block["text"])]
            else:
                start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                if reply.raw_tool_json is not None:
                    pieces = [reply.raw_tool_json]
                else:
                    encoded = json.dumps(block["input"])
                    pieces = [
                        encoded[i : i + _JSON_CHARS_PER_CHUNK] for i in range(0, len(encoded), _JSON_CHARS_PER_CHUNK)
                    ]
                # The real API opens every tool_use block with an empty partial_json.
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *pieces]]
            self._event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            for delta in deltas:
                if not first_delta and not fake._pause(reply.chunk_delay):
                    return
                first_delta = False
                self._event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
        )
        self._event("message_stop", {"type": "message_stop"})
        self.wfile.write(b"0\r\n\r\n")

    def _event(self, name: str, data: dict[str, Any]) -> None:
        chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAnthropic) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that times out or stops reading mid-stream breaks the pipe; that is the test's point.
        return None


class FakeAnthropic:
    """POST /v1/messages on 127.0.0.1, answering with the queued replies in order; then with
    `responder(request body)` when one is set (a reply that depends on the request), else text "ok"."""

    # Bound but never listening: connecting to it is refused, and holding it keeps the port from reuse.
    _down_socket: ClassVar[socket.socket | None] = None

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeAnthropic:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            # A short poll so stop() returns quickly.
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        # Wake hanging and delayed handlers first, so nothing waits on them.
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @classmethod
    def down_url(cls) -> str:
        """A URL where the connection is refused, for "provider down" tests."""
        if cls._down_socket is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            cls._down_socket = sock
        return f"http://127.0.0.1:{cls._down_socket.getsockname()[1]}"

    def _record(self, request: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.responder(body) if self.responder is not None else Reply(text="ok")

    def _pause(self, seconds: float) -> bool:
        """Sleep, unless the fake is stopping (then False: the handler gives up)."""
        return seconds <= 0 or not self._stopping.wait(seconds)
