"""`python -m roster import-drivers FILE ...`: import a driver list through the roster's HTTP API.

The token comes from ROADBRANCH_TOKEN (never a command-line argument: it would show in `ps`), the
service's address from --url or ROADBRANCH_ROSTER_URL. Progress goes to stderr; the report of
rejected rows and the final figures go to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from roster.domain.drivers import DriverSource

DONE = ("completed", "failed", "interrupted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-drivers", help="import a CSV or XLSX driver list")
    imp.add_argument("file", type=Path)
    imp.add_argument("--source", required=True, choices=DriverSource.ALL)
    imp.add_argument("--legal-basis", required=True, help="legal basis for processing this list (PIPL)")
    imp.add_argument("--source-name", default="", help="the freight company's or platform's name")
    imp.add_argument("--county", default="meigu")
    imp.add_argument("--url", default=os.environ.get("ROADBRANCH_ROSTER_URL", "http://localhost:8001"))
    imp.add_argument("--json", action="store_true", help="print the final import record as JSON")
    args = parser.parse_args(argv)

    token = os.environ.get("ROADBRANCH_TOKEN")
    if not token:
        print("set ROADBRANCH_TOKEN to your API token", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        with args.file.open("rb") as f:
            response = http.post(
                "/v1/driver-imports",
                files={"file": (args.file.name, f)},
                data={
                    "source": args.source,
                    "legal_basis": args.legal_basis,
                    "source_name": args.source_name,
                    "county": args.county,
                },
            )
        if response.status_code != 202:
            print(f"import refused ({response.status_code}): {_error_text(response)}", file=sys.stderr)
            return 1
        batch = response.json()
        while batch["status"] not in DONE:
            print(f"\r{batch['processed_rows']}/{batch['valid_rows']} rows written", end="", file=sys.stderr)
            time.sleep(1)
            batch = http.get(f"/v1/driver-imports/{batch['batch_id']}").json()
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(batch, ensure_ascii=False, indent=2))
    else:
        for problem in batch["problems"]:
            print(f"row {problem['row']}\t{problem['field']}\t{problem['reason']}\t{problem['message']}")
        print(
            f"import {batch['batch_id']}: {batch['status']}; rows {batch['total_rows']}, "
            f"registered {batch['registered']}, updated {batch['updated']}, unchanged {batch['unchanged']}, "
            f"invalid {batch['invalid_rows']}"
        )
    return 0 if batch["status"] == "completed" else 1


def _error_text(response: httpx.Response) -> str:
    try:
        error: dict[str, Any] = response.json()["error"]
    except (ValueError, KeyError):
        return response.text[:500]
    fields = "; ".join(f"{f['field']}: {f['message']}" for f in error.get("fields", []))
    return f"{error.get('message', '')} {fields}".strip()
