"""The ledger's invariants, each checked against the entries themselves (`veri ledger check`, the
admin page): every transaction balances in its currency and has two legs or more, entries are in
their account's currency, the whole ledger sums to zero per currency, no balance is below zero
where the rules forbid it, settled escrows are empty, and payouts agree with the money."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from veri.ledger.currencies import label
from veri.ledger.flows import NEVER_NEGATIVE, NEVER_POSITIVE
from veri.ledger.repository import LedgerRepository
from veri.models.ledger import AccountKind, PayoutStatus, TransactionKind

__all__ = ["Check", "check_ledger"]

K = AccountKind
_SHOWN = 20  # failures listed per check; the rest counted


@dataclass
class Check:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _capped(items: list[str]) -> list[str]:
    return items[:_SHOWN] + ([f"... and {len(items) - _SHOWN} more"] if len(items) > _SHOWN else [])


def check_ledger(db: Session) -> list[Check]:
    repo = LedgerRepository(db)
    checks = [
        Check(
            "every transaction sums to zero per currency",
            [f"{key}: {label(total, currency)} left over" for key, currency, total in repo.unbalanced_transactions()],
        ),
        Check(
            "every transaction has two entries or more",
            [f"{key}: {legs} entr{'y' if legs == 1 else 'ies'}" for key, legs in repo.short_transactions()],
        ),
        Check(
            "entries are in their account's and transaction's currency",
            [f"entry {i}: {e} on a {a} account, in a {t} transaction" for i, e, a, t in repo.foreign_entries()],
        ),
    ]
    sums: dict[str, int] = defaultdict(int)
    for currency, _, total, _ in repo.totals():
        sums[currency] += total
    checks.append(
        Check(
            "the ledger sums to zero per currency",
            [f"{currency}: {label(total, currency)}" for currency, total in sorted(sums.items()) if total],
        )
    )
    limited = [*NEVER_NEGATIVE, K.BRAND_BALANCE, *NEVER_POSITIVE]
    wrong = []
    for (kind, owner, currency), balance in sorted(repo.balances(kinds=limited).items(), key=str):
        if (kind in NEVER_POSITIVE and balance > 0) or (kind not in NEVER_POSITIVE and balance < 0):
            wrong.append(f"{kind.value} of {owner}: {label(balance, currency)}")
    checks.append(Check("no balance below zero where the rules forbid it", _capped(wrong)))
    checks.append(
        Check(
            "released or refunded escrows are empty",
            [f"deal {deal}: {label(held, cur)} still held" for deal, cur, held in repo.settled_escrows_holding()],
        )
    )
    checks.append(Check("payouts agree with the ledger", _capped(_payout_failures(repo))))
    return checks


def _payout_failures(repo: LedgerRepository) -> list[str]:
    failures = []
    steps = repo.payout_keys()
    expected = {
        PayoutStatus.REQUESTED: {TransactionKind.PAYOUT_REQUEST.value},
        PayoutStatus.SENT: {TransactionKind.PAYOUT_REQUEST.value},
        PayoutStatus.PAID: {TransactionKind.PAYOUT_REQUEST.value, TransactionKind.PAYOUT_PAID.value},
    }
    for payout in repo.all_payouts():
        have = steps.get(payout.id, set())
        if payout.status is PayoutStatus.FAILED:
            ok = {TransactionKind.PAYOUT_REQUEST.value, TransactionKind.PAYOUT_FAILED.value} <= have
        else:
            ok = have == expected[payout.status]
        if not ok:
            failures.append(f"payout {payout.id} is {payout.status.value}; the ledger has {sorted(have) or 'nothing'}")
    balances = repo.balances(kinds=[K.PAYOUTS_PENDING, K.PAYOUTS_PAID])
    recorded = repo.payout_sums()
    held = {(owner, currency) for (_, owner, currency), value in balances.items() if value}
    for creator, currency in sorted(held | set(recorded), key=str):
        sums = recorded.get((creator, currency), {"open": 0, "paid": 0})
        pending = balances.get((K.PAYOUTS_PENDING, creator, currency), 0)
        paid = balances.get((K.PAYOUTS_PAID, creator, currency), 0)
        if pending != sums["open"]:
            failures.append(
                f"creator {creator}: {label(pending, currency)} pending, open payouts {label(sums['open'], currency)}"
            )
        if paid != sums["paid"]:
            failures.append(
                f"creator {creator}: {label(paid, currency)} paid out, paid payouts {label(sums['paid'], currency)}"
            )
    return failures
