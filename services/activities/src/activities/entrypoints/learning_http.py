"""HTTP API of online learning and knowledge tests: content items and reads, the question bank,
quizzes and attempts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role
from roadbranch_shared.domain import DomainError, run_command
from roadbranch_shared.idempotency import Idempotent

from activities.app.access import STAFF, person_of
from activities.entrypoints.meetings_http import Staff, activities, driver_id_of, staff
from activities.entrypoints.models import Attempt, CreateQuiz, PublishContent, Question, ReadContent

router = APIRouter(prefix="/v1", tags=["learning"])
mine_router = APIRouter(prefix="/v1/drivers/me", tags=["learning"])


@mine_router.get("/contents")
async def my_contents(
    request: Request, principal: CurrentPrincipal, limit: int = Query(50, ge=1, le=200)
) -> dict[str, Any]:
    """The learning items pushed to the calling driver, newest first, each with his own read
    (`opened_at`, `confirmed_at`), so his app lists them without a link."""
    driver_id = driver_id_of(principal)
    return {"contents": await activities(request).contents.pushed_to(driver_id, limit)}


@router.post("/contents", status_code=201)
async def publish(body: PublishContent, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """Publish a learning item to an organisation's member drivers or to all; notify pushes it."""
    return await run_command(activities(request).contents.publish(principal, body.fields()))


@router.get("/contents")
async def list_contents(
    request: Request,
    principal: Principal = Staff,
    organisation_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    return {"contents": await activities(request).contents.list(organisation_id, limit)}


@router.get("/contents/{content_id}")
async def view_content(content_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Staff see the read figures; a driver sees the item (opening it counts as a read)."""
    a = activities(request)
    if principal.role == Role.DRIVER:
        driver_id = driver_id_of(principal)

        async def open_item() -> dict[str, Any]:
            read = await a.contents.read(content_id, driver_id, confirmed=False)
            item = await a.contents.content(content_id)
            keep = ("organisation_id", "category", "title", "body", "url", "published_at")
            return {"content_id": content_id, **{k: item.get(k) for k in keep}, "read": read["read"]}

        return await run_command(open_item())
    staff(principal)
    return await run_command(a.contents.view(content_id))


@router.post("/contents/{content_id}/reads")
async def read(
    content_id: str, body: ReadContent, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """A driver records that he opened (or studied: confirmed) an item; only for himself. The first
    open and the first confirmation count; a repeat answers the state as it is."""
    driver_id = driver_id_of(principal)
    work = activities(request).contents.read
    return await once.run(lambda: run_command(work(content_id, driver_id, confirmed=body.confirmed)))


@router.post("/questions", status_code=201)
async def add_question(body: Question, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    return await run_command(activities(request).quizzes.add_question(principal, body.fields()))


@router.get("/questions")
async def list_questions(
    request: Request, principal: Principal = Staff, category: str | None = None
) -> dict[str, Any]:
    return {"questions": await activities(request).quizzes.questions(category)}


@router.post("/quizzes", status_code=201)
async def create_quiz(body: CreateQuiz, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """A knowledge test (or make-up quiz) of bank questions, attached to a meeting."""
    return await run_command(activities(request).quizzes.create(principal, body.fields()))


@router.get("/quizzes/{quiz_id}")
async def view_quiz(quiz_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The questions; staff see the answers and the coverage figures, test takers neither."""
    q = activities(request).quizzes
    if principal.role in STAFF:
        return await run_command(_with_figures(request, quiz_id))
    return await run_command(q.view(quiz_id, with_answers=False))


async def _with_figures(request: Request, quiz_id: str) -> dict[str, Any]:
    q = activities(request).quizzes
    return {**await q.view(quiz_id, with_answers=True), "figures": await q.figures(quiz_id)}


@router.post("/quizzes/{quiz_id}/attempts", status_code=201)
async def attempt(
    quiz_id: str, body: Attempt, request: Request, principal: CurrentPrincipal, once: Idempotent
) -> dict[str, Any]:
    """Take the test (for oneself); staff who run it may record a paper test for a named person."""
    person = person_of(principal)
    if body.person_id and body.person_id != person:
        if principal.role not in STAFF:
            raise DomainError(
                "person_id", "self_only", "只能为本人答题", DomainError.FORBIDDEN
            ).as_api_error()
        quiz = await run_command(activities(request).quizzes.quiz(quiz_id))
        await run_command(activities(request).meetings.managed(quiz["meeting_id"], principal))
        person = body.person_id
    quizzes = activities(request).quizzes
    return await once.run(
        lambda: run_command(quizzes.attempt(quiz_id, person, body.answers, request=once.digest))
    )
