"""The simulation: day by day, creators post and their metrics grow, brands open campaigns,
negotiate with creators in message threads, creators deliver (on time or late), and outcomes
come from the hidden fit plus noise. Produces event lines in the ingestion envelope, the ground
truth (kept apart), and the facts said in conversations (for recall question sets)."""

from __future__ import annotations

import gc
import math
import random
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from veri.simulate.ids import IdMaker
from veri.simulate.language import DELIVERABLE, PRODUCTS, Phrasebook, money, nice_date
from veri.simulate.world import Brand, Creator, Identities, World, build_world, expected_roi, fit, log_normal_noise

__all__ = ["ConversationMessage", "Fact", "Identities", "Simulation", "SimulationParams"]

SNAPSHOT_DAYS = (1, 2, 3, 7, 14)
# Datetimes formatted by orjson (fast, always with Z); each line ends with its newline.
_DUMP_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
PLACES = ["garage gym", "kitchen", "home studio", "living room", "balcony", "local park", "office"]


@dataclass(frozen=True)
class SimulationParams:
    creators: int = 500
    brands: int = 60
    days: int = 180
    seed: int = 42
    start: date = date(2026, 1, 5)
    identities: Identities | None = None


@dataclass(frozen=True)
class ConversationMessage:
    event_id: str
    creator_id: str
    session: int
    turn: int
    at: datetime
    actor: str
    text: str


@dataclass(frozen=True)
class Fact:
    """Something said in a conversation, with the messages that say it."""

    creator_id: str
    kind: str
    value: str
    evidence: tuple[str, ...]
    at: datetime
    about: dict[str, str] = field(default_factory=dict)


