"""The staff directory as the console lists it, from a real notify process: each entry's contact
points masked, his preferred channel, whether a notice can reach him here, and when it was set."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from notify_support import DAYTIME, Notify, SmsProviderServer, SmtpServer, running
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.pii import mask_phone

pytestmark = pytest.mark.integration

PHONE = "13977001234"


@pytest.fixture(scope="module")
def notify(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notify]:
    sms, smtp = SmsProviderServer(), SmtpServer()  # no WeChat Work application in this county
    with running(sms, smtp):
        process = Notify(stack_info, tmp_path_factory.mktemp("notify-staff"), sms=sms, smtp=smtp)
        process.start()
        process.set_clock(DAYTIME)
        yield process
        process.stop()


@pytest.fixture(scope="module")
def subjects(notify: Notify) -> list[str]:
    """Two entries in subject order: one by phone and mail, one by WeChat Work only."""
    first, second = sorted(f"staff-{secrets.token_hex(3)}" for _ in range(2))
    for subject, body in (
        (first, {"phone": PHONE, "email": f"{first}@county.example", "preferred_channel": "sms"}),
        (second, {"wechat_id": f"wx_{second}", "preferred_channel": "wechat"}),
    ):
        saved = notify.call("PUT", f"/v1/staff/{subject}/contact", json=body)
        assert saved.status_code == 200, saved.text
    return [first, second]


def page(notify: Notify, role: str = "work_group_staff", **query: str) -> list[dict[str, Any]]:
    answer = notify.call("GET", "/v1/staff", role, params=query)
    assert answer.status_code == 200, answer.text
    assert PHONE not in answer.text
    assert "@county.example" not in answer.text.replace("***@county.example", "")
    return list(answer.json()["staff"])


def test_the_directory_lists_each_entry_masked_with_when_it_was_set(
    notify: Notify, subjects: list[str]
) -> None:
    first, second = subjects
    by_phone, by_wechat = page(notify)
    assert {k: v for k, v in by_phone.items() if k != "set_at"} == {
        "subject": first,
        "preferred_channel": "sms",
        "addresses": {"sms": mask_phone(PHONE), "email": f"{first[:2]}***@county.example"},
        "reachable": True,
    }
    assert (by_wechat["subject"], by_wechat["addresses"], by_wechat["reachable"]) == (
        second,
        {"wechat": "wx***"},
        False,
    ), "WeChat Work is not set up in this county"
    for entry in (by_phone, by_wechat):
        set_at = datetime.fromisoformat(entry["set_at"])
        assert DAYTIME <= set_at < DAYTIME + timedelta(minutes=10), "notify's clock, set to daytime"

    later = DAYTIME + timedelta(days=3)
    notify.set_clock(later)
    changed = notify.call("PUT", f"/v1/staff/{second}/contact", json={"email": f"{second}@county.example"})
    assert changed.status_code == 200, changed.text
    [entry] = [e for e in page(notify, "operator") if e["subject"] == second]
    assert (entry["preferred_channel"], entry["reachable"]) == (None, True)
    assert later <= datetime.fromisoformat(entry["set_at"]) < later + timedelta(minutes=10)


def test_the_directory_is_paged_in_subject_order(notify: Notify, subjects: list[str]) -> None:
    first, second = subjects
    assert [e["subject"] for e in page(notify, limit="1")] == [first]
    assert [e["subject"] for e in page(notify, limit="1", after=first)] == [second]
    assert page(notify, after=second) == []


def test_the_directory_refuses_other_roles_and_bad_paging(notify: Notify, subjects: list[str]) -> None:
    for role in ("org_department", "driver"):
        assert notify.call("GET", "/v1/staff", role).status_code == 403, role
    bad = notify.call("GET", "/v1/staff", params={"limit": "0"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["fields"][0]["field"] == "query.limit"
