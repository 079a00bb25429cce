"""Each service's AsyncAPI document, committed as `services/<name>/asyncapi.json`, checked in CI.

Run from the repo root: `python -m roadbranch_shared.asyncapi_docs write|check`. Services are found
by globbing `services/*/src/*/main.py`; each module's `create_app()` builds the app (its `Service` on
`app.state.service`). The Kafka server's host comes from the environment, so the document always
shows the compose broker, `kafka:9092`.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roadbranch_shared.pii import generate_key

if TYPE_CHECKING:
    from roadbranch_shared.service import Service

from roadbranch_shared.events import Envelope, kafka_headers

DOCUMENTED_BOOTSTRAP = "kafka:9092"
DOCUMENT_NAME = "asyncapi.json"
REFRESH = "run `make contracts` (python -m roadbranch_shared.asyncapi_docs write)"


@dataclass(frozen=True)
class ServiceModule:
    name: str  # the folder under services/
    package: str  # the package under src/ holding main.py
    src: Path

    @property
    def document(self) -> Path:
        return self.src.parent / DOCUMENT_NAME


def discover(root: Path) -> list[ServiceModule]:
    return [
        ServiceModule(name=main.parents[2].name, package=main.parent.name, src=main.parents[1])
        for main in sorted(root.glob("services/*/src/*/main.py"))
    ]


PII_KEY_VARIABLES = (
    "ROADBRANCH_PII_BLIND_INDEX_KEY",
    "ROADBRANCH_PII_ENCRYPTION_KEY",
    "ROADBRANCH_PII_CONTACT_KEY",
)


@functools.cache
def built(service: ServiceModule) -> Service:
    """The service as its `create_app()` builds it (nothing started, nothing connected), with
    throwaway PII keys where none are set: the documents do not depend on them."""
    src = str(service.src.resolve())
    if src not in sys.path:
        sys.path.append(src)  # a service not installed in the workspace yet
    module = importlib.import_module(f"{service.package}.main")
    missing = [name for name in PII_KEY_VARIABLES if not os.environ.get(name)]
    os.environ.update({name: generate_key() for name in missing})
    try:
        app = module.create_app()
    finally:
        for name in missing:
            del os.environ[name]
    found: Service = app.state.service
    return found


def generate(service: ServiceModule) -> dict[str, Any]:
    """The service's AsyncAPI document with the run-dependent parts pinned."""
    document: dict[str, Any] = built(service).asyncapi().to_specification().to_jsonable()
    for server in document.get("servers", {}).values():
        server["host"] = DOCUMENTED_BOOTSTRAP
    describe_records(document)
    return document


ASYNCAPI_VERSION = "3.1.0"
KAFKA_BINDING_VERSION = "0.5.0"
HEADERS_SCHEMA = "CloudEventKafkaHeaders"
HEADER_MEANINGS = {  # what each header kafka_headers sets tells a subscriber
    "ce_id": "the event id; consumers drop a repeated id (delivery is at least once)",
    "ce_type": "the event type, as in the body",
    "ce_source": "the publishing service",
    "ce_specversion": "CloudEvents 1.0",
    "ce_partitionkey": "CloudEvents partitioning extension: the record key (the aggregate id)",
    "content-type": "application/cloudevents+json: the value is a structured-mode CloudEvent",
}
# Any event will do: kafka_headers sets the same names on every one.
_SOME_EVENT = Envelope(
    id="-",
    source="-",
    type="-",
    subject="-",
    time=datetime(2026, 1, 1, tzinfo=UTC),
    correlationid="-",
    seq=1,
    data={},
)


def record_headers(meanings: Mapping[str, str] = HEADER_MEANINGS) -> dict[str, str]:
    """The headers every event record carries, as `kafka_headers` sets them, with their meanings."""
    names = list(kafka_headers(_SOME_EVENT))
    if unknown := [name for name in names if name not in meanings]:
        raise ValueError(f"kafka_headers sets {unknown}: say what they mean in HEADER_MEANINGS")
    if gone := sorted(set(meanings) - set(names)):
        raise ValueError(f"HEADER_MEANINGS describes {gone}, which kafka_headers no longer sets")
    return {name: meanings[name] for name in names}


RECORD_HEADERS = record_headers()


# FastStream points at its own `correlation_id` header, which it sets to a fresh id on every publish
# (a relay's republish gets another): the event's correlation id is the envelope's.
CORRELATION_ID = {
    "location": "$message.payload#/correlationid",
    "description": "the id of the first event in the chain of causes this event belongs to",
}


def describe_records(document: dict[str, Any]) -> None:
    """Say what FastStream leaves out or gets wrong: the Kafka key, the CloudEvents headers of each
    record, and where its correlation id is."""
    document["asyncapi"] = ASYNCAPI_VERSION
    headers = {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": text} for name, text in RECORD_HEADERS.items()
        },
        "required": sorted(RECORD_HEADERS),
    }
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})[HEADERS_SCHEMA] = headers
    for message in components.get("messages", {}).values():
        message["headers"] = {"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"}
        message["correlationId"] = CORRELATION_ID
        message["bindings"] = {
            "kafka": {
                "bindingVersion": KAFKA_BINDING_VERSION,
                "key": {"type": "string", "description": "the aggregate id, also the event's subject"},
            }
        }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class DocumentKind:
    """A kind of committed per-service document: how to make one fresh and where it is kept."""

    label: str  # "AsyncAPI", "OpenAPI"
    refresh: str  # the command that writes them
    generate: Callable[[ServiceModule], dict[str, Any]]
    path: Callable[[Path, ServiceModule], Path]


ASYNCAPI = DocumentKind("AsyncAPI", REFRESH, generate, lambda root, service: service.document)


def stale_documents(root: Path, kind: DocumentKind = ASYNCAPI) -> dict[Path, str]:
    """Committed documents that differ from a fresh one -> the fresh text."""
    stale = {}
    for service in discover(root):
        fresh = render(kind.generate(service))
        path = kind.path(root, service)
        if not path.exists() or path.read_text(encoding="utf-8") != fresh:
            stale[path] = fresh
    return stale


def main(argv: list[str] | None = None, kind: DocumentKind = ASYNCAPI) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m roadbranch_shared.{kind.label.lower()}_docs",
        description=f"Write or check each service's committed {kind.label} document.",
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--root", type=Path, default=Path(), help="the repo root (default: here)")
    args = parser.parse_args(argv)
    root: Path = args.root
    services = discover(root)
    if not services:
        print(
            f"no services/*/src/*/main.py under {root.resolve()}: run from the repo root",
            file=sys.stderr,
        )
        return 2
    for service in services:
        # Importing a service logs that it has no token table; irrelevant while documenting.
        os.environ.setdefault(f"ROADBRANCH_{service.package.upper()}_LOG_LEVEL", "ERROR")
    stale = stale_documents(root, kind)
    if args.command == "write":
        for path, text in stale.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        updated = ", ".join(str(p) for p in stale) or "-"
        print(f"{len(services)} {kind.label} documents; updated: {updated}")
        return 0
    if not stale:
        print(f"{len(services)} {kind.label} documents are current")
        return 0
    print(f"stale {kind.label} documents: {kind.refresh}", file=sys.stderr)
    for path, fresh in stale.items():
        print(f"  - {path}", file=sys.stderr)
        old = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        diff = list(difflib.unified_diff(old, fresh.splitlines(), str(path), "fresh", lineterm=""))
        for line in diff[:40]:
            print(f"    {line}", file=sys.stderr)
        if len(diff) > 40:
            print(f"    ... {len(diff) - 40} more diff lines", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
