"""Service apps run by uvicorn as separate processes (tests and the demo), ready when /health/ready is 200."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from roadbranch_shared.devstack.process import free_port, pid_alive, tail, terminate
from roadbranch_shared.kafka_tools import TopicEnds, start_new_groups_at

T = TypeVar("T")

# Where the consumer groups a spawned process is the first to use start reading (see `reading_from`);
# None: at the topics' beginning, as a service does by itself.
_new_groups_from: TopicEnds | None = None


@contextmanager
def reading_from(ends: TopicEnds | None) -> Iterator[None]:
    """Within this block, every service process spawned starts each consumer group it is the first
    to use at `ends` (`kafka_tools.topic_ends`, taken when the block's test began) instead of at
    the beginning of the topic. Groups with committed offsets keep them, so a process restarted in
    the block resumes where its predecessor stopped. The tests' session Kafka keeps every event of
    every earlier test module; without this, each new service read and skipped all of them."""
    global _new_groups_from
    before, _new_groups_from = _new_groups_from, ends
    try:
        yield
    finally:
        _new_groups_from = before


def run_aside(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own, also when called from a running loop."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work))
        except BaseException as e:  # re-raised in the caller's thread
            failure.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class ServiceProcess:
    """A service app run by uvicorn in its own process, ready once /health/ready answers 200.
    `app` names the app (`tally:app`) or a service's factory (`welfare.main:create_app`)."""

    def __init__(self, app: str, *, env: dict[str, str], log: Path, app_dir: Path | None = None) -> None:
        self.app = app
        self.env = env
        self.log = log
        self.app_dir = app_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0, wait_for: str = "/health/ready") -> ServiceProcess:
        """Start and wait until `wait_for` answers 200 (use /health/live for a service expected unready)."""
        return self.spawn().wait_ready(timeout=timeout, wait_for=wait_for)

    def spawn(self) -> ServiceProcess:
        """Start the process without waiting for it (see `wait_ready` and `start_all`)."""
        self._start_new_groups()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
        if self.app.endswith(":create_app"):
            cmd.append("--factory")
        if self.app_dir is not None:
            cmd += ["--app-dir", str(self.app_dir)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        return self

    def _start_new_groups(self) -> None:
        """Inside `reading_from`: commit the start offsets of this service's groups not yet used."""
        from roadbranch_shared.consumers import kafka_group
        from roadbranch_shared.topics import PROJECT_TOPICS

        ends = _new_groups_from
        bootstraps = [k for k in self.env if k.startswith("ROADBRANCH_") and k.endswith("_KAFKA_BOOTSTRAP")]
        if ends is None or len(bootstraps) != 1:
            return
        service = bootstraps[0].removeprefix("ROADBRANCH_").removesuffix("_KAFKA_BOOTSTRAP")
        group = self.env.get(f"ROADBRANCH_{service}_CONSUMER_GROUP", service.lower())
        groups = {kafka_group(group, topic): topic.name for topic in PROJECT_TOPICS}
        run_aside(start_new_groups_at(self.env[bootstraps[0]], groups, ends))

    def wait_ready(self, *, timeout: float = 120.0, wait_for: str = "/health/ready") -> ServiceProcess:
        """Wait until the spawned process answers 200 on `wait_for`; stop it if it never does."""
        if self.proc is None:
            raise RuntimeError(f"{self.app} was not spawned")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}:\n{tail(self.log)}")
            try:
                if httpx.get(f"{self.url}{wait_for}", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.app} was not ready after {timeout:.0f}s:\n{tail(self.log)}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and pid_alive(self.proc.pid)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        terminate(self.proc.pid, timeout=20)
        code = self.proc.wait()
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_all(processes: Iterable[ServiceProcess], *, timeout: float = 120.0) -> list[ServiceProcess]:
    """Start several service processes at once and wait until every one is ready.

    Each process spends its start importing its libraries and then waiting on Kafka and the
    database; started together, one's waits overlap the others' work instead of adding up. If one
    fails, the ones already spawned are stopped."""
    started = list(processes)
    try:
        for process in started:
            process.spawn()
        for process in started:
            process.wait_ready(timeout=timeout)
    except BaseException:
        for process in started:
            process.stop()
        raise
    return started
