"""The rest of the driver's side, with signal, each checked on the services: a member driver asks
for leave from one lesson and joins another online, makes up a lesson he missed (the material and
the quiz), takes back his consent to his words, rates the help with a need, and finds the station
with free beds on his road by its km marker; a driver who is not yet known as a member declares
himself (亮身份) and becomes a case for the work group."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from driver_support import phone_context, publish_to_the_branch, shoot, sign_in, wait_for
from pilot import synthetic_people
from playwright.sync_api import Page, expect

MATERIAL = "遇到同行抛锚，党员司机主动停车帮忙。"


def lesson(app: dict[str, Any], topic: str, starts: datetime, mode: str = "hybrid") -> str:
    body = {
        "organisation_id": app["pilot"].state["branch"],
        "kind": "party_lesson",
        "topic": topic,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "mode": mode,
        **(
            {"venue_kind": "online"}
            if mode == "online"
            else {"venue_kind": "repair_shop", "venue_name": "俄普修理厂"}
        ),
    }
    return str(app["pilot"].api["activities"].call("POST", "/v1/meetings", "staff", json=body)["meeting_id"])


def attendance_of(app: dict[str, Any], meeting: str, driver_id: str) -> dict[str, Any]:
    view = app["pilot"].api["activities"].call("GET", f"/v1/meetings/{meeting}", "staff")
    return dict((view.get("attendance") or {}).get(driver_id) or {})


def tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    expect(page.locator(".van-nav-bar__title")).to_have_text(re.compile(name))


def test_a_member_driver_answers_makes_up_withdraws_rates_and_finds_a_station(
    driver_app: dict[str, Any],
) -> None:
    app = driver_app
    acts, welfare = app["pilot"].api["activities"], app["pilot"].api["welfare"]
    phone = synthetic_people(2)[1].phone  # the second of the pilot's member drivers
    soon = datetime.now(UTC) + timedelta(days=1)
    away = lesson(app, "冬季运输安全专题党课", soon)
    online = lesson(app, "学习贯彻交通强国建设纲要", soon + timedelta(hours=3), mode="online")
    missed = lesson(app, "党员先锋岗：互帮互助的故事", datetime.now(UTC) - timedelta(days=2))

    context = phone_context(app)
    page = context.new_page()
    driver_id = sign_in(page, app, phone)
    assert driver_id in app["pilot"].state["member_drivers"]

    # The lesson he missed: held without him, with its material and a make-up quiz.
    acts.call(
        "PUT",
        f"/v1/meetings/{missed}/attendance",
        "staff",
        json={"records": [{"person_id": driver_id, "status": "leave", "reason": "在新疆送货"}]},
    )
    acts.call(
        "POST",
        f"/v1/meetings/{missed}/hold",
        "staff",
        json={"summary": "讲述党员司机互帮互助的故事", "material": f"第一讲：{MATERIAL}"},
    )
    question = acts.call(
        "POST",
        "/v1/questions",
        "staff",
        json={
            "category": "road_safety",
            "text": "遇到同行抛锚，党员司机应当？",
            "options": ["视而不见", "主动帮忙"],
            "answer": 1,
        },
    )
    acts.call(
        "POST",
        "/v1/quizzes",
        "staff",
        json={
            "meeting_id": missed,
            "title": "补学测试",
            "purpose": "make_up",
            "pass_mark": 100,
            "question_ids": [question["question_id"]],
        },
    )
    # His words after that lesson, recorded with his consent.
    words = "跑车再远，支部的课一节不落。"
    acts.call(
        "POST",
        f"/v1/meetings/{missed}/quotes",
        "staff",
        json={"speaker_id": driver_id, "text": words, "consent": True},
    )

    # 会议: leave with a reason from one lesson, online for the other.
    tab(page, "会议")
    card = page.get_by_role("article", name="冬季运输安全专题党课")
    card.get_by_role("button", name="请假").click()
    card.get_by_role("button", name="提交请假").click()
    expect(card.get_by_text("请写明请假原因")).to_be_visible()
    card.get_by_label("请假原因").fill("这周在新疆跑长途，赶不回来")
    card.get_by_role("button", name="提交请假").click()
    expect(card).to_contain_text("请假")
    second = page.get_by_role("article", name="学习贯彻交通强国建设纲要")
    second.get_by_role("button", name="线上参会").click()
    record = wait_for("his leave on the sheet", lambda: attendance_of(app, away, driver_id), page=page)
    assert (record["status"], record["way"]) == ("leave", "driver_answer")
    assert record["reason"] == "这周在新疆跑长途，赶不回来"
    record = wait_for("his online answer", lambda: attendance_of(app, online, driver_id), page=page)
    assert (record["status"], record["way"]) == ("online", "driver_answer")

    # 学习 → 补学: the lesson he missed, its material and quiz; a pass makes it up.
    tab(page, "学习")
    page.get_by_text("党员先锋岗：互帮互助的故事").click()
    expect(page.get_by_text(MATERIAL)).to_be_visible()
    page.get_by_role("radio", name="主动帮忙").click()
    shoot(app, page, "driver-make-up")
    page.get_by_role("button", name="提交答卷").click()
    expect(page.get_by_role("status").filter(has_text="已通过补学")).to_be_visible()
    assert attendance_of(app, missed, driver_id).get("made_up_at")

    # 我的 → 我的心声: he takes his consent back; the words leave the meeting.
    page.goto(f"{app['url']}/driver/me")
    mine = page.get_by_role("article", name="心声 党员先锋岗：互帮互助的故事")
    expect(mine).to_contain_text(words)
    mine.get_by_role("button", name="撤回同意").click()
    page.get_by_role("dialog").get_by_role("button", name="撤回").click()
    expect(mine).to_contain_text("已撤回同意")

    def quote_withdrawn() -> bool:
        quotes = acts.call("GET", f"/v1/meetings/{missed}", "staff")["quotes"]
        return any(q["speaker_id"] == driver_id and q.get("withdrawn_at") and q["text"] == "" for q in quotes)

    wait_for("the words withdrawn on activities", quote_withdrawn, page=page)
    shoot(app, page, "driver-words")

    # 诉求: the help he got, rated.
    need = welfare.call(
        "POST",
        "/v1/needs",
        "officer",
        json={"driver_id": driver_id, "category": "certificate_review", "description": "从业资格证换证"},
    )["need_id"]
    welfare.call("POST", f"/v1/needs/{need}/assign", "officer", json={"handler_id": "officer-1"})
    welfare.call("POST", f"/v1/needs/{need}/resolve", "officer", json={"summary": "代办换证，已寄到家中"})
    tab(page, "诉求")
    card = page.get_by_role("article", name=re.compile("诉求")).filter(has_text="从业资格证换证")
    expect(card).to_contain_text("已办结")
    card.get_by_role("radiogroup", name="评分").get_by_role("radio").nth(3).click()
    card.get_by_placeholder("还想说点什么").fill("办得快，谢谢")
    card.get_by_role("button", name="提交评价").click()
    expect(card.get_by_text("我的评价")).to_be_visible()
    rated = welfare.call("GET", f"/v1/needs/{need}", "officer")["rating"]
    assert (rated["rating"], rated["comment"]) == (4, "办得快，谢谢")

    # 暖心之家: by road and km marker, the pilot's station on S208 with its free beds (as many as
    # welfare counts now: the console's tests before these check drivers in and out there).
    free = welfare.call("GET", f"/v1/stations/{app['pilot'].state['station']}", "officer")["free_beds"]
    page.get_by_role("button", name="暖心之家").click()
    page.get_by_label("路段").fill("S208")
    page.get_by_label("桩号").fill("K110")
    page.get_by_role("button", name="查找", exact=True).click()
    station = page.get_by_role("article", name="峨曲古乡公路养护站暖心之家")
    expect(station).to_contain_text(f"空床位 {free}")
    expect(station).to_contain_text("24 小时开放")
    shoot(app, page, "driver-stations")
    # By the phone's location (the browser asks him once): the nearest open station, its distance.
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 28.35, "longitude": 103.13})
    page.reload()
    page.get_by_role("button", name="按我的位置查找").click()
    station = page.get_by_role("article", name="峨曲古乡公路养护站暖心之家")
    expect(station).to_contain_text(re.compile(r"约 2(\.\d+)? 公里"))
    expect(station).to_contain_text(f"空床位 {free}")
    context.close()


def test_a_driver_not_yet_known_as_a_member_declares_himself(driver_app: dict[str, Any]) -> None:
    app = driver_app
    plan = app["pilot"].plan
    phone = synthetic_people(plan.members + 1)[-1].phone  # the first driver the pilot found no record of
    context = phone_context(app)
    page = context.new_page()
    driver_id = sign_in(page, app, phone)
    assert driver_id not in app["pilot"].state["member_drivers"]

    tab(page, "我的")
    page.get_by_role("button", name="我是党员，亮明身份").click()
    page.get_by_role("dialog").get_by_role("button", name="确认提交").click()
    expect(page.get_by_role("status").filter(has_text="已提交，等待工作专班核实")).to_be_visible()

    def his_case() -> list[dict[str, Any]]:
        cases = app["pilot"].api["roster"].call("GET", "/v1/members?status=candidate", "staff")["members"]
        return [c for c in cases if c.get("driver_id") == driver_id]

    [case] = wait_for("his case for the work group", his_case, page=page)
    assert case["status"] == "candidate"
    page.reload()
    expect(page.get_by_role("status").filter(has_text="已提交，等待工作专班核实")).to_be_visible()
    context.close()


def test_a_learning_push_reaches_his_inbox_and_opening_it_marks_it_read(driver_app: dict[str, Any]) -> None:
    app = driver_app
    notify = app["pilot"].api["notify"]
    phone = synthetic_people(3)[2].phone  # the third of the pilot's member drivers
    context = phone_context(app)
    page = context.new_page()
    driver_id = sign_in(page, app, phone)

    # Messages in the app, at any hour (so the test does not wait for the county's quiet hours).
    tab(page, "我的")
    page.get_by_role("radio", name="站内消息").click()
    page.get_by_role("radio", name="不设免打扰").click()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("全部已发送")).to_be_visible()

    def chosen() -> bool:
        found = notify.call("GET", f"/v1/recipients/{driver_id}", "staff")
        return bool(
            found["preferred_channel"] == "inbox" and (found["quiet_hours"] or {}).get("mode") == "off"
        )

    wait_for("his choice on notify", chosen, page=page)
    title = f"货车司机冬季防滑链使用要点（{driver_id[-4:]}）"
    publish_to_the_branch(app, title, "上山前检查防滑链，遇冰雪路面提前安装。")

    tab(page, "消息")
    messages = page.get_by_role("list", name="消息列表")

    def arrived() -> bool:
        page.reload()
        page.locator(".van-nav-bar__title").wait_for()
        return messages.get_by_role("button").filter(has_text=title).count() == 1

    wait_for("the push in his inbox", arrived, timeout=120, page=page)
    message = messages.get_by_role("button").filter(has_text=title)
    expect(message.get_by_label("未读")).to_have_count(1)
    shoot(app, page, "driver-inbox")
    message.click()
    expect(message).to_have_attribute("aria-expanded", "true")
    expect(message.get_by_label("未读")).to_have_count(0)

    session = page.evaluate("JSON.parse(localStorage.getItem('roadbranch.session'))")
    mine = {"Authorization": f"Bearer {session['access_token']}"}

    def read_on_notify() -> bool:
        inbox = httpx.get(f"{app['url']}/api/notify/v1/inbox", headers=mine, timeout=30).json()
        return any(m["read"] for m in inbox["messages"] if title in m["text"])

    wait_for("the read mark on notify", read_on_notify, page=page)
    page.reload()
    expect(messages.get_by_role("button").filter(has_text=title).get_by_label("未读")).to_have_count(0)

    # The push links into the app (notify knows its address): a button to tap, no address to copy.
    item = messages.get_by_role("listitem").filter(has_text=title)
    expect(item).not_to_contain_text("http")
    expect(item).to_contain_text("停车休息时点开即可阅读")
    item.get_by_role("button", name="打开：学习园地").click()
    expect(page).to_have_url(re.compile(r"/driver/learn/[^/]+$"))
    expect(page.get_by_text(title).first).to_be_visible()
    shoot(app, page, "driver-inbox-opened")
    page.go_back()
    expect(page.locator(".van-nav-bar__title")).to_have_text("消息")

    # 学习 lists what was pushed to him, not only what he opened from a link.
    tab(page, "学习")
    pushed = page.get_by_role("button").filter(has_text=title)
    expect(pushed).to_contain_text("去学习")
    pushed.click()
    page.get_by_role("button", name="我已学习").click()
    expect(page.get_by_text(re.compile("✓ 已学习"))).to_be_visible()
    page.go_back()
    expect(page.get_by_role("button").filter(has_text=title)).to_contain_text("已学习")
    context.close()
