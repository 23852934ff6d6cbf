"""Documents shaped for Mongo's reads, from the system of record (Postgres): a creator with their
social accounts. The same function serves dual-write, backfill and verification, so the three
can only agree."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.models.creators import Creator, SocialAccount

__all__ = ["AGGREGATES", "creator_documents", "fingerprint"]

AGGREGATES = ("creators",)


def creator_documents(db: Session, ids: Sequence[uuid.UUID]) -> dict[str, dict[str, Any]]:
    """The creators' documents by id (a creator not in Postgres has none)."""
    if not ids:
        return {}
    creators = list(db.scalars(select(Creator).where(Creator.id.in_(list(ids)))))
    accounts: dict[uuid.UUID, list[SocialAccount]] = {}
    for account in db.scalars(select(SocialAccount).where(SocialAccount.creator_id.in_([c.id for c in creators]))):
        accounts.setdefault(account.creator_id, []).append(account)
    return {
        str(c.id): {
            "_id": str(c.id),
            "handle": c.handle,
            "display_name": c.display_name,
            "bio": c.bio or "",
            "location": c.location or "",
            "niches": list(c.niches or []),
            "platforms": list(c.platforms or []),
            "audience_size": int(c.audience_size or 0),
            "timezone": c.timezone or "UTC",
            "social_accounts": sorted(
                (
                    {
                        "platform": a.platform.value,
                        "handle": a.handle,
                        "status": a.status.value,
                        "followers": int(a.followers or 0),
                    }
                    for a in accounts.get(c.id, [])
                ),
                key=lambda a: (a["platform"], a["handle"]),
            ),
        }
        for c in creators
    }


def fingerprint(doc: dict[str, Any]) -> str:
    """A document's content hash, without the store's own fields (`_v`)."""
    body = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
