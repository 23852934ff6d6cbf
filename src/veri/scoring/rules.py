"""The game's rules, as data: what earns points and how much, the caps and cool-downs that
stop farming, levels, the daily streak with its grace day, badges and weekly quests.

Everything here is a pure function of a creator's counters and dates, so the `scoring` group
applies the same rules live and in a replay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BADGES",
    "DAILY_TASK_POINTS_CAP",
    "DEAL_COMPLETED_POINTS",
    "PER_BRAND_WEEKLY_AWARDS",
    "QUESTS",
    "STREAK_WINDOW",
    "Badge",
    "Quest",
    "earned_badges",
    "level_of",
    "local_day",
    "next_badge",
    "points_for_level",
    "streak_of",
    "week_key",
]

DEAL_COMPLETED_POINTS = 100
# Caps and cool-downs: at most this many task points a day, and points from at most this many
# of one brand's tasks a week (a brand and a creator cannot farm each other).
DAILY_TASK_POINTS_CAP = 300
PER_BRAND_WEEKLY_AWARDS = 3


def points_for_level(level: int) -> int:
    """Points needed to reach `level` (level 1 at 0): 100, 400, 900 ... a square curve."""
    return 100 * (level - 1) ** 2


def level_of(points: int) -> dict[str, int]:
    level = math.isqrt(max(points, 0) // 100) + 1
    floor, ceiling = points_for_level(level), points_for_level(level + 1)
    return {"level": level, "points": points, "floor": floor, "next_at": ceiling, "to_next": ceiling - points}


def local_day(moment: datetime, timezone: str) -> date:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


STREAK_WINDOW = 120  # days of activity kept: a streak longer than this still counts, capped


def streak_of(days: Iterable[date]) -> tuple[int, date | None]:
    """The streak ending on the latest active day, counted in active days, and the grace day it
    used last. Consecutive days count; one missed day is forgiven (the grace day) at most once in
    seven days; a longer gap ends it. From the set of active days, so events arriving late or
    out of order give the same answer."""
    active = set(days)
    if not active:
        return 0, None
    day = max(active)
    streak, forgiven = 0, list[date]()
    while True:
        if day in active:
            streak += 1
            day -= timedelta(days=1)
            continue
        before = day - timedelta(days=1)
        if before in active and (not forgiven or (forgiven[-1] - day).days >= 7):
            forgiven.append(day)
            day = before
            continue
        return streak, (forgiven[0] if forgiven else None)


@dataclass(frozen=True)
class Badge:
    key: str
    title: str
    description: str
    counter: str  # which counter it reads
    threshold: int


BADGES: tuple[Badge, ...] = (
    Badge("first-deal", "First deal", "Complete your first deal", "deals_completed", 1),
    Badge("ten-deals", "Ten deals", "Complete ten deals", "deals_completed", 10),
    Badge("verified-5", "Proven", "Have five tasks verified", "tasks_verified", 5),
    Badge("verified-25", "Reliable pro", "Have twenty-five tasks verified", "tasks_verified", 25),
    Badge("on-time-5", "On time", "Deliver five deals on time", "on_time", 5),
    Badge("streak-7", "Week streak", "Be active seven days in a row", "best_streak", 7),
    Badge("streak-30", "Month streak", "Be active thirty days in a row", "best_streak", 30),
    Badge("level-5", "Level 5", "Reach level 5", "level", 5),
    Badge("veriscore-700", "Trusted", "Reach a VeriScore of 700", "veriscore", 700),
)


def earned_badges(counters: dict[str, Any], already: dict[str, Any], at: datetime) -> dict[str, str]:
    """Badges newly earned by `counters` (key -> when)."""
    return {
        b.key: at.isoformat()
        for b in BADGES
        if b.key not in already and float(counters.get(b.counter, 0) or 0) >= b.threshold
    }


def next_badge(counters: dict[str, Any], earned: dict[str, Any]) -> dict[str, Any] | None:
    """The unearned badge the creator is closest to, with progress."""
    open_ = [b for b in BADGES if b.key not in earned]
    if not open_:
        return None
    best = max(open_, key=lambda b: float(counters.get(b.counter, 0) or 0) / b.threshold)
    have = float(counters.get(best.counter, 0) or 0)
    return {
        "key": best.key,
        "title": best.title,
        "description": best.description,
        "have": int(have),
        "need": best.threshold,
        "share": round(min(have / best.threshold, 1.0), 3),
    }


@dataclass(frozen=True)
class Quest:
    key: str
    title: str
    counter: str  # a weekly counter, `week:<key>:<counter>`
    target: int
    points: int


QUESTS: tuple[Quest, ...] = (
    Quest("post-3", "Publish three posts this week", "posts", 3, 30),
    Quest("verify-2", "Get two tasks verified this week", "tasks_verified", 2, 50),
    Quest("reply-5", "Answer five brand messages this week", "replies", 5, 20),
)
