"""The pure rules: campaign lifecycle, deal negotiation, flags. No database needed."""

from __future__ import annotations

import itertools

import pytest

from veri.campaigns.lifecycle import ALLOWED_TRANSITIONS, can_transition
from veri.deals.negotiation import Action, allowed_actions, next_status
from veri.flags import Flag, all_flags, is_enabled
from veri.models.campaigns import CampaignStatus, DealStatus, Party


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


@pytest.mark.parametrize("party", list(Party))
def test_only_the_other_party_answers_an_offer(party: Party) -> None:
    other = Party.BRAND if party is Party.CREATOR else Party.CREATOR
    assert allowed_actions(DealStatus.PROPOSED, party, party) == (Action.WITHDRAW,)
    assert allowed_actions(DealStatus.PROPOSED, party, other) == (
        Action.ACCEPT,
        Action.COUNTER,
        Action.DECLINE,
    )


def test_after_acceptance_creator_delivers_and_brand_completes() -> None:
    assert allowed_actions(DealStatus.ACCEPTED, Party.BRAND, Party.CREATOR) == (Action.DELIVER,)
    assert allowed_actions(DealStatus.ACCEPTED, Party.BRAND, Party.BRAND) == (Action.CANCEL,)
    assert allowed_actions(DealStatus.DELIVERED, Party.BRAND, Party.BRAND) == (Action.COMPLETE,)
    assert allowed_actions(DealStatus.DELIVERED, Party.BRAND, Party.CREATOR) == ()
    for final in (
        DealStatus.COMPLETED,
        DealStatus.DECLINED,
        DealStatus.WITHDRAWN,
        DealStatus.CANCELLED,
    ):
        assert (
            allowed_actions(final, Party.BRAND, Party.CREATOR) == allowed_actions(final, Party.BRAND, Party.BRAND) == ()
        )
    assert next_status(Action.COUNTER) is DealStatus.PROPOSED


def test_flags_read_the_seed_names_and_default_off() -> None:
    assert [f.flag.value for f in all_flags({})] == [
        "USE_MONGO",
        "READ_FROM_MONGO",
        "HYBRID_SEARCH",
        "MEMORY_DECAY",
    ]
    assert not any(f.enabled for f in all_flags({}))
    env = {"HYBRID_SEARCH": "true", "MEMORY_DECAY": "1", "USE_MONGO": "off"}
    assert is_enabled(Flag.HYBRID_SEARCH, env) and is_enabled(Flag.MEMORY_DECAY, env)
    assert not is_enabled(Flag.USE_MONGO, env)
    assert {f.flag: f.source for f in all_flags(env)}[Flag.USE_MONGO] == "environment"
    with pytest.raises(ValueError, match="READ_FROM_MONGO"):
        is_enabled(Flag.READ_FROM_MONGO, {"READ_FROM_MONGO": "maybe"})
