"""The briefing's own view of the work, built only from the other services' events.

Each source aggregate (a driver, a member, an organisation, a meeting, a need, ...) has one document
here keyed by its id. How each event changes it is a row in its source service's table
(`briefing.app.sources`); every write goes through `apply_in_order`: a redelivered or republished
event, or an older one, changes nothing, so the view is idempotent and order-safe per aggregate.
Nothing personal is kept: the events carry ids only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.documents import Document
from roadbranch_shared.events import Envelope
from roadbranch_shared.topics import NOTIFY_STAFF, PROJECT_TOPICS, ROSTER_CONTACT, Topic

from briefing.app.sources import activities, notify, roster, welfare
from briefing.app.sources.rules import Rule

GROUP = "briefing"
# Every topic but the personal one (contact points): the briefing has no use for a phone number;
# nor for notify's staff directory, which no figure counts.
TOPICS: tuple[Topic, ...] = tuple(t for t in PROJECT_TOPICS if t not in (ROSTER_CONTACT, NOTIFY_STAFF))


class Projection:
    """Subscriptions that keep the view in `db`."""

    def __init__(self, db: AsyncDatabase[Document], group_id: str = GROUP) -> None:
        self.db = db
        self.subscriptions = {t.name: EventSubscription(t, group_id=group_id) for t in TOPICS}
        self._register()

    def _register(self) -> None:
        """One handler per row of the source tables; a second row for one event type is a mistake."""
        for rule in (*roster.RULES, *activities.RULES, *welfare.RULES, *notify.RULES):
            subscription = self.subscriptions[rule.event.topic.name]
            if rule.event.event_type in subscription.event_types:
                raise ValueError(f"two rules for {rule.event.event_type}")
            subscription.on(rule.event)(self._applying(rule))

    def _applying(self, rule: Rule) -> Callable[[Any, Envelope], Awaitable[None]]:
        async def apply(event: Any, envelope: Envelope) -> None:
            await rule.apply(self.db, event, envelope)

        return apply

    def subscribe(self, subscribe: Callable[[EventSubscription], None]) -> None:
        for subscription in self.subscriptions.values():
            if subscription.event_types:
                subscribe(subscription)
