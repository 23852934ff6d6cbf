"""Signed webhooks: `Webhook-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`
with `Webhook-Timestamp` (Unix seconds) and `Webhook-Id`. A signature that does not match, a
timestamp outside the tolerance either way, or a missing header is refused; replays are caught
by the receipts of ids (the service), not here."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignedWebhook",
    "WebhookRefused",
    "sign",
    "verify",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
MAX_ID = 200


class WebhookRefused(Exception):
    def __init__(self, reason: str, *, forged: bool):
        super().__init__(reason)
        self.reason = reason
        # A wrong signature (403) rather than a malformed or stale request (400).
        self.forged = forged


@dataclass(frozen=True)
class SignedWebhook:
    webhook_id: str
    sent_at: datetime


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(headers: Mapping[str, str], body: bytes, *, secret: str, now: datetime, tolerance: int) -> SignedWebhook:
    webhook_id = headers.get(ID_HEADER, "").strip()
    stamp = headers.get(TIMESTAMP_HEADER, "").strip()
    signature = headers.get(SIGNATURE_HEADER, "").strip()
    if not webhook_id or not stamp or not signature:
        raise WebhookRefused("a webhook needs Webhook-Id, Webhook-Timestamp and Webhook-Signature", forged=False)
    if len(webhook_id) > MAX_ID or not webhook_id.isprintable():
        raise WebhookRefused("Webhook-Id is not a short printable id", forged=False)
    if not stamp.isdigit() or len(stamp) > 12:
        raise WebhookRefused("Webhook-Timestamp is not Unix seconds", forged=False)
    timestamp = int(stamp)
    # The signature first: an unsigned request learns nothing about the clock.
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise WebhookRefused("the signature does not match", forged=True)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise WebhookRefused(f"the timestamp is more than {tolerance} s away from now", forged=False)
    return SignedWebhook(webhook_id=webhook_id, sent_at=datetime.fromtimestamp(timestamp, UTC))
