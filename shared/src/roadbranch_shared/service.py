"""The service app factory: FastAPI for HTTP, FastStream for Kafka, PyMongo async for the database.

The FastAPI lifespan starts the Mongo client, the broker and the outbox relay, and stops them in
reverse order; `/metrics`, `/health/live` and `/health/ready` come with every service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import new_class
from typing import Annotated, Any, Literal, Union

from fastapi import APIRouter, Depends, FastAPI, Response
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from roadbranch_shared import contracts  # noqa: F401  (registers every published event type)
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, TokenFile, TokenTable, require_roles
from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.deadletter import DeadLetterPolicy
from roadbranch_shared.documents import Document
from roadbranch_shared.errors import install_error_handlers
from roadbranch_shared.events import Envelope, EventSpec, registered_events
from roadbranch_shared.idempotency import COLLECTION as IDEMPOTENCY_KEYS
from roadbranch_shared.idempotency import IdempotencyStore
from roadbranch_shared.jwt_auth import Authenticator, AuthSettings, JwksFetch
from roadbranch_shared.logs import configure_logging, route_library_logs
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.openapi_errors import declare_error_responses
from roadbranch_shared.outbox import OutboxEntry, OutboxRelay, pending_markers
from roadbranch_shared.periodic import PeriodClaims, start_periodically
from roadbranch_shared.plain_text import RefuseControlCharacters
from roadbranch_shared.settings import ServiceSettings
from roadbranch_shared.topics import PROJECT_TOPICS, Topic

log = logging.getLogger(__name__)


def make_broker(
    name: str, settings: ServiceSettings, metrics: BackboneMetrics
) -> tuple[KafkaBroker, DeadLetterPolicy]:
    """A broker with the project's producer settings and middlewares (metrics outermost)."""
    dead_letters = DeadLetterPolicy(
        metrics.dead_letters,
        max_attempts=settings.dlq_max_attempts,
        base_delay=settings.dlq_base_delay,
        reference_only=[t.name for t in PROJECT_TOPICS if t.personal],
    )
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"roadbranch-{name}",
        enable_idempotence=True,
        acks="all",
        allow_auto_create_topics=False,
        middlewares=[
            KafkaPrometheusMiddleware(registry=metrics.registry, app_name=name),
            dead_letters,
        ],
        logger=logging.getLogger(f"faststream.{name}"),
        # One line per received message is debugging detail, not an operator's log.
        log_level=logging.DEBUG,
    )

    async def publish_raw(
        value: bytes | None, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> None:
        await broker.publish(value, topic=topic, key=key, headers=headers)

    dead_letters.bind(publish_raw)
    return broker, dead_letters


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.replace(".", "_").split("_"))


def event_schema(spec: EventSpec) -> type[Envelope]:
    """The envelope of one event type: `type` fixed to it, `data` its payload model (for AsyncAPI).

    Named after the type without its `roadbranch.` prefix (`WelfareNeedFiledV1Event`), so the names
    of two topics' events never collide in a document."""
    name = _camel(spec.type.removeprefix("roadbranch.")) + "Event"
    fixed: Any = Literal[spec.type]
    return create_model(
        name,
        __base__=Envelope,
        __doc__=f"A `{spec.type}` event: the envelope, with `data` a {spec.model.__name__}.",
        type=(fixed, ...),
        data=(spec.model, ...),
    )


def envelope_schema(topic: Topic) -> type[BaseModel]:
    """What a record of `topic` holds (for AsyncAPI): one of its event types, told apart by `type`.

    A `oneOf` of one envelope per registered type (`event_schema`) with a discriminator on `type`.
    AsyncAPI asks that the discriminating property be declared and required on the schema that
    names it, so the union also declares `type` with the topic's types as its enum."""
    specs = [s for s in registered_events() if s.topic == topic]
    if not specs:
        return Envelope
    events: Any = Union[tuple(event_schema(s) for s in specs)]  # noqa: UP007  (a runtime tuple of types)
    declared: dict[str, Any] = {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [s.type for s in specs]}},
        "required": ["type"],
    }

    def body(namespace: dict[str, Any]) -> None:
        namespace["__doc__"] = f"A record of `{topic.name}`: one of its events, told apart by `type`."
        namespace["__module__"] = __name__
        namespace["model_config"] = ConfigDict(json_schema_extra=declared)

    root = RootModel[Annotated[events, Field(discriminator="type")]]
    return new_class(_camel(topic.name) + "Event", (root,), exec_body=body)