class Simulation:
    def __init__(self, params: SimulationParams, *, record_conversations: bool = False):
        self.params = params
        # Conversations and their facts are kept only for question sets: they cost memory.
        self.record = record_conversations
        self.world: World = build_world(
            seed=params.seed,
            creators=params.creators,
            brands=params.brands,
            days=params.days,
            start=params.start,
            identities=params.identities,
        )
        self.rng = random.Random(f"simulation:{params.seed}")
        self.ids = IdMaker(params.seed, "events")
        self.words = Phrasebook(random.Random(f"language:{params.seed}"))
        self._scheduled: dict[int, list[tuple[float, int, bytes]]] = defaultdict(list)
        self._order = 0
        self.truth: list[dict[str, Any]] = []
        self.facts: list[Fact] = []
        self.messages: dict[str, list[ConversationMessage]] = defaultdict(list)
        self._sessions: dict[str, int] = defaultdict(int)
        self._turns: dict[tuple[str, int], int] = defaultdict(int)
        self._thread_lengths: dict[str, int] = defaultdict(int)
        self._negotiations = 0
        self._by_niche: dict[str, list[Creator]] = defaultdict(list)
        for creator in self.world.creators:
            for niche in creator.niches:
                self._by_niche[niche].append(creator)
        self.events_emitted = 0
        # Tasks draw from their own streams, so adding them left every other event unchanged.
        self.task_rng = random.Random(f"tasks:{params.seed}")
        self.task_ids = IdMaker(params.seed, "tasks")
        self._snapshots: dict[str, tuple[datetime, list[tuple[datetime, int, int]]]] = {}
        self._recent: dict[str, deque[tuple[str, datetime, int]]] = defaultdict(lambda: deque(maxlen=6))
        self._proof_hashes: list[tuple[datetime, int]] = []  # (submitted, screenshot hash)
        start = params.start
        self._breaks = {
            c.id: [
                ((e.day - start).days, ((e.until or e.day) - start).days) for e in c.life_events if e.kind == "hiatus"
            ]
            for c in self.world.creators
            if any(e.kind == "hiatus" for e in c.life_events)
        }
        self._epoch = datetime.combine(params.start, time(0), UTC).timestamp()
        self.day_done = 0

    # -- output -------------------------------------------------------------------------------

    def _day_index(self, moment: datetime) -> int:
        return int((moment.timestamp() - self._epoch) // 86400)

    def _emit(
        self,
        moment: datetime,
        type_: str,
        subject: str,
        actor: str,
        payload: dict[str, Any],
        version: int = 1,
        ids: IdMaker | None = None,
    ) -> str:
        stamp = moment.timestamp()
        event_id = (ids or self.ids).uuid7_at(stamp)
        line = orjson.dumps(
            {
                "id": event_id,
                "type": type_,
                "version": version,
                "occurred_at": moment,
                "subject": subject,
                "actor": actor,
                "payload": payload,
            },
            option=_DUMP_OPTIONS,
        )
        day = int((stamp - self._epoch) // 86400)
        if 0 <= day < self.params.days:
            self._order += 1
            self._scheduled[day].append((stamp, self._order, line))
        return event_id

    def run(self) -> Iterator[bytes]:
        """Event lines (UTF-8 JSON, each ending in a newline) in time order, one day after the other."""
        for day in self.days():
            yield from day

    def days(self) -> Iterator[list[bytes]]:
        """The same lines, one list per simulated day (cheaper to write in bulk)."""
        # Millions of short-lived, acyclic objects: the cycle collector only costs time here.
        gc.collect()
        gc.freeze()
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield from self._days()
        finally:
            if enabled:
                gc.enable()
            gc.unfreeze()

    def _days(self) -> Iterator[list[bytes]]:
        for day in range(self.params.days):
            self._simulate_day(day)
            todays = sorted(self._scheduled.pop(day, []))
            self.events_emitted += len(todays)
            self.day_done = day + 1
            yield [line for _, _, line in todays]

    def at(self, day: int, hour: float) -> datetime:
        moment = datetime.combine(self.params.start + timedelta(days=day), time(0), UTC)
        return moment + timedelta(hours=hour)

    # -- the world's days ---------------------------------------------------------------------

    def _active(self, creator: Creator, day: int) -> bool:
        if creator.churn_day is not None and day >= creator.churn_day:
            return False
        return not any(first <= day <= last for first, last in self._breaks.get(creator.id, ()))

    def _simulate_day(self, day: int) -> None:
        rng = self.rng
        for creator in self.world.creators:
            if rng.random() < creator.posts_per_week / 7 and self._active(creator, day):
                self._post(creator, day, None)
        for brand in self.world.brands:
            if rng.random() < 1 / 21:
                self._campaign(brand, day)

    def _post(self, creator: Creator, day: int, deal: dict[str, str] | None) -> str:
        rng = self.rng
        published = self.at(day, rng.uniform(7, 22))
        platform = deal["platform"] if deal else rng.choice(creator.platforms)
        content_id = self.ids.uuid4ish()
        refs = {k: deal[k] for k in ("deal_id", "campaign_id", "brand_id")} if deal else {}
        self._emit(
            published,
            "content.published",
            f"creator:{creator.id}",
            f"creator:{creator.id}",
            {
                "content_id": content_id,
                "creator_id": creator.id,
                "platform": platform,
                "kind": "video" if platform == "youtube" else "short",
                "title": f"{rng.choice(creator.niches).capitalize()} #{day}",
                "published_at": published,
                **refs,
            },
        )
        reach = creator.audience * (0.08 + 0.5 * creator.quality) * log_normal_noise(rng, 0.6)
        tau = rng.uniform(1.0, 4.0)
        like_rate = 0.02 + 0.08 * creator.quality
        subject = f"creator:{creator.id}"
        # Three quarters of all events: the same steps as `_emit`, inlined (this loop is the
        # simulator's hot path).
        uuid7_at, dumps, options, epoch, horizon = (
            self.ids.uuid7_at,
            orjson.dumps,
            _DUMP_OPTIONS,
            self._epoch,
            self.params.days,
        )
        # What the tasks of a deal's post check against, and a creator's recent posts.
        seen: list[tuple[datetime, int, int]] = []
        if deal is not None:
            self._snapshots[content_id] = (published, seen)
        self._recent[creator.id].append((content_id, published, int(reach * (1 - math.exp(-7 / tau)))))
        for after in SNAPSHOT_DAYS:
            views = int(reach * (1 - math.exp(-after / tau)))
            captured = published + timedelta(seconds=after * 86_400 + rng.random() * 36_000)
            stamp = captured.timestamp()
            day = int((stamp - epoch) // 86400)
            if day >= horizon:
                break  # later snapshots are later still
            if deal is not None:
                seen.append((captured, views, int(views * like_rate)))
            payload = {
                "content_id": content_id,
                "creator_id": creator.id,
                "platform": platform,
                "captured_at": captured,
                "metrics": _platform_metrics(platform, views, like_rate),
            }
            if refs:
                payload.update(refs)
            self._order += 1
            self._scheduled[day].append(
                (
                    stamp,
                    self._order,
                    dumps(
                        {
                            "id": uuid7_at(stamp),
                            "type": "content.metrics_snapshot",
                            "version": 2,
                            "occurred_at": captured,
                            "subject": subject,
                            "actor": "system:connector",
                            "payload": payload,
                        },
                        option=options,
                    ),
                )
            )
        return content_id

    # -- campaigns and negotiations -----------------------------------------------------------

    def _campaign(self, brand: Brand, day: int) -> None:
        rng = self.rng
        opened = self.at(day, rng.uniform(8, 18))
        campaign_id = self.ids.uuid4ish()
        product = rng.choice(PRODUCTS[brand.category])
        title = f"{product.capitalize()} launch"
        subject, actor = f"campaign:{campaign_id}", f"brand:{brand.id}"
        self._emit(
            opened,
            "campaign.created",
            subject,
            actor,
            {
                "campaign_id": campaign_id,
                "brand_id": brand.id,
                "brand_name": brand.name,
                "title": title,
                "budget_cents": brand.budget_cents * 4,
                "niches": [brand.category],
                "platforms": ["tiktok", "youtube", "instagram"],
            },
            version=2,
        )
        self._emit(
            opened + timedelta(minutes=5),
            "campaign.status_changed",
            subject,
            actor,
            {"campaign_id": campaign_id, "brand_id": brand.id, "from_status": "draft", "to_status": "open"},
        )
        self._emit(
            opened + timedelta(days=30),
            "campaign.status_changed",
            subject,
            actor,
            {"campaign_id": campaign_id, "brand_id": brand.id, "from_status": "open", "to_status": "active"},
        )
        pool = self._by_niche[brand.category]
        wanted = rng.randint(2, 6)
        # Sample a few more than needed, then drop the inactive: cheaper than scanning the niche.
        picked = [c for c in rng.sample(pool, k=min(len(pool), wanted * 2)) if self._active(c, day)][:wanted]
        for creator in picked:
            self._negotiate(brand, creator, campaign_id, title, product, day)

    def statistics(self) -> dict[str, Any]:
        """Distributions of the world (after `run`): audience, ROI, messages per thread."""

        def percentiles(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            ordered = sorted(values)

            def pick(q: float) -> float:
                return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

            return {"p10": pick(0.1), "p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": pick(1.0)}

        deals = [t for t in self.truth if t["kind"] == "deal"]
        tasks = [t for t in self.truth if t["kind"] == "task"]
        return {
            "creators": len(self.world.creators),
            "brands": len(self.world.brands),
            "audience": percentiles([float(c.audience) for c in self.world.creators]),
            "negotiations": self._negotiations,
            "deals_completed": len(deals),
            "realised_roi": percentiles([d["realised_roi"] for d in deals]),
            "oracle_roi": percentiles([d["expected_roi"] for d in deals]),
            "on_time_share": round(sum(d["on_time"] for d in deals) / len(deals), 3) if deals else None,
            "messages_per_thread": percentiles([float(n) for n in self._thread_lengths.values()]),
            "task_proofs": len(tasks),
            "fraud_share": round(sum(t["fraudulent"] for t in tasks) / len(tasks), 3) if tasks else None,
        }

    def _message(
        self,
        creator: Creator,
        brand: Brand,
        moment: datetime,
        sender: str,
        text: str,
        deal_id: str,
        campaign_id: str,
        session: int,
    ) -> str:
        name = brand.manager if sender == "brand" else creator.name
        event_id = self._emit(
            moment,
            "message.sent",
            f"creator:{creator.id}",
            f"{sender}:{brand.id if sender == 'brand' else creator.id}",
            {
                "message_id": self.ids.uuid4ish(),
                "creator_id": creator.id,
                "brand_id": brand.id,
                "deal_id": deal_id,
                "campaign_id": campaign_id,
                "sender_role": sender,
                "sender_name": name,
                "text": text,
            },
        )
        self._thread_lengths[deal_id] += 1
        if self.record and 0 <= self._day_index(moment) < self.params.days:
            thread = self.messages[creator.id]
            self._turns[(creator.id, session)] += 1
            turn = self._turns[(creator.id, session)]
            thread.append(ConversationMessage(event_id, creator.id, session, turn, moment, name.split()[0], text))
        return event_id

    def _fact(self, creator: Creator, kind: str, value: str, evidence: list[str], at: datetime, **about: str) -> None:
        if self.record and self._in_horizon(at):
            self.facts.append(Fact(creator.id, kind, value, tuple(evidence), at, about))

    def _in_horizon(self, moment: datetime) -> bool:
        return 0 <= self._day_index(moment) < self.params.days

    def _negotiate(self, brand: Brand, creator: Creator, campaign_id: str, title: str, product: str, day: int) -> None:
        rng, words = self.rng, self.words
        self._negotiations += 1
        deal_id = self.ids.uuid4ish()
        platform = rng.choice(creator.platforms)
        deliverable = rng.choice(DELIVERABLE[platform])
        self._sessions[creator.id] += 1
        session = self._sessions[creator.id]
        moment = self.at(day + rng.randint(0, 2), rng.uniform(9, 17))
        reply = timedelta(minutes=int(5 + 240 * (1 - creator.responsiveness) * rng.random()))
        first, manager_first = creator.name.split()[0], brand.manager.split()[0]
        ref = {"brand": brand.name, "campaign": title, "product": product}

        def say(sender: str, text: str, gap: timedelta) -> str:
            nonlocal moment
            moment = moment + gap
            return self._message(creator, brand, moment, sender, text, deal_id, campaign_id, session)

        hello = say("brand", words.greeting(first, manager_first, brand.name, brand.category, product), timedelta())
        rhythm = say("creator", words.rhythm(manager_first, platform, creator.posts_per_week), reply)
        self._fact(creator, "product_brand", brand.name, [hello], moment, **ref)
        self._fact(
            creator,
            "rhythm",
            f"{platform}, about {max(1, round(creator.posts_per_week))} a week",
            [rhythm],
            moment,
            **ref,
        )
        if rng.random() < 0.5:
            based = say(
                "creator",
                self.words.pick(
                    f"I'm based in {self._city(creator, moment.date())}.",
                    f"I live in {self._city(creator, moment.date())} by the way.",
                ),
                timedelta(minutes=1),
            )
            self._fact(creator, "city", self._city(creator, moment.date()), [based], moment, **ref)
        if rng.random() < 0.3:
            say("creator", words.small_talk(), timedelta(minutes=2))
        rate = self._rate(creator, moment.date())
        # Brands offer what they think the creator is worth, capped by their budget.
        budget = max(5000, int(min(brand.budget_cents, rate * rng.uniform(0.45, 1.15))) // 500 * 500)
        offer = say("brand", words.budget(money(budget), deliverable), timedelta(minutes=rng.randint(3, 30)))
        self._fact(creator, "budget", money(budget), [hello, offer], moment, **ref)
        asked = say("creator", words.rate(money(rate), deliverable), reply)
        self._fact(creator, "rate", money(rate), [asked], moment, deliverable=deliverable, **ref)
        start = moment
        self._emit(
            start,
            "deal.created",
            f"creator:{creator.id}",
            f"brand:{brand.id}",
            {
                "deal_id": deal_id,
                "campaign_id": campaign_id,
                "brand_id": brand.id,
                "creator_id": creator.id,
                "by": "brand",
                "fee_cents": budget,
            },
        )
        stretch = {"generous": 1.0, "fair": 0.85, "tough": 0.7}[brand.negotiation]
        fee = min(rate, max(budget, int(rate * stretch)))
        if fee < rate:
            counter_text = words.counter(money(fee))
            say("brand", counter_text, timedelta(minutes=rng.randint(10, 120)))
            self._emit(
                moment,
                "deal.offer_made",
                f"creator:{creator.id}",
                f"brand:{brand.id}",
                {
                    "deal_id": deal_id,
                    "campaign_id": campaign_id,
                    "brand_id": brand.id,
                    "creator_id": creator.id,
                    "by": "brand",
                    "fee_cents": fee,
                    "message": counter_text,
                },
            )
        refs = {"deal_id": deal_id, "campaign_id": campaign_id, "brand_id": brand.id, "creator_id": creator.id}
        if fee < rate * 0.8 and rng.random() < 0.7:
            say("creator", words.decline(), reply)
            self._emit(
                moment,
                "deal.status_changed",
                f"creator:{creator.id}",
                f"creator:{creator.id}",
                {**refs, "from_status": "proposed", "to_status": "declined", "fee_cents": fee},
            )
            return
        agreed = say("creator", words.accept(money(fee)), reply)
        self._fact(creator, "fee", money(fee), [agreed], moment, **ref)
        self._emit(
            moment,
            "deal.status_changed",
            f"creator:{creator.id}",
            f"creator:{creator.id}",
            {**refs, "from_status": "proposed", "to_status": "accepted", "fee_cents": fee, "accepted_fee_cents": fee},
        )
        due = moment.date() + timedelta(days=rng.randint(10, 25))
        draft = due - timedelta(days=rng.randint(2, 5))
        asked_date = say("brand", words.deadline(due), timedelta(minutes=rng.randint(2, 20)))
        confirmed = say("creator", words.confirm_deadline(due, draft), reply)
        self._fact(creator, "deadline", nice_date(due), [asked_date, confirmed], moment, **ref)
        self._fact(creator, "draft_date", nice_date(draft), [confirmed], moment, **ref)
        if rng.random() < 0.35:
            key, text = words.preference()
            said = say("creator", text, timedelta(minutes=3))
            self._fact(creator, "preference", key, [said], moment, **ref)
        for event in creator.life_events:
            if 0 <= (event.day - moment.date()).days <= 45 and rng.random() < 0.8:
                told = say("creator", words.life_event(event.kind, event.detail, event.day), timedelta(minutes=4))
                self._fact(
                    creator, f"life_{event.kind}", event.detail, [told], moment, when=nice_date(event.day), **ref
                )
        self._deliver(brand, creator, refs, ref, platform, fee, due, draft, session, start)

    def _deliver(
        self,
        brand: Brand,
        creator: Creator,
        refs: dict[str, str],
        ref: dict[str, str],
        platform: str,
        fee: int,
        due: date,
        draft: date,
        session: int,
        started: datetime,
    ) -> None:
        rng, words = self.rng, self.words
        on_time = rng.random() < creator.reliability
        publish = due - timedelta(days=rng.randint(0, 1)) if on_time else due + timedelta(days=rng.randint(2, 9))
        self._sessions[creator.id] += 1
        second = self._sessions[creator.id]
        moment = self.at((draft - self.params.start).days, rng.uniform(9, 20))

        def say(sender: str, text: str, gap: timedelta, in_session: int = second) -> str:
            nonlocal moment
            moment = moment + gap
            return self._message(creator, brand, moment, sender, text, refs["deal_id"], refs["campaign_id"], in_session)

        say("creator", words.draft_uploaded(rng.choice(PLACES)), timedelta())
        say("brand", words.disclosure(), timedelta(hours=rng.uniform(1, 5)))
        if on_time:
            live = say("creator", words.published(publish), timedelta(minutes=10))
        else:
            live = say("creator", words.late(publish), timedelta(minutes=10))
        self._fact(creator, "publish_date", nice_date(publish), [live], moment, on_time=str(on_time), **ref)
        delivered = self.at((publish - self.params.start).days, rng.uniform(8, 20))
        post_id = None
        if self._in_horizon(delivered) and self._active(creator, (publish - self.params.start).days):
            post_id = self._post(creator, (publish - self.params.start).days, {**refs, "platform": platform})
        self._emit(
            delivered,
            "deal.status_changed",
            f"creator:{creator.id}",
            f"creator:{creator.id}",
            {**refs, "from_status": "accepted", "to_status": "delivered", "fee_cents": fee, "accepted_fee_cents": fee},
        )
        oracle = expected_roi(creator, brand, fee)
        realised = max(0.0, oracle * log_normal_noise(rng, 0.5))
        sales = int(realised * fee / 3500)
        revenue = sales * 3500
        self._sessions[creator.id] += 1
        third = self._sessions[creator.id]
        moment = delivered + timedelta(days=rng.randint(10, 20))
        result = say("brand", words.results(sales, code=rng.random() < 0.6), timedelta(), third)
        self._fact(creator, "sales", str(sales), [result], moment, **ref)
        share = int(100 * max(creator.age_mix.values()))
        age = max(creator.age_mix, key=lambda k: creator.age_mix[k])
        gender = "women" if creator.female_share >= 0.5 else "men"
        told = say("creator", words.audience(share, gender, age), timedelta(minutes=20), third)
        self._fact(creator, "audience", f"{gender} {age}", [told], moment, **ref)
        if rng.random() < 0.4:
            month = started.strftime("%B")
            say(
                "brand",
                words.reference(month, f"we'd love more {ref['product']} content")
                + " "
                + words.rebook(rng.randint(2, 4), money(fee * 3)),
                timedelta(minutes=30),
                third,
            )
        self._emit(
            moment,
            "deal.status_changed",
            f"creator:{creator.id}",
            f"brand:{brand.id}",
            {**refs, "from_status": "delivered", "to_status": "completed", "fee_cents": fee, "accepted_fee_cents": fee},
        )
        self._emit(
            moment + timedelta(minutes=1),
            "campaign.outcome_reported",
            f"creator:{creator.id}",
            f"brand:{brand.id}",
            {
                **refs,
                "sales": sales,
                "revenue_cents": revenue,
                "fee_cents": fee,
                "roi": round(revenue / fee, 4),
                "delivered_on_time": on_time,
            },
        )
        self.truth.append(
            {
                "kind": "deal",
                "deal_id": refs["deal_id"],
                "creator_id": creator.id,
                "brand_id": brand.id,
                "fit": fit(creator, brand),
                "expected_roi": oracle,
                "realised_roi": round(revenue / fee, 4),
                "on_time": on_time,
            }
        )
        if rng.random() < 0.3:
            self._task(creator, brand, {**refs, "platform": platform}, delivered, post_id)

    def _task(
        self, creator: Creator, brand: Brand, refs: dict[str, str], moment: datetime, post_id: str | None
    ) -> None:
        """A brand's task on a delivered deal and the creator's proof. About 8% of proofs are
        fraudulent, in one of four ways the platform can only see in what it observes: views
        claimed above the platform's numbers, bought views (a late jump of views without likes),
        a screenshot reused from an earlier proof, or an older post passed off as the task's.
        The truth (`fraudulent`, `mode`) goes to the truth file only."""
        # The draws this method always made from the world's streams, kept so the rest of the
        # world stays the same; everything else comes from the tasks' own streams.
        fraudulent = self.rng.random() < 0.08
        task_id = self.ids.uuid4ish()
        self.rng.uniform(0.05, 0.3)
        kind = self.rng.choice(["post_link", "screenshot", "metrics"])
        rng, ids = self.task_rng, self.task_ids
        post = self._snapshots.pop(post_id, None) if post_id else None
        if post is None:
            return
        published, snapshots = post
        week = [s for s in snapshots if s[0] <= published + timedelta(days=7, hours=11)]
        if not week:
            return
        measured_at, views, likes = week[-1]
        created = published - timedelta(days=3, hours=rng.uniform(0, 48))
        submitted = published + timedelta(days=7, hours=rng.uniform(12, 20))
        if not self._in_horizon(submitted):
            return
        task_kind = {"post_link": "post", "screenshot": "screenshot", "metrics": "views"}[kind]
        target = int(views * rng.uniform(0.5, 1.2)) if task_kind == "views" else 0
        subject, brand_actor = f"creator:{creator.id}", f"brand:{brand.id}"
        self._emit(
            created,
            "task.created",
            subject,
            brand_actor,
            {
                "task_id": task_id,
                "kind": task_kind,
                "title": f"Post for {refs['campaign_id'][:8]}" if task_kind == "post" else "Reach and proof",
                "brand_id": brand.id,
                "campaign_id": refs["campaign_id"],
                "deal_id": refs["deal_id"],
                "creator_id": creator.id,
                "views_target": target,
                "due_at": published + timedelta(days=7, hours=12),
                "points": 50,
            },
            ids=ids,
        )
        content_id, claimed = post_id, int(views * rng.uniform(0.97, 1.0))
        image = rng.getrandbits(64) if kind == "screenshot" else None
        mode = None
        if fraudulent:
            mode = rng.choices(["inflated", "bought", "reused", "backdated"], weights=[40, 25, 20, 15])[0]
            older = [p for p in self._recent[creator.id] if p[1] < created - timedelta(days=2)]
            # Only a screenshot that was already sent can be sent again.
            sent = [image for at, image in self._proof_hashes if at < submitted]
            if mode == "reused" and not sent:
                mode = "inflated"
            if mode == "backdated" and not older:
                mode = "inflated"
            if mode == "inflated":
                claimed = int(views * rng.uniform(2.5, 8))
            elif mode == "bought":
                bought_at = measured_at + timedelta(minutes=rng.uniform(10, 50))
                claimed = int(views * rng.uniform(4, 8))
                self._emit(
                    bought_at,
                    "content.metrics_snapshot",
                    subject,
                    "system:connector",
                    {
                        "content_id": post_id,
                        "creator_id": creator.id,
                        "platform": refs["platform"],
                        "captured_at": bought_at,
                        "metrics": {"views": claimed, "likes": likes},
                        **{k: refs[k] for k in ("deal_id", "campaign_id", "brand_id")},
                    },
                    version=2,
                    ids=ids,
                )
            elif mode == "reused":
                image = rng.choice(sent)
                for _ in range(rng.randint(0, 3)):
                    image ^= 1 << rng.randrange(64)
            else:
                content_id, _, old_views = rng.choice(older)
                claimed = int(old_views * rng.uniform(0.97, 1.0))
        if image is not None:
            self._proof_hashes.append((submitted, image))
        self._emit(
            submitted,
            "task.proof_submitted",
            subject,
            f"creator:{creator.id}",
            {
                "task_id": task_id,
                "creator_id": creator.id,
                "kind": kind,
                "proof_url": f"https://proof.example/{task_id}",
                "claimed_views": claimed,
                "content_id": content_id,
                "image_hash": f"{image:016x}" if image is not None else None,
            },
            ids=ids,
        )
        self.truth.append(
            {"kind": "task", "task_id": task_id, "creator_id": creator.id, "fraudulent": fraudulent, "mode": mode}
        )

    def _city(self, creator: Creator, on: date) -> str:
        city = creator.city
        for event in creator.life_events:
            if event.kind == "moved" and event.day <= on:
                city = event.detail
        return city

    def _rate(self, creator: Creator, on: date) -> int:
        rate = creator.rate_cents
        for event in creator.life_events:
            if event.kind == "rate_increase" and event.day <= on:
                rate = int(rate * (1 + int(event.detail) / 100)) // 500 * 500
        return rate


def _platform_metrics(platform: str, views: int, like_rate: float) -> dict[str, int]:
    """In each platform's own vocabulary, as connectors deliver them."""
    likes, comments, shares = int(views * like_rate), int(views * like_rate / 12), int(views * like_rate / 30)
    if platform == "youtube":
        return {"viewCount": views, "likeCount": likes, "commentCount": comments}
    if platform == "tiktok":
        return {"play_count": views, "digg_count": likes, "comment_count": comments, "share_count": shares}
    return {"plays": views, "likes": likes, "comments": comments, "saved": shares}
