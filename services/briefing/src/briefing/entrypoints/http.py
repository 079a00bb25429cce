"""The briefing's HTTP API: the figures of a period, and the briefing itself as Markdown, HTML or PDF."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from roadbranch_shared.auth import Role, require_roles
from roadbranch_shared.errors import ApiError, FieldError

from briefing.adapters.pdf import FontMissing, briefing_pdf
from briefing.app.figures import FigureBook
from briefing.domain.periods import Period, PeriodError, parse_period
from briefing.domain.text import compose, render

log = logging.getLogger(__name__)
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
    format: Annotated[str, Query(pattern="^(markdown|html|pdf)$")] = "markdown",
) -> Response:
    """The briefing (工作简报) for the period, in the structure of the county's published briefing:
    Markdown, HTML, or a PDF to print or send on (A4, 503 `pdf_font_missing` if the CJK font is
    not installed)."""
    chosen = _period(period)
    book = _book(request)
    composed = compose(await book.figures(chosen), chosen, book.county_name)
    if format == "pdf":
        try:
            document = await asyncio.to_thread(briefing_pdf, composed, request.app.state.pdf_fonts)
        except FontMissing as exc:
            log.error("the PDF briefing cannot be set: %s", exc)
            raise ApiError(
                503, "pdf_font_missing", "服务器未安装简报所需的中文字体，暂时无法生成PDF。"
            ) from exc
        filename = quote(f"{book.county_name}工作简报-{period}.pdf")
        return Response(
            document,
            media_type="application/pdf",
            # An ASCII name for old clients, the Chinese one for the others (RFC 6266).
            headers={
                "Content-Disposition": f'attachment; filename="briefing-{period}.pdf"; '
                f"filename*=UTF-8''{filename}"
            },
        )
    text = render(composed, format)
    if format == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
