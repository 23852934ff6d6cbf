"""Where the PostgreSQL -> MongoDB migration stands, gathered in one place for the operator's
page and its JSON twin: the phase of each aggregate and cohort, backfill progress, the `mongo`
group's lag, the latest verifications, the shadow reads (totals and per minute), the two flags
with their history, the jobs started from the page, and whether vector search can move.

The phases, in order: PostgreSQL only -> dual-write (USE_MONGO covers the cohort) -> backfilled
(a finished backfill covers it) -> verified (the latest full verification found nothing) ->
shadow (READ_FROM_MONGO compares reads) -> serving X% from Mongo (the read paths passed their
trial). Phase 3 (memory on Mongo's vector search) is never declared while the server refuses
`$vectorSearch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veri.events.lag import lag_snapshot
from veri.flags import DESCRIPTIONS, Flag, default_of
from veri.migration.documents import AGGREGATES
from veri.migration.jobs import JobOut, recent_jobs
from veri.migration.phase3 import vector_search_status
from veri.migration.replicator import MongoReplicator
from veri.migration.service import verified_cohort
from veri.migration.shadow import READ_PATHS
from veri.models.base import utcnow
from veri.models.flags import FlagChange, FlagRule
from veri.models.migration import BackfillCheckpoint, ShadowMinute, ShadowPath, Verification

if TYPE_CHECKING:
    from veri.migration.store import DocumentStore

__all__ = ["PHASES", "MigrationStatus", "Rollout", "migration_status", "rollout"]

PhaseName = Literal["postgres_only", "dual_write", "backfilled", "verified", "shadow", "serving"]
PHASES: tuple[tuple[PhaseName, str], ...] = (
    ("postgres_only", "PostgreSQL only"),
    ("dual_write", "dual-write"),
    ("backfilled", "backfilled"),
    ("verified", "verified"),
    ("shadow", "shadow reads"),
    ("serving", "serving from Mongo"),
)
MIGRATION_FLAGS = (Flag.USE_MONGO, Flag.READ_FROM_MONGO)
SERIES_MINUTES = 60


class PhaseOut(BaseModel):
    aggregate: str
    cohort: float
    phase: PhaseName
    step: int  # index in PHASES
    label: str
    note: str = ""


class CheckpointOut(BaseModel):
    cohort: float
    last_id: str
    position: int  # rows up to the checkpoint, in the backfill's order
    copied: int
    done: bool
    updated_at: datetime


class BackfillOut(BaseModel):
    aggregate: str
    rows: int  # in Postgres now
    checkpoints: list[CheckpointOut]


class LagPartitionOut(BaseModel):
    partition: int
    lag: int
    owner: str
    measured_at: datetime


class LagOut(BaseModel):
    group: str
    total: int
    measured_at: datetime | None  # None: no worker has reported this group yet
    partitions: list[LagPartitionOut]


class VerificationOut(BaseModel):
    id: int
    aggregate: str
    cohort: float
    checked: int
    mismatches: int
    missing: list[str]
    extra: list[str]
    differ: list[str]
    repaired: int
    sampled: bool
    checked_at: datetime


class MinuteOut(BaseModel):
    minute: datetime
    reads: int
    mismatches: int
    lagged: int
    mismatch_rate: float
    postgres_avg_ms: float
    mongo_avg_ms: float
    postgres_max_ms: float
    mongo_max_ms: float


class ShadowPathOut(BaseModel):
    path: str
    aggregate: str
    reads: int
    mismatches: int
    lagged: int
    mismatch_rate: float
    clean_streak: int
    needed: int
    ready: bool
    last_mismatch_key: str | None
    last_mismatch_at: datetime | None
    minutes: list[MinuteOut]


class FlagRuleOut(BaseModel):
    mode: str
    percent: float
    allow: int
    deny: int
    kill: bool
    shadow: bool
    version: int


class MigrationFlagOut(BaseModel):
    name: str
    description: str
    share: float  # percent of creators it reaches (by percentage; listed creators apart)
    source: str  # runtime | environment
    rule: FlagRuleOut | None


class FlagChangeOut(BaseModel):
    flag: str
    actor: str
    reason: str
    old: dict[str, Any] | None
    new: dict[str, Any]
    changed_at: datetime


class VectorSearchOut(BaseModel):
    available: bool
    detail: str


class MigrationStatus(BaseModel):
    configured: bool  # a document store (VERI_MONGO_URL) is set
    mongo_db: str | None
    write_share: float  # USE_MONGO
    read_share: float  # READ_FROM_MONGO
    shadow: bool
    verified_cohort: float  # the cohort every aggregate's latest full verification cleared
    cutover_reads: int
    next_step: str
    phases: list[PhaseOut]
    backfill: list[BackfillOut]
    lag: LagOut
    verifications: list[VerificationOut]
    shadow_paths: list[ShadowPathOut]
    flags: list[MigrationFlagOut]
    history: list[FlagChangeOut]
    jobs: list[JobOut]
    vector_search: VectorSearchOut


@dataclass(frozen=True)
class Rollout:
    """How far the two flags reach now (percent of creators), read from the database."""

    write_share: float  # USE_MONGO
    read_share: float  # READ_FROM_MONGO
    shadow: bool  # READ_FROM_MONGO compares reads on both stores
    rules: dict[str, FlagRule]


def rollout(db: Session) -> Rollout:
    rules = {
        r.flag: r for r in db.scalars(select(FlagRule).where(FlagRule.flag.in_([f.value for f in MIGRATION_FLAGS])))
    }
    read = rules.get(Flag.READ_FROM_MONGO.value)
    return Rollout(
        write_share=_share(rules.get(Flag.USE_MONGO.value), Flag.USE_MONGO),
        read_share=_share(read, Flag.READ_FROM_MONGO),
        shadow=read is not None and read.shadow and not read.kill,
        rules=rules,
    )


def _share(rule: FlagRule | None, flag: Flag) -> float:
    if rule is None:
        return 100.0 if default_of(flag) else 0.0
    if rule.kill:
        return 0.0
    return {"on": 100.0, "off": 0.0}.get(rule.mode, rule.percent)


def _rule_out(rule: FlagRule | None) -> FlagRuleOut | None:
    if rule is None:
        return None
    return FlagRuleOut(
        mode=rule.mode,
        percent=rule.percent,
        allow=len(rule.allow or []),
        deny=len(rule.deny or []),
        kill=rule.kill,
        shadow=rule.shadow,
        version=rule.version,
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _shadow_paths(db: Session, needed: int) -> list[ShadowPathOut]:
    since = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=SERIES_MINUTES)
    minutes: dict[str, list[MinuteOut]] = {path: [] for path in READ_PATHS}
    for m in db.scalars(select(ShadowMinute).where(ShadowMinute.minute >= since).order_by(ShadowMinute.minute)):
        minutes.setdefault(m.path, []).append(
            MinuteOut(
                minute=m.minute,
                reads=m.reads,
                mismatches=m.mismatches,
                lagged=m.lagged,
                mismatch_rate=_rate(m.mismatches, m.reads),
                postgres_avg_ms=round(m.postgres_ms / m.reads, 3) if m.reads else 0.0,
                mongo_avg_ms=round(m.mongo_ms / m.reads, 3) if m.reads else 0.0,
                postgres_max_ms=round(m.postgres_max_ms, 3),
                mongo_max_ms=round(m.mongo_max_ms, 3),
            )
        )
    rows = {p.path: p for p in db.scalars(select(ShadowPath))}
    out = []
    for path, aggregate in READ_PATHS.items():
        row = rows.get(path)
        reads, streak = (row.reads, row.clean_streak) if row else (0, 0)
        mismatches = row.mismatches if row else 0
        out.append(
            ShadowPathOut(
                path=path,
                aggregate=aggregate,
                reads=reads,
                mismatches=mismatches,
                lagged=row.lagged if row else 0,
                mismatch_rate=_rate(mismatches, reads),
                clean_streak=streak,
                needed=needed,
                ready=streak >= needed,
                last_mismatch_key=row.last_mismatch_key if row else None,
                last_mismatch_at=row.last_mismatch_at if row else None,
                minutes=minutes.get(path, []),
            )
        )
    return out


def _backfill(db: Session) -> list[BackfillOut]:
    marks: dict[str, list[BackfillCheckpoint]] = {}
    for mark in db.scalars(select(BackfillCheckpoint).order_by(BackfillCheckpoint.cohort)):
        marks.setdefault(mark.aggregate, []).append(mark)
    out = []
    for aggregate in AGGREGATES:
        table = aggregate.id_column.class_
        rows = int(db.scalar(select(func.count()).select_from(table)) or 0)
        checkpoints = []
        for mark in marks.get(aggregate.name, []):
            if mark.done:
                position = rows
            elif mark.last_id:
                position = int(
                    db.scalar(select(func.count()).select_from(table).where(aggregate.id_column <= mark.last_id)) or 0
                )
            else:
                position = 0
            checkpoints.append(
                CheckpointOut(
                    cohort=mark.cohort,
                    last_id=mark.last_id,
                    position=position,
                    copied=mark.copied,
                    done=mark.done,
                    updated_at=mark.updated_at,
                )
            )
        out.append(BackfillOut(aggregate=aggregate.name, rows=rows, checkpoints=checkpoints))
    return out


def _verifications(db: Session, limit: int) -> list[VerificationOut]:
    rows = db.scalars(select(Verification).order_by(Verification.id.desc()).limit(limit))
    return [
        VerificationOut(
            id=v.id,
            aggregate=v.aggregate,
            cohort=v.cohort,
            checked=v.checked,
            mismatches=v.mismatches,
            missing=list((v.details or {}).get("missing", [])),
            extra=list((v.details or {}).get("extra", [])),
            differ=list((v.details or {}).get("differ", [])),
            repaired=v.repaired,
            sampled=v.sampled,
            checked_at=v.checked_at,
        )
        for v in rows
    ]


def _lag(db: Session) -> LagOut:
    group = MongoReplicator.group
    rows = [r for r in lag_snapshot(db) if r.group == group]
    return LagOut(
        group=group,
        total=sum(r.lag for r in rows),
        measured_at=max((r.measured_at for r in rows), default=None),
        partitions=[
            LagPartitionOut(partition=r.partition, lag=r.lag, owner=r.owner, measured_at=r.measured_at) for r in rows
        ],
    )


def _phases(
    db: Session,
    *,
    write_share: float,
    read_share: float,
    shadow: bool,
    backfill: list[BackfillOut],
    paths: list[ShadowPathOut],
    vectors: VectorSearchOut,
) -> list[PhaseOut]:
    labels = dict(PHASES)
    steps = {name: i for i, (name, _) in enumerate(PHASES)}
    out = []
    for aggregate in AGGREGATES:
        name = aggregate.name
        verified = verified_cohort(db, name)
        marks = next(b.checkpoints for b in backfill if b.aggregate == name)
        finished = [m.cohort for m in marks if m.done]
        cohorts = {c for c in (write_share, verified) if c > 0} | {m.cohort for m in marks}
        own_paths = [p for p in paths if p.aggregate == name]
        for cohort in sorted(cohorts) or [100.0]:
            phase: PhaseName
            note = ""
            if write_share < cohort:
                phase = "postgres_only"
                if verified >= cohort or any(c >= cohort for c in finished):
                    note = "USE_MONGO does not cover this cohort: Mongo's copy is no longer kept up to date"
            elif verified >= cohort:
                phase = "verified"
            elif any(c >= cohort for c in finished):
                phase = "backfilled"
            else:
                phase = "dual_write"
            label = labels[phase]
            if phase == "verified" and not own_paths:
                note = "no read path of this aggregate moves to Mongo yet: its reads stay on PostgreSQL"
            elif phase == "verified" and (shadow or read_share > 0):
                ready = all(p.ready for p in own_paths)
                if read_share > 0 and ready:
                    phase, label = "serving", f"serving {read_share:g}% from Mongo"
                else:
                    phase = "shadow"
                    label = labels[phase]
                    streaks = ", ".join(f"{p.path} {p.clean_streak}/{p.needed}" for p in own_paths)
                    note = f"clean reads in a row: {streaks}"
                    if read_share > 0:
                        note += " (READ_FROM_MONGO waits for every path's trial: PostgreSQL answers meanwhile)"
            if name == "memories" and not vectors.available:
                note = (note + "; " if note else "") + "phase 3 not declared: pgvector keeps serving vectors"
            out.append(PhaseOut(aggregate=name, cohort=cohort, phase=phase, step=steps[phase], label=label, note=note))
    return out


def _next_step(
    configured: bool,
    write_share: float,
    read_share: float,
    shadow: bool,
    phases: list[PhaseOut],
    paths: list[ShadowPathOut],
    verified: float,
) -> str:
    if not configured:
        return "No MongoDB is configured: start Veri with `make run MONGO=1` (or set VERI_MONGO_URL)."
    if write_share == 0:
        return "Turn on dual-write (USE_MONGO) for a cohort: every change from then on is copied to Mongo."
    behind = [p for p in phases if p.cohort <= write_share and p.step < 3]
    if any(p.phase == "dual_write" for p in behind):
        return f"Backfill the {write_share:g}% cohort: copy what existed before dual-write began."
    if behind or verified < write_share:
        return f"Verify the {write_share:g}% cohort: every aggregate must be clean before reads move."
    pending = [p for p in paths if not p.ready]
    trials = ", ".join(f"{p.path} {p.clean_streak} of {p.needed}" for p in pending)
    if read_share == 0:
        if not shadow:
            return "Turn on shadow reads: each read path is compared on both stores until it passes its trial."
        if pending:
            return f"Shadow reads are running ({trials} clean reads in a row): cut over once every path passed."
        return "Every read path passed its trial: cut over a first cohort (READ_FROM_MONGO)."
    if pending:
        return (
            f"READ_FROM_MONGO is at {read_share:g}%, but PostgreSQL answers until every path passes its trial "
            f"again ({trials}): look at the last mismatch, verify, and let the shadow reads run."
        )
    if read_share < write_share:
        return f"Serving {read_share:g}% from Mongo: widen the cohort, or roll back to 0% (shadow stays on)."
    return f"Serving {read_share:g}% from Mongo; roll back to 0% at any time (shadow stays on)."


def migration_status(
    db: Session,
    store: DocumentStore | None,
    *,
    mongo_db: str | None,
    cutover_reads: int,
    verifications: int = 12,
    history: int = 20,
) -> MigrationStatus:
    """Everything the operator's page shows, read in one session (nothing is written)."""
    now = rollout(db)
    rules, write_share, read_share, shadow = now.rules, now.write_share, now.read_share, now.shadow
    probe = vector_search_status(store)
    vectors = VectorSearchOut(available=probe.available, detail=probe.detail)
    backfill = _backfill(db)
    paths = _shadow_paths(db, cutover_reads)
    phases = _phases(
        db,
        write_share=write_share,
        read_share=read_share,
        shadow=shadow,
        backfill=backfill,
        paths=paths,
        vectors=vectors,
    )
    verified = verified_cohort(db)
    changes = db.scalars(
        select(FlagChange)
        .where(FlagChange.flag.in_([f.value for f in MIGRATION_FLAGS]))
        .order_by(FlagChange.changed_at.desc())
        .limit(history)
    )
    return MigrationStatus(
        configured=store is not None,
        mongo_db=mongo_db if store is not None else None,
        write_share=write_share,
        read_share=read_share,
        shadow=shadow,
        verified_cohort=verified,
        cutover_reads=cutover_reads,
        next_step=_next_step(store is not None, write_share, read_share, shadow, phases, paths, verified),
        phases=phases,
        backfill=backfill,
        lag=_lag(db),
        verifications=_verifications(db, verifications),
        shadow_paths=paths,
        flags=[
            MigrationFlagOut(
                name=flag.value,
                description=DESCRIPTIONS[flag],
                share=_share(rules.get(flag.value), flag),
                source="runtime" if flag.value in rules else "environment",
                rule=_rule_out(rules.get(flag.value)),
            )
            for flag in MIGRATION_FLAGS
        ],
        history=[
            FlagChangeOut(flag=c.flag, actor=c.actor, reason=c.reason, old=c.old, new=c.new, changed_at=c.changed_at)
            for c in changes
        ],
        jobs=recent_jobs(db),
        vector_search=vectors,
    )
