"""Tasks: a brand sets one on a campaign or a deal (the platform has its own), a creator takes
it on and submits proof once, and the proof is verified: automatically by the `scoring` group
from the platform's numbers, or by the brand or an admin in the review queue.

Who may do what: only the task's brand (or an admin) sets and reviews it, so a creator cannot
approve their own proof; a creator sees only tasks meant for them and only their own proofs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from veri.campaigns import service as campaign_service
from veri.creators import service as creator_service
from veri.deals import service as deal_service
from veri.errors import Conflict, Forbidden, Invalid, NotFound
from veri.events.service import emit
from veri.events.types import TaskAccepted, TaskCreated, TaskProofSubmitted, TaskReviewed
from veri.identity.principal import Principal
from veri.live.service import notify, publish
from veri.models.accounts import Role
from veri.models.base import utcnow
from veri.models.tasks import ProofFile, Task, TaskKind, TaskReview, TaskSubmission, TaskSubmissionStatus
from veri.tasks.proofs import read_screenshot
from veri.tasks.repository import TaskRepository
from veri.tasks.schemas import ProofIn, ReviewIn, SubmissionOut, TaskIn, TaskOut

__all__ = [
    "PLATFORM_TASKS",
    "accept_task",
    "create_task",
    "ensure_platform_tasks",
    "get_task",
    "list_one",
    "list_tasks",
    "proof_file",
    "review_queue",
    "review_submission",
    "submission_out",
    "submission_visible",
    "submit_proof",
    "task_out",
    "tell_verdict",
    "trail",
]

log = structlog.get_logger(__name__)

_PLATFORM = uuid.UUID("7a3c1e55-0b7d-4a8e-9f61-1c2d3e4f5a60")
# The platform's own tasks: (kind, title, instructions, points).
PLATFORM_TASKS = (
    (TaskKind.PROFILE, "Complete your profile", "Add a bio, your location, niches and platforms.", 30),
    (TaskKind.CONNECT, "Connect a social account", "Connect one of your accounts on your profile.", 30),
    (TaskKind.FIRST_DEAL, "Complete your first deal", "Deliver a deal and have the brand complete it.", 100),
)
_PROOF_KIND = {TaskKind.SCREENSHOT: "screenshot", TaskKind.VIEWS: "metrics"}


def ensure_platform_tasks(db: Session) -> list[Task]:
    """The platform's tasks, made the first time they are asked for (same ids everywhere)."""
    repo = TaskRepository(db)
    tasks = []
    for kind, title, instructions, points in PLATFORM_TASKS:
        task_id = uuid.uuid5(_PLATFORM, kind.value)
        task = repo.get(task_id)
        if task is None and repo.add_platform_task(task_id, kind, title, instructions, points):
            task = repo.get(task_id)
            emit(
                db,
                TaskCreated(task_id=task_id, kind=kind.value, title=title, points=points),
                subject="platform:tasks",
                actor="system:platform",
            )
        if task is None:  # another request made it a moment ago
            task = repo.get(task_id)
        assert task is not None
        tasks.append(task)
    return tasks


def _creator_id(principal: Principal) -> uuid.UUID:
    if principal.role is not Role.CREATOR or principal.creator_id is None:
        raise Forbidden("only a creator takes on tasks and submits proof")
    return principal.creator_id


def get_task(db: Session, *, principal: Principal, task_id: uuid.UUID) -> Task:
    repo = TaskRepository(db)
    task = repo.get(task_id)
    visible = task is not None and (
        principal.is_admin
        or (principal.brand_id is not None and task.brand_id == principal.brand_id)
        or (
            principal.creator_id is not None
            and principal.role is Role.CREATOR
            and repo.creator_may_see(task, principal.creator_id)
        )
    )
    if task is None or not visible:
        raise NotFound("no such task")
    return task


