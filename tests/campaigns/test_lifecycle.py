"""The campaign lifecycle's pure rules. No database needed."""

from __future__ import annotations

import itertools

from veri.campaigns.lifecycle import ALLOWED_TRANSITIONS, can_transition
from veri.models.campaigns import CampaignStatus


def test_campaign_lifecycle_moves_forward_only() -> None:
    S = CampaignStatus
    legal = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert legal == {
        (S.DRAFT, S.OPEN),
        (S.DRAFT, S.CANCELLED),
        (S.OPEN, S.ACTIVE),
        (S.OPEN, S.CANCELLED),
        (S.ACTIVE, S.COMPLETED),
        (S.ACTIVE, S.CANCELLED),
    }
    for a, b in itertools.product(S, S):
        assert can_transition(a, b) == ((a, b) in legal)
