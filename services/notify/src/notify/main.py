"""The notify process: `uvicorn notify.main:app`."""

from roadbranch_shared.service import Service
from roadbranch_shared.topics import NOTIFY_DELIVERY

from notify.settings import Settings

service = Service(
    name="notify",
    settings=Settings(),
    outbox_collections=("deliveries",),
    publishes=(NOTIFY_DELIVERY,),
    description="Notify: reminders to drivers on the road, never lost, never doubled.",
)
app = service.app
