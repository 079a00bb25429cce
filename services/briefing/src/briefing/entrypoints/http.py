"""The briefing's HTTP API: the figures of a period, and the briefing itself as Markdown or HTML."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from roadbranch_shared.auth import Role, require_roles
from roadbranch_shared.errors import ApiError, FieldError

from briefing.app.figures import FigureBook
from briefing.domain.periods import Period, PeriodError, parse_period
from briefing.domain.text import compose, render

router = APIRouter(prefix="/v1", tags=["briefing"])
READERS = Depends(
    require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.BRANCH_SECRETARY, Role.OPERATOR)
)
PERIOD_HELP = "all, YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD"
# The shapes parse_period takes (a month or a date it cannot be is still refused there, in Chinese).
_YEAR = r"20\d{2}"  # the years the figures cover (periods.py refuses any other)
_DAY = rf"{_YEAR}-\d{{2}}-\d{{2}}"
PERIOD_PATTERN = rf"^(all|{_YEAR}|{_YEAR}-Q[1-4]|{_YEAR}-(0[1-9]|1[0-2])|{_DAY}\.\.{_DAY})$"


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise ApiError.invalid([FieldError("query.period", "invalid_period", str(exc))]) from exc


def _book(request: Request) -> FigureBook:
    book: FigureBook = request.app.state.figure_book
    return book


@router.get("/figures", dependencies=[READERS])
async def figures(
    request: Request, period: Annotated[str, Query(description=PERIOD_HELP, pattern=PERIOD_PATTERN)] = "all"
) -> dict[str, Any]:
    """The figures of the work in the period, computed from the events the services published."""
    return (await _book(request).figures(_period(period))).as_dict()


@router.get("/briefing", dependencies=[READERS], response_class=Response)
async def briefing(
    request: Request,
    period: Annotated[str, Query(description=PERIOD_HELP, pattern=PERIOD_PATTERN)] = "all",
    format: Annotated[str, Query(pattern="^(markdown|html)$")] = "markdown",
) -> Response:
    """The briefing (工作简报) for the period, in the structure of the county's published briefing."""
    chosen = _period(period)
    book = _book(request)
    text = render(compose(await book.figures(chosen), chosen, book.county_name), format)
    if format == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
