"""Schemathesis against every service's OpenAPI document (`make fuzz`): does each answer what its
document says, for valid and invalid input alike?

Starts its own Kafka and FerretDB and the five services as in production (clock control off), with
a token of a broad staff role (`work_group_staff`), then runs `schemathesis run` (every check but
the exceptions of tests/fuzz/schemathesis.toml) on each service and prints one line per service
and the failures by check. Exit status 0 only when no check failed.
Options: `--examples N` (100), `--only roster,…`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from roadbranch_shared.devstack import Stack
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key
from roadbranch_shared.topics import ensure_topics

SERVICES = ("roster", "activities", "welfare", "notify", "briefing")
TOKEN = secrets.token_urlsafe(24)
CONFIG = Path(__file__).with_name("schemathesis.toml")  # the checks left out, each with its reason


def start(name: str, stack: Stack, run_dir: Path) -> ServiceProcess:
    prefix = f"ROADBRANCH_{name.upper()}_"
    env = {
        **stack.info().service_env(name),
        f"{prefix}MONGO_DB": f"{name}_fuzz",
        f"{prefix}TOKENS": json.dumps({TOKEN: {"subject": "fuzz-staff", "role": "work_group_staff"}}),
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
    }
    return ServiceProcess(f"{name}.main:create_app", env=env, log=run_dir / f"{name}.log").start()


def fuzz(name: str, url: str, examples: int, report: Path) -> tuple[int, str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
        "--max-examples", str(examples), "--header", f"Authorization: Bearer {TOKEN}",
        "--request-timeout", "30", "--seed", "20261203", "--no-color",
        "--report", "junit", "--report-junit-path", str(report),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/fuzz/openapi_fuzz.py", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation (100)")
    parser.add_argument("--only", default=",".join(SERVICES), help="comma-separated services")
    args = parser.parse_args(argv)
    run_dir = Path(tempfile.mkdtemp(prefix="roadbranch-fuzz-"))
    stack = Stack(run_dir / "stack")
    processes: list[ServiceProcess] = []
    failed = False
    try:
        info = stack.up()
        asyncio.run(ensure_topics(info.kafka_bootstrap))
        for name in args.only.split(","):
            process = start(name, stack, run_dir)
            processes.append(process)
            code, output = fuzz(name, process.url, args.examples, run_dir / f"{name}-junit.xml")
            (run_dir / f"{name}-fuzz.txt").write_text(output)
            summary = [
                line for line in output.splitlines() if re.search(r"\d+ (passed|failed|errored)", line)
            ]
            checks = [line.strip() for line in output.splitlines() if re.match(r"\s*(❌|✅)", line)]
            print(f"{name}: exit {code}; {summary[-1].strip() if summary else 'no summary'}")
            for line in checks:
                print(f"    {line}")
            failed |= code != 0
        print(f"details: {run_dir}/<service>-fuzz.txt")
    finally:
        for process in processes:
            process.stop()
        stack.down()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
