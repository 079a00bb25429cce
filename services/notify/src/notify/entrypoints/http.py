"""Notify's HTTP API: a driver's own inbox, the delivery ledger and recipients for staff, the staff
directory, and (when enabled) the operator's clock."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.documents import public_fields
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.idempotency import Idempotent
from roadbranch_shared.instants import IsoDateTime
from roadbranch_shared.pii import validate_phone
from roadbranch_shared.request_body import RequestBody

from notify.adapters.clock_store import keep_clock_at
from notify.app.notifier import Notifier
from notify.app.view import RecipientKind, masked_recipient
from notify.domain.channels import Channel

router = APIRouter(prefix="/v1", tags=["notify"])
Driver = Annotated[Principal, Depends(require_roles(Role.DRIVER))]
LedgerReaders = Annotated[
    Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR))
]
DirectoryEditors = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF))]
# Operators read what they read elsewhere here (the ledger, recipients): addresses masked.
DirectoryReaders = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.OPERATOR))]
Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
STAFF_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.WECHAT)


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


# ---- the driver's inbox (站内信)


@router.get("/inbox")
async def inbox(request: Request, principal: Driver, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    """The calling driver's own messages, newest first."""
    doc = await notifier_of(request).db.inboxes.find_one({"_id": principal.driver_id}) or {}
    read = set(doc.get("read", []))
    messages = sorted(doc.get("messages", []), key=lambda m: m["at"], reverse=True)[:limit]
    return {
        "driver_id": principal.driver_id,
        "unread": sum(m["id"] not in read for m in doc.get("messages", [])),
        "messages": [
            {"message_id": m["id"], "text": m["text"], "at": m["at"], "read": m["id"] in read}
            for m in messages
        ],
    }


@router.post("/inbox/{message_id}/read")
async def mark_read(request: Request, message_id: str, principal: Driver, once: Idempotent) -> dict[str, Any]:
    """Mark one of the driver's own messages read (again: the same answer)."""
    db = notifier_of(request).db

    async def work() -> dict[str, Any]:
        doc = await db.inboxes.find_one({"_id": principal.driver_id})
        if doc is None or message_id not in doc.get("ids", []):
            raise ApiError(404, ErrorCode.NOT_FOUND, "收件箱里没有这条消息", field="message_id")
        await db.inboxes.update_one({"_id": principal.driver_id}, {"$addToSet": {"read": message_id}})
        return {"message_id": message_id, "read": True}

    return await once.run(work)


# ---- the delivery ledger (发送台账)


def delivery_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": doc["_id"],
        "cause": doc["cause"],
        "recipient_id": doc["recipient"],
        "recipient_kind": doc.get("recipient_kind"),
        "channel": doc["channel"],
        "template": doc["template"],
        "text": doc.get("text"),
        "urgent": doc.get("urgent", False),
        "status": doc["status"],
        "attempts": doc.get("attempts", 0),
        "reason": doc.get("reason"),
        "provider_ref": doc.get("provider_ref"),  # e.g. aliyun:<BizId>, tencent:<SerialNo>
        "created_at": doc.get("created_at"),
        "sent_at": doc.get("sent_at"),
        "failed_at": doc.get("failed_at"),
        "next_attempt_at": doc.get("next_attempt_at"),
    }


def pending_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": doc["_id"],
        "cause": doc["cause"],
        "recipient_id": doc["recipient"],
        "template": doc["template"],
        "urgent": doc["urgent"],
        "due_at": doc["due_at"],
        "held_until": doc.get("held_until"),
        "channels_tried": doc.get("tried", []),
        "items": len(doc.get("items", [])),
    }


