"""The ledger's rules without a database: minor units per currency, the platform's fee, each deal
and payout flow, and, property-tested over random histories in several currencies, the
invariants: every transaction sums to zero, no balance below zero where the rules forbid it, and
replaying the log (in another interleaving of creators, with another fee setting) rebuilds
identical balances."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ledger.world import (
    BRANDS,
    CREATORS,
    T0,
    check_invariants,
    deal_specs,
    interleave,
    operations,
    play,
    replay,
)
from veri.ledger import currencies, flows
from veri.ledger.flows import (
    AccountRef,
    DealMove,
    InsufficientFunds,
    KeyReused,
    LedgerRuleBroken,
    MemoryBook,
    Overdrawn,
    PayoutMove,
    Posting,
    platform_fee,
)
from veri.models.ledger import PLATFORM, AccountKind, TransactionKind

K = AccountKind
CREATOR, BRAND = CREATORS[0], BRANDS[0]
DEAL, CAMPAIGN = uuid.UUID(int=1), uuid.UUID(int=2)


def _move(status: str, amount: int = 50_000, currency: str = "USD", deal: uuid.UUID = DEAL) -> DealMove:
    return DealMove(deal, CAMPAIGN, BRAND, CREATOR, status, amount, currency, T0)


def _bal(book: MemoryBook, kind: AccountKind, owner: uuid.UUID, currency: str = "USD") -> int:
    return book.balance(AccountRef(kind, owner, currency))


# -- currencies --------------------------------------------------------------------------------


def test_minor_units_follow_iso_4217() -> None:
    assert currencies.exponent("USD") == 2
    assert currencies.exponent("JPY") == 0
    assert currencies.exponent("BHD") == 3
    assert currencies.to_minor(Decimal("12.5"), "USD") == 1250
    assert currencies.to_minor("5000", "JPY") == 5000
    assert currencies.to_minor("1.250", "BHD") == 1250
    assert currencies.format_minor(1250, "USD") == "12.50"
    assert currencies.format_minor(5000, "JPY") == "5000"
    assert currencies.format_minor(1250, "BHD") == "1.250"
    assert currencies.label(123456, "USD") == "$1,234.56"
    assert currencies.label(5000, "JPY") == "¥5,000"
    assert currencies.label(-1250, "BHD") == "-BHD 1.250"


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("10.005", "USD", "at most 2 decimals"),
        ("1.5", "JPY", "no decimals"),
        ("0.0001", "BHD", "at most 3 decimals"),
        ("abc", "USD", "a number"),
        ("Infinity", "USD", "finite"),
    ],
)
def test_an_amount_finer_than_the_currency_allows_is_refused(amount: str, currency: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        currencies.to_minor(amount, currency)


def test_units_of_account_and_unknown_codes_are_not_money() -> None:
    for code in ("XAU", "XTS", "ABC"):
        with pytest.raises(currencies.UnsupportedCurrency):
            currencies.exponent(code)


def test_the_fee_rounds_half_up_to_a_minor_unit() -> None:
    assert platform_fee(50_000, 1000) == 5_000
    assert platform_fee(5, 1000) == 1  # 0.5 rounds up
    assert platform_fee(4, 1000) == 0
    assert platform_fee(999, 0) == 0
    assert platform_fee(999, 10_000) == 999


# -- postings ----------------------------------------------------------------------------------


def test_a_posting_must_balance_in_one_currency() -> None:
    a, b = AccountRef(K.BRAND_BALANCE, BRAND, "USD"), AccountRef(K.ESCROW, DEAL, "USD")
    with pytest.raises(LedgerRuleBroken, match="not zero"):
        Posting("k", TransactionKind.RESERVE, "USD", ((a, -5), (b, 4)), T0)
    with pytest.raises(LedgerRuleBroken, match="two legs"):
        Posting("k", TransactionKind.RESERVE, "USD", ((a, 0),), T0)
    with pytest.raises(LedgerRuleBroken, match="another currency"):
        Posting("k", TransactionKind.RESERVE, "USD", ((a, -5), (AccountRef(K.ESCROW, DEAL, "EUR"), 5)), T0)


def test_a_key_applies_once_and_a_reused_key_with_other_legs_is_refused() -> None:
    book = MemoryBook()
    a, b = AccountRef(K.BRAND_FUNDING, BRAND, "USD"), AccountRef(K.BRAND_BALANCE, BRAND, "USD")
    posting = Posting("fund:1", TransactionKind.FUND, "USD", ((a, -500), (b, 500)), T0)
    assert book.post(posting) is True
    assert book.post(posting) is False  # the same operation again moves nothing
    assert book.balance(b) == 500
    with pytest.raises(KeyReused):
        book.post(Posting("fund:1", TransactionKind.FUND, "USD", ((a, -900), (b, 900)), T0))


def test_an_escrow_cannot_be_overdrawn() -> None:
    book = MemoryBook()
    escrow, balance = AccountRef(K.ESCROW, DEAL, "USD"), AccountRef(K.BRAND_BALANCE, BRAND, "USD")
    with pytest.raises(Overdrawn):
        book.post(Posting("bad", TransactionKind.REFUND, "USD", ((escrow, -1), (balance, 1)), T0))
    assert book.nonzero() == {}


# -- deals -------------------------------------------------------------------------------------


def test_accepting_charges_the_brand_for_what_its_balance_lacks_and_holds_the_fee() -> None:
    book = MemoryBook()
    flows.apply_deal_move(book, _move("accepted"), fee_bps=1000)
    assert _bal(book, K.BRAND_FUNDING, BRAND) == -50_000
    assert _bal(book, K.BRAND_BALANCE, BRAND) == 0
    assert _bal(book, K.ESCROW, DEAL) == 50_000
    assert book.terms(DEAL) is not None and book.terms(DEAL).charged == 50_000  # type: ignore[union-attr]


def test_completion_releases_to_the_creator_less_the_platform_fee() -> None:
    book = MemoryBook()
    for status in ("accepted", "delivered", "completed"):
        flows.apply_deal_move(book, _move(status), fee_bps=1000)
    assert _bal(book, K.ESCROW, DEAL) == 0
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR) == 45_000
    assert _bal(book, K.PLATFORM_FEE, PLATFORM) == 5_000
    flows.apply_deal_move(book, _move("completed"), fee_bps=1000)  # redelivered
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR) == 45_000


def test_cancellation_refunds_the_brand_balance_which_pays_the_next_deal_first() -> None:
    book = MemoryBook()
    flows.apply_deal_move(book, _move("accepted"), fee_bps=1000)
    flows.apply_deal_move(book, _move("cancelled"), fee_bps=1000)
    assert _bal(book, K.ESCROW, DEAL) == 0
    assert _bal(book, K.BRAND_BALANCE, BRAND) == 50_000
    other = uuid.UUID(int=3)
    flows.apply_deal_move(book, _move("accepted", 70_000, deal=other), fee_bps=1000)
    assert _bal(book, K.BRAND_BALANCE, BRAND) == 0
    assert _bal(book, K.BRAND_FUNDING, BRAND) == -(50_000 + 20_000)  # only the difference was charged
    assert _bal(book, K.ESCROW, other) == 70_000


def test_a_history_that_starts_at_completion_reserves_then_releases() -> None:
    book = MemoryBook()
    flows.apply_deal_move(book, _move("completed", 1000, "JPY"), fee_bps=1500)
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR, "JPY") == 850
    assert _bal(book, K.PLATFORM_FEE, PLATFORM, "JPY") == 150
    assert _bal(book, K.ESCROW, DEAL, "JPY") == 0


def test_declined_and_withdrawn_deals_move_nothing() -> None:
    book = MemoryBook()
    flows.apply_deal_move(book, _move("declined"), fee_bps=1000)
    flows.apply_deal_move(book, _move("withdrawn"), fee_bps=1000)
    assert book.nonzero() == {}


# -- payouts -----------------------------------------------------------------------------------


def _earned(book: MemoryBook, amount: int = 50_000) -> None:
    for status in ("accepted", "completed"):
        flows.apply_deal_move(book, _move(status, amount), fee_bps=1000)


def test_a_payout_moves_available_to_pending_then_paid() -> None:
    book = MemoryBook()
    _earned(book)
    move = PayoutMove(uuid.uuid4(), CREATOR, 40_000, "USD", T0)
    flows.request_payout(book, move)
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR) == 5_000
    assert _bal(book, K.PAYOUTS_PENDING, CREATOR) == 40_000
    flows.payout_paid(book, move)
    assert _bal(book, K.PAYOUTS_PENDING, CREATOR) == 0
    assert _bal(book, K.PAYOUTS_PAID, CREATOR) == 40_000
    assert flows.payout_failed(book, move) is not None  # the bank returned it after all
    assert _bal(book, K.PAYOUTS_PAID, CREATOR) == 0
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR) == 45_000


def test_a_failed_payout_returns_the_money_and_cannot_be_paid_afterwards() -> None:
    book = MemoryBook()
    _earned(book)
    move = PayoutMove(uuid.uuid4(), CREATOR, 45_000, "USD", T0)
    flows.request_payout(book, move)
    flows.payout_failed(book, move, "account closed")
    assert _bal(book, K.CREATOR_PAYABLE, CREATOR) == 45_000
    assert flows.payout_paid(book, move) is None
    assert _bal(book, K.PAYOUTS_PAID, CREATOR) == 0


def test_a_payout_larger_than_the_available_balance_is_refused() -> None:
    book = MemoryBook()
    _earned(book)
    with pytest.raises(InsufficientFunds) as caught:
        flows.request_payout(book, PayoutMove(uuid.uuid4(), CREATOR, 45_001, "USD", T0))
    assert caught.value.available == 45_000
    with pytest.raises(InsufficientFunds):
        flows.request_payout(book, PayoutMove(uuid.uuid4(), CREATOR, 1, "EUR", T0))  # nothing in EUR


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(deal_specs, operations, st.integers(0, 10_000), st.integers(0, 2_000))
def test_random_histories_keep_every_invariant_and_replay_to_identical_balances(
    specs: list[tuple[int, int, str, int, str]], ops: list[tuple[str, int, int]], fee_bps: int, seed: int
) -> None:
    live = MemoryBook()
    log, deals = play(live, specs, ops, fee_bps=fee_bps, seed=seed)  # checks the invariants after every step
    for posting in live.postings.values():
        assert sum(amount for _, amount in posting.legs) == 0
    # The same log again, from nothing but the escrows' recorded terms (the outbox keeps them):
    # in order, in another interleaving of the creators' partitions, and with another fee setting.
    for order, setting in ((log, fee_bps), (interleave(log, seed), fee_bps), (log, (fee_bps + 777) % 10_001)):
        rebuilt = MemoryBook()
        rebuilt.recorded = dict(live.recorded)
        replay(order, rebuilt, fee_bps=setting)
        assert rebuilt.nonzero() == live.nonzero()
        assert rebuilt.postings.keys() == live.postings.keys()
        check_invariants(rebuilt, deals)
    # Everything applied twice (every event redelivered) moves nothing more.
    replay(log, live, fee_bps=fee_bps)
    check_invariants(live, deals)
