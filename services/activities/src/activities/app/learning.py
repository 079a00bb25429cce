"""Online learning and knowledge tests: content items pushed to a branch or to every driver and who
read them; the question bank, quizzes attached to a meeting (a training class's knowledge test, a
lesson's make-up quiz) and attempts. A pass is written to the meeting aggregate, so QuizPassed and
MakeUpCompleted stay in the meeting's event order."""

from __future__ import annotations

import uuid
from typing import Any

from roadbranch_shared.aggregates import Decision, change_document, create_document
from roadbranch_shared.auth import Principal
from roadbranch_shared.contracts.activities import ContentPublished, ContentRead, MakeUpCompleted, QuizPassed
from roadbranch_shared.documents import Document, public_fields, update_if
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import EventPayload

from activities.app.access import check_manages
from activities.app.attendance import Attendances
from activities.app.meetings import SOURCE, Meetings
from activities.app.views import VERIFIED
from activities.domain.learning import check_category, check_question, grade, without_answers
from activities.domain.meetings import Audience, makeup_deadline

NO_SUCH_CONTENT = DomainError("content_id", "not_found", "没有这条学习内容", DomainError.NOT_FOUND)


class Contents:
    def __init__(self, meetings: Meetings) -> None:
        self.db = meetings.db
        self.membership = meetings.membership
        self.clock = meetings.clock
        self.venues = meetings.venues

    async def publish(self, principal: Principal, body: dict[str, Any]) -> Document:
        """Publish an item to an organisation's member drivers, or (no organisation) to every member
        driver of the county, or to every driver of the county, member or not (`all_drivers`, e.g.
        road safety); the audience is fixed at publication, the denominator of the read rate."""
        check_category(body["category"])
        org_id = body.get("organisation_id")
        everyone = body.get("audience") == "all_drivers"
        if everyone and org_id:
            raise DomainError(
                "audience", "not_for_an_organisation", "面向全体货车司机的内容不指定组织", DomainError.INVALID
            )
        if org_id and await self.membership.organisation(org_id) is None:
            raise DomainError(
                "organisation_id", "not_found", "没有这个组织（或尚未从花名册同步）", "not_found"
            )
        await check_manages(self.membership, principal, org_id, body.get("venue_id"), self.venues)
        now = self.clock.now()
        if org_id:
            audience = await self.membership.audience(org_id, Audience.MEMBERS, now.date())
        elif everyone:
            audience = await self.membership.drivers_of_county(self.venues.county)
        else:
            audience = await self._all_member_drivers()
        content_id = f"cnt_{uuid.uuid4().hex[:16]}"
        doc = {
            "_id": content_id,
            "organisation_id": org_id,
            "category": body["category"],
            "title": body["title"],
            "body": body.get("body"),
            "url": body.get("url"),
            "audience": audience,
            "audience_kind": "all_drivers" if everyone else "members",
            "reads": {},
            "published_by": principal.subject,
            "published_at": now,
        }
        event = ContentPublished(
            content_id=content_id,
            organisation_id=org_id,
            category=body["category"],
            title=body["title"],
            published_at=now,
            audience_driver_ids=audience,
            county=self.venues.county,
        )
        await create_document(self.db.contents, doc, [event], source=SOURCE)
        return await self.view(content_id)

    async def _all_member_drivers(self) -> list[str]:
        """The verified member drivers, but for those the roster filed under another county (a member
        whose registration has not arrived yet is still in)."""
        elsewhere = await self.membership.drivers_elsewhere(self.venues.county)
        drivers = [m["driver_id"] async for m in self.db.members.find({"status": VERIFIED}, {"driver_id": 1})]
        return sorted(set(await self.membership.drivers_among(drivers)) - elsewhere)

    async def content(self, content_id: str) -> Document:
        doc = await self.db.contents.find_one({"_id": content_id}, public_fields(shown={"version"}))
        if doc is None:
            raise NO_SUCH_CONTENT
        return doc

    async def view(self, content_id: str) -> Document:
        doc = await self.content(content_id)
        reads = doc.pop("reads")
        audience = doc.pop("audience")
        opened = sum(p in reads for p in audience)
        confirmed = sum(bool((reads.get(p) or {}).get("confirmed_at")) for p in audience)
        doc["figures"] = {
            "audience": len(audience),
            "opened": opened,
            "confirmed": confirmed,
            "read_rate": opened / len(audience) if audience else None,
            "confirmed_rate": confirmed / len(audience) if audience else None,
        }
        doc["content_id"] = doc.pop("_id")
        return doc

    async def read(self, content_id: str, driver_id: str, *, confirmed: bool) -> Document:
        """A driver opened (or confirmed he studied) an item: the first open and the first confirmation
        are each recorded and published once."""

        def decide(doc: Document) -> Decision:
            if driver_id not in doc["audience"]:
                raise DomainError("content_id", "not_in_audience", "这条内容不是推送给您的", "forbidden")
            seen = doc["reads"].get(driver_id) or {}
            now = self.clock.now()
            fields: dict[str, Any] = {}
            if not seen:
                fields[f"reads.{driver_id}.opened_at"] = now
            if confirmed and not seen.get("confirmed_at"):
                fields[f"reads.{driver_id}.confirmed_at"] = now
            if not fields:
                return {}, []
            event = ContentRead(
                content_id=content_id,
                organisation_id=doc["organisation_id"],
                driver_id=driver_id,
                confirmed=confirmed,
                read_at=now,
            )
            return {"$set": fields}, [event]

        doc = (
            await change_document(
                self.db.contents, content_id, decide, source=SOURCE, missing=NO_SUCH_CONTENT
            )
        ).after
        return {"content_id": content_id, "title": doc["title"], "read": doc["reads"].get(driver_id)}

    async def pushed_to(self, driver_id: str, limit: int) -> list[Document]:
        """The items pushed to a driver (he is in the audience fixed at publication), newest first,
        each with his own read (opened, confirmed) and nobody else's."""
        fields = {"title": 1, "category": 1, "organisation_id": 1, "published_at": 1, f"reads.{driver_id}": 1}
        found = [c async for c in self.db.contents.find({"audience": driver_id}, fields)]
        found.sort(key=lambda c: c["published_at"], reverse=True)
        return [
            {
                "content_id": c["_id"],
                **{k: c.get(k) for k in ("title", "category", "organisation_id", "published_at")},
                "read": (c.get("reads") or {}).get(driver_id),
            }
            for c in found[:limit]
        ]

    async def list(self, organisation_id: str | None, limit: int) -> list[Document]:
        query = {"organisation_id": organisation_id} if organisation_id else {}
        found = [c async for c in self.db.contents.find(query, {"_id": 1, "published_at": 1})]
        found.sort(key=lambda c: c["published_at"], reverse=True)
        return [await self.view(c["_id"]) for c in found[:limit]]


