"""Deal negotiation's pure rules: who may do what, when. No database needed."""

from __future__ import annotations

import pytest

from veri.deals.negotiation import Action, allowed_actions, next_status
from veri.models.deals import DealStatus, Party


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
