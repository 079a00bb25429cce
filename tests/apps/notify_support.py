"""Helpers for tests (and the benchmark) that drive a real notify process: the process itself, and
small real servers speaking the channels' protocols — an SMS provider's HTTP API (with an
idempotency-key toggle, failures and slow answers), WeChat Work's application-message API, and an SMTP
server (aiosmtpd) — plus publishing the input events with the real broker and the shared envelope.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.process import free_port
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import Envelope, EventPayload, encode_envelope, kafka_headers, new_event
from roadbranch_shared.pii import generate_key

ROLES = ("work_group_staff", "org_department", "operator", "driver")
SMS_API_KEY = "local-sms-provider-key"
# A moment in the county's day (10:00 in Asia/Shanghai): a test that waits for a non-urgent message
# sets notify's clock to it, or the message is held till morning when the suite runs at night there.
DAYTIME = datetime(2026, 12, 1, 10, 0, tzinfo=UTC) + timedelta(hours=-8)


# ------------------------------------------------------------------ local servers


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-answer (the crash test) is expected here


class _JsonServer:
    """An HTTP server in a thread; subclasses answer GETs and POSTs with `answer(path, query, headers,
    body)` (a GET's body is None)."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._answer(self.rfile.read(length))

            def _answer(self, raw: bytes | None) -> None:
                parsed = urlparse(self.path)
                status, answer, headers = outer.respond(
                    parsed.path, parse_qs(parsed.query), self.headers, raw
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Any:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(
        self, path: str, query: dict[str, list[str]], headers: Any, raw: bytes | None
    ) -> tuple[int, Any, dict[str, str]]:
        """The request as it came (`raw`: a POST's body, None for a GET); by default its body is
        read as JSON (None if it is not) and `answer` answers."""
        body = None
        if raw is not None:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
        return self.answer(path, query, headers, body)

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError


@dataclass
class Sms:
    to: str
    text: str
    key: str | None


class SmsProviderServer(_JsonServer):
    """A local SMS provider: `POST /v1/messages` (bearer key, JSON {to, sign, text}, Idempotency-Key).

    `sent` holds what reached a phone. With `honour_keys` a repeated key is answered with the first
    message's id and nothing is sent again; without it every request sends. `fail_next` holds HTTP
    statuses to answer before succeeding; `fail_numbers` a status per phone number; with `hold` set,
    each request (to the `hold_only` numbers, if any) is recorded as sent and then its answer waits
    until `hold` is cleared (slow answers, and the crash window between the send and the mark);
    `delay` slows every answer alike."""

    def __init__(self, *, honour_keys: bool = True) -> None:
        super().__init__()
        self.honour_keys = honour_keys
        self.sent: list[Sms] = []
        self.requests = 0
        self.fail_next: list[int] = []
        self.fail_numbers: dict[str, int] = {}
        self.hold = threading.Event()  # set: answers wait (only to `hold_only` numbers, if any)
        self.hold_only: set[str] = set()
        self.delay = 0.0  # seconds each answer takes (a provider that is slow but answers)
        self._ids: dict[str, str] = {}
        self._counter = itertools.count(1)

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path != "/v1/messages":
            return 404, {"error": {"code": "not_found"}}, {}
        if headers.get("Authorization") != f"Bearer {SMS_API_KEY}":
            return 401, {"error": {"code": "bad_api_key"}}, {}
        if not isinstance(body, dict) or not {"to", "text"} <= body.keys():
            return 400, {"error": {"code": "bad_request"}}, {}
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.requests += 1
            if body["to"] in self.fail_numbers:
                return self.fail_numbers[body["to"]], {"error": {"code": "rejected_number"}}, {}
            if self.fail_next:
                return self.fail_next.pop(0), {"error": {"code": "busy"}}, {}
            if self.honour_keys and key in self._ids:
                return (
                    200,
                    {"message_id": self._ids[key], "status": "accepted"},
                    {"Idempotent-Replayed": "true"},
                )
            message_id = f"sms-{next(self._counter)}"
            if key:
                self._ids[key] = message_id
            self.sent.append(Sms(body["to"], body["text"], key))
        while self.hold.is_set() and (not self.hold_only or body["to"] in self.hold_only):
            time.sleep(0.05)
        time.sleep(self.delay)
        return 201, {"message_id": message_id, "status": "accepted"}, {}

    def stop(self) -> None:
        self.hold.clear()
        super().stop()

    def to(self, phone: str) -> list[Sms]:
        with self.lock:
            return [m for m in self.sent if m.to == phone]


class WeChatWorkServer(_JsonServer):
    """A local WeChat Work API for application messages (应用消息) as documented: `GET
    /cgi-bin/gettoken?corpid=…&corpsecret=…` answers an access token; `POST
    /cgi-bin/message/send?access_token=…` with {"touser", "msgtype": "text", "agentid", "text":
    {"content"}} answers {"errcode": 0, "invaliduser": ""}. An unknown or expired token is errcode
    42001 (`expire_tokens()` expires every token issued); a `touser` not in `users` is named in
    `invaliduser`; `errcode` set answers every send with it. It has no group robot."""

    CORP_ID = "ww-test-corp"
    SECRET = "app-secret-for-tests"
    AGENT_ID = 1000002

    def __init__(self, users: set[str] | None = None) -> None:
        super().__init__()
        self.users = users if users is not None else set()
        self.messages: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.errcode = 0
        self._live_tokens: set[str] = set()

    def expire_tokens(self) -> None:
        with self.lock:
            self._live_tokens.clear()

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != [self.CORP_ID] or query.get("corpsecret") != [self.SECRET]:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}, {}
            with self.lock:
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued}-{secrets.token_hex(4)}"
                self._live_tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}, {}
        if path != "/cgi-bin/message/send":
            return 404, {"errcode": 404, "errmsg": "not found"}, {}
        with self.lock:
            if query.get("access_token", [""])[0] not in self._live_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}, {}
        if (
            not isinstance(body, dict)
            or body.get("msgtype") != "text"
            or body.get("agentid") != self.AGENT_ID
            or not body.get("touser")
            or not body.get("text", {}).get("content")
        ):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}, {}
        with self.lock:
            if self.errcode:
                return 200, {"errcode": self.errcode, "errmsg": "refused"}, {}
            if body["touser"] not in self.users:
                return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]}, {}
            self.messages.append(body)
        return (
            200,
            {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"msg-{len(self.messages)}"},
            {},
        )

    def to(self, user_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["touser"] == user_id]


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    message_id: str


