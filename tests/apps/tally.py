"""A test consumer service built only from the shared backbone: it applies counter events exactly once.

Run by the tests in its own process: `uvicorn tally:app --app-dir tests/apps`.
"""

import logging

from roadbranch_shared.consumers import EventSubscription, apply_once
from roadbranch_shared.events import Envelope
from roadbranch_shared.pii import PiiKeys, decrypt
from roadbranch_shared.service import Service
from roadbranch_shared.settings import settings_for
from tally_events import TALLY, AuditRequested, Counted

log = logging.getLogger("tally")

service = Service(name="tally", settings=settings_for("tally")())
counters = EventSubscription(TALLY, group_id="tally")


@counters.on(Counted)
async def count(event: Counted, envelope: Envelope) -> None:
    if event.note == "fail-until-fixed" and await service.db.stats.find_one({"_id": "fixed"}) is None:
        raise RuntimeError("the tally handler cannot count this yet")
    applied = await apply_once(
        service.db.tallies,
        event.counter_id,
        envelope,
        {"$inc": {"total": event.amount}, "$push": {"seqs": envelope.seq}},
    )
    if not applied:
        # Redeliveries are expected after a relay crash; count them so tests see the dedupe work.
        await service.db.stats.update_one({"_id": "duplicates"}, {"$inc": {"n": 1}}, upsert=True)


@counters.on_tombstone
async def erase(counter_id: str) -> None:
    await service.db.tallies.delete_one({"_id": counter_id})


@counters.on(AuditRequested)
async def audit(event: AuditRequested, envelope: Envelope) -> None:
    holder = await service.db.holders.find_one({"_id": event.holder_id})
    if holder is None:
        raise LookupError(f"no holder {event.holder_id}")
    keys = PiiKeys.from_env()
    id_number = decrypt(keys, holder["id_number"], aad=event.holder_id)
    phone = decrypt(keys, holder["phone"], aad=event.holder_id)
    log.info("auditing holder %s with phone %s", id_number, phone)
    raise ValueError(f"holder {id_number} ({phone}) failed the audit")


service.subscribe(counters)
app = service.app
