"""SQLAlchemy tables, one module per aggregate. Importing this package registers them all."""

from veri.models.accounts import (
    ApiKey,
    EmailOutbox,
    PasswordResetToken,
    RateLimitHit,
    User,
    UserSession,
)
from veri.models.agent import AgentConversation, AgentTurn, TurnStatus
from veri.models.analytics import AnalyticsDaily, ContentDaily, ContentFact, DealFact
from veri.models.base import Base
from veri.models.brands import Brand
from veri.models.campaigns import Campaign, CampaignStatus
from veri.models.connectors import OAuthState, PlatformGrant, SyncState, WebhookReceipt
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.creators import Creator, Platform, SocialAccount, SocialAccountStatus
from veri.models.deals import Deal, DealMessage, DealOffer, DealStatus
from veri.models.events import (
    ConsumerLag,
    ConsumerLease,
    ConsumerMember,
    ConsumerOffset,
    DeadLetter,
    OutboxEvent,
    ProcessedEvent,
    RelayCursor,
)
from veri.models.flags import FlagChange, FlagRule
from veri.models.ledger import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    PayoutStatus,
    TransactionKind,
)
from veri.models.live import Notification
from veri.models.memory import EmbeddingCache, Memory, MemoryStatus, MemorySubjectState, MemoryType
from veri.models.migration import BackfillCheckpoint, MigrationJob, ShadowMinute, ShadowPath, Verification
from veri.models.recommend import ModelStatus, ModelVersion
from veri.models.scoring import LoopContent, PointsEntry, ScoreHistory, Standing
from veri.models.scoring_boards import LeaderboardEntry
from veri.models.tasks import ProofFile, Task, TaskKind, TaskReview, TaskSubmission, TaskSubmissionStatus

__all__ = [
    "AccountKind",
    "AgentConversation",
    "AgentTurn",
    "AnalyticsDaily",
    "ApiKey",
    "BackfillCheckpoint",
    "Base",
    "Brand",
    "Campaign",
    "CampaignStatus",
    "ConsumerLag",
    "ConsumerLease",
    "ConsumerMember",
    "ConsumerOffset",
    "ContentDaily",
    "ContentFact",
    "ContentItem",
    "Creator",
    "DeadLetter",
    "Deal",
    "DealFact",
    "DealMessage",
    "DealOffer",
    "DealStatus",
    "EmailOutbox",
    "EmbeddingCache",
    "FlagChange",
    "FlagRule",
    "LeaderboardEntry",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LoopContent",
    "Memory",
    "MemoryStatus",
    "MemorySubjectState",
    "MemoryType",
    "MetricSnapshot",
    "MigrationJob",
    "ModelStatus",
    "ModelVersion",
    "Notification",
    "OAuthState",
    "OutboxEvent",
    "PasswordResetToken",
    "Payout",
    "PayoutAccount",
    "PayoutStatus",
    "Platform",
    "PlatformGrant",
    "PointsEntry",
    "ProcessedEvent",
    "ProofFile",
    "RateLimitHit",
    "RelayCursor",
    "ScoreHistory",
    "ShadowMinute",
    "ShadowPath",
    "SocialAccount",
    "SocialAccountStatus",
    "Standing",
    "SyncState",
    "Task",
    "TaskKind",
    "TaskReview",
    "TaskSubmission",
    "TaskSubmissionStatus",
    "TransactionKind",
    "TurnStatus",
    "User",
    "UserSession",
    "Verification",
    "WebhookReceipt",
]
