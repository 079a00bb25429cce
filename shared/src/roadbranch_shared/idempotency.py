"""The `Idempotency-Key` request header on a driver's writes: an action queued on his phone while he
had no signal may be sent twice (a lost answer, a retry), and must take effect once.

Semantics (the IETF httpapi draft "The Idempotency-Key HTTP Header Field", as Stripe runs it):

- The key is the client's string (a UUID or the like: 8-128 characters of ``A-Z a-z 0-9 - _ . : ~``,
  bare or as a structured-field string in double quotes); anything else is a 422 naming the header.
  Without the header a request runs as it always did.
- A key belongs to the caller (the token's subject) and the route (method and path template): one
  driver's key never meets another's, and a key used on one route is unknown on the others.
- The first request runs; its answer (status and JSON body) is stored in the service's own
  database. A repeat with the same key and the same request (the concrete path and the JSON body,
  compared after parsing, so spacing and field order do not matter) gets the stored answer again,
  marked `Idempotent-Replayed: true`, and changes nothing. The same key with another request is a
  422 naming the header; a repeat while the first still runs is a 409 (`Retry-After`), retryable.
- Only a success is stored. A refusal (4xx) had no effect, so its key is released and a retry is
  judged afresh: a driver who was refused because the roster's news had not arrived yet, or who
  fixes his input, is not stuck with the old answer for days.
- Keys expire `ttl` after first use (14 days by default, never under 7: a driver can be out of
  signal for days). FerretDB 1.24 gives no TTL-index guarantee, so expiry is the `expires_at` field:
  a lookup treats an expired key as new, and `prune` (run hourly by the service) deletes them.

Exactly once across a crash. The key is claimed first (insert of `{_id: digest, state: running}`,
unique on `_id`), then the use case runs, then the answer is stored. A crash after the use case's
write and before the answer is stored leaves a `running` claim whose lease (`lease_seconds`) runs
out; the next repeat takes it over and runs the use case again. That second run must find what the
first did instead of doing it twice, which each use case makes sure of with `IdempotentRequest.digest`
(the scoped key, stable across retries): a use case that creates (filing a need) derives the new
aggregate's id from it, so the second insert meets the first; one that records (a quiz attempt, a
rating) stores it in the same single-document write and looks for it first; one that is naturally
idempotent (a check-in, a read mark) answers success with the state it finds rather than "already
done". No multi-document transaction is needed, which FerretDB does not have.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import pydantic_core
from fastapi import Depends, Header, Request, Response
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from roadbranch_shared.auth import Principal, current_principal
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError

T = TypeVar("T")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
COLLECTION = "idempotency_keys"
MIN_TTL = timedelta(days=7)
KEY_PATTERN = re.compile(r"[A-Za-z0-9\-_.:~]{8,128}")
RUNNING, DONE = "running", "done"


class StoredAnswer(ApiError):
    """The stored answer of a key's first request, sent again as it was (with `Idempotent-Replayed`).
    Raised, so a route's own return type stays what its first answer is; rendered by the shared
    ApiError handler."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status, "replayed", "重复请求，返回首次处理的结果。")
        self.stored_body = body

    def response(self) -> Response:  # type: ignore[override]
        return Response(
            self.stored_body,
            status_code=self.status,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )


def key_refused(reason: str, message: str) -> ApiError:
    return ApiError(
        422,
        ErrorCode.INVALID,
        message,
        field=HEADER,
        details={"reason": reason, "fields": [FieldError(HEADER, reason, message).as_dict()]},
    )


def key_in_use() -> ApiError:
    return ApiError(
        409,
        ErrorCode.CONFLICT,
        "使用此 Idempotency-Key 的请求正在处理中，请稍后重试。",
        field=HEADER,
        details={"reason": "idempotency_key_in_use", "retryable": True},
        headers={"Retry-After": "1"},
    )


