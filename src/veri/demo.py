"""A small, realistic demo world loaded through the services, so `make run` shows a living
product: brands with campaigns in every state, a dozen creators, deals in every state, and
content with metrics. Deterministic; loading twice changes nothing."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from veri.accounts import service as account_service
from veri.accounts.schemas import SignupIn
from veri.agent.when import window
from veri.brands import service as brand_service
from veri.brands.schemas import BrandUpdate
from veri.campaigns import service as campaign_service
from veri.campaigns.schemas import CampaignIn, Deliverable
from veri.content import service as content_service
from veri.content.schemas import ContentIn, MetricsIn
from veri.creators import service as creator_service
from veri.creators.schemas import CreatorUpdate, Demographics, SocialAccountIn
from veri.db.engine import Database
from veri.deals import service as deal_service
from veri.deals.negotiation import Action
from veri.deals.schemas import DealCreate, OfferIn
from veri.identity import service as identity_service
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.models.campaigns import CampaignStatus
from veri.models.creators import Platform
from veri.tasks import service as task_service
from veri.tasks.schemas import ProofIn, TaskIn

__all__ = ["DEMO_PASSWORD", "DemoSummary", "WorldProgress", "load_demo", "load_world", "world_progress"]

if TYPE_CHECKING:
    from veri.simulate.engine import Simulation

log = structlog.get_logger(__name__)

DEMO_PASSWORD = "veri-demo-2026"  # noqa: S105 - the demo accounts only, printed by `make run`  # nosec B105
ADMIN_EMAIL = "admin@veri.example"
MARKER_EMAIL = "team@peakform.example"  # present once the demo is loaded

BRANDS = [
    ("Peakform", "fitness", "Resistance bands and home-gym kit."),
    ("Lumen Skin", "beauty", "Clean skincare for sensitive skin."),
    ("Bytewise", "tech", "Small gadgets for creators and students."),
    ("Verde Kitchen", "food", "Plant-based meal kits."),
]
CREATORS = [
    ("maya.moves", "Maya Ortiz", ["fitness", "wellness"], "Austin, US"),
    ("leo.lifts", "Leo Brandt", ["fitness"], "Berlin, DE"),
    ("glow.with.ana", "Ana Sousa", ["beauty", "lifestyle"], "Lisbon, PT"),
    ("skin.by.kim", "Kim Park", ["beauty"], "Seoul, KR"),
    ("techtalk.sam", "Sam Okafor", ["tech", "gaming"], "Lagos, NG"),
    ("pixel.priya", "Priya Nair", ["tech"], "Bangalore, IN"),
    ("greenplate.jo", "Jo Martin", ["food", "wellness"], "Lyon, FR"),
    ("spice.route.raj", "Raj Mehta", ["food", "travel"], "London, UK"),
    ("nomad.nina", "Nina Kowalski", ["travel", "lifestyle"], "Kraków, PL"),
    ("daily.dev.dan", "Dan Reyes", ["tech", "education"], "Manila, PH"),
    ("yoga.yara", "Yara Haddad", ["wellness", "fitness"], "Beirut, LB"),
    ("home.chef.hana", "Hana Sato", ["food"], "Osaka, JP"),
]


@dataclass
class DemoSummary:
    created: bool
    users: int
    campaigns: int
    deals: int
    content: int


def load_demo(db: Session, *, progress: Callable[[str], None] | None = None) -> DemoSummary:
    note = progress or (lambda _message: None)
    if identity_service.user_by_email(db, email=MARKER_EMAIL) is not None:
        return DemoSummary(created=False, users=0, campaigns=0, deals=0, content=0)
    rng = random.Random(2026)
    now = datetime.now(UTC)
    identity_service.create_user(
        db, email=ADMIN_EMAIL, password=DEMO_PASSWORD, display_name="Operator", role=Role.ADMIN
    )

    note("brands")
    brands: list[Principal] = []
    for name, category, description in BRANDS:
        slug = name.lower().replace(" ", "")
        user = account_service.sign_up(
            db,
            data=SignupIn(
                email=f"team@{slug}.example",
                password=DEMO_PASSWORD,
                display_name=f"{name} team",
                role="brand",
                brand_name=name,
            ),
        )
        principal = identity_service.principal_for(db, user, via="session")
        brand_service.update_brand(
            db,
            principal=principal,
            changes=BrandUpdate(category=category, website=f"https://{slug}.example", description=description),
        )
        brands.append(principal)

    note("creators")
    creators: list[tuple[Principal, list[str]]] = []
    for handle, name, niches, location in CREATORS:
        first = handle.split(".")[0]
        user = account_service.sign_up(
            db,
            data=SignupIn(
                email=f"{first}@creators.example",
                password=DEMO_PASSWORD,
                display_name=name,
                role="creator",
                handle=handle,
            ),
        )
        principal = identity_service.principal_for(db, user, via="session")
        platforms = rng.sample([Platform.TIKTOK, Platform.YOUTUBE, Platform.INSTAGRAM], k=rng.randint(1, 3))
        audience = int(rng.lognormvariate(11, 1.2))
        young = round(rng.uniform(0.2, 0.5), 2)
        creator_service.update_profile(
            db,
            principal=principal,
            changes=CreatorUpdate(
                bio=f"{niches[0].capitalize()} creator from {location.split(',')[0]}.",
                location=location,
                niches=niches,
                audience_size=audience,
                demographics=Demographics(
                    age={"18-24": young, "25-34": round(0.85 - young, 2), "35+": 0.15},
                    gender={"female": round(rng.uniform(0.3, 0.8), 2)},
                ),
            ),
        )
        for platform in platforms:
            creator_service.add_social_account(
                db,
                principal=principal,
                data=SocialAccountIn(
                    platform=platform,
                    handle=handle,
                    followers=int(audience * rng.uniform(0.2, 0.8)),
                ),
            )
        creators.append((principal, niches))

    note("campaigns")
    campaigns = []
    plans = [  # (brand index, title, niche, final status)
        (0, "Summer strength challenge", "fitness", CampaignStatus.ACTIVE),
        (0, "New year, new bands", "fitness", CampaignStatus.COMPLETED),
        (0, "Yoga mat launch", "wellness", CampaignStatus.OPEN),
        (1, "Sensitive-skin routine", "beauty", CampaignStatus.ACTIVE),
        (1, "SPF all year", "beauty", CampaignStatus.DRAFT),
        (2, "Desk setup tours", "tech", CampaignStatus.OPEN),
        (2, "Back to school gadgets", "tech", CampaignStatus.CANCELLED),
        (3, "Weeknight plant-based dinners", "food", CampaignStatus.ACTIVE),
        (3, "Holiday feast kits", "food", CampaignStatus.OPEN),
    ]
    for brand_index, title, niche, final in plans:
        brand = brands[brand_index]
        start = date.today() + timedelta(days=rng.randint(-60, 20))
        campaign = campaign_service.create_campaign(
            db,
            principal=brand,
            data=CampaignIn(
                title=title,
                brief=(f"We are looking for {niche} creators whose audience trusts them. Honest reviews only."),
                budget_cents=rng.choice([5_000, 8_000, 12_000, 20_000]) * 100,
                niches=[niche],
                platforms=[Platform.TIKTOK, Platform.YOUTUBE],
                deliverables=[
                    Deliverable(kind="video", platform=Platform.YOUTUBE, quantity=1),
                    Deliverable(kind="short", platform=Platform.TIKTOK, quantity=2),
                ],
                starts_on=start,
                ends_on=start + timedelta(days=45),
            ),
        )
        campaigns.append((brand, campaign, niche, final))
        if final is not CampaignStatus.DRAFT:
            campaign_service.transition_campaign(db, principal=brand, campaign_id=campaign.id, to=CampaignStatus.OPEN)

    note("deals")
    deal_count = content_count = 0
    outcomes = [
        Action.ACCEPT,
        Action.COUNTER,
        Action.DECLINE,
        Action.WITHDRAW,
        Action.DELIVER,
        Action.COMPLETE,
        Action.CANCEL,
        None,
    ]
    for index, (brand, campaign, niche, final) in enumerate(campaigns):
        if final in (CampaignStatus.DRAFT,):
            continue
        matching = [c for c, niches in creators if niche in niches] or [creators[0][0]]
        for offset, creator in enumerate(matching[:4]):
            fee = rng.choice([600, 900, 1_200, 1_500, 2_500]) * 100
            deal = deal_service.create_deal(
                db,
                principal=creator,
                data=DealCreate(campaign_id=campaign.id, fee_cents=fee, message="I'd love to work on this."),
            )
            deal_count += 1
            outcome = outcomes[(index + offset) % len(outcomes)]
            if outcome is None:
                continue
            if outcome is Action.WITHDRAW:
                deal_service.act_on_deal(db, principal=creator, deal_id=deal.id, action=Action.WITHDRAW)
                continue
            if outcome is Action.DECLINE:
                deal_service.act_on_deal(db, principal=brand, deal_id=deal.id, action=Action.DECLINE)
                continue
            if outcome is Action.COUNTER:
                deal_service.act_on_deal(
                    db,
                    principal=brand,
                    deal_id=deal.id,
                    action=Action.COUNTER,
                    offer=OfferIn(fee_cents=int(fee * 0.8), message="Could you do it for a bit less?"),
                )
                continue
            deal_service.act_on_deal(db, principal=brand, deal_id=deal.id, action=Action.ACCEPT)
            if outcome in (Action.DELIVER, Action.COMPLETE):
                deal_service.act_on_deal(db, principal=creator, deal_id=deal.id, action=Action.DELIVER)
            if outcome is Action.COMPLETE:
                deal_service.act_on_deal(db, principal=brand, deal_id=deal.id, action=Action.COMPLETE)
            if outcome is Action.CANCEL:
                deal_service.act_on_deal(db, principal=brand, deal_id=deal.id, action=Action.CANCEL)
            if outcome in (Action.DELIVER, Action.COMPLETE):
                content_count += _publish(db, rng, creator, deal.id, campaign.title, now)
        if final in (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
            steps = {
                CampaignStatus.ACTIVE: [CampaignStatus.ACTIVE],
                CampaignStatus.COMPLETED: [CampaignStatus.ACTIVE, CampaignStatus.COMPLETED],
                CampaignStatus.CANCELLED: [CampaignStatus.CANCELLED],
            }[final]
            for step in steps:
                campaign_service.transition_campaign(db, principal=brand, campaign_id=campaign.id, to=step)

    note("history")
    deal_count += _last_spring(db, brands[0], creators[0][0], now)
    # One open campaign nobody has answered yet: where "Recommended creators" has people to suggest.
    fresh = campaign_service.create_campaign(
        db,
        principal=brands[0],
        data=CampaignIn(
            title="Home workout series",
            brief="Three short home workouts with our resistance bands, for people starting out.",
            budget_cents=300_000,
            niches=["fitness", "wellness"],
            platforms=[Platform.TIKTOK, Platform.YOUTUBE, Platform.INSTAGRAM],
            deliverables=[Deliverable(kind="short", platform=Platform.TIKTOK, quantity=3)],
            starts_on=date.today() + timedelta(days=10),
            ends_on=date.today() + timedelta(days=55),
        ),
    )
    campaign_service.transition_campaign(db, principal=brands[0], campaign_id=fresh.id, to=CampaignStatus.OPEN)

    note("tasks")
    deal_count += _tasks(db, brands[0], creators[0][0], now)

    note("content")
    for creator, niches in creators:
        for n in range(rng.randint(2, 4)):
            content_count += _publish(db, rng, creator, None, f"{niches[0].capitalize()} tips #{n + 1}", now)
    return DemoSummary(
        created=True,
        users=1 + len(BRANDS) + len(CREATORS),
        campaigns=len(campaigns) + 3,  # and the spring campaign, the fresh one, the band challenge
        deals=deal_count,
        content=content_count,
    )


def _last_spring(db: Session, peakform: Principal, maya: Principal, now: datetime) -> int:
    """Maya's thread with Peakform last spring, with the rate she quoted: history a person asks
    the agent about ("what rate did I quote Peakform last spring?"). The messages keep their
    spring dates; the campaign and the deal are today's rows, completed."""
    spring = window("last spring", now.date())
    assert spring is not None
    first = spring[0] + timedelta(days=40, hours=10)  # mid-April
    campaign = campaign_service.create_campaign(
        db,
        principal=peakform,
        data=CampaignIn(
            title="Spring bands push",
            brief="Resistance bands for spring home workouts: one dedicated video.",
            budget_cents=150_000,
            niches=["fitness"],
            platforms=[Platform.YOUTUBE],
            deliverables=[Deliverable(kind="video", platform=Platform.YOUTUBE, quantity=1)],
            starts_on=first.date(),
            ends_on=(first + timedelta(days=30)).date(),
        ),
    )
    campaign_service.transition_campaign(db, principal=peakform, campaign_id=campaign.id, to=CampaignStatus.OPEN)
    deal = deal_service.create_deal(
        db, principal=maya, data=DealCreate(campaign_id=campaign.id, fee_cents=65_000, message="")
    )
    thread = [
        (peakform, "Hi Maya! We're planning a spring push for our resistance bands. What's your rate for a video?"),
        (maya, "Thanks for reaching out! My rate for a dedicated YouTube video is $650; two stories are $150 more."),
        (peakform, "That works for us. We'll ship the bands this week; could you publish by May 2?"),
        (maya, "Yes, I can publish the video by May 2."),
    ]
    for day, (who, body) in enumerate(thread):
        deal_service.post_message(db, principal=who, deal_id=deal.id, body=body, at=first + timedelta(days=day))
    deal_service.act_on_deal(db, principal=peakform, deal_id=deal.id, action=Action.ACCEPT)
    deal_service.act_on_deal(db, principal=maya, deal_id=deal.id, action=Action.DELIVER)
    deal_service.act_on_deal(db, principal=peakform, deal_id=deal.id, action=Action.COMPLETE)
    for step in (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED):
        campaign_service.transition_campaign(db, principal=peakform, campaign_id=campaign.id, to=step)
    return 1


