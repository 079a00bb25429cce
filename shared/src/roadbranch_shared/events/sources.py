"""The CloudEvents `source` each service stamps on the events it publishes, in one place.

The spellings differ between services because each is what that service has always published;
consumers and the dead-letter tools may read them, so they stay as they are.
"""

from __future__ import annotations

SOURCES = {
    "activities": "/services/activities",
    "identity": "/identity",
    "notify": "/notify",
    "roster": "/roadbranch/roster",
    "welfare": "/roadbranch/welfare",
}


def source_of(service: str, part: str | None = None) -> str:
    """The `source` of `service`'s events; `part` names a part of the service that publishes on its own
    (notify's staff directory: `/notify/staff`)."""
    base = SOURCES[service]
    return f"{base}/{part}" if part else base
