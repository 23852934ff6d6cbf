"""All SQL of the ledger: accounts, postings, balances summed from entries, statements, the
invariants' queries, and the payouts' records."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.models.ledger import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    PayoutStatus,
    TransactionKind,
)

__all__ = ["EntryRow", "FlowRow", "LedgerRepository"]

K = AccountKind
CREATOR_ACCOUNTS = (K.CREATOR_PAYABLE, K.PAYOUTS_PENDING, K.PAYOUTS_PAID)
BRAND_ACCOUNTS = (K.BRAND_FUNDING, K.BRAND_BALANCE)


@dataclass(frozen=True)
class EntryRow:
    """An entry with its transaction and account, for statements."""

    id: int
    transaction_id: uuid.UUID
    occurred_at: datetime
    kind: TransactionKind
    account: AccountKind
    owner_id: uuid.UUID
    currency: str
    amount: int
    deal_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    brand_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    payout_id: uuid.UUID | None
    memo: str


@dataclass(frozen=True)
class FlowRow:
    """A sum of entries by what moved (transaction kind) and where (account kind)."""

    currency: str
    account: AccountKind
    kind: TransactionKind
    amount: int
    campaign_id: uuid.UUID | None = None
    month: datetime | None = None


_ENTRY_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.transaction_id,
    LedgerTransaction.occurred_at,
    LedgerTransaction.kind,
    LedgerAccount.kind,
    LedgerAccount.owner_id,
    LedgerEntry.currency,
    LedgerEntry.amount,
    LedgerTransaction.deal_id,
    LedgerTransaction.campaign_id,
    LedgerTransaction.brand_id,
    LedgerTransaction.creator_id,
    LedgerTransaction.payout_id,
    LedgerTransaction.memo,
)


class LedgerRepository:
    def __init__(self, db: Session):
        self.db = db
        self._accounts: dict[tuple[AccountKind, uuid.UUID, str], uuid.UUID] = {}

    # -- accounts and postings ----------------------------------------------------------------

    def account_id(self, kind: AccountKind, owner_id: uuid.UUID, currency: str) -> uuid.UUID:
        """The account's id, opened on first use."""
        key = (kind, owner_id, currency)
        found = self._accounts.get(key)
        if found is not None:
            return found
        made = self.db.scalar(
            insert(LedgerAccount)
            .values(id=uuid.uuid4(), kind=kind, owner_id=owner_id, currency=currency)
            .on_conflict_do_nothing(index_elements=["kind", "owner_id", "currency"])
            .returning(LedgerAccount.id)
        )
        if made is None:
            made = self.db.scalar(
                select(LedgerAccount.id).where(
                    LedgerAccount.kind == kind, LedgerAccount.owner_id == owner_id, LedgerAccount.currency == currency
                )
            )
        assert made is not None
        self._accounts[key] = made
        return made

    def lock_account(self, account_id: uuid.UUID) -> None:
        """Hold the account until the transaction ends: a second spender waits, then sees the first."""
        self.db.execute(select(LedgerAccount.id).where(LedgerAccount.id == account_id).with_for_update())

    def balance(self, account_id: uuid.UUID) -> int:
        return int(
            self.db.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == account_id)
            )
            or 0
        )

    def has_transaction(self, key: str) -> bool:
        return self.db.scalar(select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == key)) is not None

    def insert_transaction(self, values: dict[str, Any]) -> uuid.UUID | None:
        """The new transaction's id; None when its idempotency key exists (nothing inserted)."""
        return self.db.scalar(
            insert(LedgerTransaction)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerTransaction.id)
        )

    def insert_entries(self, rows: Sequence[dict[str, Any]]) -> None:
        self.db.execute(insert(LedgerEntry), list(rows))

    def legs_of(self, key: str) -> list[tuple[uuid.UUID, int]]:
        return [
            (row[0], int(row[1]))
            for row in self.db.execute(
                select(LedgerEntry.account_id, LedgerEntry.amount)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(LedgerTransaction.idempotency_key == key)
            )
        ]

    def reset(self) -> None:
        """Forget every account, transaction and entry (a replay rebuilds them)."""
        self.db.execute(delete(LedgerEntry))
        self.db.execute(delete(LedgerTransaction))
        self.db.execute(delete(LedgerAccount))
        self._accounts.clear()

    # -- balances and statements --------------------------------------------------------------

    def balances(
        self, *, kinds: Collection[AccountKind] | None = None, owner_ids: Collection[uuid.UUID] | None = None
    ) -> dict[tuple[AccountKind, uuid.UUID, str], int]:
        """Each account's balance (the sum of its entries), for the accounts asked about."""
        statement = (
            select(
                LedgerAccount.kind,
                LedgerAccount.owner_id,
                LedgerAccount.currency,
                func.coalesce(func.sum(LedgerEntry.amount), 0),
            )
            .outerjoin(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .group_by(LedgerAccount.id)
        )
        if kinds is not None:
            statement = statement.where(LedgerAccount.kind.in_(list(kinds)))
        if owner_ids is not None:
            statement = statement.where(LedgerAccount.owner_id.in_(list(owner_ids)))
        return {(row[0], row[1], row[2]): int(row[3]) for row in self.db.execute(statement)}

    def flows(
        self,
        *,
        creator_id: uuid.UUID | None = None,
        brand_id: uuid.UUID | None = None,
        by_campaign: bool = False,
        by_month: bool = False,
    ) -> list[FlowRow]:
        """Sums of the entries of the transactions that concern a creator or a brand, by
        currency, account kind and transaction kind (and campaign, or month)."""
        month = func.date_trunc("month", func.timezone("UTC", LedgerTransaction.occurred_at))
        columns: list[Any] = [
            LedgerEntry.currency,
            LedgerAccount.kind,
            LedgerTransaction.kind,
            func.sum(LedgerEntry.amount),
        ]
        groups: list[Any] = [LedgerEntry.currency, LedgerAccount.kind, LedgerTransaction.kind]
        if by_campaign:
            columns.append(LedgerTransaction.campaign_id)
            groups.append(LedgerTransaction.campaign_id)
        if by_month:
            columns.append(month)
            groups.append(month)
        statement = (
            select(*columns)
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .group_by(*groups)
        )
        if creator_id is not None:
            statement = statement.where(LedgerTransaction.creator_id == creator_id)
        if brand_id is not None:
            statement = statement.where(LedgerTransaction.brand_id == brand_id)
        rows = []
        for row in self.db.execute(statement):
            extra = list(row[4:])
            rows.append(
                FlowRow(
                    currency=row[0],
                    account=row[1],
                    kind=row[2],
                    amount=int(row[3]),
                    campaign_id=extra.pop(0) if by_campaign else None,
                    month=extra.pop(0) if by_month else None,
                )
            )
        return rows

    def _entries_statement(
        self,
        *,
        creator_id: uuid.UUID | None,
        brand_id: uuid.UUID | None,
        currency: str | None,
        account: AccountKind | None,
    ) -> Any:
        statement = (
            select(*_ENTRY_COLUMNS)
            .select_from(LedgerEntry)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        )
        if creator_id is not None:
            statement = statement.where(
                LedgerAccount.owner_id == creator_id, LedgerAccount.kind.in_(list(CREATOR_ACCOUNTS))
            )
        if brand_id is not None:
            statement = statement.where(
                or_(
                    and_(LedgerAccount.owner_id == brand_id, LedgerAccount.kind.in_(list(BRAND_ACCOUNTS))),
                    and_(LedgerAccount.kind == K.ESCROW, LedgerTransaction.brand_id == brand_id),
                )
            )
        if currency is not None:
            statement = statement.where(LedgerEntry.currency == currency)
        if account is not None:
            statement = statement.where(LedgerAccount.kind == account)
        return statement

    def entries(
        self,
        *,
        creator_id: uuid.UUID | None = None,
        brand_id: uuid.UUID | None = None,
        currency: str | None = None,
        account: AccountKind | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[EntryRow], int]:
        """Entries on a creator's accounts, or a brand's (with its deals' escrow), or all;
        newest first."""
        statement = self._entries_statement(
            creator_id=creator_id, brand_id=brand_id, currency=currency, account=account
        )
        total = self.db.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = self.db.execute(
            statement.order_by(LedgerTransaction.occurred_at.desc(), LedgerEntry.id.desc()).limit(limit).offset(offset)
        )
        return [EntryRow(*row) for row in rows], int(total)

    def all_entries(
        self,
        *,
        creator_id: uuid.UUID | None = None,
        brand_id: uuid.UUID | None = None,
        currency: str | None = None,
        account: AccountKind | None = None,
        chunk: int = 2_000,
    ) -> Iterator[list[EntryRow]]:
        """Every entry of the same scope, oldest first, in chunks (an export)."""
        statement = self._entries_statement(
            creator_id=creator_id, brand_id=brand_id, currency=currency, account=account
        )
        result = self.db.execute(
            statement.order_by(LedgerTransaction.occurred_at, LedgerEntry.id).execution_options(yield_per=chunk)
        )
        for part in result.partitions(chunk):
            yield [EntryRow(*row) for row in part]

    def recent_transactions(self, limit: int = 20) -> list[LedgerTransaction]:
        return list(
            self.db.scalars(
                select(LedgerTransaction)
                .order_by(LedgerTransaction.recorded_at.desc(), LedgerTransaction.occurred_at.desc())
                .limit(limit)
            )
        )

    # -- the invariants' queries --------------------------------------------------------------

    def totals(self) -> list[tuple[str, AccountKind, int, int]]:
        """Per currency and account kind: the sum of the entries and how many accounts."""
        rows = self.db.execute(
            select(
                LedgerEntry.currency,
                LedgerAccount.kind,
                func.sum(LedgerEntry.amount),
                func.count(func.distinct(LedgerAccount.id)),
            )
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .group_by(LedgerEntry.currency, LedgerAccount.kind)
            .order_by(LedgerEntry.currency, LedgerAccount.kind)
        )
        return [(row[0], row[1], int(row[2]), int(row[3])) for row in rows]

    def counts(self) -> tuple[int, int]:
        transactions = self.db.scalar(select(func.count()).select_from(LedgerTransaction)) or 0
        entries = self.db.scalar(select(func.count()).select_from(LedgerEntry)) or 0
        return int(transactions), int(entries)

    def unbalanced_transactions(self, limit: int = 20) -> list[tuple[str, str, int]]:
        """(key, currency, sum) of transactions whose entries do not sum to zero in a currency."""
        rows = self.db.execute(
            select(LedgerTransaction.idempotency_key, LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .group_by(LedgerTransaction.id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount) != 0)
            .limit(limit)
        )
        return [(row[0], row[1], int(row[2])) for row in rows]

    def short_transactions(self, limit: int = 20) -> list[tuple[str, int]]:
        """Transactions with fewer than two entries."""
        legs = func.count(LedgerEntry.id)
        rows = self.db.execute(
            select(LedgerTransaction.idempotency_key, legs)
            .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .group_by(LedgerTransaction.id)
            .having(legs < 2)
            .limit(limit)
        )
        return [(row[0], int(row[1])) for row in rows]

    def foreign_entries(self, limit: int = 20) -> list[tuple[int, str, str, str]]:
        """Entries whose currency is not their account's or their transaction's."""
        rows = self.db.execute(
            select(LedgerEntry.id, LedgerEntry.currency, LedgerAccount.currency, LedgerTransaction.currency)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                or_(LedgerEntry.currency != LedgerAccount.currency, LedgerEntry.currency != LedgerTransaction.currency)
            )
            .limit(limit)
        )
        return [(int(row[0]), row[1], row[2], row[3]) for row in rows]

    def settled_escrows_holding(self, limit: int = 20) -> list[tuple[uuid.UUID, str, int]]:
        """Deals released or refunded whose escrow still holds money."""
        settled = (
            select(LedgerTransaction.deal_id)
            .where(LedgerTransaction.kind.in_([TransactionKind.RELEASE, TransactionKind.REFUND]))
            .scalar_subquery()
        )
        rows = self.db.execute(
            select(LedgerAccount.owner_id, LedgerAccount.currency, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .where(LedgerAccount.kind == K.ESCROW, LedgerAccount.owner_id.in_(settled))
            .group_by(LedgerAccount.id)
            .having(func.sum(LedgerEntry.amount) != 0)
            .limit(limit)
        )
        return [(row[0], row[1], int(row[2])) for row in rows]

    def payout_keys(self) -> dict[uuid.UUID, set[str]]:
        """The payout steps the ledger applied, by payout."""
        found: dict[uuid.UUID, set[str]] = {}
        rows = self.db.execute(
            select(LedgerTransaction.payout_id, LedgerTransaction.kind).where(LedgerTransaction.payout_id.is_not(None))
        )
        for payout_id, kind in rows:
            if payout_id is not None:
                found.setdefault(payout_id, set()).add(kind.value)
        return found

    # -- payouts ------------------------------------------------------------------------------

    def payout(self, payout_id: uuid.UUID, *, for_update: bool = False) -> Payout | None:
        statement = select(Payout).where(Payout.id == payout_id)
        if for_update:
            statement = statement.with_for_update()
        return self.db.scalar(statement)

    def payout_by_key(self, creator_id: uuid.UUID, key: str) -> Payout | None:
        return self.db.scalar(select(Payout).where(Payout.creator_id == creator_id, Payout.idempotency_key == key))

    def payout_by_ref(self, provider_ref: str) -> Payout | None:
        return self.db.scalar(select(Payout).where(Payout.provider_ref == provider_ref))

    def add_payout(self, payout: Payout) -> Payout:
        self.db.add(payout)
        self.db.flush()
        return payout

    def payouts(self, *, creator_id: uuid.UUID | None, limit: int, offset: int) -> tuple[list[Payout], int]:
        statement = select(Payout)
        if creator_id is not None:
            statement = statement.where(Payout.creator_id == creator_id)
        total = self.db.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = self.db.scalars(statement.order_by(Payout.requested_at.desc(), Payout.id).limit(limit).offset(offset))
        return list(rows), int(total)

    def all_payouts(self) -> list[Payout]:
        return list(self.db.scalars(select(Payout)))

    def payouts_by_status(self) -> dict[PayoutStatus, int]:
        return {
            row[0]: int(row[1]) for row in self.db.execute(select(Payout.status, func.count()).group_by(Payout.status))
        }

    def claim_payout(self, payout_id: uuid.UUID, *, now: datetime, stale_before: datetime) -> Payout | None:
        """Take a payout to send: still requested, and nobody else's claim is fresh."""
        return self.db.scalar(
            update(Payout)
            .where(
                Payout.id == payout_id,
                Payout.status == PayoutStatus.REQUESTED,
                or_(Payout.claimed_at.is_(None), Payout.claimed_at < stale_before),
            )
            .values(claimed_at=now, attempts=Payout.attempts + 1, updated_at=now)
            .returning(Payout)
        )

    def payouts_to_send(self, *, stale_before: datetime, limit: int = 100) -> list[uuid.UUID]:
        """Requested payouts nobody is sending now, the oldest first."""
        return list(
            self.db.scalars(
                select(Payout.id)
                .where(
                    Payout.status == PayoutStatus.REQUESTED,
                    or_(Payout.claimed_at.is_(None), Payout.claimed_at < stale_before),
                )
                .order_by(Payout.requested_at)
                .limit(limit)
            )
        )

    def payout_account(self, creator_id: uuid.UUID, provider: str) -> PayoutAccount | None:
        return self.db.get(PayoutAccount, (creator_id, provider))

    def ensure_payout_account(self, creator_id: uuid.UUID, provider: str, email: str) -> None:
        self.db.execute(
            insert(PayoutAccount)
            .values(creator_id=creator_id, provider=provider, email=email)
            .on_conflict_do_nothing(index_elements=["creator_id", "provider"])
        )

    def set_payout_account(self, creator_id: uuid.UUID, provider: str, external_id: str) -> None:
        self.db.execute(
            update(PayoutAccount)
            .where(
                PayoutAccount.creator_id == creator_id,
                PayoutAccount.provider == provider,
                PayoutAccount.external_id.is_(None),
            )
            .values(external_id=external_id)
        )

    def payout_sums(self) -> dict[tuple[uuid.UUID, str], dict[str, int]]:
        """Per creator and currency: the amounts of open (requested or sent) and paid payouts."""
        open_ = func.sum(
            case((Payout.status.in_([PayoutStatus.REQUESTED, PayoutStatus.SENT]), Payout.amount_minor), else_=0)
        )
        paid = func.sum(case((Payout.status == PayoutStatus.PAID, Payout.amount_minor), else_=0))
        rows = self.db.execute(
            select(Payout.creator_id, Payout.currency, open_, paid).group_by(Payout.creator_id, Payout.currency)
        )
        return {(row[0], row[1]): {"open": int(row[2] or 0), "paid": int(row[3] or 0)} for row in rows}
