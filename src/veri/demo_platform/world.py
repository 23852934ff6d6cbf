"""The demo platform's accounts and posts: made up on first sight of a handle, from a seed, so
the same handle always has the same audience and history. Numbers follow the simulator's
curve: a post reaches `audience x quality x noise` people, approached as 1 - e^(-age/tau), with
likes, comments, shares and saves as rates of its views. Thread-safe."""

from __future__ import annotations

import hashlib
import math
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from veri.simulate.world import log_normal_noise

__all__ = ["DemoAccount", "DemoPost", "Numbers", "World"]

DAY = 86_400.0
_TOPICS = ("morning routine", "quick recipe", "gear review", "behind the scenes", "Q&A", "challenge", "tutorial")


@dataclass(frozen=True)
class Numbers:
    views: int
    likes: int
    comments: int
    shares: int
    saves: int
    reach: int


@dataclass
class DemoPost:
    id: str
    title: str
    published_at: float
    reach: float
    tau_days: float
    like_rate: float

    def numbers(self, now: float) -> Numbers:
        age = max(0.0, now - self.published_at) / DAY
        views = int(self.reach * (1 - math.exp(-age / self.tau_days)))
        likes = int(views * self.like_rate)
        return Numbers(
            views=views,
            likes=likes,
            comments=int(likes / 12),
            shares=int(likes / 30),
            saves=int(likes / 18),
            reach=int(views * 0.72),
        )


@dataclass
class DemoAccount:
    platform: str
    handle: str
    external_id: str
    display_name: str
    audience: int
    quality: float
    created_at: float
    posts: list[DemoPost] = field(default_factory=list)  # oldest first
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def followers(self, now: float) -> int:
        # A slow, steady growth: about 0.1% a day.
        return int(self.audience * (1 + 0.001 * max(0.0, now - self.created_at) / DAY))

    def newest_first(self, now: float) -> list[DemoPost]:
        return [p for p in reversed(self.posts) if p.published_at <= now]


def _external_id(platform: str, rng: random.Random) -> str:
    if platform == "youtube":
        return "UC" + "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=22))
    if platform == "instagram":
        return str(rng.randrange(17_800_000_000_000_000, 17_899_999_999_999_999))
    if platform == "tiktok":
        return "-000" + "".join(rng.choices(string.ascii_letters + string.digits, k=28))
    return str(rng.randrange(100_000_000, 999_999_999))


def _post_id(platform: str, rng: random.Random) -> str:
    if platform == "youtube":
        return "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=11))
    if platform == "instagram":
        return str(rng.randrange(17_900_000_000_000_000, 17_999_999_999_999_999))
    if platform == "tiktok":
        return str(rng.randrange(7_000_000_000_000_000_000, 7_399_999_999_999_999_999))
    return str(rng.randrange(1_000_000_000, 2_999_999_999))


class World:
    def __init__(self, *, seed: int, posts_per_account: int, clock: Callable[[], float]):
        self.seed = seed
        self.posts_per_account = posts_per_account
        self.clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], DemoAccount] = {}
        self._by_external: dict[tuple[str, str], DemoAccount] = {}
        self._posts: dict[tuple[str, str], tuple[DemoAccount, DemoPost]] = {}

    def account(self, platform: str, handle: str) -> DemoAccount:
        """The account `handle` on `platform`, made (with its history) the first time it is named."""
        with self._lock:
            found = self._accounts.get((platform, handle))
            if found is not None:
                return found
            digest = hashlib.sha256(f"{self.seed}:{platform}:{handle}".encode()).digest()
            rng = random.Random(int.from_bytes(digest[:8], "big"))
            now = self.clock()
            account = DemoAccount(
                platform=platform,
                handle=handle,
                external_id=_external_id(platform, rng),
                display_name=handle.replace("_", " ").replace(".", " ").title(),
                audience=max(300, int(rng.paretovariate(1.15) * 2500)),
                quality=rng.betavariate(2, 3),
                created_at=now,
                rng=rng,
            )
            # A history: a post every 2-5 days, the newest a few hours old.
            ages = [rng.uniform(0.1, 0.5)]
            for _ in range(self.posts_per_account - 1):
                ages.append(ages[-1] + rng.uniform(2.0, 5.0))
            for days_ago in reversed(ages[: self.posts_per_account]):
                self._add_post(account, now - days_ago * DAY)
            self._accounts[(platform, handle)] = account
            self._by_external[(platform, account.external_id)] = account
            return account

    def by_external_id(self, platform: str, external_id: str) -> DemoAccount | None:
        with self._lock:
            return self._by_external.get((platform, external_id))

    def post(self, platform: str, post_id: str) -> tuple[DemoAccount, DemoPost] | None:
        with self._lock:
            return self._posts.get((platform, post_id))

    def publish(self, platform: str, handle: str) -> DemoPost:
        """A new post, published now."""
        account = self.account(platform, handle)
        with self._lock:
            return self._add_post(account, self.clock())

    def accounts(self) -> list[DemoAccount]:
        with self._lock:
            return list(self._accounts.values())

    def _add_post(self, account: DemoAccount, at: float) -> DemoPost:
        rng = account.rng
        post = DemoPost(
            id=_post_id(account.platform, rng),
            title=f"{rng.choice(_TOPICS).capitalize()} #{len(account.posts) + 1}",
            published_at=at,
            reach=account.audience * (0.08 + 0.5 * account.quality) * log_normal_noise(rng, 0.6),
            tau_days=rng.uniform(1.0, 4.0),
            like_rate=0.02 + 0.08 * account.quality,
        )
        account.posts.append(post)
        self._posts[(account.platform, post.id)] = (account, post)
        return post