def create_task(db: Session, *, principal: Principal, data: TaskIn) -> Task:
    if principal.brand_id is None:
        raise Forbidden("only a brand sets tasks on its campaigns and deals")
    creator_id: uuid.UUID | None = None
    campaign_id = data.campaign_id
    if data.deal_id is not None:
        deal = deal_service.get_deal(db, principal=principal, deal_id=data.deal_id)
        if deal_service.party_of(principal, deal) is None:
            raise NotFound("no such deal")
        creator_id, campaign_id = deal.creator_id, deal.campaign_id
    elif campaign_id is not None:
        campaign = campaign_service.get_campaign(db, principal=principal, campaign_id=campaign_id)
        if campaign.brand_id != principal.brand_id:
            raise NotFound("no such campaign")
    if data.due_at is not None and data.due_at <= utcnow():
        raise Invalid("due_at", "must be in the future")
    task = Task(
        kind=TaskKind(data.kind),
        title=data.title,
        instructions=data.instructions,
        brand_id=principal.brand_id,
        campaign_id=campaign_id,
        deal_id=data.deal_id,
        creator_id=creator_id,
        hashtag=data.hashtag.lstrip("#"),
        platform=data.platform,
        views_target=data.views_target,
        due_at=data.due_at,
        points=data.points,
        created_by=principal.user.id,
    )
    db.add(task)
    db.flush()
    emit(
        db,
        TaskCreated(
            task_id=task.id,
            kind=task.kind.value,
            title=task.title,
            brand_id=task.brand_id,
            campaign_id=task.campaign_id,
            deal_id=task.deal_id,
            creator_id=task.creator_id,
            hashtag=task.hashtag,
            platform=task.platform,
            views_target=task.views_target,
            due_at=task.due_at,
            points=task.points,
        ),
        subject=f"creator:{creator_id}" if creator_id else f"campaign:{campaign_id}",
        actor=principal.actor,
    )
    if creator_id is not None:
        creator = creator_service.creator_by_id(db, creator_id)
        if creator is not None:
            notify(db, user_id=creator.user_id, kind="task.new", title=f"New task: {task.title}", link="/tasks")
    return task


def list_tasks(db: Session, *, principal: Principal, limit: int = 200) -> list[TaskOut]:
    repo = TaskRepository(db)
    if principal.role is Role.CREATOR and principal.creator_id is not None:
        ensure_platform_tasks(db)
        tasks = repo.visible_to_creator(principal.creator_id, limit)
        mine = repo.submissions_of(principal.creator_id, [t.id for t in tasks])
        return [task_out(t, mine.get(t.id)) for t in tasks]
    if principal.is_admin:
        return [task_out(t) for t in repo.of_brand(None, limit)]
    if principal.brand_id is not None:
        return [task_out(t) for t in repo.of_brand(principal.brand_id, limit)]
    return []


def list_one(db: Session, *, principal: Principal, task_id: uuid.UUID) -> TaskOut:
    task = get_task(db, principal=principal, task_id=task_id)
    mine = None
    if principal.role is Role.CREATOR and principal.creator_id is not None:
        mine = TaskRepository(db).submission_of(task.id, principal.creator_id)
    return task_out(task, mine)


def accept_task(db: Session, *, principal: Principal, task_id: uuid.UUID) -> TaskSubmission:
    creator_id = _creator_id(principal)
    task = get_task(db, principal=principal, task_id=task_id)
    repo = TaskRepository(db)
    found = repo.submission_of(task.id, creator_id)
    if found is not None:
        return found  # accepting twice is accepting once
    submission = TaskSubmission(task_id=task.id, creator_id=creator_id, accepted_at=utcnow(), flags=[])
    db.add(submission)
    db.flush()
    emit(
        db, TaskAccepted(task_id=task.id, creator_id=creator_id), subject=f"creator:{creator_id}", actor=principal.actor
    )
    return submission


def _platform_check(db: Session, task: Task, creator_id: uuid.UUID) -> str | None:
    """Why a platform task is not done yet (None: it is)."""
    creator = creator_service.creator_by_id(db, creator_id)
    if creator is None:
        return "no creator profile"
    if task.kind is TaskKind.PROFILE:
        missing = [
            name
            for name, value in (
                ("a bio", creator.bio),
                ("your location", creator.location),
                ("niches", creator.niches),
                ("platforms", creator.platforms),
            )
            if not value
        ]
        return f"add {', '.join(missing)} to your profile" if missing else None
    if task.kind is TaskKind.CONNECT:
        connected = creator_service.social_account_count(db, creator_id)
        return None if connected else "connect a social account on your profile first"
    if task.kind is TaskKind.FIRST_DEAL:
        return None if TaskRepository(db).completed_deals(creator_id) else "no deal of yours is completed yet"
    return None


