"""Deciding a proof: verified, rejected, sent to a person, or waiting for evidence; and the
fraud signals that send a proof to a person with its reasons.

Pure functions over what the platform observed (posts and their metrics from content events,
the creator's own history, earlier proofs' screenshot hashes); they never read a simulator's
truth. The `scoring` consumer group calls `decide` when a proof or new evidence arrives.
"""

from __future__ import annotations

import re
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "CLAIM_TOLERANCE",
    "Decision",
    "History",
    "Post",
    "Proof",
    "TaskSpec",
    "decide",
    "hamming",
    "history_of",
    "suspicions",
]

Outcome = Literal["verified", "rejected", "needs_review", "pending"]

# A claim may run ahead of the last measurement (views keep coming between a snapshot and a
# screenshot) but not by this much.
CLAIM_TOLERANCE = 1.3
# Evidence this old does not settle a claim: wait for a newer measurement.
FRESH_EVIDENCE = timedelta(hours=24)
SPIKE_FACTOR = 6.0  # views this many times the creator's usual
BOUGHT_LIKE_RATE = 0.4  # likes per view below this share of the creator's usual
NEAR_DUPLICATE_BITS = 6  # of 64: perceptual hashes this close are the same screenshot
MIN_HISTORY = 3  # posts before the creator's own history can call something unusual
PREDATE_TOLERANCE = timedelta(hours=1)
# A post that has not shown up this long after the due date (or submission) never will.
EVIDENCE_GRACE = timedelta(days=3)


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    created_at: datetime
    hashtag: str = ""
    platform: str = ""
    views_target: int = 0
    due_at: datetime | None = None


@dataclass(frozen=True)
class Proof:
    creator_id: uuid.UUID
    kind: str
    submitted_at: datetime
    content_id: uuid.UUID | None = None
    claimed_views: int = 0
    image_hash: str | None = None


@dataclass(frozen=True)
class Post:
    content_id: uuid.UUID
    creator_id: uuid.UUID
    platform: str
    title: str
    published_at: datetime | None
    views: int
    likes: int
    measured_at: datetime | None
    history: tuple[tuple[datetime, int], ...] = ()  # (measured at, views), any order

    def views_by(self, moment: datetime | None) -> int:
        """The most views measured at or before `moment` (all of them without one)."""
        if moment is None:
            return self.views
        seen = [views for at, views in self.history if at <= moment]
        if not self.history and self.measured_at is not None and self.measured_at <= moment:
            return self.views
        return max(seen, default=0)

    def measured_after(self, moment: datetime) -> bool:
        if self.history:
            return any(at > moment for at, _ in self.history)
        return self.measured_at is not None and self.measured_at > moment


@dataclass(frozen=True)
class History:
    """The creator's other posts: their usual views and likes per view."""

    posts: int = 0
    median_views: float | None = None
    median_like_rate: float | None = None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: list[str] = field(default_factory=list)  # what a person reads
    flags: list[str] = field(default_factory=list)  # fraud signals among them


def history_of(posts: Sequence[Post], excluding: uuid.UUID | None = None) -> History:
    measured = [p for p in posts if p.content_id != excluding and p.views > 0]
    if not measured:
        return History()
    return History(
        posts=len(measured),
        median_views=statistics.median(p.views for p in measured),
        median_like_rate=statistics.median(p.likes / p.views for p in measured),
    )


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _informative(image_hash: str) -> bool:
    """A blank or single-colour image hashes to (nearly) all zeros or ones: it matches every
    other blank image and proves nothing either way."""
    return 4 <= int(image_hash, 16).bit_count() <= 60


def _fresh(post: Post, proof: Proof) -> bool:
    return post.measured_at is not None and post.measured_at >= proof.submitted_at - FRESH_EVIDENCE


