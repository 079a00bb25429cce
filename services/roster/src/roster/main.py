"""The roster process: `uvicorn roster.main:app`."""

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.service import Service
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG

from roster.app.audit import AuditLog
from roster.app.contacts import ContactPreferences
from roster.app.figures import RosterFigures
from roster.app.imports import DriverImports
from roster.app.member_cases import MemberCases
from roster.app.members import Members
from roster.app.privacy import Privacy
from roster.app.search import DriverSearch
from roster.entrypoints import audit_http, driver_files_http, ledger_http, organisation_http, search_http
from roster.entrypoints.http import router
from roster.entrypoints.members_http import router as members_router
from roster.settings import Settings

settings = Settings()
service = Service(
    name="roster",
    settings=settings,
    outbox_collections=("drivers", "members", "organisations", "pairings"),
    publishes=(ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG, ROSTER_CONTACT),
    description="Roster: find the member drivers and connect them (摸清底数、健全组织体系).",
)
import_rows = Counter(
    "roadbranch_roster_import_rows",
    "Rows of imported driver lists, by result (registered, updated, unchanged, invalid) and source",
    ["result", "source"],
    registry=service.metrics.registry,
)

verification_attempts = Counter(
    "roadbranch_roster_verification_attempts",
    "Verification attempts (查身份、核信息) by method and outcome",
    ["method", "outcome"],
    registry=service.metrics.registry,
)


async def prepare(db: AsyncDatabase[dict]) -> None:
    # PII keys are read at start-up, not import: a missing key stops the service naming the variable.
    keys = PiiKeys.from_env()
    keys.require_contact_key()  # roster.contact.v1 carries contact points only sealed
    imports = DriverImports(
        db,
        keys,
        batch_size=settings.import_batch_size,
        on_row=lambda result, source, n: import_rows.labels(result, source).inc(n),
    )
    service.app.state.driver_imports = imports
    service.app.state.default_county = settings.default_county
    service.app.state.clock_control = settings.clock_control
    service.app.state.privacy = Privacy(db, imports.keys)
    service.app.state.contacts = ContactPreferences(db, imports.keys)
    figures = RosterFigures(db, service.metrics.registry)
    service.app.state.figures_task = start_periodically(
        figures.refresh, settings.figures_interval_seconds, name="roster figures", first_after=0
    )
    service.app.state.members = Members(
        db,
        imports.keys,
        on_attempt=lambda method, outcome: verification_attempts.labels(method, outcome).inc(),
    )
    service.app.state.member_cases = MemberCases(db)
    search = DriverSearch(db, imports.keys)
    service.app.state.driver_search = search
    audit = AuditLog(db)
    service.app.state.audit_log = audit
    imports.start_housekeeping(search.create_indexes, audit.create_indexes)
    organisation_http.attach(service, db)
    ledger_http.attach(service, db)


service.on_startup = prepare
# Before `router`: its /drivers/{driver_id} and /driver-imports/{batch_id} would take these paths.
service.include(driver_files_http.router)
service.include(search_http.router)
service.include(router)
service.include(members_router)
service.include(organisation_http.router)
service.include(ledger_http.router)
service.include(audit_http.router)
app = service.app
