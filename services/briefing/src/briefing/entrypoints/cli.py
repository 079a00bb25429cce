"""`python -m briefing generate`: fetch the briefing of a period from the briefing service.

The token comes from ROADBRANCH_TOKEN (never a command-line argument: it would show in `ps`), the
service's address from --url or ROADBRANCH_BRIEFING_URL. The text goes to stdout, or to --out.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m briefing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the briefing (工作简报) of a period")
    gen.add_argument("--period", default="all", help="all, YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD")
    gen.add_argument("--format", default="markdown", choices=["markdown", "html"])
    gen.add_argument("--out", type=Path, help="write to this file instead of stdout")
    gen.add_argument("--url", default=os.environ.get("ROADBRANCH_BRIEFING_URL", "http://localhost:8005"))
    args = parser.parse_args(argv)

    token = os.environ.get("ROADBRANCH_TOKEN")
    if not token:
        print("set ROADBRANCH_TOKEN to your API token", file=sys.stderr)
        return 2
    try:
        response = httpx.get(
            f"{args.url}/v1/briefing",
            params={"period": args.period, "format": args.format},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        print(f"cannot reach the briefing service at {args.url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"refused ({response.status_code}): {response.text[:500]}", file=sys.stderr)
        return 1
    if args.out:
        args.out.write_text(response.text, encoding="utf-8")
        print(f"briefing written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(response.text)
    return 0
