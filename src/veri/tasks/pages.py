"""Task pages: a creator's tasks (accept, submit proof, see the verdict); a brand's tasks and
the form to set one; the review queue of proofs that need a person."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from veri.campaigns import service as campaign_service
from veri.dependencies import DbSession
from veri.errors import TooLarge, VeriError
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import CurrentPrincipal
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.tasks import service
from veri.tasks.proofs import MAX_BYTES
from veri.tasks.schemas import ProofIn, ReviewIn, TaskIn
from veri.web.forms import FormErrors, form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


def _tasks_page(
    request: Request,
    principal: Principal,
    db: DbSession,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    campaigns: list[Any] = []
    if principal.brand_id is not None:
        campaigns, _ = campaign_service.list_campaigns(db, principal=principal, limit=100, offset=0)
    return render(
        request,
        "tasks.html",
        principal,
        tasks=service.list_tasks(db, principal=principal),
        campaigns=campaigns,
        errors=errors or {},
        values=values or {},
        max_mb=MAX_BYTES // (1024 * 1024),
        status_code=status_code,
    )


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    return _tasks_page(request, principal, db)


@router.post("/tasks", response_class=HTMLResponse)
async def create_task(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    values = form_values(await request.form())
    due = values.pop("due_on", "")
    if due:
        try:
            # "By Friday" is by the end of Friday.
            end = datetime.combine(date.fromisoformat(due), time(23, 59, 59), UTC)
            values["due_at"] = end.isoformat()
        except ValueError:
            return _tasks_page(request, principal, db, errors={"due_on": "give a date"}, values=values, status_code=422)
    data, errors = parse_form(TaskIn, values)
    if data is None:
        return _tasks_page(request, principal, db, errors=errors, values=values, status_code=422)
    try:
        task = service.create_task(db, principal=principal, data=data)
    except VeriError as exc:
        if exc.status_code != 422:
            raise
        return _tasks_page(request, principal, db, errors={"form": exc.message}, values=values, status_code=422)
    return redirect("/tasks", flash=f"Task set: {task.title}.")


@router.post("/tasks/{task_id}/accept", response_class=HTMLResponse)
def accept(task_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    service.accept_task(db, principal=principal, task_id=task_id)
    return redirect(f"/tasks#task-{task_id}", flash="Task accepted.")


@router.post("/tasks/{task_id}/proof", response_class=HTMLResponse)
async def submit(request: Request, task_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    form = await request.form()
    values = form_values(form)
    upload = form.get("screenshot")
    screenshot = None
    if isinstance(upload, UploadFile) and upload.filename:
        screenshot = await upload.read(MAX_BYTES + 1)
        if len(screenshot) > MAX_BYTES:
            raise TooLarge(f"screenshot: over the limit of {MAX_BYTES // (1024 * 1024)} MB")
    data, errors = parse_form(ProofIn, values)
    if data is None:
        return _tasks_page(request, principal, db, errors=errors, status_code=422)
    try:
        service.submit_proof(db, principal=principal, task_id=task_id, proof=data, screenshot=screenshot)
    except VeriError as exc:
        if exc.status_code >= 500 or exc.status_code in (401, 403, 404):
            raise
        return _tasks_page(request, principal, db, errors={f"task-{task_id}": exc.message}, status_code=exc.status_code)
    return redirect(f"/tasks#task-{task_id}", flash="Proof submitted: it is being verified.")


@router.get("/tasks/review", response_class=HTMLResponse)
def review_page(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    if principal.role is Role.CREATOR:
        return redirect("/tasks")
    queue = service.review_queue(db, principal=principal)
    return render(request, "task_review.html", principal, queue=queue, errors={})


@router.post("/submissions/{submission_id}/review", response_class=HTMLResponse)
async def review(request: Request, submission_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    data, errors = parse_form(ReviewIn, form_values(await request.form()))
    if data is None:
        queue = service.review_queue(db, principal=principal)
        return render(
            request, "task_review.html", principal, queue=queue, errors={str(submission_id): errors}, status_code=422
        )
    service.review_submission(db, principal=principal, submission_id=submission_id, data=data)
    verdict = "approved" if data.decision == "approve" else "rejected"
    return redirect("/tasks/review", flash=f"Proof {verdict}.")