def _topic_description(topic: Topic) -> str:
    types = [s.type for s in registered_events() if s.topic == topic]
    kind = (
        "log-compacted (a record with a null value is a tombstone: the key's record is erased; "
        "it carries none of the CloudEvents headers), "
        if topic.compacted
        else ""
    )
    listed = ", ".join(types) or "none yet"
    return f"{kind}keyed by {topic.key}; {topic.partitions} partitions; event types: {listed}"


def outbox_publisher(broker: KafkaBroker) -> Callable[[OutboxEntry], Awaitable[None]]:
    """How a relay publishes an outbox entry: the stored bytes, keyed by aggregate, with CE headers."""

    async def publish(entry: OutboxEntry) -> None:
        body = entry["body"]
        await broker.publish(
            body.encode() if body is not None else None,  # None: a tombstone
            topic=entry["topic"],
            key=entry["key"].encode(),
            headers=entry["headers"],
        )

    return publish


@dataclass
class Service:
    """One roadbranch service process, built by its `create_app` before anything runs.

    The database handle exists from construction (PyMongo opens no connection until the first
    operation), so a service's parts are built with it, not with a callback; the lifespan only
    starts what runs (the broker, the relay, `on_startup`'s work) and stops it again. Routes and
    subscriptions are added before the app starts. `database` is for tests that run the app in
    process on a database of their own; by default the client is opened from the settings.
    """

    name: str
    settings: ServiceSettings
    outbox_collections: Sequence[str] = ()
    publishes: Sequence[Topic] = ()
    on_startup: Callable[[AsyncDatabase[Document]], Awaitable[None]] | None = None
    description: str = ""
    metrics: BackboneMetrics = field(default_factory=BackboneMetrics)
    auth: AuthSettings | None = None  # ROADBRANCH_AUTH_* unless given
    database: AsyncDatabase[Document] | None = None

    def __post_init__(self) -> None:
        configure_logging(self.name, self.settings.log_level)
        self.broker, self.dead_letters = make_broker(self.name, self.settings, self.metrics)
        for topic in self.publishes:
            self.broker.publisher(
                topic.name,
                title=topic.name,
                schema=envelope_schema(topic),
                description=_topic_description(topic),
            )
        self.app = FastAPI(
            title=f"roadbranch {self.name}", description=self.description, lifespan=self._lifespan
        )
        self.app.state.service = self
        self.app.state.token_table = self._token_table()
        self.app.state.authenticator = Authenticator.from_settings(
            self.auth or AuthSettings(), self.app.state.token_table
        )
        install_error_handlers(self.app)
        self.app.add_middleware(RefuseControlCharacters)
        declare_error_responses(self.app)
        self.app.include_router(self._operations_router())
        # One client per process; tz_aware so stored times come back in UTC. None: the database was given.
        self._mongo: AsyncMongoClient[Document] | None = None
        if self.database is None:
            self._mongo = AsyncMongoClient(
                self.settings.mongo_uri, tz_aware=True, appname=f"roadbranch-{self.name}"
            )
            self.database = self._mongo[self.settings.mongo_db or self.name]
        # `Idempotency-Key` answers live here; requests without the header never touch it.
        self.app.state.idempotency = IdempotencyStore(
            self.database[IDEMPOTENCY_KEYS],
            ttl=timedelta(days=self.settings.idempotency_days),
            lease=timedelta(seconds=self.settings.idempotency_lease_seconds),
        )
        # Periodic jobs that must run once per period across the service's replicas claim it here.
        self.period_claims = PeriodClaims(self.database)
        self.relay: OutboxRelay | None = None
        self._housekeeping: asyncio.Task[None] | None = None

    @property
    def db(self) -> AsyncDatabase[Document]:
        assert self.database is not None  # set in __post_init__
        return self.database

    def use_own_keys(self, own_keys: JwksFetch) -> None:
        """Check tokens against this key set, read in process (the identity service's own keys)
        instead of fetched over HTTP."""
        self.app.state.authenticator = Authenticator.from_settings(
            self.auth or AuthSettings(), self.app.state.token_table, own_keys=own_keys
        )

    def subscribe(self, subscription: EventSubscription) -> None:
        subscription.register(self.broker, heartbeat_seconds=self.settings.kafka_heartbeat_seconds)

    def include(self, router: APIRouter) -> None:
        self.app.include_router(router)

    def asyncapi(self) -> AsyncAPI:
        return AsyncAPI(
            self.broker,
            title=f"roadbranch {self.name}",
            version="1.0.0",
            description=self.description,
        )

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    def _token_table(self) -> TokenTable:
        if self.settings.tokens_file is not None:
            return TokenFile(self.settings.tokens_file)
        if self.settings.tokens:
            return TokenTable.from_json(self.settings.tokens.get_secret_value())
        log.warning("no token table configured: every API call will be refused with 401")
        return TokenTable({})

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        route_library_logs()  # uvicorn may have configured its loggers after we were imported
        try:
            store: IdempotencyStore = self.app.state.idempotency
            self._housekeeping = start_periodically(store.prune, 3600, name="idempotency key expiry")
            if self.on_startup is not None:
                await self.on_startup(self.db)
            await self.broker.start()
            if self.outbox_collections:
                self.relay = OutboxRelay(
                    self.db,
                    self.outbox_collections,
                    outbox_publisher(self.broker),
                    metrics=self.metrics.outbox,
                    idle_interval=self.settings.relay_idle_interval,
                    lease=timedelta(seconds=self.settings.relay_lease_seconds),
                )
                self.relay.start()
            log.info("service started", extra={"kafka": self.settings.kafka_bootstrap})
            yield
        finally:
            if self._housekeeping is not None:
                self._housekeeping.cancel()
                self._housekeeping = None
            if self.relay is not None:
                await self.relay.stop()
                self.relay = None
            await self.broker.stop()
            await self.app.state.authenticator.close()
            if self._mongo is not None:
                await self._mongo.close()
            log.info("service stopped")

    def _operations_router(self) -> APIRouter:
        router = APIRouter(tags=["operations"])

        @router.get("/health/live")
        async def live() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @router.get("/health/ready")
        async def ready(response: Response) -> dict[str, Any]:
            checks = {"database": await self._database_ready(), "kafka": await self._kafka_ready()}
            ok = all(checks.values())
            if not ok:
                response.status_code = 503
            return {"status": "ok" if ok else "unavailable", "service": self.name, "checks": checks}

        @router.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

        @router.get("/v1/whoami")
        async def whoami(principal: CurrentPrincipal) -> Principal:
            """The caller as this service knows them (role and organisation scope)."""
            return principal

        operators = Depends(require_roles(Role.OPERATOR, Role.WORK_GROUP_STAFF))

        @router.get("/v1/ops/outbox", dependencies=[operators])
        async def outbox_backlog() -> dict[str, Any]:
            """Aggregates with events waiting to be published, per collection."""
            counts = dict.fromkeys(self.outbox_collections, 0)
            for name in self.outbox_collections:
                counts[name] = await pending_markers(self.db[name]).count_documents({})
            return {"service": self.name, "pending": counts}

        return router

    async def _database_ready(self) -> bool:
        try:
            await asyncio.wait_for(self.db.command("ping"), timeout=2)
            return True
        except Exception:
            return False

    async def _kafka_ready(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2))
        except Exception:
            return False
