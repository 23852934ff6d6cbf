"""The event types Veri produces today. Add a type with `@REGISTRY.register`; change one by
registering a new version with an upcaster from the previous one, never by editing it.

Subjects name what an event is about and decide its partition: `creator:<id>` for everything
that happens to a creator (deals, content, messages), so a creator's events stay in order;
`campaign:<id>`, `brand:<id>`, `user:<id>` otherwise.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from veri.events.registry import REGISTRY, EventPayload
from veri.fields import AwareMoment, Cents, Count

__all__ = [
    "AccountCreated",
    "AgentRunCompleted",
    "CampaignCreated",
    "CampaignOutcomeReported",
    "CampaignStatusChanged",
    "CampaignUpdated",
    "ContentMetricsSnapshot",
    "ContentPublished",
    "CreatorUpdated",
    "DealCreated",
    "DealOfferMade",
    "DealStatusChanged",
    "EscrowReserved",
    "MemoryChanged",
    "MessageSent",
    "PayoutFailed",
    "PayoutPaid",
    "PayoutRequested",
    "TaskAccepted",
    "TaskCreated",
    "TaskProofSubmitted",
    "TaskReviewed",
]

Text = Annotated[str, Field(max_length=20_000)]
# Platforms, kinds and statuses land in short columns (String(20)) of the tables built from
# events: longer is refused at ingestion, not dead-lettered later by the consumer.
Label = Annotated[str, Field(min_length=1, max_length=20)]
Tag = Annotated[str, Field(min_length=1, max_length=40)]


@REGISTRY.register("account.created", 1, stream="accounts", description="A user signed up.")
class AccountCreated(EventPayload):
    user_id: uuid.UUID
    role: Literal["creator", "brand", "admin"]
    display_name: Annotated[str, Field(max_length=120)]


@REGISTRY.register(
    "creator.updated",
    1,
    stream="creators",
    description="A creator's profile was created or changed.",
)
class CreatorUpdated(EventPayload):
    creator_id: uuid.UUID
    handle: Annotated[str, Field(max_length=40)]
    niches: list[Tag] = Field(default_factory=list, max_length=20)
    platforms: list[Label] = Field(default_factory=list, max_length=10)
    audience_size: Count = 0
    location: Annotated[str, Field(max_length=120)] = ""
    # Added with the creator's loop (optional, so older events still read): the IANA time zone
    # their daily streak is counted in.
    timezone: Annotated[str, Field(max_length=60)] = "UTC"


@REGISTRY.register("campaign.created", 1, stream="campaigns", description="A brand drafted a campaign.")
class CampaignCreatedV1(EventPayload):
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    title: Annotated[str, Field(max_length=160)]
    budget_cents: Cents
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    niches: list[Tag] = Field(default_factory=list, max_length=20)
    platforms: list[Label] = Field(default_factory=list, max_length=10)


def _campaign_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "brand_name": ""}


@REGISTRY.register(
    "campaign.created",
    2,
    stream="campaigns",
    description="A brand drafted a campaign (v2: with the brand's name, so memory can say who).",
    upcast=_campaign_v1_to_v2,
)
class CampaignCreated(EventPayload):
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    brand_name: Annotated[str, Field(max_length=120)] = ""
    title: Annotated[str, Field(max_length=160)]
    budget_cents: Cents
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    niches: list[Tag] = Field(default_factory=list, max_length=20)
    platforms: list[Label] = Field(default_factory=list, max_length=10)


@REGISTRY.register(
    "campaign.status_changed",
    1,
    stream="campaigns",
    description="A campaign moved in its lifecycle.",
)
class CampaignStatusChanged(EventPayload):
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    from_status: Label
    to_status: Literal["draft", "open", "active", "completed", "cancelled"]


@REGISTRY.register(
    "campaign.updated",
    1,
    stream="campaigns",
    description="A brand edited a campaign (which fields; the campaign itself is the record).",
)
class CampaignUpdated(EventPayload):
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    fields: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)


class _DealRef(EventPayload):
    deal_id: uuid.UUID
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    creator_id: uuid.UUID


@REGISTRY.register(
    "deal.created",
    1,
    stream="deals",
    description="A creator applied, or a brand invited a creator.",
)
class DealCreated(_DealRef):
    by: Literal["creator", "brand"]
    fee_cents: Cents


@REGISTRY.register("deal.offer_made", 1, stream="deals", description="A counter-offer on a deal.")
class DealOfferMade(_DealRef):
    by: Literal["creator", "brand"]
    fee_cents: Cents
    message: Text = ""


@REGISTRY.register(
    "deal.status_changed",
    1,
    stream="deals",
    description="A deal was accepted, declined, withdrawn, delivered, completed or cancelled.",
)
class DealStatusChanged(_DealRef):
    from_status: Label
    to_status: Literal["proposed", "accepted", "declined", "withdrawn", "delivered", "completed", "cancelled"]
    fee_cents: Cents
    accepted_fee_cents: Cents | None = None


@REGISTRY.register("content.published", 1, stream="content", description="A creator published a post or video.")
class ContentPublished(EventPayload):
    content_id: uuid.UUID
    creator_id: uuid.UUID
    platform: Label
    kind: Label
    title: Annotated[str, Field(max_length=300)] = ""
    published_at: AwareMoment
    deal_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None


@REGISTRY.register(
    "content.metrics_snapshot",
    1,
    stream="content",
    description="Cumulative metrics of a piece of content (v1: fixed fields).",
)
class ContentMetricsSnapshotV1(EventPayload):
    content_id: uuid.UUID
    creator_id: uuid.UUID
    platform: Label
    captured_at: AwareMoment
    views: Count = 0
    likes: Count = 0
    comments: Count = 0
    shares: Count = 0


def _metrics_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    metrics = {k: payload.pop(k) for k in ("views", "likes", "comments", "shares")}
    return {**payload, "metrics": metrics}


@REGISTRY.register(
    "content.metrics_snapshot",
    2,
    stream="content",
    description="Cumulative metrics of a piece of content, in the platform's own names (normalised by enrichment).",
    upcast=_metrics_v1_to_v2,
)
class ContentMetricsSnapshot(EventPayload):
    content_id: uuid.UUID
    creator_id: uuid.UUID
    platform: Label
    captured_at: AwareMoment
    metrics: dict[Annotated[str, Field(max_length=40)], Count] = Field(max_length=40)
    deal_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None


@REGISTRY.register("message.sent", 1, stream="messages", description="A message between a creator and a brand.")
class MessageSent(EventPayload):
    message_id: uuid.UUID
    creator_id: uuid.UUID
    brand_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    # "participant": someone in a conversation whose role the sender did not say (imports).
    sender_role: Literal["creator", "brand", "agent", "manager", "participant"]
    sender_name: Annotated[str, Field(max_length=120)]
    text: Text


@REGISTRY.register(
    "campaign.outcome_reported",
    1,
    stream="campaigns",
    description="What a creator's work for a campaign returned: sales, revenue, ROI, timeliness.",
)
class CampaignOutcomeReported(EventPayload):
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    creator_id: uuid.UUID
    deal_id: uuid.UUID | None = None
    sales: Count = 0
    revenue_cents: Cents = 0
    fee_cents: Cents = 0
    roi: Annotated[float, Field(ge=0, le=10_000)]
    delivered_on_time: bool = True


@REGISTRY.register(
    "task.proof_submitted", 1, stream="tasks", description="A creator submitted proof that a task was done."
)
class TaskProofSubmitted(EventPayload):
    task_id: uuid.UUID
    creator_id: uuid.UUID
    kind: Literal["post_link", "screenshot", "metrics"]
    proof_url: Annotated[str, Field(max_length=500)]
    claimed_views: Count = 0
    # Added with verification (optional, so version 1 still reads): the post the proof points
    # at, the perceptual hash of an uploaded screenshot (16 hex digits) and the submission's id.
    content_id: uuid.UUID | None = None
    image_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")] | None = None
    submission_id: uuid.UUID | None = None


TaskKindName = Literal["post", "views", "deliverable", "screenshot", "profile", "connect", "first_deal"]


@REGISTRY.register("task.created", 1, stream="tasks", description="A brand (or the platform) set a task for creators.")
class TaskCreated(EventPayload):
    task_id: uuid.UUID
    kind: TaskKindName
    title: Annotated[str, Field(max_length=160)]
    brand_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    creator_id: uuid.UUID | None = None  # one creator's task (a deal's); None: open to the campaign's
    hashtag: Annotated[str, Field(max_length=60)] = ""
    platform: Annotated[str, Field(max_length=20)] = ""
    views_target: Count = 0
    due_at: AwareMoment | None = None
    points: Annotated[int, Field(ge=0, le=1_000)] = 50


@REGISTRY.register("task.accepted", 1, stream="tasks", description="A creator took on a task.")
class TaskAccepted(EventPayload):
    task_id: uuid.UUID
    creator_id: uuid.UUID


@REGISTRY.register(
    "task.reviewed",
    1,
    stream="tasks",
    description="A task's proof was verified, rejected or sent to review: automatically or by a person.",
)
class TaskReviewed(EventPayload):
    task_id: uuid.UUID
    creator_id: uuid.UUID
    outcome: Literal["verified", "rejected", "needs_review"]
    by: Literal["auto", "brand", "admin"]
    reasons: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list, max_length=20)
    points: Annotated[int, Field(ge=0, le=1_000)] = 0
    brand_id: uuid.UUID | None = None


@REGISTRY.register(
    "agent.run_completed",
    1,
    stream="agent",
    description="The agent finished a run for a user: the goal, the tools it used, what came of it.",
)
class AgentRunCompleted(EventPayload):
    run_id: uuid.UUID
    creator_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    goal: Annotated[str, Field(max_length=2_000)]
    steps: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=100)
    outcome: Annotated[str, Field(max_length=2_000)] = ""
    succeeded: bool = True
    duration_ms: Count = 0
    # Added with the agent (optional, so version 1 still reads): the kind of question (for reusing
    # a successful run's tool plan), each tool's latency in `steps` order, the memories the answer
    # cited, who answered ("anthropic" / "offline") and the person's thumbs up (1) or down (-1).
    kind: Annotated[str, Field(max_length=40)] = ""
    step_ms: list[Count] = Field(default_factory=list, max_length=100)
    cited: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    provider: Annotated[str, Field(max_length=40)] = ""
    feedback: Literal[-1, 1] | None = None


@REGISTRY.register(
    "memory.changed",
    1,
    stream="memory",
    description=(
        "The memory group formed or changed these memories (emitted only while USE_MONGO covers "
        "their creator, for dual-write to copy them)."
    ),
)
class MemoryChanged(EventPayload):
    creator_id: uuid.UUID | None = None
    memory_ids: list[uuid.UUID] = Field(min_length=1, max_length=5_000)


# -- money (the ledger, issue 17) --------------------------------------------------------------

CurrencyText = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
MinorUnits = Annotated[int, Field(gt=0, le=10**15)]


@REGISTRY.register(
    "escrow.reserved",
    1,
    stream="ledger",
    description=(
        "The ledger held an accepted deal's fee in escrow: the terms it decided once (the currency, what "
        "was charged to the brand's payment method, the platform's fee), which a replay applies again."
    ),
)
class EscrowReserved(EventPayload):
    deal_id: uuid.UUID
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    creator_id: uuid.UUID
    currency: CurrencyText
    amount_minor: MinorUnits
    charged_minor: Annotated[int, Field(ge=0, le=10**15)] = 0
    platform_fee_bps: Annotated[int, Field(ge=0, le=10_000)]


class _PayoutRef(EventPayload):
    payout_id: uuid.UUID
    creator_id: uuid.UUID
    amount_minor: MinorUnits
    currency: CurrencyText


@REGISTRY.register(
    "payout.requested", 1, stream="ledger", description="A creator asked to be paid part or all of their balance."
)
class PayoutRequested(_PayoutRef):
    pass


@REGISTRY.register("payout.paid", 1, stream="ledger", description="The payout provider paid a creator's payout.")
class PayoutPaid(_PayoutRef):
    provider_ref: Annotated[str, Field(max_length=100)] = ""


@REGISTRY.register(
    "payout.failed",
    1,
    stream="ledger",
    description="A payout failed (or its bank returned it): the money is back in the creator's balance.",
)
class PayoutFailed(_PayoutRef):
    reason: Annotated[str, Field(max_length=500)] = ""
    # The provider had reported it paid before the bank returned it.
    after_paid: bool = False
