"""Recall question sets from simulated conversations, in the format of shared/eval/README.md:
the messages of a few creators as events, and questions about what was said, each with the
ids of the messages that answer it. Categories: 1 multi-hop, 2 temporal, 3 open-domain,
4 single-hop. Several phrasings per question, so tuning to one template does not pay."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator

from veri.simulate.engine import Fact, Simulation

__all__ = ["question_set"]


def _templates(fact: Fact, name: str) -> list[tuple[int, str]]:
    brand = fact.about.get("brand", "the brand")
    product = fact.about.get("product", "the product")
    campaign = fact.about.get("campaign", "the campaign")
    kind = fact.kind
    if kind == "rate":
        deliverable = fact.about.get("deliverable", "a video")
        return [
            (4, f"How much did {name} tell {brand} they charge for {deliverable}?"),
            (4, f"What rate did {name} quote {brand}?"),
            (4, f"What was {name}'s price when {brand} asked about {product}?"),
        ]
    if kind == "budget":
        return [
            (1, f"What budget did the brand behind the {product} offer {name}?"),
            (1, f"How much money did the company that pitched {product} to {name} have for it?"),
        ]
    if kind == "fee":
        return [
            (4, f"What fee did {name} agree to with {brand}?"),
            (4, f"For how much did {name} take the {campaign} deal?"),
        ]
    if kind == "deadline":
        return [(2, f"When was {name}'s {brand} video due?"), (2, f"By what date did {brand} need {name}'s content?")]
    if kind == "draft_date":
        return [(2, f"When did {name} promise to send the draft for {brand}?")]
    if kind == "publish_date":
        return [
            (2, f"When did {name}'s {brand} post go live?"),
            (2, f"On what date was the {product} video published by {name}?"),
        ]
    if kind == "rhythm":
        return [
            (3, f"Which platform does {name} mainly use and how often do they post?"),
            (3, f"How active is {name} and where?"),
        ]
    if kind == "city":
        month = fact.at.strftime("%B")
        return [
            (2, f"Where was {name} living in {month}?"),
            (2, f"Which city was {name} based in when talking to {brand}?"),
        ]
    if kind == "life_moved":
        return [(2, f"Where is {name} moving and when?"), (2, f"When did {name} say they would relocate?")]
    if kind == "life_rate_increase":
        return [(2, f"When do {name}'s rates go up, and by how much?")]
    if kind == "life_hiatus":
        return [(2, f"When is {name} taking a break from posting?")]
    if kind == "life_niche_change":
        return [(3, f"What new topic is {name} moving toward?")]
    if kind == "preference":
        return [
            (3, f"What does {name} prefer when working with brands?"),
            (3, f"Any working preferences {name} mentioned?"),
        ]
    if kind == "sales":
        return [
            (4, f"How many sales did {name}'s {brand} video drive?"),
            (4, f"What were the results of the {product} campaign with {name}?"),
        ]
    if kind == "audience":
        return [(3, f"Who is {name}'s audience?"), (3, f"What demographic follows {name}?")]
    if kind == "product_brand":
        return [(4, f"Which brand pitched {product} to {name}?")]
    return []


def question_set(simulation: Simulation, *, subjects: int = 20, per_subject: int = 40, seed: int = 0) -> Iterator[str]:
    """JSON lines: the chosen creators' messages, then their questions."""
    if not simulation.record:
        raise ValueError("create the Simulation with record_conversations=True")
    if simulation.events_emitted == 0:
        for _ in simulation.run():
            pass
    rng = random.Random(f"questions:{seed}")
    creators = {c.id: c for c in simulation.world.creators}
    ranked = sorted(simulation.messages, key=lambda cid: (-len(simulation.messages[cid]), cid))[:subjects]
    for creator_id in ranked:
        creator = creators[creator_id]
        handle = creator.handle
        ids = {}
        for message in simulation.messages[creator_id]:
            local = f"S{message.session}:{message.turn}"
            ids[message.event_id] = local
            yield json.dumps(
                {
                    "type": "event",
                    "subject": handle,
                    "id": local,
                    "at": message.at.isoformat().replace("+00:00", "Z"),
                    "actor": message.actor,
                    "text": message.text,
                }
            )
        facts = [f for f in simulation.facts if f.creator_id == creator_id and all(e in ids for e in f.evidence)]
        rng.shuffle(facts)
        written = 0
        first_name = creator.name.split()[0]
        # A question has one right answer. Facts that its wording cannot tell apart (the same
        # kind of thing about the same brand, said in several sessions) are asked once, expecting
        # every message that says it, when they agree; when they disagree, not at all.
        sharing: dict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            for _, text in _templates(fact, first_name):
                sharing[text].append(fact)
        done: set[str] = set()
        for fact in facts:
            name = rng.choice([first_name, creator.name])
            options = [
                (option, generic)
                for option, (_, generic) in zip(_templates(fact, name), _templates(fact, first_name), strict=True)
                if generic not in done and len({f.value for f in sharing[generic]}) == 1
            ]
            if not options or written >= per_subject:
                continue
            (category, text), generic = rng.choice(options)
            done.add(generic)
            evidence = list(dict.fromkeys(e for f in sharing[generic] for e in f.evidence))
            if len(evidence) > 6:
                continue  # said too often to be found in 10
            written += 1
            yield json.dumps(
                {
                    "type": "query",
                    "subject": handle,
                    "id": f"q{written}",
                    "text": text,
                    "expected": [ids[e] for e in evidence],
                    "category": category,
                    "answer": fact.value,
                }
            )
