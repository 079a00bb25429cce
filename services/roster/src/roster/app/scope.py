"""Which organisations a principal may manage in the roster.

Work-group staff and the organisation department act county-wide. A branch secretary manages his
own branch and what hangs under it (its party groups): his token's `org_scope` is the branch id,
and an organisation is his if it, or one of its ancestors, is that branch. A secretary's token
without a scope manages nothing.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.auth import Principal, Role
from roadbranch_shared.documents import Document
from roadbranch_shared.domain import DomainError


class Scope:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def organisation(self, principal: Principal, org_id: str | None, *, field: str) -> None:
        """Refuse (403 naming `field`) unless the principal may manage `org_id`."""
        if principal.role != Role.BRANCH_SECRETARY:
            return
        if not principal.org_scope:
            raise DomainError(field, "no_scope", "该支部书记账号未指定所辖支部", DomainError.FORBIDDEN)
        seen: set[str] = set()
        current = org_id
        while current and current not in seen:  # up the tree: a few lookups by _id
            if current == principal.org_scope:
                return
            seen.add(current)
            doc = await self.db.organisations.find_one({"_id": current}, {"parent_id": 1})
            current = doc.get("parent_id") if doc else None
        raise DomainError(field, "out_of_scope", "只能管理本支部及其下属党小组", DomainError.FORBIDDEN)

    async def listing(self, principal: Principal, org_id: str | None, *, field: str) -> None:
        """Refuse (403 naming `field`) a listing a branch secretary did not narrow to his branch or
        one of its groups; others may read it whole."""
        if principal.role == Role.BRANCH_SECRETARY and not org_id:
            raise DomainError(
                field, "required", "支部书记须按本支部查询（指定所辖支部）", DomainError.FORBIDDEN
            )
        await self.organisation(principal, org_id, field=field)

    async def member(
        self, principal: Principal, member_id: str, *, unassigned_ok: bool = False, field: str = "member_id"
    ) -> None:
        """Refuse unless the member's branch is the principal's to manage. `unassigned_ok`: a member
        not yet in any branch may be handled (his transfer is how he comes to one). An unknown
        member is left to the command, which answers 404."""
        if principal.role != Role.BRANCH_SECRETARY:
            return
        member = await self.db.members.find_one({"_id": member_id}, {"branch_id": 1})
        if member is None:
            return
        branch = member.get("branch_id")
        if branch is None and unassigned_ok:
            return
        await self.organisation(principal, branch, field=field)