@router.get("/deliveries")
async def deliveries(
    request: Request,
    _: LedgerReaders,
    recipient: Annotated[
        str | None, Query(max_length=200, description="a driver id or staff subject")
    ] = None,
    cause: Annotated[str | None, Query(max_length=300, description="the event id (or reminder key)")] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """What was sent to whom, when, by which channel (and what failed, was held or cancelled), and
    what is still waiting. Filter by recipient, cause or template."""
    if not (recipient or cause or template):
        raise ApiError.invalid(
            [FieldError("recipient", "required", "请至少按收件人、事件或模板之一查询台账")]
        )
    query = {k: v for k, v in {"recipient": recipient, "cause": cause, "template": template}.items() if v}
    db = notifier_of(request).db
    done = await db.deliveries.find(query, public_fields(shown={"version"})).to_list(limit)
    waiting = await db.queue.find(query).to_list(limit)
    done.sort(key=lambda d: d.get("created_at") or datetime.min)
    return {"deliveries": [delivery_view(d) for d in done], "pending": [pending_view(d) for d in waiting]}


@router.get("/deliveries/{delivery_id:path}")
async def delivery(request: Request, delivery_id: str, _: LedgerReaders) -> dict[str, Any]:
    doc = await notifier_of(request).db.deliveries.find_one(
        {"_id": delivery_id}, public_fields(shown={"version"})
    )
    if doc is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这条发送记录", field="delivery_id")
    return delivery_view(doc)


@router.get("/recipients/{recipient_id}")
async def recipient(request: Request, recipient_id: str, _: LedgerReaders) -> dict[str, Any]:
    """How notify can reach someone now (addresses masked), and the organisations a driver is in."""
    notifier = notifier_of(request)
    found = await notifier.view.recipient(recipient_id, RecipientKind.PERSON)
    if found is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有此人的联系方式", field="recipient_id")
    placement = await notifier.db.placements.find_one({"_id": recipient_id}) or {}
    return {**masked_recipient(found), "organisations": placement.get("organisations", [])}


@router.get("/organisations/{organisation_id}")
async def organisation(request: Request, organisation_id: str, _: LedgerReaders) -> dict[str, Any]:
    """What notify knows of an organisation: its name, its secretary, how many drivers it holds."""
    doc = await notifier_of(request).db.organisations.find_one({"_id": organisation_id})
    if doc is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这个组织", field="organisation_id")
    return {
        "organisation_id": organisation_id,
        "name": doc.get("name"),
        "kind": doc.get("kind"),
        "secretary_id": doc.get("secretary_id"),
        "members": len(doc.get("members", [])),
    }


@router.get("/meetings/{meeting_id}/reminders")
async def meeting_reminders(request: Request, meeting_id: str, _: LedgerReaders) -> dict[str, Any]:
    """A meeting's scheduled reminders: when each fires and whether it has."""
    doc = await notifier_of(request).db.meetings.find_one({"_id": meeting_id})
    if doc is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这次会议", field="meeting_id")
    return {
        "meeting_id": meeting_id,
        "status": doc["status"],
        "starts_at": doc.get("starts_at"),
        "invitees": len(doc.get("invitees", [])),
        "reminders": [
            {"minutes_before": r["offset"], "fire_at": r["fire_at"], "fired": r["done"]}
            for r in doc.get("reminders", [])
        ],
    }


# ---- the staff directory (工作人员通讯录)


@router.get("/staff")
async def staff_directory(
    request: Request,
    _: DirectoryReaders,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
    after: Annotated[str, Query(max_length=200, description="the last subject of the previous page")] = "",
) -> dict[str, Any]:
    """The staff directory a page at a time in subject order (`after`: the last subject seen): each
    entry's contact points masked, preferred channel, whether a personal notice can reach him by a
    channel this county has set up, and when the entry was set (`set_at`: null for entries set
    before the directory kept the time)."""
    entries = await notifier_of(request).staff.page(limit=limit, after=after)
    staff = []
    for entry in entries:
        shown = masked_recipient(entry.recipient)
        staff.append(
            {
                "subject": shown["recipient_id"],
                "preferred_channel": shown["preferred_channel"],
                "addresses": shown["addresses"],
                "reachable": entry.reachable,
                "set_at": entry.set_at,
            }
        )
    return {"staff": staff}


class StaffContactIn(RequestBody):
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200)
    wechat_id: str | None = Field(default=None, min_length=1, max_length=64)
    preferred_channel: str | None = Field(
        default=None,
        description="sms | email | wechat",
        json_schema_extra={"enum": ["sms", "email", "wechat", None]},
    )


@router.put("/staff/{subject}/contact")
async def staff_contact(
    request: Request, subject: str, body: StaffContactIn, _: DirectoryEditors
) -> dict[str, Any]:
    """How to reach a staff member (a handler, a leader, a committee member who is staff), by the
    subject of his principal. Answers with the addresses masked."""
    problems: list[FieldError] = []
    phone = None
    if body.phone is not None:
        checked = validate_phone(body.phone)
        if not checked.ok:
            problems.append(FieldError("phone", "format", "手机号格式不正确（11 位大陆手机号）"))
        phone = checked.normalized
    if body.email is not None and not EMAIL.fullmatch(body.email):
        problems.append(FieldError("email", "format", "邮箱格式不正确"))
    if body.preferred_channel is not None and body.preferred_channel not in STAFF_CHANNELS:
        problems.append(
            FieldError("preferred_channel", "unknown_channel", "首选渠道须为：" + "、".join(STAFF_CHANNELS))
        )
    if not (body.phone or body.email or body.wechat_id):
        problems.append(FieldError("phone", "required", "手机号、邮箱、企业微信号至少填写一项"))
    if problems:
        raise ApiError.invalid(problems)
    notifier = notifier_of(request)
    await notifier.staff.set_contact(
        subject,
        phone=phone,
        email=body.email,
        wechat_id=body.wechat_id,
        preferred=body.preferred_channel,
        at=notifier.clock.now(),
    )
    found = await notifier.view.recipient(subject, RecipientKind.STAFF)
    assert found is not None
    return masked_recipient(found)


# ---- the controllable clock (operators; off unless ROADBRANCH_NOTIFY_CONTROLLABLE_CLOCK=true)


class ClockIn(RequestBody):
    now: IsoDateTime = Field(description="the service's new 'now' (ISO 8601 with an offset)")


@router.get("/ops/clock")
async def clock(request: Request, _: Operator) -> dict[str, Any]:
    c = notifier_of(request).clock
    return {"now": c.now(), "controllable": c.controllable, "offset_seconds": c.offset.total_seconds()}


@router.put("/ops/clock")
async def set_clock(request: Request, body: ClockIn, _: Operator) -> dict[str, Any]:
    """Set the service's 'now' (time keeps running from there): reminders and quiet hours follow it."""
    c = notifier_of(request).clock
    if not c.controllable:
        raise ApiError(404, ErrorCode.NOT_FOUND, "时钟不可调整（未启用 controllable_clock）")
    if body.now.tzinfo is None:
        raise ApiError.invalid(
            [FieldError("now", "timezone", "时间须带时区，例如 2026-12-01T09:00:00+08:00")]
        )
    now = await keep_clock_at(c, notifier_of(request).db, body.now)
    notifier_of(request).dispatcher.wake()
    return {"now": now, "controllable": True}