def parse_key(raw: str) -> str:
    """The key from the header: bare or an RFC 8941 string ("…"); 422 naming the header otherwise."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not KEY_PATTERN.fullmatch(value):
        raise key_refused(
            "bad_idempotency_key",
            "Idempotency-Key 须为 8 至 128 个字符，只含字母、数字和 - _ . : ~（例如 UUID）。",
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same: method, concrete path and the body's JSON value."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (UnicodeDecodeError, json.JSONDecodeError):
        canonical = body.hex()
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class IdempotencyStore:
    """The stored keys of one service, in its own database (`idempotency_keys`, keyed by digest)."""

    collection: AsyncCollection[Document]
    ttl: timedelta = timedelta(days=14)
    lease: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.ttl < MIN_TTL:
            raise ValueError(f"idempotency keys must be kept at least {MIN_TTL.days} days")

    async def claim(self, digest: str, route: str, print_: str, now: datetime) -> str | None:
        """Claim the key for a run: None if this caller may run now (a new key, an expired one, or
        a crashed run's claim taken over); otherwise raises the answer (stored, 409 or 422)."""
        claim = {
            "_id": digest,
            "route": route,
            "fingerprint": print_,
            "state": RUNNING,
            "owner": uuid.uuid4().hex,
            "claimed_at": now,
            "lease_until": now + self.lease,
            "expires_at": now + self.ttl,
        }
        for _ in range(3):
            try:
                await self.collection.insert_one(claim)
                return None
            except DuplicateKeyError:
                pass
            found = await self.collection.find_one({"_id": digest})
            if found is None:
                continue  # released meanwhile: claim again
            if _aware(found["expires_at"]) <= now:
                # An expired key is a new one; the condition keeps two takers from both winning.
                if await update_if(
                    self.collection, digest, {"expires_at": found["expires_at"]}, {"$set": claim}
                ):
                    return None
                continue
            if found["fingerprint"] != print_:
                raise key_refused(
                    "idempotency_key_reused",
                    "此 Idempotency-Key 已用于另一个内容不同的请求；新的操作请生成新的键。",
                )
            if found["state"] == DONE:
                raise StoredAnswer(int(found["status"]), found["body"].encode())
            if _aware(found["lease_until"]) > now:
                raise key_in_use()
            # A run that crashed (or stalled) after claiming: take over; the use case finds its work.
            takeover = {"state": RUNNING, "owner": found["owner"]}
            fresh = {"owner": claim["owner"], "lease_until": now + self.lease, "claimed_at": now}
            if await update_if(self.collection, digest, takeover, {"$set": fresh}):
                return None
            raise key_in_use()
        raise key_in_use()

    async def finish(self, digest: str, status: int, body: bytes, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": digest},
            {"$set": {"state": DONE, "status": status, "body": body.decode(), "completed_at": now}},
        )

    async def release(self, digest: str) -> None:
        await self.collection.delete_one({"_id": digest, "state": RUNNING})

    async def prune(self, now: datetime | None = None) -> int:
        """Delete expired keys (a scan on FerretDB: hourly, and the collection stays small)."""
        result = await self.collection.delete_many({"expires_at": {"$lt": now or datetime.now(UTC)}})
        return result.deleted_count


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class IdempotentRequest:
    """One request's key, if it sent one. `digest` is stable across retries of the same key (None
    without a key): use cases derive created ids from it, or record it with what they write."""

    store: IdempotencyStore | None
    digest: str | None
    route: str
    fingerprint: str
    status: int

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run the use case once per key: the first time for real, afterwards the stored answer."""
        if self.store is None or self.digest is None:
            return await work()
        await self.store.claim(self.digest, self.route, self.fingerprint, datetime.now(UTC))
        try:
            result = await work()
        except BaseException:
            await self.store.release(self.digest)
            raise
        # The JSON FastAPI sends for a route's dict (pydantic's serializer), so a replay is the same.
        await self.store.finish(self.digest, self.status, pydantic_core.to_json(result), datetime.now(UTC))
        return result


def store_of(request: Request) -> IdempotencyStore | None:
    store: IdempotencyStore | None = getattr(request.app.state, "idempotency", None)
    return store


async def idempotent_request(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="客户端生成的唯一键（如 UUID），同一操作重发时不变：首次处理的结果被保存，"
            "重发得到同一结果（响应头 Idempotent-Replayed: true）。至少保留 7 天。",
            json_schema_extra={"pattern": '^"?[A-Za-z0-9\\-_.:~]{8,128}"?$'},
        ),
    ] = None,
) -> IdempotentRequest:
    """FastAPI dependency: the request's `Idempotency-Key`, scoped to the caller and the route."""
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    scope = f"{request.method} {template}"
    status = int(getattr(route, "status_code", None) or 200)
    if key is None:
        return IdempotentRequest(None, None, scope, "", status)
    value = parse_key(key)
    store = store_of(request)
    if store is None:
        raise RuntimeError("the app factory must set app.state.idempotency to honour Idempotency-Key")
    digest = hashlib.sha256(f"{principal.subject}\n{scope}\n{value}".encode()).hexdigest()
    print_ = fingerprint(request.method, request.url.path, await request.body())
    return IdempotentRequest(store, digest, scope, print_, status)


Idempotent = Annotated[IdempotentRequest, Depends(idempotent_request)]

__all__ = [
    "HEADER",
    "REPLAYED_HEADER",
    "IdempotencyStore",
    "Idempotent",
    "IdempotentRequest",
    "StoredAnswer",
    "idempotent_request",
]
