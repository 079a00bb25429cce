"""The resource list (资源清单): providers and services the group matches needs to, kept as data.

Welfare officers add, change and retire entries; a seed file fills an empty list at first start.
Entries are organisations and services (a hospital's department, a licensing office's window), so
their contact is an office's, not a person's.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from importlib import resources as package_files

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.documents import Document

from welfare.domain.errors import WelfareError
from welfare.domain.needs import CATEGORIES, check_choice

RESOURCE_ID = re.compile(r"^res_[a-z0-9_]{1,60}$")
NO_SUCH_RESOURCE = WelfareError("resource_id", "not_found", "资源清单中没有这一项", WelfareError.NOT_FOUND)
FIELDS = ("name", "category", "area", "contact", "eligibility", "services")


class Resources:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def seed(self) -> int:
        """Fill an empty resource list from the packaged seed file; returns the entries added."""
        if await self.db.resources.find_one({}, {"_id": 1}) is not None:
            return 0
        entries = json.loads(
            package_files.files("welfare.seed").joinpath("resources.json").read_text("utf-8")
        )
        added = 0
        for entry in entries:
            try:
                await self.add(
                    {k: entry[k] for k in FIELDS if k in entry}, by="seed", resource_id=entry["id"]
                )
                added += 1
            except WelfareError as e:
                if e.reason != "exists":
                    raise
        return added

    async def add(self, fields: Document, *, by: str, resource_id: str | None = None) -> Document:
        check_choice("category", fields["category"], CATEGORIES, "category")
        resource_id = resource_id or f"res_{uuid.uuid4().hex[:12]}"
        if not RESOURCE_ID.fullmatch(resource_id):
            raise WelfareError(
                "resource_id", "bad_id", "资源编号须为 res_ 加小写字母、数字或下划线", WelfareError.INVALID
            )
        now = datetime.now(UTC)
        doc = {
            "_id": resource_id,
            **fields,
            "active": True,
            "created_at": now,
            "created_by": by,
            "updated_at": now,
        }
        try:
            await self.db.resources.insert_one(doc)
        except DuplicateKeyError:
            raise WelfareError("resource_id", "exists", "资源编号已存在") from None
        return doc

    async def update(self, resource_id: str, fields: Document, *, by: str) -> Document:
        if "category" in fields:
            check_choice("category", fields["category"], CATEGORIES, "category")
        result = await self.db.resources.update_one(
            {"_id": resource_id}, {"$set": {**fields, "updated_at": datetime.now(UTC), "updated_by": by}}
        )
        if result.matched_count == 0:
            raise NO_SUCH_RESOURCE
        return await self.get(resource_id)

    async def retire(self, resource_id: str, *, by: str) -> Document:
        """Entries are retired, not deleted: needs matched to them keep pointing somewhere."""
        return await self.update(resource_id, {"active": False}, by=by)

    async def get(self, resource_id: str) -> Document:
        doc = await self.db.resources.find_one({"_id": resource_id})
        if doc is None:
            raise NO_SUCH_RESOURCE
        return doc

    async def entries(self, *, category: str | None = None, include_retired: bool = False) -> list[Document]:
        """The whole list (tens of entries: a scan is fine), optionally one category's."""
        query: Document = {}
        if category is not None:
            query["category"] = category
        if not include_retired:
            query["active"] = True
        return [r async for r in self.db.resources.find(query, sort=[("_id", 1)])]
