"""The seed county's figures, checked first on the stack every test of this folder shares
(conftest.py): the pilot played with the county briefing's numbers gives every figure of the
briefing; Prometheus scrapes the six services, every dashboard query answers and the figures it
sees are the seed's; the demo's staff and a pilot driver sign in with identity and every service
accepts their tokens."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from console_support import ROOT
from pilot import SEED_PLAN, SignIn, differences, synthetic_people
from roadbranch_shared.dashboards import dashboard_metric_names, dashboard_queries
from roadbranch_shared.devstack.process import free_port

pytestmark = pytest.mark.integration
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"


def exported_names(text: str) -> set[str]:
    """Metric names a /metrics page offers: its samples, and the series its declared counters and
    histograms will have once something happens (a labelled counter has no sample before that)."""
    names = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(kind, ("",))
            names |= {name, *(name + suffix for suffix in suffixes)}
    return names


def test_the_seed_pilot_gives_every_figure_of_the_county_briefing(seed_county: dict[str, Any]) -> None:
    figures, text = seed_county["figures"], seed_county["text"]
    assert differences(seed_county["pilot"].expected_figures(), figures) == []
    # The seed briefing's numbers, each as the generated briefing states it.
    for sentence in (
        "共核查货车司机64名",
        "甄别党员货车司机9名",
        "建立“一人一档”台账9份",
        "设“双组长”2名，下设5个工作小组",
        "选优配强行业党委委员7名",
        "配齐流动党员党支部委员5名",
        "对行业党委委员、支部委员全覆盖轮训",
        "选派3名指导员蹲点督导",
        "行业党委书记讲党课3次",
        "其中在修理厂开讲1次",
        "开展主题党日活动1次，其中重温入党誓词1次",
        "依托峨曲古乡公路养护站现有硬件设施打造“暖心之家”1处",
        "开展“送温暖、送健康、送服务”活动3次，慰问党员司机9名，非党员司机22人",
        "等物品223件，帮助货车司机解决证件年审、看病就医等困难问题3件",
    ):
        assert sentence in text, sentence
    assert "第一次在修理厂上党课" in text
    assert "我都会铭记自己是一名党员，带头遵守交通规则。”——党员货车司机（在“送温暖”走访中）" in text
    # No provider is configured, so everything reaches the inbox; each member driver at least has
    # his welcome (alone or in a digest), and the briefing says how many went out.
    inbox = figures["notify"]["sent_by_channel"].get("inbox", 0)
    assert inbox >= SEED_PLAN.members, figures["notify"]
    assert f"本期共向货车司机发送提醒和学习通知{inbox}条" in text


def test_the_seed_briefing_prints_as_a_pdf_with_its_text_and_its_layout(seed_county: dict[str, Any]) -> None:
    """The same briefing as a PDF: every sentence of the text is on its pages (read back from the
    PDF), the pages are A4 with the title in bold, red part headings and a page number, and they
    render (the first page kept as a screenshot)."""
    staff = {"Authorization": f"Bearer {seed_county['pilot'].tokens.by_name['staff']}"}
    answer = (
        seed_county["pilot"]
        .api["briefing"]
        .http.get("/v1/briefing", params={"period": "all", "format": "pdf"}, headers=staff)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    document = pdfium.PdfDocument(answer.content)
    pages = [document[i] for i in range(len(document))]
    assert len(pages) >= 2
    assert all(round(p.get_width()) == 595 and round(p.get_height()) == 842 for p in pages), "A4"
    printed = "".join(p.get_textpage().get_text_range() for p in pages)
    printed = printed.replace("\r", "").replace("\n", "").replace("\u3000", "")
    markdown = seed_county["text"]
    for sentence in (
        "共核查货车司机64名",
        "甄别党员货车司机9名",
        "依托峨曲古乡公路养护站",
        "第一次在修理厂上党课",
    ):
        assert sentence in markdown, sentence
        assert sentence in printed, sentence
    for heading in ("全力摸清底数，把党员货车司机“找出来”", "提供精准服务，把党员货车司机“暖起来”"):
        assert heading in printed
    assert f"第 1 页 共 {len(pages)} 页" in printed
    first = pages[0].render(scale=2).to_pil().convert("RGB")
    path = seed_county["shots"].folder / "briefing-pdf-1.png"
    first.save(path)
    pixels = list(first.get_flattened_data())
    ink = sum(1 for r, g, b in pixels if r + g + b < 200) / len(pixels)
    red = sum(1 for r, g, b in pixels if r > 140 and g < 60 and b < 60)
    assert ink > 0.01, "text on the first page"
    assert red > 500, "a red part heading and its rule"


def test_prometheus_scrapes_the_six_services_and_every_dashboard_query_answers(
    seed_county: dict[str, Any], tmp_path: Path
) -> None:
    services = seed_county["services"]
    exported: set[str] = set()
    for url in services.urls.values():
        exported |= exported_names(httpx.get(f"{url}/metrics", timeout=10).text)
    queried = dashboard_metric_names(DASHBOARDS) - {"up"}
    assert queried <= exported, f"dashboards query metrics no service exports: {sorted(queried - exported)}"

    binary = shutil.which("prometheus")
    assert binary, "Prometheus (Debian's prometheus package) is installed by `make test`"
    port = free_port()
    targets = [
        {"targets": [url.removeprefix("http://")], "labels": {"service": name}}
        for name, url in services.urls.items()
    ]
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "roadbranch", "metrics_path": "/metrics", "static_configs": targets}],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    log = (tmp_path / "prometheus.log").open("wb")
    server = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api/v1/query"

    def query(expr: str) -> list[dict[str, Any]]:
        response = httpx.get(api, params={"query": expr}, timeout=10)
        response.raise_for_status()  # a starting Prometheus answers 503 in plain text
        answer = response.json()
        assert answer["status"] == "success", (expr, answer)
        return list(answer["data"]["result"])

    try:
        deadline = time.monotonic() + 60
        up: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                up = query('up{job="roadbranch"} == 1')
                if len(up) == len(services.urls) and query(
                    'count(roadbranch_briefing_figure{job="roadbranch"})'
                ):
                    break
            time.sleep(0.5)
        assert sorted(r["metric"]["service"] for r in up) == sorted(services.urls), "every service scraped"
        for dashboard in sorted(DASHBOARDS.glob("*.json")):
            for expr in dashboard_queries(json.loads(dashboard.read_text(encoding="utf-8"))):
                query(expr)  # valid PromQL over the real series
        county = seed_county["county"]
        for figure, value in (("drivers_checked", 64), ("members_verified", 9), ("items_handed_out", 223)):
            found = query(f'roadbranch_briefing_figure{{county="{county}", figure="{figure}", key=""}}')
            assert [float(r["value"][1]) for r in found] == [value], figure
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_people_sign_in_with_identity_and_every_service_accepts_their_tokens(
    seed_county: dict[str, Any],
) -> None:
    """The demo's accounts, one per staff role, and a pilot driver signing in by SMS code: each token
    is verified by all six services (issuer, audience, expiry, the JWKS fetched from identity) and
    carries the role the account holds; role checks then apply as for any caller."""
    services = seed_county["services"]
    sign_in = SignIn(services.urls["identity"])
    accounts = sign_in.demo_accounts()
    assert {role for role, _, _ in accounts} >= {"administrator", "work_group_staff", "org_department"}
    for role, username, password in accounts:
        token = sign_in.password(username, password)["access_token"]
        for name, url in services.urls.items():
            me = httpx.get(f"{url}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert me.status_code == 200, (name, role, me.text)
            assert me.json()["role"] == role, name
    staff = sign_in.password("zhuanban", "Daolu-meigu-2026")["access_token"]
    figures = httpx.get(
        services.urls["briefing"] + "/v1/figures",
        params={"period": "all"},
        headers={"Authorization": f"Bearer {staff}"},
        timeout=30,
    )
    assert figures.status_code == 200, figures.text
    operator = sign_in.password("yunwei", "Daolu-meigu-2026")["access_token"]
    refused = httpx.post(
        services.urls["welfare"] + "/v1/campaigns",
        json={"kind": "warmth", "title": "送温暖"},
        headers={"Authorization": f"Bearer {operator}"},
        timeout=30,
    )
    assert refused.status_code == 403, "a signed-in operator is still only an operator"

    phone = synthetic_people(1)[0].phone
    driver = sign_in.driver(phone, services.sms)
    assert driver["driver_id"]
    for name, url in services.urls.items():
        me = httpx.get(
            f"{url}/v1/whoami", headers={"Authorization": f"Bearer {driver['access_token']}"}, timeout=30
        )
        assert me.json()["driver_id"] == driver["driver_id"], name
    assert phone not in (services.processes["identity"].log.read_text(encoding="utf-8"))
