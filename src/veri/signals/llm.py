"""An optional LLM extractor for messages, behind the same signature as the rules
(`extract_message`): Claude reads the message and names its facts; everything else (money,
dates, sentiment, topics) stays with the rules, and any failure of the model (down, slow, an
answer that is not the JSON asked for) falls back to the rules' facts. Off unless configured
(`VERI_MESSAGE_EXTRACTOR=llm` and an API key)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING, Protocol

import structlog
from pydantic import BaseModel, Field, ValidationError

from veri.signals.messages import Fact, MessageSignals, extract_message

if TYPE_CHECKING:
    import anthropic

__all__ = ["LLMMessageExtractor", "MessageExtractor"]

log = structlog.get_logger(__name__)

FACT_NAMES = (
    "rate",
    "budget",
    "fee",
    "deadline",
    "draft_date",
    "publish_date",
    "location",
    "preference",
    "posting_rhythm",
    "audience",
)

PROMPT = (
    "You extract facts from one message between a content creator and a brand. Answer with one "
    'JSON object and nothing else: {"facts": [{"name": ..., "value": ..., "valid_from": "YYYY-MM-DD" or null}]}. '
    f'Allowed names: {", ".join(FACT_NAMES)}. Money as "$1,200"; dates as YYYY-MM-DD, resolved '
    "against the day the message was written. Only facts the message states; the creator's own rate, "
    "place, preferences, posting rhythm and audience only when the creator wrote it. "
    'No facts: {"facts": []}.'
)


class MessageExtractor(Protocol):
    def __call__(self, text: str, *, written_on: date, by_creator: bool) -> MessageSignals: ...


class _LLMFact(BaseModel):
    name: str = Field(max_length=40)
    value: str = Field(min_length=1, max_length=300)
    valid_from: date | None = None


class _LLMAnswer(BaseModel):
    facts: list[_LLMFact] = Field(max_length=20)


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class LLMMessageExtractor:
    def __init__(self, client: anthropic.Anthropic, model: str):
        self.client = client
        self.model = model

    def __call__(self, text: str, *, written_on: date, by_creator: bool) -> MessageSignals:
        signals = extract_message(text, written_on=written_on, by_creator=by_creator)
        if not text.strip():
            return signals
        import anthropic

        try:
            response = self.client.messages.create(
                model=self.model,
                max_tokens=600,
                system=PROMPT,
                messages=[
                    {
                        "role": "user",
                        "content": json.dumps(
                            {"written_on": written_on.isoformat(), "written_by_creator": by_creator, "message": text}
                        ),
                    }
                ],
            )
            answer = "".join(block.text for block in response.content if block.type == "text")
            found = _JSON_OBJECT.search(answer)
            if found is None:
                raise ValueError("no JSON object in the answer")
            parsed = _LLMAnswer.model_validate_json(found.group(0))
        except (anthropic.APIError, ValidationError, ValueError) as exc:
            log.warning("llm_extraction_failed", model=self.model, error=str(exc)[:300])
            return signals
        signals.facts = [Fact(f.name, f.value, f.valid_from) for f in parsed.facts if f.name in FACT_NAMES]
        return signals
