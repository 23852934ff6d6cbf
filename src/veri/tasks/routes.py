"""Tasks API: brands set tasks; creators accept them and submit proof (JSON, or a multipart
form with a screenshot); brands and admins review what needs a person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from veri.dependencies import DbSession
from veri.errors import Invalid, TooLarge
from veri.identity.deps import CurrentPrincipal
from veri.tasks import service
from veri.tasks.proofs import MAX_BYTES
from veri.tasks.schemas import ProofIn, ReviewIn, SubmissionOut, TaskIn, TaskOut

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tasks"])


class ReviewItem(BaseModel):
    task: TaskOut
    submission: SubmissionOut


class TrailEntry(BaseModel):
    actor: str
    action: str
    reason: str
    created_at: datetime


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(principal: CurrentPrincipal, db: DbSession) -> list[TaskOut]:
    """A creator's tasks (with their own progress on each), or a brand's, or every task (admin)."""
    return service.list_tasks(db, principal=principal)


@router.post("/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskOut)
def create_task(data: TaskIn, principal: CurrentPrincipal, db: DbSession) -> TaskOut:
    return service.task_out(service.create_task(db, principal=principal, data=data))


@router.get("/tasks/review", response_model=list[ReviewItem])
def review_queue(principal: CurrentPrincipal, db: DbSession) -> list[ReviewItem]:
    """Proofs waiting for a person: the brand's own tasks (all of them for an admin)."""
    return [
        ReviewItem(task=service.task_out(t), submission=service.submission_out(s))
        for s, t in service.review_queue(db, principal=principal)
    ]


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> TaskOut:
    return service.list_one(db, principal=principal, task_id=task_id)


@router.post("/tasks/{task_id}/accept", response_model=SubmissionOut)
def accept_task(task_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> SubmissionOut:
    return service.submission_out(service.accept_task(db, principal=principal, task_id=task_id))


@router.post("/tasks/{task_id}/proof", status_code=status.HTTP_201_CREATED, response_model=SubmissionOut)
def submit_proof(task_id: uuid.UUID, data: ProofIn, principal: CurrentPrincipal, db: DbSession) -> SubmissionOut:
    """A link to the post (or its content id) and, optionally, the views claimed."""
    return service.submission_out(service.submit_proof(db, principal=principal, task_id=task_id, proof=data))


@router.post("/tasks/{task_id}/screenshot", status_code=status.HTTP_201_CREATED, response_model=SubmissionOut)
async def submit_screenshot(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    screenshot: Annotated[UploadFile, File(description=f"PNG, JPEG or WebP, at most {MAX_BYTES} bytes")],
    post_url: Annotated[str, Form(max_length=500)] = "",
    claimed_views: Annotated[int, Form(ge=0, le=10**15)] = 0,
) -> SubmissionOut:
    """A screenshot as proof (multipart), read no further than its size limit."""
    data = await screenshot.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TooLarge(
            f"screenshot: over the limit of {MAX_BYTES // (1024 * 1024)} MB",
            detail=[{"field": "screenshot", "reason": f"at most {MAX_BYTES} bytes"}],
        )
    try:
        proof = ProofIn(post_url=post_url, claimed_views=claimed_views)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(str(first["loc"][0]) if first["loc"] else "body", first["msg"]) from None
    submission = service.submit_proof(db, principal=principal, task_id=task_id, proof=proof, screenshot=data)
    return service.submission_out(submission)


@router.get("/submissions/{submission_id}/screenshot")
def screenshot(submission_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    """The uploaded screenshot, to the creator who sent it, the task's brand and admins."""
    found = service.proof_file(db, principal=principal, submission_id=submission_id)
    return Response(
        found.data,
        media_type=found.media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": "inline",
        },
    )


@router.get("/submissions/{submission_id}/trail", response_model=list[TrailEntry])
def trail(submission_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> list[TrailEntry]:
    """The audit trail: submitted, automatic verdicts, people's decisions."""
    return [
        TrailEntry(actor=r.actor, action=r.action, reason=r.reason, created_at=r.created_at)
        for r in service.trail(db, principal=principal, submission_id=submission_id)
    ]


@router.post("/submissions/{submission_id}/review", response_model=SubmissionOut)
def review(submission_id: uuid.UUID, data: ReviewIn, principal: CurrentPrincipal, db: DbSession) -> SubmissionOut:
    """Approve or reject (with a reason) a proof of the brand's own task."""
    return service.submission_out(
        service.review_submission(db, principal=principal, submission_id=submission_id, data=data)
    )
