"""A test-only published language: counters, so the backbone can be checked without any service's domain."""

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import Topic

TALLY = Topic("test.tally.v1", 3, key="counter id")


@event_type("test.tally.counted.v1", topic=TALLY)
class Counted(EventPayload):
    counter_id: str
    amount: int
    note: str = ""


@event_type("test.tally.audit.v1", topic=TALLY)
class AuditRequested(EventPayload):
    """Makes the careless audit handler below touch personal data: the safety nets must catch it."""

    holder_id: str