@dataclass
class _MailHandler:
    received: list[Mail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        self.received.append(
            Mail(
                list(envelope.rcpt_tos),
                str(message["Subject"]),
                body.get_content() if body is not None else "",
                str(message["Message-ID"]),
            )
        )
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server (aiosmtpd) in a thread; `received` holds the mails, `refuse` addresses it
    answers 550."""

    def __init__(self) -> None:
        self.handler = _MailHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.handler.received if address in m.to]


@contextlib.contextmanager
def running(*servers: Any) -> Iterator[None]:
    for server in servers:
        server.start()
    try:
        yield
    finally:
        for server in servers:
            server.stop()


# ------------------------------------------------------------------ the notify process


class Notify:
    """A notify process with one token per role (`driver` maps to `driver_id`), its own database and
    consumer group, the controllable clock on, and the given local servers as its channels."""

    def __init__(
        self,
        stack_info: StackInfo,
        log_dir: Path,
        *,
        sms: SmsProviderServer | None = None,
        wechat: WeChatWorkServer | None = None,
        smtp: SmtpServer | None = None,
        driver_id: str = "drv_nobody",
        drivers: tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
        # One more driver token per listed driver: call(..., role=f"driver:{driver_id}").
        self.drivers = drivers
        self.tokens.update({f"driver:{d}": secrets.token_urlsafe(24) for d in drivers})
        self.database = f"notify_{secrets.token_hex(4)}"
        env = {
            **stack_info.service_env("notify"),
            "ROADBRANCH_NOTIFY_MONGO_DB": self.database,
            "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
            "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
            "ROADBRANCH_NOTIFY_CONSUMER_GROUP": f"notify-{secrets.token_hex(4)}",
            "ROADBRANCH_NOTIFY_TOKENS": self._token_table(driver_id),
            "ROADBRANCH_NOTIFY_CONTROLLABLE_CLOCK": "true",
            "ROADBRANCH_NOTIFY_WORKER_INTERVAL_SECONDS": "0.2",
            "ROADBRANCH_NOTIFY_RETRY_BASE_SECONDS": "0.2",
            "ROADBRANCH_NOTIFY_METRICS_INTERVAL_SECONDS": "0.5",
            "ROADBRANCH_NOTIFY_RELAY_IDLE_INTERVAL": "0.2",
        }
        if sms is not None:
            env["ROADBRANCH_NOTIFY_SMS_URL"] = sms.url
            env["ROADBRANCH_NOTIFY_SMS_API_KEY"] = SMS_API_KEY
            env["ROADBRANCH_NOTIFY_SMS_IDEMPOTENCY_KEYS"] = str(sms.honour_keys).lower()
        if wechat is not None:
            env["ROADBRANCH_NOTIFY_WECHAT_API_URL"] = wechat.url
            env["ROADBRANCH_NOTIFY_WECHAT_CORP_ID"] = wechat.CORP_ID
            env["ROADBRANCH_NOTIFY_WECHAT_AGENT_ID"] = str(wechat.AGENT_ID)
            env["ROADBRANCH_NOTIFY_WECHAT_SECRET"] = wechat.SECRET
        if smtp is not None:
            env["ROADBRANCH_NOTIFY_SMTP_HOST"] = "127.0.0.1"
            env["ROADBRANCH_NOTIFY_SMTP_PORT"] = str(smtp.port)
        env.update({f"ROADBRANCH_NOTIFY_{k.upper()}": v for k, v in settings.items()})
        self.process = ServiceProcess("notify.main:create_app", env=env, log=log_dir / "notify.log")

    def _token_table(self, driver_id: str) -> str:
        table: dict[str, Any] = {}
        for role in ROLES:
            token = self.tokens[role]
            principal: dict[str, Any] = {"subject": f"{role}-1", "role": role}
            if role == "driver":
                principal["driver_id"] = driver_id
            table[token] = principal
        for driver in self.drivers:
            table[self.tokens[f"driver:{driver}"]] = {
                "subject": driver,
                "role": "driver",
                "driver_id": driver,
            }
        return json.dumps(table)

    def start(self) -> Notify:
        self.process.start()
        return self

    def replica(self, log: Path) -> Notify:
        """Another process of the same service: the same settings, database, consumer group and
        tokens (started with `start`)."""
        other = copy.copy(self)
        other.process = ServiceProcess("notify.main:create_app", env=dict(self.process.env), log=log)
        return other

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def restart_as_driver(self, driver_id: str) -> None:
        self.process.stop()
        self.process.env["ROADBRANCH_NOTIFY_TOKENS"] = self._token_table(driver_id)
        self.process.start()

    def call(self, method: str, path: str, role: str = "work_group_staff", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers.update(kwargs.pop("headers", None) or {})  # e.g. an Idempotency-Key
        return httpx.request(method, self.process.url + path, headers=headers, timeout=60, **kwargs)

    def set_clock(self, moment: datetime) -> None:
        response = self.call("PUT", "/v1/ops/clock", "operator", json={"now": moment.isoformat()})
        assert response.status_code == 200, response.text

    def ledger(self, **query: str) -> dict[str, Any]:
        response = self.call("GET", "/v1/deliveries", params=query)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def sent(self, recipient: str, template: str | None = None) -> list[dict[str, Any]]:
        """The recipient's deliveries marked sent (optionally of one template)."""
        return [
            d
            for d in self.ledger(recipient=recipient)["deliveries"]
            if d["status"] == "sent" and (template is None or d["template"] == template)
        ]

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on /metrics (0 if absent)."""
        text = httpx.get(self.process.url + "/metrics", timeout=10).text
        for line in text.splitlines():
            match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
            if not match or match.group(1) != name:
                continue
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(match.group(4))
        return 0.0

    def knows_contact(self, driver_id: str, channel: str = "sms") -> bool:
        response = self.call("GET", f"/v1/recipients/{driver_id}")
        return response.status_code == 200 and channel in response.json()["addresses"]


# ------------------------------------------------------------------ input events


class EventPublisher:
    """Publishes registered contract events with the real broker, in the shared envelope, keyed by
    their aggregate id, the way the producing services' outbox relays do."""

    def __init__(self, bootstrap: str, source: str = "/tests") -> None:
        self.bootstrap = bootstrap
        self.source = source
        self._seq: dict[str, int] = {}
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> EventPublisher:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._producer is not None
        await self._producer.stop()

    async def publish(self, payload: EventPayload, subject: str) -> Envelope:
        seq = self._seq[subject] = self._seq.get(subject, 0) + 1
        envelope = new_event(payload, source=self.source, subject=subject, seq=seq)
        await self.send(envelope, payload.topic.name)
        return envelope

    async def publish_many(self, items: list[tuple[EventPayload, str]]) -> list[Envelope]:
        """Publish many events without waiting for each acknowledgement (then for all of them)."""
        assert self._producer is not None
        envelopes, pending = [], []
        for payload, subject in items:
            seq = self._seq[subject] = self._seq.get(subject, 0) + 1
            envelope = new_event(payload, source=self.source, subject=subject, seq=seq)
            envelopes.append(envelope)
            pending.append(
                await self._producer.send(
                    payload.topic.name,
                    encode_envelope(envelope),
                    key=subject.encode(),
                    headers=[(k, v.encode()) for k, v in kafka_headers(envelope).items()],
                )
            )
        for future in pending:
            await future
        return envelopes

    async def send(self, envelope: Envelope, topic: str) -> None:
        """Put an envelope on `topic` (again, to play an at-least-once redelivery)."""
        assert self._producer is not None
        await self._producer.send_and_wait(
            topic,
            encode_envelope(envelope),
            key=envelope.subject.encode(),
            headers=[(k, v.encode()) for k, v in kafka_headers(envelope).items()],
        )

    async def tombstone(self, topic: str, key: str) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(topic, None, key=key.encode())
