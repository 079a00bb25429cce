"""Channels, what a send can come to, and the order a recipient's channels are tried in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from roadbranch_shared.sms import Outcome, SendResult

__all__ = ["Channel", "Outcome", "Recipient", "SendResult", "channel_plan"]


class Channel(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"
    INBOX = "inbox"


@dataclass(frozen=True)
class Recipient:
    """Someone notify can reach: a driver (from roster.contact.v1) or staff (the staff directory).

    `addresses` maps a channel to where that channel delivers (a phone number, a WeChat user id, an
    e-mail address, the driver's own inbox); it never leaves the process except to the provider."""

    recipient_id: str
    kind: str  # driver | staff
    preferred: str | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    erased: bool = False
    # A driver's own quiet hours ({mode: county | own | off, start, end}); None: the county's.
    quiet_hours: dict[str, Any] | None = None


def channel_plan(recipient: Recipient, fallback_order: list[str], usable: set[str]) -> list[str]:
    """The channels to try for `recipient`, preferred first, then the fallback order; only channels
    that are configured (`usable`) and for which the recipient has an address."""
    order = ([recipient.preferred] if recipient.preferred else []) + list(fallback_order)
    plan: list[str] = []
    for channel in order:
        if channel in usable and channel in recipient.addresses and channel not in plan:
            plan.append(channel)
    return plan
