"""Settings of the briefing service, from `ROADBRANCH_BRIEFING_*` environment variables."""

from pathlib import Path

from pydantic import Field
from roadbranch_shared.settings import ServiceSettings, settings_for

from briefing.adapters.pdf import BOLD, REGULAR


class Settings(settings_for("briefing")):  # type: ignore[misc]
    county: str = Field(
        default="meigu", description="the county the figures are for (the roster's county id)"
    )
    county_name: str = Field(default="美姑县", description="the county's name as the briefing writes it")
    consumer_group: str = Field(default="briefing", description="Kafka consumer group of the view")
    figures_interval_seconds: float = Field(
        default=15, gt=0, description="how often the gauges are recomputed"
    )
    pdf_font_regular: Path = Field(
        default=REGULAR, description="the CJK font of the PDF briefing's text (Debian's fonts-noto-cjk)"
    )
    pdf_font_bold: Path = Field(default=BOLD, description="its bold face (title and headings)")


__all__ = ["ServiceSettings", "Settings"]
