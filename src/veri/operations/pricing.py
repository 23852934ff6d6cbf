"""From a measured month to dollars: the resources one creator uses in a month, then for each
size of platform the capacity it needs (processes, database instance and size, cache, broker)
and what that costs by the price table (`prices.toml`, every number an assumption with its
source). Pure functions of values: the same measurement priced twice gives the same answer."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from veri.operations.measure import Cpu, Measurement, Phase

__all__ = [
    "DEFAULT_PRICES",
    "GOAL_USD_PER_CREATOR_MONTH",
    "ChoreCost",
    "PerCreatorMonth",
    "PriceTable",
    "TierPlan",
    "cost_report",
    "goal",
    "load_prices",
    "per_creator_month",
    "plan_tier",
]

DEFAULT_PRICES = Path(__file__).with_name("prices.toml")
# Issue 18: at most ten cents a creator-month at 500 creators, all in.
GOAL_USD_PER_CREATOR_MONTH = 0.10
_GOAL_AT = 500


class Workload(BaseModel):
    questions_per_creator_month: float
    sessions_per_creator_month: float
    llm_calls_per_question: float
    chars_per_token: float = Field(gt=0)
    peak_to_average: float = Field(ge=1)
    target_utilisation: float = Field(gt=0, le=1)
    ram_headroom: float = Field(ge=1)
    db_retention_months: float = Field(gt=0)
    postgres_ram_base_gb: float
    kafka_retention_days: float
    redis_ecpu_per_request: float
    redis_overhead: float
    # The production settings VERI_MEMORY_CHORES_SECONDS and VERI_MEMORY_STATISTICS_SECONDS.
    housekeeping_interval_s: float = Field(gt=0)
    statistics_interval_s: float = Field(gt=0)


class ComputePrices(BaseModel):
    vcpu_hour: float
    gb_hour: float
    # The process sizes to choose from (vCPU); memory follows the measured peak.
    process_vcpus: list[float]
    source: str


class DbInstance(BaseModel):
    name: str
    vcpu: float
    sustained_vcpu: float
    ram_gb: float
    hourly: float


class PostgresPrices(BaseModel):
    storage_gb_month: float
    min_storage_gb: float
    instances: list[DbInstance]
    source: str


class RedisPrices(BaseModel):
    gb_hour: float
    million_ecpu: float
    min_gb: float
    source: str


class KafkaPrices(BaseModel):
    uptime_hour: float
    ingress_gb: float
    egress_gb: float
    storage_gb_month: float
    partition_hour: float
    source: str


class LoadBalancerPrices(BaseModel):
    hourly: float
    lcu_hour: float
    lcus: float
    source: str


class ModelPrices(BaseModel):
    input_mtok: float
    output_mtok: float
    source: str


class Tier(BaseModel):
    name: str
    creators: int = Field(gt=0)
    bus: Literal["embedded", "redpanda"]
    postgres_multi_az: bool
    min_api_processes: int = Field(ge=1)
    min_worker_processes: int = Field(ge=1)
    kafka_partitions: int = Field(ge=0)


class PriceTable(BaseModel):
    meta: dict[str, str | int | float]
    workload: Workload
    compute: ComputePrices
    postgres: PostgresPrices
    redis: RedisPrices
    kafka: KafkaPrices
    load_balancer: LoadBalancerPrices
    llm: dict[str, ModelPrices]
    tiers: list[Tier]

    @property
    def hours(self) -> float:
        return float(self.meta.get("hours_per_month", 730))


def load_prices(path: Path | None = None) -> PriceTable:
    with (path or DEFAULT_PRICES).open("rb") as file:
        return PriceTable.model_validate(tomllib.load(file))


class ChoreCost(BaseModel):
    """The worker's chores over a month, for the whole platform: a fixed part and a part per
    memory held (decay and the statistics walk every memory), fitted on the two measured sizes."""

    fixed_cpu_s: Cpu
    per_memory_cpu_s: Cpu

    def at(self, memories: float) -> Cpu:
        return _add(self.fixed_cpu_s, _scale(self.per_memory_cpu_s, memories))


class PerCreatorMonth(BaseModel):
    """What one creator uses in a month: measured, scaled by the workload's assumptions. The
    chores are the platform's, not a creator's: `chores` gives them by memories held."""

    cpu_s: Cpu
    cpu_s_by_part: dict[str, Cpu] = Field(description="events (the month), agent, sessions; above the idle floor")
    chores: ChoreCost
    memories: float
    peak_rss_mb: Cpu
    db_bytes: float
    events: float
    events_ingested: float
    event_bytes: float
    llm_input_tokens: float
    llm_output_tokens: float
    requests: float
    redis_bytes: float = Field(description="per creator, not per month: sessions, limits, boards")
    idle_cores: Cpu = Field(description="an idle worker process and the Postgres it polls, in cores")
    consumer_groups: int


def _scale(cpu: Cpu, factor: float) -> Cpu:
    return Cpu(api=cpu.api * factor, worker=cpu.worker * factor, postgres=cpu.postgres * factor)


def _add(*cpus: Cpu) -> Cpu:
    return Cpu(api=sum(c.api for c in cpus), worker=sum(c.worker for c in cpus), postgres=sum(c.postgres for c in cpus))


def _fit(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
    """A line through two measurements, never negative: (fixed, slope)."""
    slope = max((y1 - y0) / (x1 - x0), 0.0) if x1 > x0 else 0.0
    return max(y1 - slope * x1, 0.0), slope


def _chore_cost(m: Measurement, w: Workload, month_s: float) -> ChoreCost:
    """Rounds as often as production runs them (the workload's intervals), each costing what
    the measured rounds cost for the memories held."""
    before, after = m.chores.before, m.chores.after
    rounds, recounts = month_s / w.housekeeping_interval_s, month_s / w.statistics_interval_s
    fixed, per_memory = Cpu(), Cpu()
    for role in ("worker", "postgres"):
        plain = _fit(before.memories, getattr(before.plain, role), after.memories, getattr(after.plain, role))
        recount = _fit(
            before.memories, getattr(before.statistics, role), after.memories, getattr(after.statistics, role)
        )
        setattr(fixed, role, plain[0] * rounds + recount[0] * recounts)
        setattr(per_memory, role, plain[1] * rounds + recount[1] * recounts)
    return ChoreCost(fixed_cpu_s=fixed.rounded(3), per_memory_cpu_s=per_memory.rounded(9))


def _busy(phase: Phase, idle: Cpu) -> Cpu:
    """A phase's CPU above the idle floor the worker and Postgres burn anyway (the plan adds that
    floor once per worker process), never below zero."""
    return Cpu(
        api=phase.cpu_s.api,
        worker=max(phase.cpu_s.worker - idle.worker * phase.seconds, 0.0),
        postgres=max(phase.cpu_s.postgres - idle.postgres * phase.seconds, 0.0),
    )


def per_creator_month(m: Measurement, prices: PriceTable) -> PerCreatorMonth:
    w = prices.workload
    idle = _scale(m.idle.cpu_s, 1 / m.idle.seconds)  # cores
    events = _scale(_busy(m.month, idle), 1 / m.creator_months)
    questions = max(m.agent.questions, 1)
    agent = _scale(_busy(m.agent, idle), w.questions_per_creator_month / questions)
    visits = m.sessions.sessions if m.sessions is not None else 0
    sessions = (
        _scale(_busy(m.sessions, idle), w.sessions_per_creator_month / visits) if m.sessions and visits else Cpu()
    )
    requests_per_session = m.sessions.requests / visits if m.sessions and visits else 0
    input_chars = m.agent.input_chars / questions
    output_chars = m.agent.output_chars / questions
    return PerCreatorMonth(
        cpu_s=_add(events, agent, sessions).rounded(4),
        cpu_s_by_part={"events": events.rounded(4), "agent": agent.rounded(4), "sessions": sessions.rounded(4)},
        chores=_chore_cost(m, w, prices.hours * 3600),
        memories=round((m.chores.after.memories - m.chores.before.memories) / m.creator_months, 1),
        peak_rss_mb=m.peak_rss_mb,
        db_bytes=round(m.db_bytes / m.creator_months),
        events=round(m.events_logged / m.creator_months, 1),
        events_ingested=round(m.events_ingested / m.creator_months, 1),
        event_bytes=m.event_bytes,
        llm_input_tokens=round(
            w.questions_per_creator_month * w.llm_calls_per_question * input_chars / w.chars_per_token
        ),
        llm_output_tokens=round(w.questions_per_creator_month * output_chars / w.chars_per_token),
        requests=round(w.sessions_per_creator_month * requests_per_session, 1),
        redis_bytes=round(m.redis_bytes / m.creators),
        idle_cores=idle.rounded(4),
        consumer_groups=len(m.groups),
    )


class TierPlan(BaseModel):
    name: str
    creators: int
    usd_per_creator_month: float
    usd_per_month: float
    lines_usd_per_month: dict[str, float]
    lines_usd_per_creator_month: dict[str, float]
    capacity: dict[str, object]


def _fargate_gb(vcpu: float, peak_rss_mb: float, headroom: float) -> float:
    """Fargate's memory for a task: at least 2 GB per vCPU (0.5 GB at a quarter vCPU), in steps
    of 0.5 GB, above the measured peak with its headroom."""
    wanted = peak_rss_mb * headroom / 1000
    return max(0.5 if vcpu < 0.5 else 2 * vcpu, math.ceil(wanted * 2) / 2)


def _processes(
    prices: PriceTable, *, minimum: int, busy_cores: float, steady_cores: float, idle_cores: float, rss_mb: float
) -> tuple[int, float, float, float]:
    """The cheapest fleet of one process size that carries the peak's load (`busy_cores`, at the
    target utilisation), the steady load and each process's own idle floor: (processes, vCPU,
    GB, dollars a month)."""
    w, compute = prices.workload, prices.compute
    options = []
    for vcpu in sorted(compute.process_vcpus):
        room = vcpu * w.target_utilisation - idle_cores
        if room <= 0:
            continue
        count = max(minimum, math.ceil((busy_cores + steady_cores) / room))
        gb = _fargate_gb(vcpu, rss_mb, w.ram_headroom)
        dollars = count * (vcpu * compute.vcpu_hour + gb * compute.gb_hour) * prices.hours
        options.append((dollars, count, vcpu, gb))
    if not options:
        raise ValueError("no process size in the price table has room above the idle floor")
    dollars, count, vcpu, gb = min(options)
    return count, vcpu, gb, dollars


def plan_tier(pcm: PerCreatorMonth, prices: PriceTable, tier: Tier, model: str) -> TierPlan:
    """The capacity `tier.creators` need and its monthly bill, line by line. Traffic (events,
    questions, visits) peaks at `peak_to_average` times its mean; chores and idle polling are
    steady; every process and the database keep `target_utilisation` of their CPU for spikes."""
    w, hours = prices.workload, prices.hours
    n = tier.creators
    month_s = hours * 3600
    peak, use = w.peak_to_average, w.target_utilisation
    traffic = _scale(pcm.cpu_s, n / month_s)  # cores, on average over the month
    # Memories held once the retention is reached: decay and the statistics walk all of them.
    memories = n * pcm.memories * w.db_retention_months
    chores = _scale(pcm.chores.at(memories), 1 / month_s)
    api_processes, api_vcpu, api_gb, api_dollars = _processes(
        prices,
        minimum=tier.min_api_processes,
        busy_cores=traffic.api * peak,
        steady_cores=0.0,
        idle_cores=0.0,
        rss_mb=pcm.peak_rss_mb.api,
    )
    worker_processes, worker_vcpu, worker_gb, worker_dollars = _processes(
        prices,
        minimum=tier.min_worker_processes,
        busy_cores=traffic.worker * peak,
        steady_cores=chores.worker,
        idle_cores=pcm.idle_cores.worker,
        rss_mb=pcm.peak_rss_mb.worker,
    )
    # Postgres: the peak's traffic, the chores, and the idle polling of the log (each worker's
    # consumers on the embedded bus; on a broker only the relay polls the outbox: one worker's
    # worth, conservatively), at the target utilisation; RAM for a month of data (the hot set);
    # the cheapest instance that fits, else the largest (marked as not fitting).
    pollers = worker_processes if tier.bus == "embedded" else 1
    postgres_cores = (traffic.postgres * peak + chores.postgres) / use + pcm.idle_cores.postgres * pollers
    hot_gb = n * pcm.db_bytes / 1e9
    stored_gb = hot_gb * w.db_retention_months
    ram_gb = hot_gb + w.postgres_ram_base_gb
    fitting = [i for i in prices.postgres.instances if i.sustained_vcpu >= postgres_cores and i.ram_gb >= ram_gb]
    instance = min(fitting, key=lambda i: i.hourly) if fitting else max(prices.postgres.instances, key=lambda i: i.vcpu)
    copies = 2 if tier.postgres_multi_az else 1
    storage_gb = max(prices.postgres.min_storage_gb, math.ceil(stored_gb))

    redis_gb = max(prices.redis.min_gb, n * pcm.redis_bytes * w.redis_overhead / 1e9)
    ecpus = n * pcm.requests * w.redis_ecpu_per_request

    events_month = n * pcm.events
    ingress_gb = n * pcm.events_ingested * pcm.event_bytes / 1e9
    kafka = prices.kafka
    bus = 0.0
    if tier.bus == "redpanda":
        bus = (
            kafka.uptime_hour * hours
            + ingress_gb * kafka.ingress_gb
            + ingress_gb * pcm.consumer_groups * kafka.egress_gb
            + ingress_gb * w.kafka_retention_days / 30 * kafka.storage_gb_month
            + tier.kafka_partitions * kafka.partition_hour * hours
        )
    llm_prices = prices.llm.get(model)
    if llm_prices is None:
        raise ValueError(f"no prices for the model {model!r} in the price table ({', '.join(prices.llm)})")
    input_tokens, output_tokens = n * pcm.llm_input_tokens, n * pcm.llm_output_tokens
    balancer = prices.load_balancer

    lines = {
        "compute_api": api_dollars,
        "compute_worker": worker_dollars,
        "postgres_instance": instance.hourly * hours * copies,
        "postgres_storage": storage_gb * prices.postgres.storage_gb_month * copies,
        "redis": redis_gb * prices.redis.gb_hour * hours + ecpus / 1e6 * prices.redis.million_ecpu,
        "bus": bus,
        "llm": (input_tokens * llm_prices.input_mtok + output_tokens * llm_prices.output_mtok) / 1e6,
        "load_balancer": (balancer.hourly + balancer.lcus * balancer.lcu_hour) * hours,
    }
    total = sum(lines.values())
    return TierPlan(
        name=tier.name,
        creators=n,
        usd_per_creator_month=round(total / n, 4),
        usd_per_month=round(total, 2),
        lines_usd_per_month={k: round(v, 2) for k, v in lines.items()},
        lines_usd_per_creator_month={k: round(v / n, 5) for k, v in lines.items()},
        capacity={
            "api_processes": api_processes,
            "api_process": {"vcpu": api_vcpu, "gb": api_gb},
            "worker_processes": worker_processes,
            "worker_process": {"vcpu": worker_vcpu, "gb": worker_gb},
            "traffic_cores_average": traffic.rounded(3).model_dump(),
            "traffic_cores_at_peak": _scale(traffic, peak).rounded(3).model_dump(),
            "chores_cores": chores.rounded(3).model_dump(),
            "memories_held": round(memories),
            "postgres": {
                "instance": instance.name,
                "fits": bool(fitting),
                "multi_az": tier.postgres_multi_az,
                "cores_needed": round(postgres_cores, 3),
                "ram_gb_wanted": round(ram_gb, 2),
                "data_gb_after_retention": round(stored_gb, 1),
                "storage_gb": storage_gb,
            },
            "redis_gb": round(redis_gb, 3),
            "bus": {
                "kind": tier.bus,
                "ingress_gb_month": round(ingress_gb, 3),
                "partitions": tier.kafka_partitions if tier.bus == "redpanda" else 0,
            },
            "events_month": round(events_month),
            "events_per_s_at_peak": round(events_month / month_s * peak, 2),
            "llm_tokens_month": {"input": round(input_tokens), "output": round(output_tokens), "model": model},
        },
    )


def goal(plans: list[TierPlan]) -> dict[str, object]:
    """Issue 18's goal, read off the cheapest plan at 500 creators."""
    at = [p for p in plans if p.creators == _GOAL_AT]
    best = min(at, key=lambda p: p.usd_per_creator_month) if at else None
    return {
        "usd_per_creator_month_at_500": GOAL_USD_PER_CREATOR_MONTH,
        "plan": best.name if best else None,
        "measured_usd_per_creator_month": best.usd_per_creator_month if best else None,
        "ratio_to_goal": round(best.usd_per_creator_month / GOAL_USD_PER_CREATOR_MONTH, 3) if best else None,
        "met": bool(best and best.usd_per_creator_month <= GOAL_USD_PER_CREATOR_MONTH),
    }


def cost_report(m: Measurement, prices: PriceTable, model: str) -> dict[str, object]:
    """The whole answer as one JSON-ready object: the measurement, a creator-month's resources,
    each tier's plan, the goal, and every assumption with its source."""
    pcm = per_creator_month(m, prices)
    plans = [plan_tier(pcm, prices, tier, model) for tier in prices.tiers]
    return {
        "bench": "cost",
        "goal": goal(plans),
        "tiers": [p.model_dump() for p in plans],
        "per_creator_month": pcm.model_dump(),
        "measurement": m.model_dump(mode="json"),
        "assumptions": {
            "meta": prices.meta,
            "workload": prices.workload.model_dump(),
            "model": model,
            "sources": {
                "compute": prices.compute.source,
                "postgres": prices.postgres.source,
                "redis": prices.redis.source,
                "kafka": prices.kafka.source,
                "load_balancer": prices.load_balancer.source,
                "llm": prices.llm[model].source if model in prices.llm else None,
            },
            "measured_on": "the embedded PostgreSQL and the embedded bus (the outbox read as a log), no Redis",
        },
    }
