"""Dead-letter middleware: retry transient errors, wait out outages, park bad records in `<topic>.dlq`.

- invalid records (not JSON, not an envelope, a payload that fails its model) go straight to the
  dead-letter topic;
- other handler errors are retried a few times with exponential backoff, then dead-lettered;
- an unreachable database or broker is never the record's fault: the handler waits and retries
  until it comes back, holding the partition so nothing is reordered or skipped.
The dead-letter record keeps the original key, value and headers, plus headers naming the origin
(topic/partition/offset), the reason and the number of attempts; then the offset commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)
from faststream import BaseMiddleware
from faststream.message import StreamMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, OperationFailure, WTimeoutError

from roadbranch_shared.events import InvalidEvent
from roadbranch_shared.metrics import DeadLetterMetrics
from roadbranch_shared.pii.logfilter import redact_pii

log = logging.getLogger(__name__)

OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionFailure,  # includes AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
    WTimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
    ConnectionError,
)

# Server answers that say "try again", not "this record is wrong": WriteConflict, ExceededTimeLimit,
# interrupted or stepping-down primaries, and the like.
TRANSIENT_SERVER_CODES = frozenset({6, 7, 50, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})

DLQ_HEADERS = (
    "dlq-origin-topic",
    "dlq-origin-partition",
    "dlq-origin-offset",
    "dlq-reason",
    "dlq-error",
    "dlq-attempts",
    "dlq-consumer-group",
    "dlq-failed-at",
    "dlq-value-omitted",
    "dlq-replayed-from",
)

PublishRaw = Callable[[bytes | None, str, bytes | None, dict[str, str]], Awaitable[None]]


class InfrastructureUnavailable(Exception):
    """Raise from a handler when something it needs is down; the record is retried, never parked."""


def classify(error: BaseException) -> str:
    """`invalid:<code>`, `outage` or `transient`."""
    if isinstance(error, InvalidEvent):
        return f"invalid:{error.reason}"
    if isinstance(error, (*OUTAGES, InfrastructureUnavailable)):
        return "outage"
    if isinstance(error, OperationFailure) and (
        error.code in TRANSIENT_SERVER_CODES or error.has_error_label("RetryableWriteError")
    ):
        return "outage"
    return "transient"


def describe(error: BaseException) -> str:
    """A short, PII-free description for the dead-letter header (no input values of pydantic errors)."""
    if isinstance(error, ValidationError):
        text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    else:
        text = f"{type(error).__name__}: {error}"
    return redact_pii(text)[:1000]


class DeadLetterPolicy:
    """The broker middleware factory; `bind` it to a function that publishes raw records."""

    def __init__(
        self,
        metrics: DeadLetterMetrics,
        *,
        max_attempts: int = 3,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        reference_only: Iterable[str] = (),
    ) -> None:
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._publish: PublishRaw | None = None
        self.reference_only = frozenset(reference_only)

    def bind(self, publish: PublishRaw) -> None:
        self._publish = publish

    def delay(self, attempt: int) -> float:
        return float(min(self.base_delay * (2 ** (attempt - 1)), self.max_delay))

    def __call__(self, msg: Any, /, *, context: Any) -> DeadLetterScope:
        return DeadLetterScope(msg, context=context, policy=self)

    async def dead_letter(self, record: Any, *, reason: str, error: str, attempts: int, group: str) -> None:
        if self._publish is None:
            raise RuntimeError("DeadLetterPolicy is not bound to a publisher")
        headers = {k: _header_text(v) for k, v in (record.headers or ()) if k not in DLQ_HEADERS}
        headers.update(
            {
                "dlq-origin-topic": record.topic,
                "dlq-origin-partition": str(record.partition),
                "dlq-origin-offset": str(record.offset),
                "dlq-reason": reason,
                "dlq-error": error,
                "dlq-attempts": str(attempts),
                "dlq-consumer-group": group,
                "dlq-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        # A record of a topic that carries personal data (contact points) is parked as a reference
        # only: the dead-letter topic is neither compacted nor reached by erasure tombstones.
        value: bytes | None = None if record.topic in self.reference_only else record.value
        if value is None:
            headers["dlq-value-omitted"] = "personal_data" if record.value is not None else "tombstone"
        wait = 1
        while True:  # a dead letter is never dropped, and the record is not committed before it is parked
            try:
                await self._publish(value, f"{record.topic}.dlq", record.key, headers)
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not isinstance(e, OUTAGES) and value is not None:
                    # Kafka refuses the copy itself (e.g. too large): park a reference instead.
                    value = None
                    headers["dlq-value-omitted"] = f"refused:{type(e).__name__}"
                    continue
                log.warning("cannot publish dead letter yet", extra={"topic": record.topic, "error": repr(e)})
                await asyncio.sleep(self.delay(min(wait, 8)))
                wait += 1
        self.metrics.dead_letters.labels(record.topic, reason).inc()
        log.error(
            "record dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
                "error": error,
                "attempts": attempts,
            },
        )


class DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        record = msg.raw_message
        if isinstance(record, tuple):
            return await call_next(msg)  # batch subscribers handle their own records
        group = _consumer_group(self.context)
        attempts = 0
        outage_waits = 0
        while True:
            attempts += 1
            try:
                return await call_next(msg)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                kind = classify(error)
                if kind == "outage":
                    attempts -= 1  # an outage is not the record's fault
                    outage_waits += 1
                    self.policy.metrics.outage_waits.labels(record.topic).inc()
                    log.warning(
                        "handler waits for an outage to end",
                        extra={"topic": record.topic, "error": describe(error)},
                    )
                    await asyncio.sleep(self.policy.delay(min(outage_waits, 8)))
                    continue
                if kind.startswith("invalid:"):
                    await self.policy.dead_letter(
                        record,
                        reason=kind.removeprefix("invalid:"),
                        error=describe(error),
                        attempts=attempts,
                        group=group,
                    )
                    return None
                if attempts >= self.policy.max_attempts:
                    await self.policy.dead_letter(
                        record,
                        reason="handler_failed",
                        error=describe(error),
                        attempts=attempts,
                        group=group,
                    )
                    return None
                self.policy.metrics.retries.labels(record.topic).inc()
                await asyncio.sleep(self.policy.delay(attempts))


def _header_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _consumer_group(context: Any) -> str:
    """The group of the subscriber handling the record (FastStream puts it in the context)."""
    try:
        subscriber = context.get_local("handler_")
    except Exception:
        return ""
    return str(getattr(subscriber, "group_id", None) or "")
