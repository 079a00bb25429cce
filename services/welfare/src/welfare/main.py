"""The welfare process: `uvicorn welfare.main:app`."""

from roadbranch_shared.service import Service
from roadbranch_shared.topics import WELFARE_CAMPAIGN, WELFARE_NEED, WELFARE_STATION

from welfare.settings import Settings

service = Service(
    name="welfare",
    settings=Settings(),
    outbox_collections=("needs", "stations", "campaigns"),
    publishes=(WELFARE_NEED, WELFARE_STATION, WELFARE_CAMPAIGN),
    description="Welfare: needs hotline, warm-heart stations and care campaigns (提供精准服务).",
)
app = service.app
