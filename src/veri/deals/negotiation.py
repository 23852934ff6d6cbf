"""The rules of a deal, as a pure function of its state and who is asking.

While an offer is on the table (`proposed`), the party that did not make it may accept it,
counter it or decline it, and the party that made it may withdraw it. Once accepted, the
creator delivers and the brand completes (or cancels before delivery).
"""

from __future__ import annotations

import enum

from veri.models.deals import DealStatus, Party

__all__ = ["Action", "allowed_actions", "next_status"]


class Action(enum.StrEnum):
    COUNTER = "counter"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    DELIVER = "deliver"
    COMPLETE = "complete"
    CANCEL = "cancel"


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
