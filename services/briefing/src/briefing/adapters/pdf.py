"""The briefing as a PDF (工作简报), laid out as the county prints it: the title centred in bold, the
county and period under it, the drivers' words set off in red-ruled blocks, each part under its red
heading, paragraphs indented by two characters, the page number at the foot of every page.

Set in Noto Serif CJK (Debian's fonts-noto-cjk, the Simplified Chinese face of its collection) with
fpdf2, which embeds only the glyphs used: the seed's two pages come to about 140 KB.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTCollection
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from briefing.domain.text import Briefing, Quote

REGULAR = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
BOLD = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")
RED = (176, 0, 0)
GREY = (85, 85, 85)
BODY_SIZE = 12  # points
PT = 25.4 / 72  # millimetres in a point


class FontMissing(RuntimeError):
    """The CJK font is not installed (Debian: fonts-noto-cjk)."""


@dataclass(frozen=True)
class Fonts:
    regular: Path = REGULAR
    bold: Path = BOLD


@cache
def _simplified_face(path: Path) -> int:
    """Which font of the collection is the Simplified Chinese one (…CJK SC)."""
    if not path.is_file():
        raise FontMissing(f"{path} is missing: install Debian's fonts-noto-cjk")
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    for number, font in enumerate(TTCollection(str(path)).fonts):
        if str(font["name"].getDebugName(1) or "").endswith(" SC"):
            return number
    return 0


class _Page(FPDF):
    def footer(self) -> None:
        self.set_y(-18)
        self.set_font("serif", size=9)
        self.set_text_color(*GREY)
        self.cell(0, 8, f"第 {self.page_no()} 页 共 {{nb}} 页", align="C")


def briefing_pdf(b: Briefing, fonts: Fonts = Fonts()) -> bytes:
    """The briefing `b` as PDF bytes; FontMissing if the font is not installed."""
    pdf = _Page(format="A4")
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=25)
    pdf.set_title(b.title)
    pdf.set_author(b.county_name)
    pdf.set_creator("roadbranch")
    pdf.add_font("serif", fname=str(fonts.regular), collection_font_number=_simplified_face(fonts.regular))
    pdf.add_font("serif", "B", fname=str(fonts.bold), collection_font_number=_simplified_face(fonts.bold))
    pdf.add_page()

    pdf.set_font("serif", "B", 20)
    pdf.multi_cell(0, 11, b.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("serif", size=11)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 9, f"{b.county_name} · {b.period_title}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)

    for quote in b.lead:
        _quote(pdf, quote)
    for paragraph in b.opening:
        _paragraph(pdf, paragraph)
    for part in b.parts:
        _heading(pdf, part.title)
        for quote in part.quotes:
            _quote(pdf, quote)
        for paragraph in part.paragraphs:
            _paragraph(pdf, paragraph)
    if b.closing:
        pdf.ln(2)
    for paragraph in b.closing:
        _paragraph(pdf, paragraph)
    return bytes(pdf.output())


def _paragraph(pdf: FPDF, text: str) -> None:
    """Justified, the first line indented by two characters (leading ideographic spaces would be
    taken as a place to break the line)."""
    pdf.set_font("serif", size=BODY_SIZE)
    with (
        pdf.text_columns(text_align="J", line_height=1.6) as columns,
        columns.paragraph(first_line_indent=2 * BODY_SIZE * PT, bottom_margin=2.5) as paragraph,
    ):
        paragraph.write(text)


def _heading(pdf: FPDF, title: str) -> None:
    pdf.ln(3)
    if pdf.will_page_break(30):  # a heading never ends a page alone
        pdf.add_page()
    pdf.set_font("serif", "B", 14)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 9, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def _quote(pdf: FPDF, quote: Quote) -> None:
    said = f"“{quote.text}”——{quote.speaker}" + (f"（{quote.context}）" if quote.context else "")
    pdf.set_font("serif", size=12)
    top, page = pdf.get_y(), pdf.page_no()
    pdf.set_x(pdf.l_margin + 6)
    pdf.set_text_color(51, 51, 51)
    pdf.multi_cell(pdf.epw - 6, 8, said, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    if pdf.page_no() == page:  # the red rule at its left (a block split by a page goes without)
        pdf.set_draw_color(*RED)
        pdf.set_line_width(1)
        pdf.line(pdf.l_margin + 1.5, top + 1, pdf.l_margin + 1.5, pdf.get_y() - 1)
    pdf.ln(2)
