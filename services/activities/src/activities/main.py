"""The activities process: `uvicorn activities.main:app`."""

from roadbranch_shared.service import Service
from roadbranch_shared.topics import ACTIVITIES_COMPLIANCE, ACTIVITIES_CONTENT, ACTIVITIES_MEETING

from activities.settings import Settings

service = Service(
    name="activities",
    settings=Settings(),
    outbox_collections=("meetings", "contents"),
    publishes=(ACTIVITIES_MEETING, ACTIVITIES_CONTENT, ACTIVITIES_COMPLIANCE),
    description="Activities: learning and organisational life for drivers on the move (搭建学习平台).",
)
app = service.app
