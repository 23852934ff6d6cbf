"""What the parties of a deal are told when the other one moves: a notification for the other
party (mailed too when an offer reaches them) and live updates for both parties' open deal
pages ("deal.message" for the thread, "deal.offer" for the terms and the negotiation).
All of it is sent once the caller's transaction commits."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from veri.deals.negotiation import Action
from veri.live import service as live
from veri.models.deals import Deal, DealMessage, Party

__all__ = ["deal_created", "deal_moved", "message_posted", "message_recorded"]

MESSAGE_EXCERPT = 300


def _users(deal: Deal) -> dict[Party, uuid.UUID]:
    return {Party.CREATOR: deal.creator.user_id, Party.BRAND: deal.campaign.brand.owner_id}


def _other(party: Party) -> Party:
    return Party.BRAND if party is Party.CREATOR else Party.CREATOR


def _name(deal: Deal, party: Party) -> str:
    return deal.campaign.brand.name if party is Party.BRAND else f"@{deal.creator.handle}"


def _amount(cents: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{cents / 100:,.0f}" if cents % 100 == 0 else f"{symbol}{cents / 100:,.2f}"


def _link(deal: Deal) -> str:
    return f"/deals/{deal.id}"


def message_recorded(db: Session, deal: Deal, message: DealMessage) -> None:
    """A message joined the thread: both parties' open deal pages show it."""
    live.publish(
        db,
        user_ids=_users(deal).values(),
        kind="deal.message",
        data={
            "deal_id": str(deal.id),
            "message_id": str(message.id),
            "sender": message.sender.value,
            "body": message.body,
            "at": message.created_at.strftime("%Y-%m-%d %H:%M"),
        },
    )


def message_posted(db: Session, deal: Deal, message: DealMessage) -> None:
    """A party wrote in the thread: the other party is notified."""
    to = _other(message.sender)
    body = message.body if len(message.body) <= MESSAGE_EXCERPT else message.body[: MESSAGE_EXCERPT - 1] + "…"
    live.notify(
        db,
        user_id=_users(deal)[to],
        kind="deal.message",
        title=f"New message from {_name(deal, message.sender)} on {deal.campaign.title}",
        body=body,
        link=_link(deal),
    )


def _offer_moved(db: Session, deal: Deal, by: Party, action: str) -> None:
    live.publish(
        db,
        user_ids=_users(deal).values(),
        kind="deal.offer",
        data={"deal_id": str(deal.id), "status": deal.status.value, "action": action, "by": by.value},
    )


def deal_created(db: Session, deal: Deal, by: Party, message: str = "") -> None:
    """An application or an invitation: the first offer reaches the other party (and by mail)."""
    amount = _amount(deal.fee_cents, deal.campaign.currency)
    if by is Party.CREATOR:
        title = f"{_name(deal, by)} applied to {deal.campaign.title} for {amount}"
    else:
        title = f"{_name(deal, by)} offers you {amount} for {deal.campaign.title}"
    live.notify(
        db, user_id=_users(deal)[_other(by)], kind="deal.offer", title=title, body=message, link=_link(deal), email=True
    )
    _offer_moved(db, deal, by, "offer")


_MOVES = {
    Action.ACCEPT: "accepted the offer on",
    Action.DECLINE: "declined the offer on",
    Action.WITHDRAW: "withdrew their offer on",
    Action.DELIVER: "delivered on",
    Action.COMPLETE: "completed",
    Action.CANCEL: "cancelled",
}


def deal_moved(db: Session, deal: Deal, by: Party, action: Action, message: str = "") -> None:
    """A move on the deal: the other party is notified (by mail too for a counter-offer, which
    is an offer received), both parties' open pages update."""
    if action is Action.COUNTER:
        kind = "deal.offer"
        amount = _amount(deal.fee_cents, deal.campaign.currency)
        title = f"{_name(deal, by)} counters with {amount} on {deal.campaign.title}"
    else:
        kind = f"deal.{deal.status.value}"
        title = f"{_name(deal, by)} {_MOVES[action]} {deal.campaign.title}"
    live.notify(
        db,
        user_id=_users(deal)[_other(by)],
        kind=kind,
        title=title,
        body=message,
        link=_link(deal),
        email=action is Action.COUNTER,
    )
    _offer_moved(db, deal, by, action.value)
