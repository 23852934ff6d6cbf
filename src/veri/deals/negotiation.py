"""The rules of a deal, as a pure function of its state and who is asking.

While an offer is on the table (`proposed`), the party that did not make it may accept it,
counter it or decline it, and the party that made it may withdraw it. Once accepted, the
creator delivers and the brand completes (or cancels before delivery).
"""

from __future__ import annotations

import enum

from veri.models.deals import DealStatus, Party

__all__ = ["CLOSED", "Action", "allowed_actions", "next_status", "who_moved"]


class Action(enum.StrEnum):
    COUNTER = "counter"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    DELIVER = "deliver"
    COMPLETE = "complete"
    CANCEL = "cancel"


# A deal in one of these states is over: nothing more happens in it, its thread included.
CLOSED = frozenset({DealStatus.DECLINED, DealStatus.WITHDRAWN, DealStatus.COMPLETED, DealStatus.CANCELLED})


def allowed_actions(status: DealStatus, last_offer_by: Party, party: Party) -> tuple[Action, ...]:
    if status is DealStatus.PROPOSED:
        if party is last_offer_by:
            return (Action.WITHDRAW,)
        return (Action.ACCEPT, Action.COUNTER, Action.DECLINE)
    if status is DealStatus.ACCEPTED:
        return (Action.DELIVER,) if party is Party.CREATOR else (Action.CANCEL,)
    if status is DealStatus.DELIVERED and party is Party.BRAND:
        return (Action.COMPLETE,)
    return ()


_RESULT = {
    Action.COUNTER: DealStatus.PROPOSED,
    Action.ACCEPT: DealStatus.ACCEPTED,
    Action.DECLINE: DealStatus.DECLINED,
    Action.WITHDRAW: DealStatus.WITHDRAWN,
    Action.DELIVER: DealStatus.DELIVERED,
    Action.COMPLETE: DealStatus.COMPLETED,
    Action.CANCEL: DealStatus.CANCELLED,
}


def next_status(action: Action) -> DealStatus:
    return _RESULT[action]


def who_moved(status: DealStatus, last_offer_by: Party) -> Party:
    """Who moved a deal into `status`, from the rules alone: the other party accepts or declines
    an offer, its maker withdraws it, the creator delivers, the brand completes or cancels."""
    other = Party.BRAND if last_offer_by is Party.CREATOR else Party.CREATOR
    if status in (DealStatus.ACCEPTED, DealStatus.DECLINED):
        return other
    if status is DealStatus.WITHDRAWN:
        return last_offer_by
    return Party.CREATOR if status is DealStatus.DELIVERED else Party.BRAND