class Quizzes:
    def __init__(self, meetings: Meetings, attendances: Attendances) -> None:
        self.db = meetings.db
        self.meetings = meetings
        self.attendances = attendances
        self.clock = meetings.clock

    async def add_question(self, principal: Principal, body: dict[str, Any]) -> Document:
        check_category(body["category"])
        check_question(body["options"], body["answer"])
        question_id = f"qst_{uuid.uuid4().hex[:12]}"
        doc = {"_id": question_id, **body, "added_by": principal.subject, "added_at": self.clock.now()}
        await self.db.questions.insert_one(doc)
        return {"question_id": doc.pop("_id"), **doc}

    async def questions(self, category: str | None) -> list[Document]:
        query = {"category": category} if category else {}
        return [{"question_id": q.pop("_id"), **q} async for q in self.db.questions.find(query)]

    async def create(self, principal: Principal, body: dict[str, Any]) -> Document:
        """A quiz of bank questions attached to a meeting; the questions are copied in, so editing the
        bank later never changes a graded quiz."""
        await self.meetings.managed(body["meeting_id"], principal)
        questions = []
        for i, question_id in enumerate(body["question_ids"]):
            q = await self.db.questions.find_one({"_id": question_id})
            if q is None:
                raise DomainError(f"question_ids.{i}", "not_found", "题库中没有这道题", DomainError.INVALID)
            questions.append({"question_id": question_id, **{k: q[k] for k in ("text", "options", "answer")}})
        quiz_id = f"quz_{uuid.uuid4().hex[:12]}"
        quiz = {
            "_id": quiz_id,
            "meeting_id": body["meeting_id"],
            "title": body["title"],
            "purpose": body["purpose"],
            "pass_mark": body["pass_mark"],
            "questions": questions,
            "created_by": principal.subject,
        }
        await self.db.quizzes.insert_one(quiz)

        async def attach(meeting: Document) -> Decision:
            entry = {"purpose": body["purpose"], "pass_mark": body["pass_mark"], "passed": {}}
            return {"$set": {f"quizzes.{quiz_id}": entry}}, []

        await self.meetings.command(body["meeting_id"], None, attach)
        return await self.view(quiz_id, with_answers=True)

    async def quiz(self, quiz_id: str) -> Document:
        quiz = await self.db.quizzes.find_one({"_id": quiz_id})
        if quiz is None:
            raise DomainError("quiz_id", "not_found", "没有这份测试", DomainError.NOT_FOUND)
        return quiz

    async def view(self, quiz_id: str, *, with_answers: bool) -> Document:
        quiz = await self.quiz(quiz_id)
        if not with_answers:
            quiz["questions"] = without_answers(quiz["questions"])
        quiz["quiz_id"] = quiz.pop("_id")
        return quiz

    async def figures(self, quiz_id: str) -> Document:
        """Coverage of a knowledge test: of the meeting's invitees, how many passed."""
        quiz = await self.quiz(quiz_id)
        meeting = await self.meetings.meeting(quiz["meeting_id"])
        passed = meeting["quizzes"][quiz_id]["passed"]
        attempts = await self.db.quiz_attempts.find_one({"_id": quiz_id}) or {}
        tried = attempts.get("people") or {}
        invited = meeting["invitees"]
        covered = sum(p in passed for p in invited)
        total = sum(len(a) for a in tried.values())
        passes = sum(a["passed"] for people in tried.values() for a in people)
        return {
            "quiz_id": quiz_id,
            "meeting_id": meeting["_id"],
            "invited": len(invited),
            "attempted": len(tried),
            "passed": len(passed),
            "covered": covered,
            "coverage": covered / len(invited) if invited else None,
            "attempts": total,
            "pass_rate": passes / total if total else None,
            "not_yet_passed": [p for p in invited if p not in passed],
        }

    async def attempt(
        self, quiz_id: str, person_id: str, answers: list[int], *, request: str | None = None
    ) -> Document:
        """Grade an attempt and keep it; a first pass publishes QuizPassed, and for a make-up quiz it
        completes the person's make-up (补学) when he may still make the meeting up.

        `request` (an Idempotency-Key's digest) is kept with the attempt: the same request repeated
        after a crash finds its attempt (and finishes its pass) instead of counting a second one."""
        quiz = await self.quiz(quiz_id)
        meeting = await self.meetings.meeting(quiz["meeting_id"])
        if person_id not in meeting["invitees"]:
            raise DomainError("quiz_id", "not_invited", "不在本次测试的参加范围内", "forbidden")
        result = grade(quiz["questions"], answers, quiz["pass_mark"])
        attempt = await self._attempt_of(quiz_id, person_id, request)
        if attempt is None:
            if quiz["purpose"] == "make_up":
                self.attendances.check_may_make_up(meeting, person_id)
            now = self.clock.now()
            # As the database keeps it (milliseconds), so a repeat that reads it back answers the same.
            at = now.replace(microsecond=now.microsecond // 1000 * 1000)
            attempt = {"score": result.score, "passed": result.passed, "at": at}
            if request is not None:
                attempt["request"] = request
            await update_if(
                self.db.quiz_attempts, quiz_id, {}, {"$push": {f"people.{person_id}": attempt}}, upsert=True
            )
        now = attempt["at"]
        if result.passed:

            async def decide(meeting: Document) -> Decision:
                if person_id in meeting["quizzes"][quiz_id]["passed"]:
                    return {}, []
                fields: dict[str, Any] = {f"quizzes.{quiz_id}.passed.{person_id}": result.score}
                events: list[EventPayload] = [
                    QuizPassed(
                        meeting_id=meeting["_id"],
                        organisation_id=meeting["organisation_id"],
                        kind=meeting["kind"],
                        quiz_id=quiz_id,
                        purpose=quiz["purpose"],
                        person_id=person_id,
                        score=result.score,
                        pass_mark=quiz["pass_mark"],
                        passed_at=now,
                    )
                ]
                made_up = ((meeting.get("attendance") or {}).get(person_id) or {}).get("made_up_at")
                if quiz["purpose"] == "make_up" and not made_up:
                    self.attendances.check_may_make_up(meeting, person_id)
                    fields[f"attendance.{person_id}.made_up_at"] = now
                    events.append(
                        MakeUpCompleted(
                            meeting_id=meeting["_id"],
                            organisation_id=meeting["organisation_id"],
                            kind=meeting["kind"],
                            person_id=person_id,
                            previous_status=meeting["attendance"][person_id]["status"],
                            quiz_id=quiz_id,
                            score=result.score,
                            completed_at=now,
                        )
                    )
                return {"$set": fields}, events

            await self.meetings.command(meeting["_id"], None, decide)
        return {
            "quiz_id": quiz_id,
            "person_id": person_id,
            **{k: attempt[k] for k in ("score", "passed", "at")},
            "correct": result.correct,
            "total": result.total,
        }

    async def _attempt_of(self, quiz_id: str, person_id: str, request: str | None) -> Document | None:
        """The attempt an earlier run of the same request kept, if any."""
        if request is None:
            return None
        doc = await self.db.quiz_attempts.find_one({"_id": quiz_id}) or {}
        kept = [a for a in (doc.get("people") or {}).get(person_id, []) if a.get("request") == request]
        return kept[0] if kept else None

    async def make_up(
        self, meeting_id: str, person_id: str, answers: list[int], *, request: str | None
    ) -> Document:
        """Answer the make-up quiz of a meeting. A repeat of a request that already counted (its answer
        lost in a crash) finds its attempt even though the make-up is complete by now."""
        meeting = await self.meetings.meeting(meeting_id)
        quiz_ids = [q for q, entry in meeting["quizzes"].items() if entry["purpose"] == "make_up"]
        for quiz_id in quiz_ids:
            if await self._attempt_of(quiz_id, person_id, request) is not None:
                return await self.attempt(quiz_id, person_id, answers, request=request)
        material = await self.make_up_material(meeting_id, person_id)
        return await self.attempt(material["quiz"]["quiz_id"], person_id, answers, request=request)

    async def make_up_material(self, meeting_id: str, person_id: str) -> Document:
        """What a driver needs to make a meeting up: its material, deadline and quiz (no answers)."""
        meeting = await self.meetings.meeting(meeting_id)
        self.attendances.check_may_make_up(meeting, person_id)
        quiz_ids = [q for q, entry in meeting["quizzes"].items() if entry["purpose"] == "make_up"]
        if not quiz_ids:
            raise DomainError("meeting_id", "no_quiz", "本次会议尚未设置补学测试")
        return {
            "meeting_id": meeting_id,
            "topic": meeting["topic"],
            "material": meeting.get("material"),
            "deadline": makeup_deadline(meeting["held_at"], self.attendances.makeup_window_days),
            "quiz": await self.view(quiz_ids[0], with_answers=False),
        }
