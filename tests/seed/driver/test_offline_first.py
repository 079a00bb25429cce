"""A member driver on his phone: he signs in with the SMS code, studies a pushed item and files a need;
then the signal goes, the app still opens with his last data, he files a need and checks in to a
lesson with the venue's code, both kept as 待发送; the signal comes back, the first answers are lost
on the way (the services did the work, the phone never heard), the phone sends again with the same
Idempotency-Key, and each action has taken effect exactly once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from driver_support import (
    go_offline,
    phone_context,
    publish_to_the_branch,
    shoot,
    sign_in,
    staff_needs,
    wait_for,
)
from pilot import synthetic_people
from playwright.sync_api import Route, expect


def schedule_lesson(app: dict[str, Any]) -> tuple[str, str]:
    """A party lesson at a repair shop an hour from now, and the venue's check-in code for it."""
    acts, branch = app["pilot"].api["activities"], app["pilot"].state["branch"]
    starts = datetime.now(UTC) + timedelta(hours=1)
    meeting = acts.call(
        "POST",
        "/v1/meetings",
        "staff",
        json={
            "organisation_id": branch,
            "kind": "party_lesson",
            "topic": "安全行车与文明驾驶",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "mode": "hybrid",
            "venue_kind": "repair_shop",
            "venue_name": "俄普修理厂",
        },
    )["meeting_id"]
    code = acts.call("POST", f"/v1/meetings/{meeting}/check-in-code", "staff")["code"]
    return str(meeting), str(code)


