"""Care campaigns (送温暖、送健康、送服务) and their stock ledger: received, issued, on hand.

Issuing more of an item than is on hand is refused naming the item; stock never goes negative.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from roadbranch_shared.contracts.welfare import CAMPAIGN_KINDS

from welfare.domain.errors import WelfareError

KINDS = CAMPAIGN_KINDS
ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Labels of the items the pilot handed out; others may be received with a label of their own.
KNOWN_ITEMS = {"gloves": "手套", "heatstroke_relief": "防暑降温用品", "epidemic_supplies": "防疫物资"}


def check_item_key(field: str, item: str) -> None:
    if not ITEM_KEY.fullmatch(item):
        raise WelfareError(
            field, "bad_item_key", "物品代码须为小写字母开头的字母、数字或下划线", WelfareError.INVALID
        )


def on_hand(stock: Mapping[str, Any], item: str) -> int:
    line = stock.get(item) or {}
    return int(line.get("received", 0)) - int(line.get("issued", 0))


def check_issue(stock: Mapping[str, Any], items: Mapping[str, int]) -> None:
    """Every item is in the ledger with enough on hand; the first shortfall names the item."""
    for item, quantity in items.items():
        check_item_key(f"items.{item}", item)
        if quantity <= 0:
            raise WelfareError(f"items.{item}", "not_positive", "发放数量须为正整数", WelfareError.INVALID)
        have = on_hand(stock, item)
        if quantity > have:
            label = (stock.get(item) or {}).get("label") or KNOWN_ITEMS.get(item, item)
            raise WelfareError(
                f"items.{item}",
                "insufficient_stock",
                f"“{label}”库存不足：现有 {have} 件，要发放 {quantity} 件",
                item=item,
                on_hand=have,
                requested=quantity,
            )


def require_open(campaign: Mapping[str, Any]) -> None:
    if campaign["status"] != "open":
        raise WelfareError("campaign_id", "closed", "活动已结束，不能再登记")
