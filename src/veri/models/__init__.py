"""SQLAlchemy tables, one module per aggregate. Importing this package registers them all."""

from veri.models.accounts import (
    ApiKey,
    EmailOutbox,
    PasswordResetToken,
    RateLimitHit,
    User,
    UserSession,
)
from veri.models.base import Base
from veri.models.brands import Brand
from veri.models.campaigns import Campaign, CampaignStatus, Deal, DealOffer, DealStatus
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.creators import Creator, Platform, SocialAccount, SocialAccountStatus

__all__ = [
    "ApiKey",
    "Base",
    "Brand",
    "Campaign",
    "CampaignStatus",
    "ContentItem",
    "Creator",
    "Deal",
    "DealOffer",
    "DealStatus",
    "EmailOutbox",
    "MetricSnapshot",
    "PasswordResetToken",
    "Platform",
    "RateLimitHit",
    "SocialAccount",
    "SocialAccountStatus",
    "User",
    "UserSession",
]
