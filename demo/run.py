"""`make demo`: the Meigu pilot, end to end, on a local Kafka and FerretDB.

Starts the stack and the six services as processes, plays the pilot through the services' HTTP APIs
with generated data (see `pilot.py`), waits until the briefing service's figures — computed from the
events — are those of the county briefing, prints the briefing, writes it (Markdown and HTML) into
the run folder, says where the metrics and API docs are, then serves the staff console through the
gateway and keeps everything up until Ctrl-C (`--once`, `make demo ONCE=1`: stops after the briefing).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

import httpx
from roadbranch_shared.devstack import Stack
from roadbranch_shared.devstack.gateway import Gateway
from roadbranch_shared.topics import PROJECT_TOPICS, ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pilot import SEED_PLAN, Pilot, PilotServices, SignIn, settle, settle_notifications, synthetic_people

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "web" / "console" / "dist"  # built by `make web` (a step of `make demo`)
DRIVER_APP = ROOT / "web" / "driver" / "dist"  # the same build
STARTED = time.monotonic()


def step(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def sms_log_of(run_dir: Path) -> Path:
    """Where the demo's SMS sink writes the messages it receives (the drivers' sign-in codes)."""
    return (run_dir / "sms.log").relative_to(ROOT)


def sign_in_help(services: PilotServices, pilot: Pilot, run_dir: Path) -> None:
    """Make the demo accounts, sign a pilot driver in by SMS code, and say how people sign in."""
    identity = services.urls["identity"]
    sign_in = SignIn(identity)
    accounts = sign_in.demo_accounts(branch=pilot.state["branch"], station=pilot.state.get("station"))
    phone = synthetic_people(1)[0].phone
    driver = sign_in.driver(phone, services.sms)
    sms_log = sms_log_of(run_dir)
    print()
    print("登录方式（演示账号）")
    print(f'  员工：POST {identity}/v1/sessions  {{"username": …, "password": …}}')
    for role, username, password in accounts:
        print(f"    {role:<17} 用户名 {username:<11} 密码 {password}")
    print(f'  司机：演示司机手机号 {phone}；POST {identity}/v1/driver-codes {{"phone": …}} 获取验证码，')
    print(f"        验证码见 {sms_log}（演示用短信接收端），再 POST {identity}/v1/driver-sessions 登录。")
    step(f"the demo driver signed in by SMS code as {driver['driver_id']} (his code is in {sms_log})")


def stay_up() -> None:
    """Keep the stack up for people to use until Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C, even where the shell that started us set SIGINT to be ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    step("the stack stays up: press Ctrl-C to stop it (make demo ONCE=1 stops after the briefing)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        # One Ctrl-C reaches us twice (from the terminal and forwarded by `uv run`): let the
        # second not cut the shutdown short, which would leave servers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/run.py", description="The Meigu pilot, end to end.")
    parser.add_argument(
        "--once", action="store_true", help="exit after writing the briefing (make demo ONCE=1)"
    )
    once = parser.parse_args(argv).once
    run_dir = ROOT / "runs" / time.strftime("demo-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    step(f"run folder: {run_dir.relative_to(ROOT)} (data, logs and the briefing of this run)")
    step("preparing Kafka 4.4 (Maven Central) and FerretDB 1.24 (Go build) — cached after the first run")
    stack = Stack(run_dir / "stack")
    info = stack.up()
    services: PilotServices | None = None
    gateway: Gateway | None = None
    try:
        step(f"Kafka on {info.kafka_bootstrap}, FerretDB on {info.mongo_uri}")
        created = asyncio.run(ensure_topics(info.kafka_bootstrap))
        step(f"topics: {len(PROJECT_TOPICS)} project topics and their dead letters, {len(created)} created")
        services = PilotServices(info, run_dir).start(step)
        for name, url in services.urls.items():
            ready = httpx.get(f"{url}/health/ready", timeout=10)
            step(f"{name:<11} {url}  ready: {ready.status_code == 200}")
        pilot = Pilot(SEED_PLAN, services.urls, services.tokens_file, progress=step)
        step("playing the Meigu pilot through the services' APIs (synthetic drivers and members)")
        pilot.play()
        step("waiting until the briefing service has counted every event")
        settle(pilot, progress=step)
        step("waiting until notify has sent what the pilot caused")
        settle_notifications(pilot, progress=step)
        briefing_url = services.urls["briefing"]
        markdown = pilot.api["briefing"].http.get(
            "/v1/briefing",
            params={"period": "all"},
            headers={"Authorization": f"Bearer {pilot.tokens.by_name['staff']}"},
        )
        html = pilot.api["briefing"].http.get(
            "/v1/briefing",
            params={"period": "all", "format": "html"},
            headers={"Authorization": f"Bearer {pilot.tokens.by_name['staff']}"},
        )
        pdf = pilot.api["briefing"].http.get(
            "/v1/briefing",
            params={"period": "all", "format": "pdf"},
            headers={"Authorization": f"Bearer {pilot.tokens.by_name['staff']}"},
        )
        (run_dir / "briefing.md").write_text(markdown.text, encoding="utf-8")
        (run_dir / "briefing.html").write_text(html.text, encoding="utf-8")
        if pdf.status_code == 200:
            (run_dir / "briefing.pdf").write_bytes(pdf.content)
        else:
            step(f"the PDF briefing was not made ({pdf.status_code}): {pdf.text}")
        print()
        print(markdown.text)
        step(f"briefing written to {(run_dir / 'briefing.md').relative_to(ROOT)}, .html and .pdf")
        tokens = services.tokens_file.relative_to(ROOT)
        step(f"figures: {briefing_url}/v1/figures?period=all (tokens in {tokens})")
        for name, url in services.urls.items():
            step(f"{name:<11} API docs {url}/docs   metrics {url}/metrics")
        sign_in_help(services, pilot, run_dir)
        if not once:
            gateway = Gateway(services.urls, CONSOLE, run_dir / "gateway", driver_dist=DRIVER_APP).start()
            print()
            print(f"员工控制台：{gateway.url}/  （用上面的演示账号登录）")
            sms_log = sms_log_of(run_dir)
            print(f"司机手机端：{gateway.url}/driver/  （演示司机手机号登录，验证码见 {sms_log}）")
            print(f"  各服务的接口也经此地址：{gateway.url}/api/<服务名>/…")
            stay_up()
        return 0
    finally:
        if gateway is not None:
            gateway.stop()
        if services is not None:
            services.stop()
        stack.down()
        step("stopped the gateway, every service, Kafka and FerretDB")


if __name__ == "__main__":
    sys.exit(main())