def _publish(
    db: Session,
    rng: random.Random,
    creator: Principal,
    deal_id: uuid.UUID | None,
    title: str,
    now: datetime,
) -> int:
    published = now - timedelta(days=rng.randint(3, 40), hours=rng.randint(0, 23))
    platform = rng.choice([Platform.TIKTOK, Platform.YOUTUBE, Platform.INSTAGRAM])
    item = content_service.add_content(
        db,
        principal=creator,
        data=ContentIn(
            platform=platform,
            external_id=f"{platform.value}-{rng.getrandbits(48):x}",
            kind="video" if platform is Platform.YOUTUBE else "short",
            title=title,
            url=f"https://{platform.value}.example/{rng.getrandbits(32):x}",
            published_at=published,
            deal_id=deal_id,
        ),
    )
    # Rates fixed per post, so cumulative counts only grow, as on a real platform.
    like_rate, comment_rate, share_rate = rng.uniform(0.03, 0.09), rng.uniform(0.002, 0.01), rng.uniform(0.001, 0.006)
    views = 0
    for day in range(1, 4):
        views += int(rng.lognormvariate(8, 1) / day)
        content_service.record_metrics(
            db,
            principal=creator,
            content_id=item.id,
            data=MetricsIn(
                captured_at=published + timedelta(days=day),
                views=views,
                likes=int(views * like_rate),
                comments=int(views * comment_rate),
                shares=int(views * share_rate),
            ),
        )
    return 1


