"""The campaign lifecycle: draft -> open -> active -> completed, and cancelled from any state
before completion. Pure, so the rules are tested without a database."""

from __future__ import annotations

from veri.models.campaigns import CampaignStatus

__all__ = ["ALLOWED_TRANSITIONS", "EDITABLE", "allowed_transitions", "can_transition"]

S = CampaignStatus
ALLOWED_TRANSITIONS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    S.DRAFT: (S.OPEN, S.CANCELLED),
    S.OPEN: (S.ACTIVE, S.CANCELLED),
    S.ACTIVE: (S.COMPLETED, S.CANCELLED),
    S.COMPLETED: (),
    S.CANCELLED: (),
}
# The brief can change until work starts.
EDITABLE = frozenset({S.DRAFT, S.OPEN})
# Creators see and apply to campaigns in these states.
PUBLIC = frozenset({S.OPEN, S.ACTIVE})


def allowed_transitions(status: CampaignStatus) -> tuple[CampaignStatus, ...]:
    return ALLOWED_TRANSITIONS[status]


def can_transition(current: CampaignStatus, target: CampaignStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]
