"""`python -m roadbranch_shared.devstack up|down|status|prepare|env`: the local stack from a shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from roadbranch_shared.devstack.process import DevstackError
from roadbranch_shared.devstack.stack import (
    Stack,
    healthy,
    load_current,
    prepare,
    save_current,
    status,
    stop_current,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="roadbranch-devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Kafka and FerretDB in the background")
    up.add_argument("--run-dir", type=Path, help="folder for data and logs (default: a new temp folder)")
    sub.add_parser("down", help="stop the stack started by 'up'")
    sub.add_parser("status", help="show whether the servers answer")
    sub.add_parser("prepare", help="fetch Kafka, build FerretDB and mongo-java-server into the cache")
    sub.add_parser("env", help="print shell exports for the running stack")
    args = parser.parse_args(argv)

    try:
        return run(args.command, args.run_dir if args.command == "up" else None)
    except DevstackError as e:
        print(f"devstack: {e}", file=sys.stderr)
        return 1


def run(command: str, run_dir: Path | None) -> int:
    if command == "prepare":
        prepare()
        print("Kafka jars, FerretDB and mongo-java-server are in the cache")
        return 0
    current = load_current()
    if command == "up":
        if current is not None and healthy(report := status(current)):
            print(f"already running:\n{json.dumps(report, indent=2)}")
            return 0
        stop_current()
        info = Stack(run_dir).up()
        save_current(info)
        print(json.dumps(status(info), indent=2))
        return 0
    if command == "down":
        print("stopped" if stop_current() else "nothing was running")
        return 0
    if current is None:
        print("not running", file=sys.stderr)
        return 1
    if command == "status":
        report = status(current)
        print(json.dumps(report, indent=2))
        return 0 if healthy(report) else 1
    print(f"export ROADBRANCH_KAFKA_BOOTSTRAP={current.kafka_bootstrap}")
    print(f"export ROADBRANCH_MONGO_URI={current.mongo_uri}")
    return 0
