"""The roster process: `uvicorn roster.main:app`."""

from roadbranch_shared.service import Service
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG

from roster.settings import Settings

service = Service(
    name="roster",
    settings=Settings(),
    outbox_collections=("drivers", "members", "organisations"),
    publishes=(ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG, ROSTER_CONTACT),
    description="Roster: find the member drivers and connect them (摸清底数、健全组织体系).",
)
app = service.app