def submit_proof(
    db: Session, *, principal: Principal, task_id: uuid.UUID, proof: ProofIn, screenshot: bytes | None = None
) -> TaskSubmission:
    """One proof per task: a second submission is refused (409), so a task verifies once."""
    creator_id = _creator_id(principal)
    task = get_task(db, principal=principal, task_id=task_id)
    repo = TaskRepository(db)
    accept_task(db, principal=principal, task_id=task.id)
    submission = repo.submission_of(task.id, creator_id, for_update=True)
    assert submission is not None
    if submission.status is not TaskSubmissionStatus.ACCEPTED:
        raise Conflict(f"this task's proof was already submitted (it is {submission.status.value})")
    now = utcnow()
    if task.brand_id is None and task.kind in (TaskKind.PROFILE, TaskKind.CONNECT, TaskKind.FIRST_DEAL):
        missing = _platform_check(db, task, creator_id)
        if missing is not None:
            raise Conflict(f"not done yet: {missing}")
        _decide(db, submission, task, now, "verified", "auto", ["checked on the platform"], actor="auto")
        return submission
    content_id = _resolve_post(db, creator_id, proof)
    if task.kind in (TaskKind.POST, TaskKind.VIEWS) and content_id is None:
        raise Invalid("post_url", "give the link of your post (one of your content items) or its content_id")
    if task.kind is TaskKind.DELIVERABLE and not proof.post_url:
        raise Invalid("post_url", "give the link to what you delivered")
    image_hash = None
    if task.kind is TaskKind.SCREENSHOT and screenshot is None:
        raise Invalid("screenshot", "this task needs a screenshot (PNG, JPEG or WebP)")
    if screenshot is not None:
        shot = read_screenshot(screenshot)
        stored = ProofFile(
            creator_id=creator_id,
            media_type=shot.media_type,
            size_bytes=len(shot.data),
            sha256=shot.sha256,
            data=shot.data,
        )
        db.add(stored)
        db.flush()
        submission.proof_file_id, image_hash = stored.id, shot.image_hash
    submission.status = TaskSubmissionStatus.PENDING
    submission.submitted_at = now
    submission.proof_kind = _PROOF_KIND.get(task.kind, "post_link")
    submission.proof_url = proof.post_url
    submission.content_id = content_id
    submission.claimed_views = proof.claimed_views
    submission.image_hash = image_hash
    db.add(
        TaskReview(submission_id=submission.id, actor=principal.actor, action="submitted", created_at=now, details={})
    )
    db.flush()
    emit(
        db,
        TaskProofSubmitted(
            task_id=task.id,
            creator_id=creator_id,
            kind=submission.proof_kind,
            proof_url=proof.post_url,
            claimed_views=proof.claimed_views,
            content_id=content_id,
            image_hash=image_hash,
            submission_id=submission.id,
        ),
        subject=f"creator:{creator_id}",
        actor=principal.actor,
        occurred_at=now,
    )
    if task.kind in (TaskKind.SCREENSHOT, TaskKind.DELIVERABLE):
        # A person decides these: run the checks now (a reused screenshot, a late delivery) so
        # the proof reaches the review queue with its warnings, before anyone can approve it.
        from veri.scoring.handlers import decide_submission

        decide_submission(db, submission, now)
    return submission


def _resolve_post(db: Session, creator_id: uuid.UUID, proof: ProofIn) -> uuid.UUID | None:
    repo = TaskRepository(db)
    if proof.content_id is not None:
        item = repo.content(proof.content_id)
        if item is None or item.creator_id != creator_id:
            raise Invalid("content_id", "is not one of your posts")
        return item.id
    if proof.post_url:
        item = repo.content_by_url(creator_id, proof.post_url)
        return item.id if item is not None else None
    return None


def _decide(
    db: Session,
    submission: TaskSubmission,
    task: Task,
    now: datetime,
    outcome: str,
    by: str,
    reasons: list[str],
    *,
    actor: str,
) -> None:
    submission.status = TaskSubmissionStatus(outcome)
    submission.decided_at, submission.decided_by = now, actor
    submission.reason = "; ".join(reasons)
    if submission.submitted_at is None:
        submission.submitted_at = now
    db.add(
        TaskReview(
            submission_id=submission.id,
            actor=actor,
            action=outcome,
            reason=submission.reason,
            created_at=now,
            details={},
        )
    )
    db.flush()
    emit(
        db,
        TaskReviewed(
            task_id=task.id,
            creator_id=submission.creator_id,
            outcome=outcome,
            by=by,
            reasons=[r[:300] for r in reasons[:20]],
            points=task.points if outcome == "verified" else 0,
            brand_id=task.brand_id,
        ),
        subject=f"creator:{submission.creator_id}",
        actor=actor if actor != "auto" else "system:verification",
        occurred_at=now,
    )


