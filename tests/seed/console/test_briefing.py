"""The briefing page in real Chromium: the seed's figures, the preview and the download. It runs
before every other console test, while the figures are still the seed's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from console_support import new_page, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


def test_the_briefing_page_shows_the_seed_figures(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], "zuzhibu")
    page.get_by_role("menuitem", name="工作简报").click()
    figures = page.locator("[data-test=figures]")
    # The seed's figures (the county briefing's), as the pilot left them: this test runs first.
    expect(figures).to_contain_text("摸排司机64")
    expect(figures).to_contain_text("找出党员9")
    expect(figures).to_contain_text("结对帮带5")
    preview = page.frame_locator("[data-test=briefing-preview]")
    expect(preview.locator("h1")).to_have_text("做好货车司机党建宣传工作简报")
    for sentence in ("选优配强行业党委委员7名", "慰问党员司机"):
        expect(preview.locator("body")).to_contain_text(sentence)
    console["shots"].take(page, "console-briefing")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载（Markdown）").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("#")
    assert "做好货车司机党建宣传工作简报" in text
    with page.expect_download() as printable:
        page.get_by_role("button", name="下载（PDF，可打印）").click()
    assert printable.value.suggested_filename.endswith(".pdf")
    assert Path(printable.value.path()).read_bytes().startswith(b"%PDF-")
