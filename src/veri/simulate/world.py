"""The world's hidden traits: who the creators and brands really are. Models never see these;
they only see the events the world produces."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from veri.simulate.ids import IdMaker

__all__ = ["Brand", "Creator", "Identities", "LifeEvent", "World", "build_world", "expected_roi"]

NICHES = ["fitness", "beauty", "tech", "food", "travel", "gaming", "fashion", "finance", "parenting", "wellness"]
PLATFORMS = ["tiktok", "youtube", "instagram"]
CITIES = [
    "Austin",
    "Lisbon",
    "Berlin",
    "Toronto",
    "Manila",
    "Lagos",
    "Seoul",
    "Madrid",
    "Denver",
    "Kraków",
    "Mexico City",
    "Sydney",
    "Nairobi",
    "Chicago",
    "Milan",
]
FIRST = [
    "Maya",
    "Leo",
    "Ana",
    "Kim",
    "Sam",
    "Priya",
    "Jo",
    "Raj",
    "Nina",
    "Dan",
    "Yara",
    "Hana",
    "Omar",
    "Lena",
    "Theo",
    "Iris",
    "Mateo",
    "Zoe",
    "Kofi",
    "Aiko",
    "Ravi",
    "Sofia",
    "Eli",
    "Noor",
    "Luca",
    "Maja",
    "Tariq",
]
LAST = [
    "Ortiz",
    "Brandt",
    "Sousa",
    "Park",
    "Okafor",
    "Nair",
    "Martin",
    "Mehta",
    "Kowalski",
    "Reyes",
    "Haddad",
    "Sato",
    "Fischer",
    "Silva",
    "Novak",
    "Costa",
    "Ali",
    "Berg",
    "Moreau",
    "Ivanova",
    "Adeyemi",
    "Tanaka",
]
BRAND_WORDS = {
    "fitness": ["Peak", "Forge", "Stride", "Core"],
    "beauty": ["Lumen", "Glow", "Velvet", "Bloom"],
    "tech": ["Byte", "Pixel", "Circuit", "Nimbus"],
    "food": ["Verde", "Harvest", "Spoon", "Ember"],
    "travel": ["Atlas", "Voyage", "Compass", "Nomad"],
    "gaming": ["Quest", "Arcade", "Respawn", "Loot"],
    "fashion": ["Thread", "Loom", "Atelier", "Stitch"],
    "finance": ["Ledger", "Penny", "Vault", "Mint"],
    "parenting": ["Nest", "Cradle", "Sprout", "Tot"],
    "wellness": ["Calm", "Zen", "Haven", "Breathe"],
}
SUFFIXES = ["form", "labs", "co", "works", "ly", "hub", "house", "kit"]
AGE_BANDS = ["18-24", "25-34", "35-44", "45+"]


@dataclass(frozen=True)
class LifeEvent:
    day: date
    kind: str  # moved | niche_change | hiatus | rate_increase
    detail: str
    until: date | None = None


@dataclass
class Creator:
    id: str
    handle: str
    name: str
    niches: list[str]
    platforms: list[str]
    audience: int
    age_mix: dict[str, float]
    female_share: float
    city: str
    quality: float  # 0..1: how good the content is
    posts_per_week: float
    responsiveness: float  # 0..1: how fast and how much they answer
    reliability: float  # probability of delivering on time
    rate_cents: int  # what they ask for a dedicated video
    churn_day: int | None  # the simulation day they stop, if they churn
    life_events: list[LifeEvent] = field(default_factory=list)


@dataclass
class Brand:
    id: str
    name: str
    category: str
    manager: str
    budget_cents: int  # per campaign
    target_age: str
    target_female: float
    negotiation: str  # generous | fair | tough
    pays_reliably: float
    conversion: float  # sales per 1,000 engaged viewers at perfect fit


@dataclass
class World:
    seed: int
    start: date
    days: int
    creators: list[Creator]
    brands: list[Brand]


def _audience(rng: random.Random) -> int:
    """Heavy-tailed: most creators are small, a few are huge."""
    return max(300, int(rng.paretovariate(1.15) * 2500))


@dataclass(frozen=True)
class Identities:
    """Real accounts to play some of the world's parts (the demo): their public facts replace
    the simulated ones; the hidden traits stay simulated."""

    creators: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # id, handle, name, niches
    brands: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, category


def build_world(
    *, seed: int, creators: int, brands: int, days: int, start: date, identities: Identities | None = None
) -> World:
    rng = random.Random(f"world:{seed}")
    ids = IdMaker(seed)
    used_handles: set[str] = set()
    people: list[Creator] = []
    for index in range(creators):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = f"{first.lower()}.{rng.choice(['moves', 'makes', 'eats', 'codes', 'talks', 'glows', 'goes', 'plays'])}"
        while handle in used_handles:
            handle = f"{handle.split('_')[0]}_{index}"
        used_handles.add(handle)
        niches = rng.sample(NICHES, k=rng.choice([1, 1, 2, 2, 3]))
        young = rng.uniform(0.1, 0.6)
        mid = rng.uniform(0.1, 0.9 - young)
        older = rng.uniform(0.0, 1 - young - mid)
        creator = Creator(
            id=ids.uuid4ish(),
            handle=handle,
            name=f"{first} {last}",
            niches=niches,
            platforms=rng.sample(PLATFORMS, k=rng.randint(1, 3)),
            audience=_audience(rng),
            age_mix={
                "18-24": round(young, 2),
                "25-34": round(mid, 2),
                "35-44": round(older, 2),
                "45+": round(max(0.0, 1 - young - mid - older), 2),
            },
            female_share=round(rng.betavariate(2, 2), 2),
            city=rng.choice(CITIES),
            quality=round(rng.betavariate(2.5, 2.5), 3),
            posts_per_week=round(rng.uniform(0.5, 7), 1),
            responsiveness=round(rng.betavariate(3, 1.6), 3),
            reliability=round(rng.betavariate(5, 1.5), 3),
            rate_cents=0,
            churn_day=rng.randint(30, days) if rng.random() < 0.12 else None,
        )
        creator.rate_cents = (
            int(max(150, (creator.audience**0.55) * (0.6 + creator.quality)) * 100) // 5000 * 5000 or 15000
        )
        _life_events(rng, creator, start, days)
        people.append(creator)
    companies: list[Brand] = []
    used_names: set[str] = set()
    for _ in range(brands):
        category = rng.choice(NICHES)
        name = f"{rng.choice(BRAND_WORDS[category])}{rng.choice(SUFFIXES)}"
        while name in used_names:
            name = f"{name} {rng.choice(['Co', 'Studio', 'Group', 'Labs'])}"
        used_names.add(name)
        companies.append(
            Brand(
                id=ids.uuid4ish(),
                name=name,
                category=category,
                manager=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                budget_cents=rng.choice([1500, 3000, 5000, 8000, 12000, 20000]) * 100,
                target_age=rng.choice(AGE_BANDS[:3]),
                target_female=round(rng.uniform(0.2, 0.9), 2),
                negotiation=rng.choice(["generous", "fair", "fair", "tough"]),
                pays_reliably=round(rng.betavariate(8, 1.5), 3),
                conversion=round(rng.uniform(0.5, 6.0), 2),
            )
        )
    if identities is not None:
        for person, (creator_id, handle, name, niches) in zip(people, identities.creators, strict=False):
            person.id, person.handle, person.name = creator_id, handle, name
            person.niches = niches or person.niches
        for company, (brand_id, brand_name, category) in zip(companies, identities.brands, strict=False):
            company.id, company.name = brand_id, brand_name
            company.category = category if category in BRAND_WORDS else company.category
    return World(seed=seed, start=start, days=days, creators=people, brands=companies)


def _life_events(rng: random.Random, creator: Creator, start: date, days: int) -> None:
    if days < 20:
        return
    if rng.random() < 0.25:
        creator.life_events.append(
            LifeEvent(
                start + timedelta(days=rng.randint(10, days - 5)),
                "moved",
                rng.choice([c for c in CITIES if c != creator.city]),
            )
        )
    if rng.random() < 0.15:
        creator.life_events.append(
            LifeEvent(
                start + timedelta(days=rng.randint(10, days - 5)),
                "niche_change",
                rng.choice([n for n in NICHES if n not in creator.niches]),
            )
        )
    if rng.random() < 0.2:
        begin = start + timedelta(days=rng.randint(10, days - 10))
        creator.life_events.append(
            LifeEvent(begin, "hiatus", "a break", until=begin + timedelta(days=rng.randint(7, 21)))
        )
    if rng.random() < 0.2:
        creator.life_events.append(
            LifeEvent(
                start + timedelta(days=rng.randint(10, days - 5)), "rate_increase", str(rng.choice([15, 20, 25, 30]))
            )
        )
    creator.life_events.sort(key=lambda e: e.day)


def fit(creator: Creator, brand: Brand) -> float:
    """How well a creator's audience and content suit a brand, 0..1 (hidden)."""
    niche = 1.0 if brand.category in creator.niches else 0.25
    age = creator.age_mix.get(brand.target_age, 0.0)
    gender = 1 - abs(creator.female_share - brand.target_female)
    return round(niche * (0.35 + 0.65 * creator.quality) * (0.4 + age) * (0.5 + 0.5 * gender), 4)


def expected_roi(creator: Creator, brand: Brand, fee_cents: int, *, price_cents: int = 3500) -> float:
    """What an oracle that knows every hidden trait expects a deal to return (revenue / fee)."""
    engaged = creator.audience * (0.05 + 0.25 * creator.quality)
    sales = engaged / 1000 * brand.conversion * fit(creator, brand) * 10
    return round(sales * price_cents / max(fee_cents, 1), 3)


def log_normal_noise(rng: random.Random, sigma: float = 0.35) -> float:
    return math.exp(rng.gauss(-sigma * sigma / 2, sigma))
