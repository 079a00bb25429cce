"""The roster process: `uvicorn --factory roster.main:create_app`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.service import Service
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG

from roster.app.audit import AuditLog
from roster.app.contacts import ContactPreferences
from roster.app.figures import RosterFigures
from roster.app.imports import DriverImports
from roster.app.ledger import Ledger
from roster.app.member_cases import MemberCases
from roster.app.members import Members
from roster.app.organisation import Organisations
from roster.app.privacy import Privacy
from roster.app.scope import Scope
from roster.app.search import DriverSearch
from roster.app.seats import Seats
from roster.entrypoints import audit_http, driver_files_http, ledger_http, organisation_http, search_http
from roster.entrypoints.http import router
from roster.entrypoints.members_http import router as members_router
from roster.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    keys: PiiKeys | None = None,
    database: AsyncDatabase[Document] | None = None,
) -> FastAPI:
    """The roster app, every part built here from `settings` (ROADBRANCH_* unless given). Without
    `keys` they are read from ROADBRANCH_PII_* now, when the process builds its app: a missing key
    stops it naming the variable."""
    settings = settings or Settings()
    keys = keys or PiiKeys.from_env()
    keys.require_contact_key()  # roster.contact.v1 carries contact points only sealed
    service = Service(
        name="roster",
        settings=settings,
        outbox_collections=("drivers", "members", "organisations", "pairings"),
        publishes=(ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG, ROSTER_CONTACT),
        description="Roster: find the member drivers and connect them (摸清底数、健全组织体系).",
        database=database,
    )
    db = service.db
    registry = service.metrics.registry
    import_rows = Counter(
        "roadbranch_roster_import_rows",
        "Rows of imported driver lists, by result (registered, updated, unchanged, invalid) and source",
        ["result", "source"],
        registry=registry,
    )
    verification_attempts = Counter(
        "roadbranch_roster_verification_attempts",
        "Verification attempts (查身份、核信息) by method and outcome",
        ["method", "outcome"],
        registry=registry,
    )
    imports = DriverImports(
        db,
        keys,
        batch_size=settings.import_batch_size,
        on_row=lambda result, source, n: import_rows.labels(result, source).inc(n),
        heartbeat_seconds=settings.import_heartbeat_seconds,
    )
    organisations = Organisations(
        db,
        pairing_overdue_after_days=settings.pairing_overdue_after_days,
        default_county=settings.default_county,
    )
    ledger = Ledger(db, lost_contact_after=timedelta(days=settings.lost_contact_after_days))
    figures = RosterFigures(db, registry)
    search = DriverSearch(db, keys)
    audit = AuditLog(db)
    state = service.app.state
    state.driver_imports = imports
    state.default_county = settings.default_county
    state.clock_control = settings.clock_control
    state.privacy = Privacy(db, keys)
    state.contacts = ContactPreferences(db, keys)
    state.members = Members(
        db, keys, on_attempt=lambda method, outcome: verification_attempts.labels(method, outcome).inc()
    )
    state.member_cases = MemberCases(db)
    state.driver_search = search
    state.audit_log = audit
    state.organisations = organisations
    state.seats = Seats(db, organisations)
    state.scope = Scope(db)
    state.ledger = ledger

    async def start(_: AsyncDatabase[Document]) -> None:
        # Kept on the state so the tasks are not garbage-collected; the loop cancels them at shutdown.
        state.figures_task = start_periodically(
            figures.refresh, settings.figures_interval_seconds, name="roster figures", first_after=0
        )
        imports.start_housekeeping(search.create_indexes, audit.create_indexes)
        # An import whose replica died is resumed by whichever replica looks next.
        state.stale_import_check = start_periodically(
            imports.take_over_leftovers,
            3 * settings.import_heartbeat_seconds,
            name="stale import check",
            once_across=service.period_claims,
        )
        state.pairing_overdue_scan = start_periodically(
            lambda: organisations.find_overdue_pairings(datetime.now(UTC)),
            settings.scan_interval_seconds,
            name="pairing-overdue scan",
            once_across=service.period_claims,
        )
        state.lost_contact_scan = start_periodically(
            lambda: ledger.find_lost_contact(datetime.now(UTC)),
            settings.scan_interval_seconds,
            name="lost-contact scan",
            once_across=service.period_claims,
        )

    service.on_startup = start
    # Before `router`: its /drivers/{driver_id} and /driver-imports/{batch_id} would take these paths.
    service.include(driver_files_http.router)
    service.include(search_http.router)
    service.include(router)
    service.include(members_router)
    service.include(organisation_http.router)
    service.include(ledger_http.router)
    service.include(audit_http.router)
    return service.app
