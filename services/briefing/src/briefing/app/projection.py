"""The briefing's own view of the work, built only from the other services' events.

Each source aggregate (a driver, a member, an organisation, a meeting, a need, ...) has one document
here keyed by its id, changed with `apply_in_order`: a redelivered or republished event, or an older
one, changes nothing, so the view is idempotent and order-safe per aggregate. Deliveries too are one
small document each (their counts are grouped in the database, see `FigureBook`): a counter would
count an event the outbox published twice (a new offset, the same event) twice.
Nothing personal is kept: the events carry ids only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import EventSubscription, apply_in_order
from roadbranch_shared.contracts import activities as act
from roadbranch_shared.contracts import notify as nt
from roadbranch_shared.contracts import roster as rs
from roadbranch_shared.contracts import welfare as wf
from roadbranch_shared.events import Envelope
from roadbranch_shared.topics import NOTIFY_STAFF, PROJECT_TOPICS, ROSTER_CONTACT, Topic

from briefing.domain.periods import LOCAL

Document = dict[str, Any]
GROUP = "briefing"
# Every topic but the personal one (contact points): the briefing has no use for a phone number;
# nor for notify's staff directory, which no figure counts.
TOPICS: tuple[Topic, ...] = tuple(t for t in PROJECT_TOPICS if t not in (ROSTER_CONTACT, NOTIFY_STAFF))


class Projection:
    """Subscriptions that keep the view in the database `database()` returns (opened at start-up)."""

    def __init__(self, database: Callable[[], AsyncDatabase[Document]], group_id: str = GROUP) -> None:
        self._database = database
        self.subscriptions = {t.name: EventSubscription(t, group_id=group_id) for t in TOPICS}
        self._register()

    @property
    def db(self) -> AsyncDatabase[Document]:
        return self._database()

    def on(self, model: type[Any]) -> Callable[[Callable[..., Awaitable[None]]], Any]:
        return self.subscriptions[model.topic.name].on(model)

    async def _set(self, collection: str, doc_id: str, envelope: Envelope, fields: Document) -> None:
        await apply_in_order(self.db[collection], doc_id, envelope, {"$set": fields})

    async def _quote(self, quote_id: str, envelope: Envelope, fields: Document) -> None:
        """Keep a driver's words, unless he is erased. Words and erasure come on different topics in
        no fixed order: the erasure marks him before it deletes his words, so a look after the write
        catches words that arrived in between (or after it, e.g. on a replay of the topic)."""
        await self._set("quotes", quote_id, envelope, fields)
        speaker = await self.db.drivers.find_one({"_id": fields["speaker_id"]}, {"erased_at": 1})
        if speaker and speaker.get("erased_at"):
            await self.db.quotes.delete_one({"_id": quote_id})

    def _register(self) -> None:
        on, put = self.on, self._set

        # --- roster: find them (找出来) ---
        @on(rs.DriverRegistered)
        async def driver_registered(e: rs.DriverRegistered, env: Envelope) -> None:
            await put(
                "drivers",
                e.driver_id,
                env,
                {"county": e.county, "source": e.source, "registered_at": e.registered_at},
            )

        @on(rs.DriverErased)
        async def driver_erased(e: rs.DriverErased, env: Envelope) -> None:
            await put("drivers", e.driver_id, env, {"erased_at": e.erased_at})
            # His words go with him; the figures (ids and counts) stay. The quotes are few: a scan.
            await self.db.quotes.delete_many({"speaker_id": e.driver_id})

        @on(rs.MemberCandidateFound)
        async def candidate(e: rs.MemberCandidateFound, env: Envelope) -> None:
            await put(
                "members",
                e.member_id,
                env,
                {"driver_id": e.driver_id, "origin": e.origin, "found_at": e.found_at, "status": "candidate"},
            )

        @on(rs.MemberVerified)
        async def verified(e: rs.MemberVerified, env: Envelope) -> None:
            fields: Document = {
                "driver_id": e.driver_id,
                "status": "verified",
                "verified_at": e.verified_at,
                "method": e.method,
            }
            if e.branch_id:
                fields["branch_id"] = e.branch_id
            await put("members", e.member_id, env, fields)

        @on(rs.MemberRejected)
        async def rejected(e: rs.MemberRejected, env: Envelope) -> None:
            await put("members", e.member_id, env, {"status": "rejected", "rejected_at": e.rejected_at})

        @on(rs.MemberTransferredIn)
        async def transferred_in(e: rs.MemberTransferredIn, env: Envelope) -> None:
            await put(
                "members",
                e.member_id,
                env,
                {"transferred_in_on": e.accepted_on.isoformat(), "branch_id": e.branch_id},
            )

        @on(rs.MemberAssignedToBranch)
        async def assigned(e: rs.MemberAssignedToBranch, env: Envelope) -> None:
            await put("members", e.member_id, env, {"branch_id": e.branch_id, "group_id": e.group_id})

        # --- roster: connect them (联起来) ---
        @on(rs.OrganisationCreated)
        async def organisation(e: rs.OrganisationCreated, env: Envelope) -> None:
            await put(
                "organisations",
                e.organisation_id,
                env,
                {
                    "kind": e.kind,
                    "name": e.name,
                    "parent_id": e.parent_id,
                    "created_at": e.created_at,
                    "county": e.county,
                },
            )

        @on(rs.SeatAssigned)
        async def seat(e: rs.SeatAssigned, env: Envelope) -> None:
            await put(
                "organisations",
                e.organisation_id,
                env,
                {
                    f"seats.{e.seat_id}": {
                        "role": e.role,
                        "person_id": e.person_id,
                        "term_start": e.term_start.isoformat(),
                        "term_end": e.term_end.isoformat() if e.term_end else None,
                        "assigned_at": e.assigned_at,
                    }
                },
            )

        @on(rs.SeatEnded)
        async def seat_ended(e: rs.SeatEnded, env: Envelope) -> None:
            # The committee figures (选优配强委员7名, 配齐支部委员5名) count the seats held in the
            # period, not the seats appointed in it: an end cuts the term short, so the seat stops
            # counting in periods after `term_end` and still counts in the ones it was held in.
            # Field by field, so the seat keeps its `assigned_at`; one the view never saw gets none,
            # and no figure counts a seat it cannot date.
            seat = f"seats.{e.seat_id}"
            await put(
                "organisations",
                e.organisation_id,
                env,
                {
                    f"{seat}.role": e.role,
                    f"{seat}.person_id": e.person_id,
                    f"{seat}.term_start": e.term_start.isoformat(),
                    f"{seat}.term_end": e.term_end.isoformat(),
                    f"{seat}.ended_at": e.ended_at,
                },
            )

        @on(rs.PairingAssigned)
        async def pairing(e: rs.PairingAssigned, env: Envelope) -> None:
            await put(
                "pairings",
                e.pairing_id,
                env,
                {
                    "organisation_id": e.organisation_id,
                    "committee_person_id": e.committee_person_id,
                    "member_ids": e.member_ids,
                    "assigned_at": e.assigned_at,
                },
            )

        # --- activities: gather them (聚起来) ---
        def meeting_fields(e: act.MeetingScheduled | act.MeetingRescheduled) -> Document:
            return {
                "organisation_id": e.organisation_id,
                "kind": e.kind,
                "starts_at": e.starts_at,
                "venue_kind": e.venue_kind,
                "venue_name": e.venue_name,
                "title": e.title,
                "mode": e.mode,
                "invited": len(e.invitee_driver_ids),
                "status": "scheduled",
            }

        @on(act.MeetingScheduled)
        async def scheduled(e: act.MeetingScheduled, env: Envelope) -> None:
            await put("meetings", e.meeting_id, env, {**meeting_fields(e), "host_id": e.host_id})

        @on(act.MeetingRescheduled)
        async def rescheduled(e: act.MeetingRescheduled, env: Envelope) -> None:
            await put("meetings", e.meeting_id, env, meeting_fields(e))

        @on(act.MeetingCancelled)
        async def cancelled(e: act.MeetingCancelled, env: Envelope) -> None:
            await put("meetings", e.meeting_id, env, {"status": "cancelled", "cancelled_at": e.cancelled_at})

        @on(act.MeetingHeld)
        async def held(e: act.MeetingHeld, env: Envelope) -> None:
            await put(
                "meetings",
                e.meeting_id,
                env,
                {
                    "organisation_id": e.organisation_id,
                    "kind": e.kind,
                    "status": "held",
                    "held_at": e.held_at,
                    "venue_kind": e.venue_kind,
                    "mode": e.mode,
                    "host_id": e.host_id,
                    "oath_renewal": e.oath_renewal,
                    "invited": e.invited,
                    "present_on_site": e.present_on_site,
                    "present_online": e.present_online,
                    "on_leave": e.on_leave,
                    "absent": e.absent,
                    "quorum_met": e.quorum_met,
                },
            )

        @on(act.LessonHeld)
        async def lesson(e: act.LessonHeld, env: Envelope) -> None:
            await put(
                "meetings",
                e.meeting_id,
                env,
                {
                    "status": "held",
                    "held_at": e.held_at,
                    "lecturer_id": e.lecturer_id,
                    "kind": "party_lesson",
                },
            )

        @on(act.MakeUpCompleted)
        async def made_up(e: act.MakeUpCompleted, env: Envelope) -> None:
            await put("meetings", e.meeting_id, env, {f"made_up.{e.person_id}": e.completed_at})

        @on(act.QuizPassed)
        async def quiz_passed(e: act.QuizPassed, env: Envelope) -> None:
            if e.purpose == "knowledge_test":
                await put("meetings", e.meeting_id, env, {f"passed.{e.person_id}": e.passed_at})

        @on(act.QuoteRecorded)
        async def quote(e: act.QuoteRecorded, env: Envelope) -> None:
            # The quote keeps the meeting's seq series: its own document, gated by the same seq.
            await self._quote(
                e.quote_id,
                env,
                {
                    "meeting_id": e.meeting_id,
                    "organisation_id": e.organisation_id,
                    "kind": e.kind,
                    "speaker_id": e.speaker_id,
                    "text": e.text,
                    "recorded_at": e.recorded_at,
                },
            )

        @on(act.QuoteWithdrawn)
        async def quote_withdrawn(e: act.QuoteWithdrawn, env: Envelope) -> None:
            # After its quote.recorded in the meeting's series: the words go, the briefing skips it.
            await put("quotes", e.quote_id, env, {"text": "", "withdrawn_at": e.withdrawn_at})

        @on(act.ContentPublished)
        async def content(e: act.ContentPublished, env: Envelope) -> None:
            await put(
                "contents",
                e.content_id,
                env,
                {
                    "organisation_id": e.organisation_id,
                    "category": e.category,
                    "published_at": e.published_at,
                    "audience": len(e.audience_driver_ids) if e.audience_driver_ids is not None else None,
                    "county": e.county,
                },
            )

        @on(act.ContentRead)
        async def content_read(e: act.ContentRead, env: Envelope) -> None:
            await put("contents", e.content_id, env, {f"readers.{e.driver_id}": e.read_at})

        def venue_fields(e: act.VenueRegistered | act.VenueUpdated) -> Document:
            return {
                "name": e.name,
                "venue_kind": e.venue_kind,
                "county": e.county,
                "instructor_ids": e.instructor_ids,
            }

        @on(act.VenueRegistered)
        async def venue_registered(e: act.VenueRegistered, env: Envelope) -> None:
            await put("venues", e.venue_id, env, {**venue_fields(e), "registered_at": e.registered_at})

        @on(act.VenueUpdated)
        async def venue_updated(e: act.VenueUpdated, env: Envelope) -> None:
            await put("venues", e.venue_id, env, venue_fields(e))

        @on(act.ComplianceOverdue)
        async def overdue(e: act.ComplianceOverdue, env: Envelope) -> None:
            await put(
                "compliance",
                f"{e.organisation_id}:{e.requirement}:{e.period}",
                env,
                {
                    "organisation_id": e.organisation_id,
                    "requirement": e.requirement,
                    "period": e.period,
                    "period_end": e.period_end.isoformat(),
                    "raised_at": e.raised_at,
                },
            )

        # --- welfare: warm them (暖起来) ---
        @on(wf.NeedFiled)
        async def filed(e: wf.NeedFiled, env: Envelope) -> None:
            await put(
                "needs",
                e.need_id,
                env,
                {
                    "driver_id": e.driver_id,
                    "category": e.category,
                    "urgency": e.urgency,
                    "filed_at": e.filed_at,
                    "status": "open",
                },
            )

        @on(wf.NeedAssigned)
        async def need_assigned(e: wf.NeedAssigned, env: Envelope) -> None:
            await put("needs", e.need_id, env, {"assigned_at": e.assigned_at, "due_at": e.due_at})

        @on(wf.NeedEscalated)
        async def escalated(e: wf.NeedEscalated, env: Envelope) -> None:
            await put("needs", e.need_id, env, {"escalated_at": e.escalated_at})

        @on(wf.NeedResolved)
        async def resolved(e: wf.NeedResolved, env: Envelope) -> None:
            await put(
                "needs",
                e.need_id,
                env,
                {
                    "status": "resolved",
                    "category": e.category,
                    "filed_at": e.filed_at,
                    "resolved_at": e.resolved_at,
                    "within_target": e.within_target,
                },
            )

        @on(wf.NeedReopened)
        async def reopened(e: wf.NeedReopened, env: Envelope) -> None:
            await put("needs", e.need_id, env, {"status": "open", "reopened_at": e.reopened_at})

        @on(wf.NeedRated)
        async def rated(e: wf.NeedRated, env: Envelope) -> None:
            await put("needs", e.need_id, env, {"rating": e.rating})

        @on(wf.StationOpened)
        async def station_opened(e: wf.StationOpened, env: Envelope) -> None:
            await put(
                "stations",
                e.station_id,
                env,
                {"county": e.county, "name": e.name, "beds": e.beds, "opened_at": e.opened_at},
            )

        @on(wf.StationUpdated)
        async def station_updated(e: wf.StationUpdated, env: Envelope) -> None:
            await put("stations", e.station_id, env, {"beds": e.beds})

        @on(wf.StationCheckedIn)
        async def checked_in(e: wf.StationCheckedIn, env: Envelope) -> None:
            await put(
                "stays",
                e.stay_id,
                env,
                {"station_id": e.station_id, "driver_id": e.driver_id, "checked_in_at": e.checked_in_at},
            )

        @on(wf.CampaignStarted)
        async def campaign_started(e: wf.CampaignStarted, env: Envelope) -> None:
            await put(
                "campaigns",
                e.campaign_id,
                env,
                {
                    "kind": e.kind,
                    "title": e.title,
                    "starts_on": e.starts_on.isoformat(),
                    "started_at": e.started_at,
                },
            )

        @on(wf.CampaignStockReceived)
        async def stock_received(e: wf.CampaignStockReceived, env: Envelope) -> None:
            if e.label:
                await put("campaigns", e.campaign_id, env, {f"labels.{e.item}": e.label})

        @on(wf.CampaignVisitRecorded)
        async def visit(e: wf.CampaignVisitRecorded, env: Envelope) -> None:
            await put(
                "visits",
                e.visit_id,
                env,
                {
                    "campaign_id": e.campaign_id,
                    "driver_id": e.driver_id,
                    "member": e.member,
                    "items": e.items,
                    "solved_need_ids": e.solved_need_ids,
                    "visited_at": e.visited_at,
                },
            )

        @on(wf.CampaignWordsRecorded)
        async def words(e: wf.CampaignWordsRecorded, env: Envelope) -> None:
            # A quote like the meetings' ones, of the 暖起来 part; erased with its speaker like them.
            await self._quote(
                f"{e.visit_id}:words",
                env,
                {
                    "campaign_id": e.campaign_id,
                    "campaign_kind": e.kind,
                    "speaker_id": e.driver_id,
                    "member": e.member,
                    "text": e.text,
                    "recorded_at": e.recorded_at,
                },
            )

        # --- notify: what reached the drivers ---
        async def delivery(
            env: Envelope, delivery_id: str, driver_id: str, channel: str, outcome: str, at: Any
        ) -> None:
            # Filed under the recipient's county as the view knows it now: a driver is registered long
            # before anything is sent to him, so "unknown" only shows a message to a stranger.
            driver = await self.db.drivers.find_one({"_id": driver_id}, {"county": 1})
            fields = {
                "county": (driver or {}).get("county") or "unknown",
                "month": at.astimezone(LOCAL).strftime("%Y-%m"),
                "channel": channel,
                "outcome": outcome,
            }
            await put("deliveries", delivery_id, env, fields)

        @on(nt.DeliverySent)
        async def sent(e: nt.DeliverySent, env: Envelope) -> None:
            await delivery(env, e.delivery_id, e.recipient_driver_id, e.channel, "sent", e.sent_at)

        @on(nt.DeliveryFailed)
        async def failed(e: nt.DeliveryFailed, env: Envelope) -> None:
            if e.permanent:  # a transient failure is retried: its outcome comes later
                await delivery(env, e.delivery_id, e.recipient_driver_id, e.channel, "failed", e.failed_at)

    def subscribe(self, subscribe: Callable[[EventSubscription], None]) -> None:
        for subscription in self.subscriptions.values():
            if subscription.event_types:
                subscribe(subscription)
