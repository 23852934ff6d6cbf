"""The local fake Anthropic Messages API (tests/agent/fake_anthropic.py) as a process for the
chaos run: it writes its port to PORT_FILE and answers every request after the delay written in
DELAY_FILE (seconds before the first token; the chaos schedule raises it to slow the LLM).

    python bench/fake_llm.py PORT_FILE DELAY_FILE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.agent.fake_anthropic import FakeAnthropic, Reply


def main() -> None:
    port_file, delay_file = Path(sys.argv[1]), Path(sys.argv[2])

    def respond(body: dict[str, Any]) -> Reply:
        try:
            delay = float(delay_file.read_text() or 0)
        except (OSError, ValueError):
            delay = 0.0
        return Reply(
            text="From what Veri remembers, pitch brands in your niche at your usual rate.", first_token_delay=delay
        )

    fake = FakeAnthropic()
    fake.responder = respond
    fake.start()
    port_file.write_text(fake.url.rsplit(":", 1)[1])
    try:
        while True:
            time.sleep(60)
            fake.requests.clear()  # an endless run must not keep every request
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
