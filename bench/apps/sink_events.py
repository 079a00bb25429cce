"""The benchmark's own published language: one counter event, outside the `roadbranch.` contracts."""

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import Topic

SINK = Topic("bench.sink.v1", 6, key="aggregate id")


@event_type("bench.sink.counted.v1", topic=SINK)
class Counted(EventPayload):
    """The n-th event of one bench aggregate; `pad` brings the record near a real event's size."""

    aggregate_id: str
    n: int
    pad: str = ""
