"""三会一课 compliance: a policy per organisation (the defaults unless staff set one), standings per
period counted from the meetings' own dates, and the scan that raises ComplianceOverdue once per
(organisation, requirement, period) when a period is about to close without its meetings."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.contracts.activities import ComplianceOverdue
from roadbranch_shared.documents import Document
from roadbranch_shared.domain import DomainError

from activities.app.meetings import SOURCE
from activities.app.views import Membership
from activities.domain.compliance import DEFAULT_POLICY, Standing, check_policy, closing_unmet, standings
from activities.domain.meetings import Status

# The organisation kinds the default policy applies to; others only with a policy of their own.
POLICED_KINDS = ("branch",)


class Compliance:
    def __init__(
        self, db: AsyncDatabase[Document], membership: Membership, clock: TimeSource, *, warn_days: int
    ) -> None:
        self.db = db
        self.membership = membership
        self.clock = clock
        self.warn_days = warn_days

    async def policy(self, org_id: str) -> dict[str, Any]:
        stored = await self.db.policies.find_one({"_id": org_id})
        return {
            "organisation_id": org_id,
            "custom": stored is not None,
            "requirements": stored["requirements"] if stored else DEFAULT_POLICY,
        }

    async def set_policy(self, org_id: str, requirements: dict[str, Any], by: str) -> dict[str, Any]:
        if await self.membership.organisation(org_id) is None:
            raise DomainError(
                "organisation_id", "not_found", "没有这个组织（或尚未从花名册同步）", "not_found"
            )
        policy = check_policy(requirements)
        await self.db.policies.replace_one(
            {"_id": org_id}, {"requirements": policy, "set_by": by, "set_at": self.clock.now()}, upsert=True
        )
        return await self.policy(org_id)

    async def held_meetings(self) -> dict[str, list[Document]]:
        """Held meetings by organisation, each with `held_on` (the meeting's own date). One scan of the
        meetings; a party group's meetings count for its branch as well."""
        query: dict[str, Any] = {"status": Status.HELD}
        fields = {"organisation_id": 1, "kind": 1, "held_at": 1, "secretary_lecture": 1}
        by_org: dict[str, list[Document]] = defaultdict(list)
        parents: dict[str, str | None] = {}
        async for m in self.db.meetings.find(query, fields):
            m["held_on"] = m["held_at"].date()
            org_id = m["organisation_id"]
            by_org[org_id].append(m)
            if org_id not in parents:
                org = await self.membership.organisation(org_id) or {}
                parents[org_id] = org.get("parent_id") if org.get("kind") == "party_group" else None
            parent = parents[org_id]
            if parent:
                by_org[parent].append(m)
        return by_org

    async def report(self, org_id: str, on: date | None = None) -> dict[str, Any]:
        day = on or self.clock.now().date()
        policy = await self.policy(org_id)
        held = (await self.held_meetings()).get(org_id, [])
        found = standings(policy["requirements"], held, day)
        return {
            "organisation_id": org_id,
            "on": day.isoformat(),
            "standings": [s.as_dict() for s in found],
            "met": all(s.met for s in found),
        }

    async def policed(self) -> list[str]:
        """Organisations the scan looks at: every branch, and any organisation with its own policy."""
        orgs = [
            o["_id"]
            async for o in self.db.organisations.find({"kind": {"$in": list(POLICED_KINDS)}}, {"_id": 1})
        ]
        orgs += [p["_id"] async for p in self.db.policies.find({}, {"_id": 1})]
        return list(dict.fromkeys(orgs))

    async def scan(self) -> list[dict[str, Any]]:
        """Raise ComplianceOverdue for every closing period without its meetings, once each."""
        today = self.clock.now().date()
        held = await self.held_meetings()
        raised = []
        for org_id in await self.policed():
            policy = await self.policy(org_id)
            for standing in standings(policy["requirements"], held.get(org_id, []), today):
                if closing_unmet(standing, today, self.warn_days) and await self._raise(org_id, standing):
                    raised.append({"organisation_id": org_id, **standing.as_dict()})
        return raised

    async def figures(self) -> list[tuple[str, Standing]]:
        """Current standings of every policed organisation (for the metrics)."""
        today = self.clock.now().date()
        held = await self.held_meetings()
        result: list[tuple[str, Standing]] = []
        for org_id in await self.policed():
            policy = await self.policy(org_id)
            result += [(org_id, s) for s in standings(policy["requirements"], held.get(org_id, []), today)]
        return result

    async def _raise(self, org_id: str, standing: Standing) -> bool:
        """One alert aggregate per organisation: the raised (requirement, period) keys and the outbox."""
        key = f"{standing.requirement}:{standing.period.label}"
        event = ComplianceOverdue(
            organisation_id=org_id,
            requirement=standing.requirement,
            period=standing.period.label,
            period_end=standing.period.end,
            held=standing.held,
            required=standing.required,
            raised_at=self.clock.now(),
        )

        def decide(alerts: Document) -> Decision:
            if key in alerts["raised"]:
                return {}, []
            return {"$set": {f"raised.{key}": event.raised_at}}, [event]

        changed = await change_document(
            self.db.compliance_alerts,
            org_id,
            decide,
            source=SOURCE,
            or_create=lambda: ({"raised": {key: event.raised_at}}, [event]),
        )
        return bool(changed.events)
