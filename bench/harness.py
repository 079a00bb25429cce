"""What every benchmark script shares: a run folder for its servers, SIGTERM taken as Ctrl-C so
every process it started is stopped, the report written, and the way out of `main`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

from roadbranch_shared.devstack import Stack, StackInfo
from roadbranch_shared.topics import ensure_topics
from stats import progress

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM takes the same clean way out as Ctrl-C, so every server is stopped."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def run_folder(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    """A fresh folder for one run's servers (their data and logs), SIGTERM taken as Ctrl-C while it
    is in use. Removed after a run that finished unless `keep`; after a failure it is kept and
    where it is said. Stop the servers inside the block, before the folder goes."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    progress(f"run folder {path}")
    with terminate_as_interrupt():
        try:
            yield path
        except BaseException:
            progress(f"kept the run folder with the servers' logs: {path}")
            raise
    if keep:
        progress(f"kept the run folder with the servers' logs: {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


class Stoppable(Protocol):
    def stop(self) -> object: ...


S = TypeVar("S", bound=Stoppable)


@dataclass
class BenchStack:
    """One run's Kafka and FerretDB (the project's topics made) in its run folder, and what was
    started on them, stopped in the reverse order when the run ends."""

    folder: Path
    stack: Stack
    info: StackInfo
    cleanup: contextlib.ExitStack

    def started(self, thing: S) -> S:
        """`thing` (a service process, a local provider) is stopped before the servers go."""
        self.cleanup.callback(thing.stop)
        return thing


@contextlib.contextmanager
def bench_stack(prefix: str, *, keep: bool = False) -> Iterator[BenchStack]:
    with run_folder(prefix, keep=keep) as folder, contextlib.ExitStack() as cleanup:
        stack = Stack(folder / "stack")
        cleanup.callback(stack.down)
        progress("starting Kafka and FerretDB")
        info = stack.up()
        progress(f"Kafka on {info.kafka_bootstrap}, FerretDB on {info.mongo_uri}")
        asyncio.run(ensure_topics(info.kafka_bootstrap))
        yield BenchStack(folder, stack, info, cleanup)


def print_report(report: dict[str, Any]) -> None:
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))


def save_report(report: dict[str, Any], prefix: str = "") -> Path:
    """The report printed and kept as bench/results/<prefix><UTC time>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{prefix}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    text = json.dumps(report, indent=2)
    path.write_text(text + "\n")
    print(text)
    progress(f"wrote {path.relative_to(BENCH.parent)}")
    return path


def run_main(main: Callable[[], int]) -> NoReturn:
    """The script's exit: main's code, or 130 after Ctrl-C (or SIGTERM) once everything is stopped."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench interrupted; every process it started is stopped", file=sys.stderr)
        sys.exit(130)
