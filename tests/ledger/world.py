"""Random deal histories for the ledger's property tests: a few creators and brands, deals in
several currencies moving through their lifecycle (accept, deliver, complete, cancel, decline),
payouts asked for, paid, failed, returned by the bank. `play` applies a history to a `Book` the way
the consumer group and the API do and returns the log it made; `replay` applies a log again."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from veri.ledger import flows
from veri.ledger.flows import NEVER_NEGATIVE, NEVER_POSITIVE, AccountRef, Book, DealMove, MemoryBook, PayoutMove
from veri.models.ledger import AccountKind

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
CURRENCIES = ("USD", "JPY", "BHD")
CREATORS = [uuid.UUID(int=100 + i) for i in range(3)]
BRANDS = [uuid.UUID(int=200 + i) for i in range(2)]

# What becomes of each deal (completion most often: it is where the money moves).
FATES = {
    "completed": ("accept", "deliver", "complete"),
    "cancelled": ("accept", "cancel"),
    "delivered": ("accept", "deliver"),
    "accepted": ("accept",),
    "declined": ("decline",),
}
deal_specs = st.lists(
    st.tuples(
        st.integers(0, len(CREATORS) - 1),
        st.integers(0, len(BRANDS) - 1),
        st.sampled_from(CURRENCIES),
        st.integers(1, 2_000_000),
        st.sampled_from(["completed", "completed", "completed", "cancelled", "delivered", "accepted", "declined"]),
    ),
    min_size=1,
    max_size=8,
)
PAYOUT_ACTIONS = ("payout", "payout", "paid", "failed", "returned", "again")
operations = st.lists(
    st.tuples(st.sampled_from(PAYOUT_ACTIONS), st.integers(0, 1000), st.integers(1, 100)), max_size=20
)


@dataclass
class Deal:
    id: uuid.UUID
    creator_id: uuid.UUID
    brand_id: uuid.UUID
    campaign_id: uuid.UUID
    currency: str
    fee: int
    status: str = "proposed"


@dataclass
class PayoutState:
    move: PayoutMove
    status: str = "requested"


# One line of the log: what happened, and to whom (the subject that orders it).
Line = tuple[str, Any]

_NEXT = {
    "accept": ("proposed", "accepted"),
    "deliver": ("accepted", "delivered"),
    "complete": ("delivered", "completed"),
    "cancel": ("accepted", "cancelled"),
    "decline": ("proposed", "declined"),
}


def apply_line(book: Book, line: Line, *, fee_bps: int) -> None:
    kind, move = line
    if kind == "deal":
        flows.apply_deal_move(book, move, fee_bps=fee_bps)
    elif kind == "payout.requested":
        flows.request_payout(book, move)
    elif kind == "payout.paid":
        flows.payout_paid(book, move)
    else:
        flows.payout_failed(book, move, "bank said no")


def subject_of(line: Line) -> uuid.UUID:
    return line[1].creator_id  # type: ignore[no-any-return]


def play(
    book: Book,
    specs: list[tuple[int, int, str, int, str]],
    ops: list[tuple[str, int, int]],
    *,
    fee_bps: int = 1000,
    seed: int = 0,
) -> tuple[list[Line], list[Deal]]:
    """Apply a random history as Veri would (only moves the rules allow): each deal's steps to
    its fate and the payout operations, interleaved at random; checks the ledger's invariants
    after every step and returns the log and the deals."""
    deals = [
        Deal(uuid.UUID(int=1000 + i), CREATORS[c], BRANDS[b], uuid.UUID(int=5000 + b * 10 + i), currency, fee)
        for i, (c, b, currency, fee, _) in enumerate(specs)
    ]
    queues: list[list[tuple[str, int, int, int]]] = [
        [(action, i, 0, 0) for action in FATES[fate]] for i, (*_, fate) in enumerate(specs)
    ]
    queues.append([(action, which, share, 0) for action, which, share in ops])
    rng = random.Random(seed)
    payouts: list[PayoutState] = []
    log: list[Line] = []
    step = 0
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        action, which, share, tries = queue.pop(0)
        step += 1
        at = T0 + timedelta(minutes=step)
        line: Line | None = None
        if action in _NEXT:
            before, after = _NEXT[action]
            deal = deals[which]
            assert deal.status == before
            deal.status = after
            move = DealMove(
                deal.id,
                deal.campaign_id,
                deal.brand_id,
                deal.creator_id,
                after,
                deal.fee,
                deal.currency,
                at,
                uuid.uuid4(),
            )
            line = ("deal", move)
        elif action == "payout":
            earning = sorted(
                {(d.creator_id, d.currency) for d in deals if d.status == "completed"}
                | {(p.move.creator_id, p.move.currency) for p in payouts if p.status == "failed"}
            )
            funded = [
                (c, cur, available)
                for c, cur in earning
                if (available := book.balance(AccountRef(AccountKind.CREATOR_PAYABLE, c, cur))) > 0
            ]
            if not funded:
                if tries < 3:  # nothing earned yet: ask again later
                    queues[-1].append((action, which, share, tries + 1))
                continue
            creator, currency, available = funded[which % len(funded)]
            amount = max(available * share // 100, 1)
            payout = PayoutMove(uuid.uuid4(), creator, amount, currency, at, uuid.uuid4())
            payouts.append(PayoutState(payout))
            line = ("payout.requested", payout)
        elif action in ("paid", "failed", "returned"):
            wanted = {"paid": "requested", "failed": "requested", "returned": "paid"}[action]
            open_ = [p for p in payouts if p.status == wanted]
            if not open_:
                if tries < 3:
                    queues[-1].append((action, which, share, tries + 1))
                continue
            chosen = open_[which % len(open_)]
            chosen.status = "paid" if action == "paid" else "failed"
            line = ("payout.paid" if action == "paid" else "payout.failed", chosen.move)
        elif action == "again" and log:
            # A redelivered event: applied again, it moves nothing.
            before_balances = dict(_balances(book))
            apply_line(book, log[which % len(log)], fee_bps=fee_bps)
            assert dict(_balances(book)) == before_balances
            continue
        if line is None:
            continue
        apply_line(book, line, fee_bps=fee_bps)
        log.append(line)
        check_invariants(book, deals)
    return log, deals


def replay(log: list[Line], book: Book, *, fee_bps: int = 1000) -> None:
    for line in log:
        apply_line(book, line, fee_bps=fee_bps)


def interleave(log: list[Line], seed: int) -> list[Line]:
    """The same log as another consumer could see it: each creator's lines in order (one
    partition each), the creators interleaved at random."""
    queues: dict[uuid.UUID, list[Line]] = defaultdict(list)
    for line in log:
        queues[subject_of(line)].append(line)
    rng = random.Random(seed)
    out: list[Line] = []
    while any(queues.values()):
        creator = rng.choice([c for c, q in queues.items() if q])
        out.append(queues[creator].pop(0))
    return out


def _balances(book: Book) -> dict[AccountRef, int]:
    if isinstance(book, MemoryBook):
        return book.nonzero()
    raise TypeError("balances of a MemoryBook only")


def check_invariants(book: Book, deals: list[Deal]) -> None:
    balances = _balances(book)
    per_currency: dict[str, int] = defaultdict(int)
    for account, value in balances.items():
        per_currency[account.currency] += value
        if account.kind in NEVER_NEGATIVE or account.kind is AccountKind.BRAND_BALANCE:
            assert value >= 0, (account, value)
        if account.kind in NEVER_POSITIVE:
            assert value <= 0, (account, value)
    assert all(total == 0 for total in per_currency.values()), per_currency
    for deal in deals:
        held = balances.get(AccountRef(AccountKind.ESCROW, deal.id, deal.currency), 0)
        if deal.status in ("accepted", "delivered"):
            assert held == deal.fee
        else:
            assert held == 0, (deal, held)