def _tasks(db: Session, peakform: Principal, maya: Principal, now: datetime) -> int:
    """Maya's loop: a week of posts (a streak), her profile task done, and on a live Peakform
    deal a views task her new short verifies by itself (once the worker applies its metrics)
    and a screenshot waiting in Peakform's review queue."""
    for back in range(5, 0, -1):
        content_service.add_content(
            db,
            principal=maya,
            data=ContentIn(
                platform=Platform.TIKTOK,
                external_id=f"tiktok-streak-{back}",
                kind="short",
                title=f"Daily stretch, day {6 - back}",
                url=f"https://tiktok.example/maya/stretch-{back}",
                published_at=now - timedelta(days=back, hours=2),
            ),
        )
    campaign = campaign_service.create_campaign(
        db,
        principal=peakform,
        data=CampaignIn(
            title="Band challenge",
            brief="A 7-day resistance band challenge: one short a day, tagged #peakform.",
            budget_cents=120_000,
            niches=["fitness"],
            platforms=[Platform.TIKTOK],
            deliverables=[Deliverable(kind="short", platform=Platform.TIKTOK, quantity=1)],
            starts_on=now.date(),
            ends_on=(now + timedelta(days=21)).date(),
        ),
    )
    campaign_service.transition_campaign(db, principal=peakform, campaign_id=campaign.id, to=CampaignStatus.OPEN)
    deal = deal_service.create_deal(db, principal=maya, data=DealCreate(campaign_id=campaign.id, fee_cents=40_000))
    deal_service.act_on_deal(db, principal=peakform, deal_id=deal.id, action=Action.ACCEPT)
    due = now + timedelta(days=7)
    views = task_service.create_task(
        db,
        principal=peakform,
        data=TaskIn(
            kind="views",
            title="Reach 2,000 views with the challenge short",
            deal_id=deal.id,
            views_target=2_000,
            hashtag="peakform",
            platform="tiktok",
            due_at=due,
            points=80,
        ),
    )
    shot = task_service.create_task(
        db,
        principal=peakform,
        data=TaskIn(
            kind="screenshot", title="Screenshot of your story's reach", deal_id=deal.id, due_at=due, points=40
        ),
    )
    task_service.create_task(
        db,
        principal=peakform,
        data=TaskIn(kind="post", title="Post day 2 with #peakform", deal_id=deal.id, hashtag="peakform", due_at=due),
    )
    post = content_service.add_content(
        db,
        principal=maya,
        data=ContentIn(
            platform=Platform.TIKTOK,
            external_id="tiktok-band-challenge-1",
            kind="short",
            title="Band challenge day 1 #peakform",
            url="https://tiktok.example/maya/band-challenge-1",
            published_at=now - timedelta(minutes=30),
            deal_id=deal.id,
        ),
    )
    content_service.record_metrics(
        db,
        principal=maya,
        content_id=post.id,
        data=MetricsIn(captured_at=now - timedelta(minutes=5), views=2_430, likes=190, comments=21, shares=9),
    )
    task_service.submit_proof(
        db, principal=maya, task_id=views.id, proof=ProofIn(post_url=post.url, claimed_views=2_400)
    )
    task_service.submit_proof(
        db, principal=maya, task_id=shot.id, proof=ProofIn(claimed_views=1_150), screenshot=_story_screenshot()
    )
    profile = next(t for t in task_service.ensure_platform_tasks(db) if t.kind.value == "profile")
    task_service.submit_proof(db, principal=maya, task_id=profile.id, proof=ProofIn())
    return 1