@pytest.mark.timeout(900)
def test_a_driver_acts_without_signal_and_each_action_lands_once(driver_app: dict[str, Any]) -> None:
    app = driver_app
    acts = app["pilot"].api["activities"]
    phone = synthetic_people(1)[0].phone  # the first of the pilot's member drivers
    item = publish_to_the_branch(
        app, "冬季山区道路安全行车要点", "下长坡提前降挡，切勿空挡滑行；\n遇团雾开启雾灯、减速慢行。"
    )
    meeting, code = schedule_lesson(app)

    context = phone_context(app)
    page = context.new_page()
    driver_id = sign_in(page, app, phone)
    wait_for("the service worker", lambda: page.evaluate("navigator.serviceWorker.controller !== null"), 30)

    # 我的: reminders in the app's inbox, and his own quiet hours (none: he drives at night).
    page.get_by_role("tab", name="我的").click()
    page.get_by_role("radio", name="站内消息").click()
    page.get_by_role("radio", name="不设免打扰").click()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("全部已发送")).to_be_visible()
    notify = app["pilot"].api["notify"]
    contact = wait_for(
        "his contact preferences on notify",
        lambda: (
            (r := notify.call("GET", f"/v1/recipients/{driver_id}", "staff"))["preferred_channel"] == "inbox"
            and r
        ),
    )
    assert (contact["quiet_hours"] or {}).get("mode") == "off", contact

    # 学习: the item from the group's link; opening counts, 我已学习 confirms.
    page.goto(f"{app['url']}/driver/learn/{item['content_id']}")
    expect(page.get_by_role("heading", name="冬季山区道路安全行车要点")).to_be_visible()
    page.get_by_role("button", name="我已学习").click()
    expect(page.get_by_text(re.compile("✓ 已学习"))).to_be_visible()
    shoot(app, page, "driver-learning")
    figures = acts.call("GET", f"/v1/contents/{item['content_id']}", "staff")["figures"]
    assert (figures["opened"], figures["confirmed"]) == (1, 1)

    # 诉求 with signal: filed, and shown with its status from the service.
    online_text = f"驾驶证年审到期，人在外地，不知道去哪里办（{driver_id[-4:]}）"
    page.goto(f"{app['url']}/driver/needs")
    page.get_by_role("button", name="提交诉求").click()
    page.get_by_role("radio", name="证件年审").click()
    page.get_by_label("具体情况").fill(online_text)
    page.get_by_role("button", name="提交诉求").click()
    need_card = page.get_by_role("article", name="诉求 证件年审")
    expect(need_card.filter(has_text=online_text)).to_have_count(1)
    expect(need_card.filter(has_text=online_text)).to_contain_text("已受理")
    assert len(staff_needs(app, online_text)) == 1

    # 会议: the lesson is among his upcoming meetings (the answer the phone keeps for later).
    page.get_by_role("tab", name="会议").click()
    lesson = page.get_by_role("article", name="安全行车与文明驾驶")
    expect(lesson).to_contain_text("俄普修理厂")
    shoot(app, page, "driver-meetings")

    # No signal. The app opens from the service worker, with the data it had.
    cut = go_offline(context)
    page.goto(f"{app['url']}/driver/needs")
    expect(
        page.get_by_text(re.compile(r"离线，显示的是 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 时的数据"))
    ).to_be_visible()
    expect(page.get_by_role("article", name="诉求 证件年审").filter(has_text=online_text)).to_be_visible()

    offline_text = f"车在 S208 K110 附近抛锚，需要联系拖车和修理（{driver_id[-4:]}）"
    page.get_by_role("button", name="提交诉求").click()
    page.get_by_role("radio", name="道路交通").click()
    page.get_by_role("radio", name="紧急").click()
    page.get_by_label("具体情况").fill(offline_text)
    page.get_by_label("所在位置").fill("S208 K110")
    page.get_by_role("button", name="提交诉求").click()
    waiting = page.get_by_role("article", name="待发送的诉求").filter(has_text=offline_text)
    expect(waiting).to_contain_text("待发送")
    expect(page.get_by_role("status").filter(has_text="无网络")).to_be_visible()
    shoot(app, page, "driver-offline-need")

    page.get_by_role("tab", name="会议").click()
    lesson = page.get_by_role("article", name="安全行车与文明驾驶")
    lesson.get_by_role("button", name="现场签到").click()
    lesson.get_by_label("签到码").fill(code)
    lesson.get_by_role("button", name="确认签到").click()
    expect(lesson).to_contain_text("已签到")
    expect(lesson).to_contain_text("待发送")
    shoot(app, page, "driver-offline-check-in")
    assert staff_needs(app, offline_text) == []
    assert (acts.call("GET", f"/v1/meetings/{meeting}", "staff")["attendance"] or {}).get(driver_id) is None

    # The signal returns, but the first answers are lost on the way back: the services did the
    # work, the phone saw a broken connection, so it keeps both and will send them again.
    sends: dict[str, list[tuple[str, str | None]]] = {"need": [], "check_in": []}

    def lose_first_answer(route: Route) -> None:
        request = route.request
        kind = "need" if request.url.endswith("/api/welfare/v1/needs") else "check_in"
        if request.method != "POST":
            route.fallback()
            return
        answer = route.fetch()
        sends[kind].append(
            (request.headers.get("idempotency-key", ""), answer.headers.get("idempotent-replayed"))
        )
        if len(sends[kind]) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=answer)

    context.route("**/api/welfare/v1/needs", lose_first_answer)
    context.route(f"**/api/activities/v1/meetings/{meeting}/check-in", lose_first_answer)
    context.unroute("**/*", cut)
    context.set_offline(False)
    wait_for("both first sends", lambda: sends["need"] and sends["check_in"], page=page)
    assert len(wait_for("the need on the service", lambda: staff_needs(app, offline_text), page=page)) == 1

    # Sent again with the same keys (the app's start flushes the queue): the services answer what
    # they answered the first time, and change nothing.
    page.reload()
    lesson = page.get_by_role("article", name="安全行车与文明驾驶")
    expect(lesson).to_contain_text("现场参加", timeout=30_000)
    expect(page.get_by_text("待发送")).to_have_count(0)
    for kind in ("need", "check_in"):
        (first_key, _), (second_key, replayed) = sends[kind][:2]
        assert first_key, kind
        assert first_key == second_key, kind
        assert replayed == "true", kind

    # Exactly once: one need with his words, one check-in; a reload flushes nothing more.
    page.goto(f"{app['url']}/driver/needs")
    expect(page.get_by_role("article", name="诉求 道路交通").filter(has_text=offline_text)).to_contain_text(
        "已受理"
    )
    shoot(app, page, "driver-needs")
    page.reload()
    expect(page.get_by_role("article", name="诉求 道路交通").filter(has_text=offline_text)).to_have_count(1)
    [need] = staff_needs(app, offline_text)
    assert (need["category"], need["urgency"], need["location"]["text"]) == (
        "road_traffic",
        "high",
        "S208 K110",
    )
    assert len(staff_needs(app, online_text)) == 1
    record = acts.call("GET", f"/v1/meetings/{meeting}", "staff")["attendance"][driver_id]
    assert (record["status"], record["way"]) == ("on_site", "check_in")
    assert sum(n["description"] == offline_text for n in staff_needs(app, offline_text)) == 1
    assert (len(sends["need"]), len(sends["check_in"])) == (2, 2)

    page.get_by_role("tab", name="我的").click()
    expect(page.get_by_text("全部已发送")).to_be_visible()
    shoot(app, page, "driver-me")

    # 消息: his inbox answers (notify's messages to him, if any have been delivered yet).
    page.get_by_role("tab", name="消息").click()
    expect(page.locator(".van-nav-bar__title")).to_have_text("消息")
    expect(page.get_by_role("list", name="消息列表").or_(page.get_by_text("还没有消息"))).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    context.unroute_all(behavior="ignoreErrors")
    context.close()
