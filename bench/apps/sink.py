"""The benchmark's consumer service, built only from the shared backbone (like tests/apps/tally.py).

It applies each bench event exactly once to a per-aggregate document and records, in that same update,
the latency from the event's `time` (set when the command staged it) to the moment it is applied.
Run by bench/run.py in its own process: `uvicorn apps.sink:app --app-dir bench`.
"""

from datetime import UTC, datetime

from apps.sink_events import SINK, Counted
from roadbranch_shared.consumers import EventSubscription, apply_once
from roadbranch_shared.events import Envelope
from roadbranch_shared.service import Service
from roadbranch_shared.settings import settings_for

service = Service(name="sink", settings=settings_for("sink")())
counters = EventSubscription(SINK, group_id="bench-sink")


@counters.on(Counted)
async def count(event: Counted, envelope: Envelope) -> None:
    now = datetime.now(UTC)
    latency_ms = (now - envelope.time).total_seconds() * 1000
    applied = await apply_once(
        service.db.aggregates,
        event.aggregate_id,
        envelope,
        {
            "$push": {"seqs": envelope.seq, "latencies_ms": latency_ms},
            "$set": {"last_applied_at": now},
        },
    )
    if not applied:
        # At-least-once delivery: the bench reports how many redeliveries the dedupe absorbed.
        await service.db.stats.update_one({"_id": "duplicates"}, {"$inc": {"n": 1}}, upsert=True)


service.subscribe(counters)
app = service.app
