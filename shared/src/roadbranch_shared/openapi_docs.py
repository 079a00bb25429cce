"""Each service's OpenAPI document, committed as `web/api/openapi/<name>.json`, checked in CI.

The web front ends' typed client is generated from these files (openapi-typescript, `web/api`), so a
change to an HTTP API shows in review as a change to its document, and a stale document fails the
contract tests. Run from the repo root: `python -m roadbranch_shared.openapi_docs write|check`
(`make contracts` runs both kinds of documents).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from roadbranch_shared.asyncapi_docs import DocumentKind, ServiceModule, built, main

FOLDER = Path("web/api/openapi")


def generate(service: ServiceModule) -> dict[str, Any]:
    document: dict[str, Any] = built(service).app.openapi()
    return document


OPENAPI = DocumentKind(
    "OpenAPI",
    "run `make contracts` (python -m roadbranch_shared.openapi_docs write)",
    generate,
    lambda root, service: root / FOLDER / f"{service.name}.json",
)

if __name__ == "__main__":
    sys.exit(main(kind=OPENAPI))