def suspicions(
    task: TaskSpec, proof: Proof, post: Post | None, history: History, earlier_hashes: Sequence[str]
) -> list[str]:
    """Why this proof does not look like the creator's own honest work; empty when nothing does."""
    found: list[str] = []
    if proof.image_hash and _informative(proof.image_hash):
        closest = min((hamming(proof.image_hash, h) for h in earlier_hashes if _informative(h)), default=64)
        if closest <= NEAR_DUPLICATE_BITS:
            found.append(f"reused proof: the screenshot matches an earlier proof ({closest} of 64 bits differ)")
    if post is not None and post.published_at is not None and post.published_at < task.created_at - PREDATE_TOLERANCE:
        found.append(
            f"proof before the task: the post was published {post.published_at:%Y-%m-%d}, "
            f"the task was set {task.created_at:%Y-%m-%d}"
        )
    inflated = post is not None and proof.claimed_views > CLAIM_TOLERANCE * max(post.views, 1)
    if post is not None and inflated and _fresh(post, proof):
        found.append(
            f"claim above the platform's numbers: {proof.claimed_views:,} views claimed, {post.views:,} measured"
        )
    if history.posts >= MIN_HISTORY:
        usual_views, usual_rate = history.median_views or 0, history.median_like_rate or 0
        seen = max(proof.claimed_views, post.views if post is not None else 0)
        if usual_views > 0 and seen > SPIKE_FACTOR * usual_views:
            found.append(
                f"engagement spike: {seen:,} views, {seen / usual_views:.0f}x this creator's usual {usual_views:,.0f}"
            )
        if post is not None and post.views >= 500 and usual_rate > 0:
            rate = post.likes / post.views
            if rate < BOUGHT_LIKE_RATE * usual_rate:
                found.append(
                    f"views without likes: {rate:.2%} likes per view against this creator's usual {usual_rate:.2%}"
                )
    return found


def _waiting_too_long(task: TaskSpec, proof: Proof, now: datetime) -> bool:
    deadline = max(task.due_at or proof.submitted_at, proof.submitted_at) + EVIDENCE_GRACE
    return now >= deadline


def decide(
    task: TaskSpec,
    proof: Proof,
    post: Post | None,
    history: History,
    earlier_hashes: Sequence[str],
    now: datetime,
) -> Decision:
    """The verdict on `proof` given the evidence as of `now` (an event's time, so a replay
    decides the same)."""
    flags = suspicions(task, proof, post, history, earlier_hashes)
    if flags:
        return Decision("needs_review", flags, flags)
    if task.kind in ("screenshot", "deliverable") or (task.kind in ("post", "views") and proof.content_id is None):
        reason = "a person checks this proof"
        if task.due_at is not None and proof.submitted_at > task.due_at:
            reason += f" (submitted after the due date, {task.due_at:%Y-%m-%d})"
        return Decision("needs_review", [reason])
    if task.kind not in ("post", "views"):
        return Decision("needs_review", ["a person checks this proof"])
    if post is None:
        if _waiting_too_long(task, proof, now):
            return Decision("rejected", ["the post was not found on the creator's connected platform"])
        return Decision("pending", ["waiting for the post to appear on the platform"])
    if post.creator_id != proof.creator_id:
        return Decision("rejected", ["the post belongs to another creator"])
    if task.platform and post.platform != task.platform:
        return Decision("rejected", [f"the post is on {post.platform}, the task asks for {task.platform}"])
    tag = task.hashtag.lower().lstrip("#")
    if tag and not re.search(rf"#{re.escape(tag)}(?![\w-])", post.title.lower()):
        return Decision("rejected", [f"the post does not carry #{tag}"])
    if task.kind == "post" and task.due_at is not None and post.published_at and post.published_at > task.due_at:
        return Decision("rejected", [f"the post was published after the due date ({task.due_at:%Y-%m-%d})"])
    if task.kind == "post":
        return Decision("verified", ["the post exists on the platform" + (" with the tag" if task.hashtag else "")])
    if proof.claimed_views and not _fresh(post, proof):
        if _waiting_too_long(task, proof, now):
            return Decision("needs_review", ["no recent measurement to check the claimed views against"])
        return Decision("pending", ["waiting for a measurement of the post's views"])
    target = task.views_target
    reached = post.views_by(task.due_at)
    if reached >= target:
        return Decision("verified", [f"{reached:,} views measured by the due date, the target was {target:,}"])
    if task.due_at is not None and post.measured_after(task.due_at):
        return Decision("rejected", [f"{reached:,} views by the due date, the target was {target:,}"])
    if task.due_at is not None and now > task.due_at + EVIDENCE_GRACE:
        return Decision("rejected", [f"the post did not reach {target:,} views by the due date"])
    return Decision("pending", [f"{post.views:,} of {target:,} views so far"])
