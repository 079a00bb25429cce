"""A test consumer of welfare.need.v1: keeps each need's life cycle as another service (notify, the
briefing) would, to show the events are usable from another process."""

from roadbranch_shared.consumers import EventSubscription, apply_once
from roadbranch_shared.contracts.welfare import (
    NeedAssigned,
    NeedEscalated,
    NeedFiled,
    NeedMatched,
    NeedRated,
    NeedReopened,
    NeedResolved,
)
from roadbranch_shared.events import Envelope, EventPayload
from roadbranch_shared.service import Service
from roadbranch_shared.settings import settings_for
from roadbranch_shared.topics import WELFARE_NEED

service = Service(name="needwatch", settings=settings_for("needwatch")())
needs = EventSubscription(WELFARE_NEED, group_id="need-watch")


async def record(event: EventPayload, envelope: Envelope) -> None:
    step = envelope.type.split(".")[-2]  # roadbranch.welfare.need.<step>.v1
    data = event.model_dump(mode="json")
    await apply_once(
        service.db.needs,
        data["need_id"],
        envelope,
        {"$push": {"steps": step}, "$set": {f"last.{step}": data}},
    )


for model in (NeedFiled, NeedMatched, NeedAssigned, NeedEscalated, NeedResolved, NeedRated, NeedReopened):
    needs.on(model)(record)

service.subscribe(needs)
app = service.app