def _story_screenshot() -> bytes:
    """A small picture that looks like a story's insights (a blank image proves nothing)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 640), (18, 18, 24))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 40, 340, 120], fill=(60, 60, 80))
    draw.text((36, 64), "Story insights", fill=(240, 240, 240))
    for i, (label, value) in enumerate((("Reach", 1150), ("Impressions", 1420), ("Replies", 12), ("Link taps", 48))):
        y = 160 + i * 70
        draw.text((36, y), label, fill=(200, 200, 210))
        draw.rectangle([180, y, 180 + value // 10, y + 20], fill=(120, 90 + i * 30, 220))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# -- the simulated world behind the demo ---------------------------------------------------------


@dataclass
class WorldProgress:
    """What the admin page shows while the demo world loads in the background."""

    state: str = "not started"  # not started | loading | done | failed
    days_done: int = 0
    days: int = 0
    events: int = 0
    error: str = ""


# One demo world loads per process (`veri run`, `veri demo world`); its progress is read by the
# admin page and the CLI's progress bar while it loads.
_WORLD_PROGRESS = WorldProgress()


def world_progress() -> WorldProgress:
    """How far this process's demo world has loaded."""
    return _WORLD_PROGRESS


def cast_simulation(database: Database, *, creators: int, brands: int, days: int, seed: int) -> Simulation:
    """A simulation of the last `days` days in which the accounts already in the database (the demo
    creators and brands first) play some of the simulated parts, so that they have history."""
    from veri.simulate.engine import Identities, Simulation, SimulationParams

    with database.sessions() as db:
        known_creators = creator_service.all_creators(db, limit=creators)
        known_brands, _ = brand_service.list_brands(db, limit=brands)
        identities = Identities(
            creators=[(str(c.id), c.handle, c.display_name, list(c.niches)) for c in known_creators],
            brands=[(str(b.id), b.name, b.category) for b in known_brands],
        )
    start = datetime.now(UTC).date() - timedelta(days=days)
    return Simulation(
        SimulationParams(creators=creators, brands=brands, days=days, seed=seed, start=start, identities=identities)
    )


