"""The Signal Engine's memory on the real pipeline: events ingested into the outbox, the `memory`
consumer group over the embedded log, PostgreSQL (with pgvector where the server has it) and
the real embedding model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from tests.factories import (
    CONVERSATION,
    START,
    accepted_deal,
    admin_key,
    conversation,
    envelope,
    find,
    form_memories,
    memories,
    message,
    new_client,
    put,
    sign_up,
)
from veri.db.engine import Database
from veri.events.service import replay_group
from veri.memory.embeddings import EmbedderUnavailable
from veri.memory.handlers import MemoryHandler
from veri.memory.service import embed_pending, get_memory, run_decay
from veri.models.memory import Memory, MemoryStatus, MemoryType


def test_messages_become_memories_with_provenance_and_facts(clean_db: Database) -> None:
    creator = uuid.uuid4()
    events = conversation(creator)
    put(clean_db, events)
    form_memories(clean_db)

    said = memories(clean_db, Memory.type == MemoryType.BRAND_INTERACTION)
    assert [m.text for m in said] == [f"{who}: {text_}" for who, _, text_ in CONVERSATION]
    assert [m.source_event_ids for m in said] == [[uuid.UUID(e["id"])] for e in events]
    assert said[2].attributes["amounts_cents"] == [120_000]
    assert said[4].attributes["mentions"] == ["2026-03-20"]
    # Replies know the session they belong to: its opener is indexed with them.
    assert "Peakform" in said[3].context_text
    facts = {m.attributes["fact"]: m for m in memories(clean_db, Memory.type == MemoryType.CREATOR_ENTITY)}
    assert facts["rate"].attributes["value"] == "$1,500"
    assert facts["rate"].source_event_ids == [uuid.UUID(events[3]["id"])]
    assert "tiktok" in facts["posting_rhythm"].attributes["value"]

    top = find(clean_db, "What budget did Peakform offer for the first sponsored video?", creator_id=creator)
    assert top[0].source_event_ids == [uuid.UUID(events[2]["id"])]
    assert find(clean_db, "budget", creator_id=uuid.uuid4()) == []  # another creator: nothing
    assert find(clean_db, "zebra quantum") == []  # no match: an empty list, not an error


def test_a_changed_fact_closes_the_old_one_and_both_stay_queryable_as_of(clean_db: Database) -> None:
    creator = uuid.uuid4()
    put(
        clean_db,
        [
            message(creator, "I'm based in Porto.", START),
            message(creator, "I'm moving to Lisbon in May, filming pauses for two weeks.", START + timedelta(days=30)),
        ],
    )
    form_memories(clean_db)

    porto, lisbon = memories(clean_db, Memory.key == "fact:location")
    assert (porto.attributes["value"], lisbon.attributes["value"]) == ("Porto", "Lisbon")
    assert lisbon.valid_from == datetime(2026, 5, 1, tzinfo=UTC)  # "in May", not when it was said
    assert porto.valid_to == lisbon.valid_from and porto.superseded_by == lisbon.id
    assert porto.status is MemoryStatus.SUPERSEDED and lisbon.status is MemoryStatus.ACTIVE

    facts = [MemoryType.CREATOR_ENTITY]
    now = find(clean_db, "where does Maya live", creator_id=creator, types=facts)
    assert [m.attributes["value"] for m in now] == ["Lisbon"]
    in_april = find(clean_db, "where does Maya live", creator_id=creator, types=facts, as_of=START + timedelta(days=45))
    assert [m.attributes["value"] for m in in_april] == ["Porto"]
    with clean_db.sessions() as db:
        history = get_memory(db, lisbon.id, principal=None).history
    assert [m.attributes["value"] for m in history] == ["Porto", "Lisbon"]


def test_replaying_the_log_creates_no_duplicates(clean_db: Database) -> None:
    creator = uuid.uuid4()
    put(clean_db, conversation(creator))
    handler = MemoryHandler(None)
    form_memories(clean_db, handler)
    before = sorted((m.key, m.text, tuple(m.source_event_ids)) for m in memories(clean_db))

    replay_group(clean_db, handler, (0, 0), reset=False)  # the same events, applied again
    form_memories(clean_db, handler)
    assert sorted((m.key, m.text, tuple(m.source_event_ids)) for m in memories(clean_db)) == before

    # The same event sent twice is stored once; a different message with the same words merges.
    again = message(creator, "Deal. Can you deliver the YouTube video by March 20?", START + timedelta(minutes=30))
    put(clean_db, [again, again])
    form_memories(clean_db, handler)
    deliver = memories(clean_db, Memory.text.like("%deliver the YouTube video%"))
    assert len(deliver) == 2  # different speakers and sessions: two memories, not one


def test_hostile_and_odd_texts_are_stored_as_given_and_never_executed(app: FastAPI, clean_db: Database) -> None:
    creator = uuid.uuid4()
    odd = [
        "",
        "x" * 20_000,
        "Love it 🔥🔥 💪 can't wait",
        "<script>alert('pwned')</script><b>bold</b>",
        "'); DROP TABLE memories; -- \\ %s :name",
        "我下个月搬到里斯本\uff0c视频会暂停两周",
    ]
    put(clean_db, [message(creator, t, START + timedelta(hours=i)) for i, t in enumerate(odd)])
    form_memories(clean_db)

    stored = memories(clean_db, Memory.type == MemoryType.BRAND_INTERACTION)
    assert [m.attributes["said"] for m in stored] == [t[:300] for t in odd]
    assert stored[1].text == f"Maya: {'x' * 20_000}"
    for question in ["'); DROP TABLE memories; --", "<script>", "🔥", "里斯本", "%s :name \\"]:
        assert isinstance(find(clean_db, question), list)
    assert len(memories(clean_db)) >= len(odd)

    with new_client(app) as client:
        client.headers["Authorization"] = f"Bearer {admin_key(app, clean_db)}"
        hostile = next(m for m in stored if "<script>" in m.text)
        page = client.get(f"/memories/{hostile.id}")
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
        found = client.get("/memories", params={"q": "<script>alert('x')</script>"})
        assert found.status_code == 200 and "<script>alert('x')" not in found.text


def test_api_search_validates_and_only_shows_your_own(app: FastAPI, clean_db: Database) -> None:
    with new_client(app) as a, new_client(app) as b:
        sign_up(a, "creator", "maya")
        sign_up(b, "creator", "otto")
        mine = uuid.UUID(a.get("/api/v1/creators/me").json()["id"])
        theirs = uuid.UUID(b.get("/api/v1/creators/me").json()["id"])
        put(clean_db, conversation(mine) + conversation(theirs))
        form_memories(clean_db)

        r = a.get("/api/v1/memories/search", params={"q": "budget for the first sponsored video"})
        assert r.status_code == 200
        hits = r.json()["hits"]
        assert hits and {h["memory"]["creator_id"] for h in hits} == {str(mine)}
        assert {"bm25", "lexical_rank", "rrf", "score"} <= hits[0]["breakdown"].keys()
        assert hits[0]["memory"]["sources"]
        assert a.get("/api/v1/memories/search", params={"q": "budget", "creator_id": str(theirs)}).json()["hits"] == []
        other = memories(clean_db, Memory.creator_id == theirs)[0]
        assert a.get(f"/api/v1/memories/{other.id}").status_code == 404
        assert a.get(f"/api/v1/creators/{theirs}/memories").json()["items"] == []
        timeline = a.get(f"/api/v1/creators/{mine}/memories", params={"type": "brand_interaction"}).json()
        assert timeline["total"] == len(CONVERSATION)
        detail = a.get(f"/api/v1/memories/{timeline['items'][0]['id']}").json()
        assert detail["sources"][0]["type"] == "message.sent"

        for params, field in [
            ({}, "q"),
            ({"q": ""}, "q"),
            ({"q": "x" * 2001}, "q"),
            ({"q": "ok", "limit": 0}, "limit"),
            ({"q": "ok", "type": "gossip"}, "type"),
            ({"q": "ok", "as_of": "yesterday-ish"}, "as_of"),
        ]:
            r = a.get("/api/v1/memories/search", params=params)
            assert r.status_code == 422, (params, r.text)
            assert field in r.text


def test_reflection_summarises_outcomes_with_their_sources(clean_db: Database) -> None:
    creator, brand = uuid.uuid4(), uuid.uuid4()
    outcomes = [
        envelope(
            "campaign.outcome_reported",
            {
                "campaign_id": str(uuid.uuid4()),
                "brand_id": str(brand),
                "creator_id": str(creator),
                "sales": 10 * roi,
                "revenue_cents": 100_000 * roi,
                "fee_cents": 100_000,
                "roi": float(roi),
                "delivered_on_time": roi != 4,
            },
            subject=f"creator:{creator}",
            at=START + timedelta(days=roi),
        )
        for roi in (2, 3, 4, 3, 3)
    ]
    put(clean_db, outcomes)
    form_memories(clean_db)

    insights = {m.key: m for m in memories(clean_db, Memory.kind == "insight", Memory.status == MemoryStatus.ACTIVE)}
    roi = insights["insight:roi:all"]
    assert roi.text.endswith("returned 3.0x on average over 5 campaigns")
    assert set(roi.source_event_ids) == {uuid.UUID(e["id"]) for e in outcomes}
    assert insights["insight:reliability"].text.endswith("delivered 4 of 5 campaigns on time")
    assert len(roi.attributes["derived_from"]) == 5


def test_decay_lowers_unused_memories_and_archives_without_deleting(clean_db: Database) -> None:
    creator = uuid.uuid4()
    put(clean_db, conversation(creator))
    form_memories(clean_db)
    total = len(memories(clean_db))

    def strength(memory_id: uuid.UUID, days_later: int) -> float:
        run_decay(clean_db, now=datetime.now(UTC) + timedelta(days=days_later))
        with clean_db.sessions() as db:
            return float(db.scalar(select(Memory.strength).where(Memory.id == memory_id)) or 0)

    budget = find(clean_db, "budget sponsored video", creator_id=creator)[0]
    unused = strength(budget.id, 40)
    assert 0.05 < unused < 0.9
    find(clean_db, "budget sponsored video", creator_id=creator)  # used again: it fades slower
    assert strength(budget.id, 40) > unused

    result = run_decay(clean_db, now=datetime.now(UTC) + timedelta(days=3 * 365))
    assert result.updated == total and result.archived == total
    assert len(memories(clean_db)) == total  # archived, never deleted
    assert find(clean_db, "budget sponsored video", creator_id=creator) == []
    kept = find(clean_db, "budget sponsored video", creator_id=creator, include_archived=True)
    assert kept and kept[0].status is MemoryStatus.ARCHIVED
    run_decay(clean_db)  # the search just used it: it comes back
    assert kept[0].id in {m.id for m in memories(clean_db, Memory.status == MemoryStatus.ACTIVE)}


def test_content_deals_and_agent_runs_form_their_kinds_of_memory(clean_db: Database) -> None:
    creator, brand, campaign, deal, content = (uuid.uuid4() for _ in range(5))
    ref = {"deal_id": str(deal), "campaign_id": str(campaign), "brand_id": str(brand), "creator_id": str(creator)}
    subject = f"creator:{creator}"
    put(
        clean_db,
        [
            envelope("deal.created", {**ref, "by": "brand", "fee_cents": 90_000}, subject=subject, at=START),
            envelope(
                "deal.status_changed",
                {**ref, "from_status": "proposed", "to_status": "accepted", "fee_cents": 90_000},
                subject=subject,
                at=START + timedelta(days=1),
            ),
            envelope(
                "content.published",
                {
                    "content_id": str(content),
                    "creator_id": str(creator),
                    "platform": "tiktok",
                    "kind": "short",
                    "title": "Home workout with bands",
                    "published_at": (START + timedelta(days=3)).isoformat(),
                },
                subject=subject,
                at=START + timedelta(days=3),
            ),
            *[
                envelope(
                    "content.metrics_snapshot",
                    {
                        "content_id": str(content),
                        "creator_id": str(creator),
                        "platform": "tiktok",
                        "captured_at": (START + timedelta(days=3 + day)).isoformat(),
                        "metrics": {"play_count": 1000 * day, "digg_count": 70 * day},
                    },
                    subject=subject,
                    at=START + timedelta(days=3 + day),
                    version=2,
                )
                for day in (1, 2)
            ],
            envelope(
                "agent.run_completed",
                {
                    "run_id": str(uuid.uuid4()),
                    "creator_id": str(creator),
                    "goal": "Which brands should I pitch next?",
                    "steps": ["search_memories", "rank_brands"],
                    "outcome": "Suggested Peakform and Vitaloop",
                },
                subject=subject,
                at=START + timedelta(days=5),
            ),
        ],
    )
    form_memories(clean_db)

    episodes = memories(clean_db, Memory.type == MemoryType.CAMPAIGN_EPISODIC)
    assert [m.attributes["stage"] for m in episodes] == ["proposed", "accepted"]
    assert all(m.campaign_id == campaign and m.brand_id == brand for m in episodes)
    # Nobody here is known to the store: the texts still read as sentences.
    assert [m.text for m in episodes] == [
        "A brand proposed a deal between the creator and a brand on a campaign at $900",
        "The deal between the creator and a brand on a campaign was accepted at $900",
    ]
    (post,) = memories(clean_db, Memory.type == MemoryType.CONTENT_KNOWLEDGE)
    assert post.attributes["views"] == 2000 and post.attributes["engagement_rate"] == pytest.approx(0.07)
    assert "fitness" in post.attributes["topics"]
    (run,) = memories(clean_db, Memory.type == MemoryType.WORKFLOW)
    assert "search_memories -> rank_brands" in run.text


class BrokenEmbedder:
    model = "broken"
    dimensions = 384

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbedderUnavailable("the embedding service is down")


def test_vector_search_finds_paraphrases_and_survives_an_embedder_outage(clean_db: Database, embedder: Any) -> None:
    if not clean_db.capabilities["pgvector"]:
        pytest.skip("this PostgreSQL has no pgvector: memory is full-text only here")
    creator = uuid.uuid4()
    put(clean_db, conversation(creator))
    form_memories(clean_db, MemoryHandler(BrokenEmbedder()))
    with clean_db.sessions() as db:
        unembedded = db.scalar(select(func.count()).select_from(Memory).where(Memory.embedding.is_(None)))
    assert unembedded == len(memories(clean_db))
    assert find(clean_db, "budget sponsored video", creator_id=creator)  # full text still finds it

    assert embed_pending(clean_db, embedder) == unembedded
    with clean_db.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Memory).where(Memory.embedding.is_(None))) == 0
        assert db.scalar(text("SELECT count(*) FROM memory_embedding_cache")) > 0

    question = "How much money is the company putting up?"  # no word in common with the answer
    hybrid = find(clean_db, question, creator_id=creator, embedder=embedder, limit=3)
    assert any("budget" in m.text for m in hybrid)
    lexical = find(clean_db, question, creator_id=creator, limit=3)
    assert not any("budget" in m.text for m in lexical)


def test_the_workers_memory_chores_decay_only_with_the_flag(
    clean_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.factories import make_settings
    from veri.memory.service import memory_chores

    put(clean_db, conversation(uuid.uuid4()))
    form_memories(clean_db)
    with clean_db.transaction() as db:
        db.execute(text("UPDATE memories SET recorded_at = recorded_at - interval '400 days'"))
    settings = make_settings(tmp_path)

    monkeypatch.setenv("MEMORY_DECAY", "false")
    memory_chores(clean_db, settings, None)
    assert {m.status for m in memories(clean_db)} == {MemoryStatus.ACTIVE}
    monkeypatch.setenv("MEMORY_DECAY", "true")
    memory_chores(clean_db, settings, None)
    assert {m.status for m in memories(clean_db)} == {MemoryStatus.ARCHIVED}
    with clean_db.sessions() as db:  # and the lexeme statistics of store-wide BM25 were recounted
        counted = db.scalar(text("SELECT documents FROM memory_lexeme_stats WHERE lexeme = 'budget'"))
        assert counted == db.scalar(text("SELECT count(*) FROM memories WHERE search @@ 'budget'::tsquery"))


def test_deal_memories_name_the_people_brand_and_campaign(app: FastAPI, clean_db: Database) -> None:
    accepted_deal(app, "lumen", "ana", title="Glow Week", budget_cents=200_000, fee_cents=51_000)
    form_memories(clean_db)
    texts = [m.text for m in memories(clean_db, Memory.type == MemoryType.CAMPAIGN_EPISODIC)]
    assert 'The deal between Ana and Lumen Co on "Glow Week" was accepted at $510' in texts, texts


def test_campaigns_known_only_from_events_are_named_in_later_memories(clean_db: Database) -> None:
    """The demo world's campaigns and brands live only in the event log: the memory of a
    campaign's creation names it, and its brand, in the memories of its deals."""
    creator, brand, campaign, deal = (uuid.uuid4() for _ in range(4))
    ref = {"deal_id": str(deal), "campaign_id": str(campaign), "brand_id": str(brand), "creator_id": str(creator)}
    created = {
        "campaign_id": str(campaign),
        "brand_id": str(brand),
        "brand_name": "Peakform",
        "title": "Resistance bands launch",
        "budget_cents": 400_000,
        "niches": ["fitness"],
    }
    put(
        clean_db,
        [
            envelope("campaign.created", created, subject=f"campaign:{campaign}", at=START),
            message(creator, "Happy to talk about the bands!", START + timedelta(hours=1), speaker="Maya"),
        ],
    )
    form_memories(clean_db)
    put(
        clean_db,
        [
            envelope(
                "deal.status_changed",
                {**ref, "from_status": "proposed", "to_status": "accepted", "fee_cents": 51_000},
                subject=f"creator:{creator}",
                at=START + timedelta(days=2),
            )
        ],
    )
    form_memories(clean_db)
    texts = [m.text for m in memories(clean_db, Memory.type == MemoryType.CAMPAIGN_EPISODIC)]
    assert texts == [
        'Peakform opened the campaign "Resistance bands launch" for fitness, with a budget of $4,000',
        'The deal between Maya and Peakform on "Resistance bands launch" was accepted at $510',
    ]


def test_parties_known_only_from_the_log_are_named_before_their_memories_form(clean_db: Database) -> None:
    """A deal's events are often formed before the memory of its campaign (another partition of
    the log): the names come from the log itself, whatever has been formed."""
    from veri.memory.store import display_names

    creator, brand, campaign, stranger = (uuid.uuid4() for _ in range(4))
    created = {
        "campaign_id": str(campaign),
        "brand_id": str(brand),
        "brand_name": "Peakform",
        "title": "Resistance bands launch",
        "budget_cents": 400_000,
        "niches": ["fitness", "wellness"],
    }
    put(
        clean_db,
        [
            envelope("campaign.created", created, subject=f"campaign:{campaign}", at=START),
            message(creator, "Happy to talk about the bands!", START + timedelta(hours=1), speaker="Maya"),
        ],
    )  # put, never formed
    with clean_db.sessions() as db:
        named = {
            some_id: (name, niches) for some_id, name, niches in display_names(db, {creator, brand, campaign, stranger})
        }
    assert named == {
        campaign: ("Resistance bands launch", ["fitness", "wellness"]),
        brand: ("Peakform", ["fitness"]),
        creator: ("Maya", []),
    }
