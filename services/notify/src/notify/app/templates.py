"""Rendering the Chinese message templates (Jinja2 files in `notify/templates`, kept as data)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined


class Templates:
    def __init__(self, zone: str, *, driver_app: str | None = None) -> None:
        """`driver_app`: the driver app's address as drivers open it; a push links into it when set."""
        self.zone = ZoneInfo(zone)
        self.env = Environment(
            loader=PackageLoader("notify", "templates"),
            undefined=StrictUndefined,  # a missing field is a bug to see, not a blank in a driver's SMS
            autoescape=False,  # plain text: SMS, WeChat, e-mail bodies
            keep_trailing_newline=False,
        )
        self.env.filters["local"] = self._local
        self.env.filters["local_date"] = self._local_date
        self.env.globals["driver_app"] = driver_app.rstrip("/") if driver_app else None
        raw = resources.files("notify").joinpath("templates/sms_params.toml").read_text(encoding="utf-8")
        self.sms = {
            name: {param: self.env.from_string(source) for param, source in params.items()}
            for name, params in tomllib.loads(raw).items()
        }

    def names(self) -> list[str]:
        return sorted(n.removesuffix(".txt.j2") for n in self.env.list_templates(extensions=["j2"]))

    def render(self, template: str, context: dict[str, Any]) -> str:
        return self.env.get_template(f"{template}.txt.j2").render(**context).strip()

    def sms_params(self, template: str, context: dict[str, Any]) -> dict[str, str]:
        """The variables of `template`'s approved SMS template, in their order (`sms_params.toml`)."""
        return {param: t.render(**context).strip() for param, t in self.sms.get(template, {}).items()}

    def _local(self, moment: datetime | str | None) -> str:
        return self._format(moment, "%-m月%-d日%H:%M")

    def _local_date(self, moment: datetime | str | None) -> str:
        return self._format(moment, "%-m月%-d日")

    def _format(self, moment: datetime | str | None, pattern: str) -> str:
        """A time in the drivers' local time (contexts stored as JSON hold ISO strings)."""
        if moment is None:
            return ""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(self.zone).strftime(pattern)