def load_world(
    database: Database,
    *,
    creators: int = 500,
    brands: int = 60,
    days: int = 180,
    seed: int = 42,
    partitions: int = 8,
    marker: Path | None = None,
) -> WorldProgress:
    """Play a simulated world through event ingestion, with the demo accounts in some of its
    parts, so that analytics and the pipeline have months of history. Idempotent (event ids
    are deterministic): an interrupted load is simply run again."""
    from veri.events.service import ingest

    progress = _WORLD_PROGRESS
    progress.state, progress.days, progress.days_done, progress.events, progress.error = "loading", days, 0, 0, ""
    try:
        simulation = cast_simulation(database, creators=creators, brands=brands, days=days, seed=seed)
        for lines in simulation.days():
            for offset in range(0, len(lines), 1000):
                with database.transaction() as db:
                    result = ingest(
                        db,
                        [json.loads(line) for line in lines[offset : offset + 1000]],
                        partial=True,
                        partitions=partitions,
                    )
                if result.rejected:
                    log.warning("demo_world_rejected", count=len(result.rejected), first=result.rejected[0].as_dict())
            progress.days_done, progress.events = simulation.day_done, simulation.events_emitted
            if simulation.day_done % 30 == 0:
                log.info("demo_world_progress", days=simulation.day_done, of=days, events=simulation.events_emitted)
        progress.state = "done"
        if marker is not None:
            marker.write_text(json.dumps({"events": progress.events, "seed": seed}))
        log.info("demo_world_loaded", events=progress.events)
    except Exception as exc:  # the demo must not take the app down; the admin page shows it
        progress.state, progress.error = "failed", str(exc)
        log.exception("demo_world_failed")
    return progress