def _reviewable(db: Session, principal: Principal, submission_id: uuid.UUID) -> tuple[TaskSubmission, Task]:
    """A submission the principal may review: its task's brand or an admin; for anyone else it
    does not exist (a creator never reviews, their own proofs least of all)."""
    repo = TaskRepository(db)
    submission = repo.submission(submission_id, for_update=True)
    task = repo.get(submission.task_id) if submission is not None else None
    allowed = task is not None and (
        principal.is_admin or (principal.brand_id is not None and task.brand_id == principal.brand_id)
    )
    if submission is None or task is None or not allowed:
        if principal.role is Role.CREATOR:
            raise Forbidden("a creator cannot review proofs")
        raise NotFound("no such submission")
    return submission, task


def review_queue(db: Session, *, principal: Principal, limit: int = 100) -> list[tuple[TaskSubmission, Task]]:
    if principal.role is Role.CREATOR:
        raise Forbidden("a creator cannot review proofs")
    if principal.is_admin:
        return TaskRepository(db).to_review(None, limit)
    if principal.brand_id is None:
        return []
    return TaskRepository(db).to_review(principal.brand_id, limit)


def review_submission(db: Session, *, principal: Principal, submission_id: uuid.UUID, data: ReviewIn) -> TaskSubmission:
    submission, task = _reviewable(db, principal, submission_id)
    if submission.status not in (TaskSubmissionStatus.NEEDS_REVIEW, TaskSubmissionStatus.PENDING):
        raise Conflict(f"this proof is {submission.status.value}: there is nothing to review")
    outcome = "verified" if data.decision == "approve" else "rejected"
    by = "admin" if principal.is_admin else "brand"
    reasons = [data.reason or ("approved by the brand" if by == "brand" else "approved by an admin")]
    _decide(db, submission, task, utcnow(), outcome, by, reasons, actor=principal.actor)
    # A person decided: the creator hears now (automatic verdicts are told by the scoring group).
    creator = creator_service.creator_by_id(db, submission.creator_id)
    if creator is not None:
        tell_verdict(db, user_id=creator.user_id, task_id=task.id, title=task.title, outcome=outcome, reasons=reasons)
    return submission


def tell_verdict(
    db: Session, *, user_id: uuid.UUID, task_id: uuid.UUID, title: str, outcome: str, reasons: list[str]
) -> None:
    """Tell a creator their proof was verified or rejected: in the app, by email, and on the
    tasks page they have open."""
    notify(
        db,
        user_id=user_id,
        kind=f"task.{outcome}",
        title=f"Task {outcome}: {title}",
        body="; ".join(reasons),
        link="/tasks",
        email=True,
    )
    publish(db, user_ids=[user_id], kind="task", data={"task_id": str(task_id), "outcome": outcome})


def submission_visible(db: Session, *, principal: Principal, submission_id: uuid.UUID) -> tuple[TaskSubmission, Task]:
    repo = TaskRepository(db)
    submission = repo.submission(submission_id)
    task = repo.get(submission.task_id) if submission is not None else None
    if submission is None or task is None:
        raise NotFound("no such submission")
    if principal.is_admin or (principal.brand_id is not None and task.brand_id == principal.brand_id):
        return submission, task
    if (
        principal.creator_id is not None
        and principal.role is Role.CREATOR
        and submission.creator_id == principal.creator_id
    ):
        return submission, task
    raise NotFound("no such submission")


def proof_file(db: Session, *, principal: Principal, submission_id: uuid.UUID) -> ProofFile:
    submission, _ = submission_visible(db, principal=principal, submission_id=submission_id)
    found = TaskRepository(db).proof_file(submission.proof_file_id) if submission.proof_file_id else None
    if found is None:
        raise NotFound("this proof has no screenshot")
    return found


def trail(db: Session, *, principal: Principal, submission_id: uuid.UUID) -> list[TaskReview]:
    submission, _ = submission_visible(db, principal=principal, submission_id=submission_id)
    return TaskRepository(db).trail(submission.id)


def submission_out(submission: TaskSubmission) -> SubmissionOut:
    out = SubmissionOut.model_validate(submission)
    out.has_screenshot = submission.proof_file_id is not None
    return out


def task_out(task: Task, mine: TaskSubmission | None = None) -> TaskOut:
    return TaskOut(
        id=task.id,
        kind=task.kind,
        title=task.title,
        instructions=task.instructions,
        brand_id=task.brand_id,
        campaign_id=task.campaign_id,
        deal_id=task.deal_id,
        creator_id=task.creator_id,
        hashtag=task.hashtag,
        platform=task.platform,
        views_target=task.views_target,
        due_at=task.due_at,
        points=task.points,
        created_at=task.created_at,
        mine=submission_out(mine) if mine is not None else None,
    )
