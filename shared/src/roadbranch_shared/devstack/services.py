"""Service apps run by uvicorn as separate processes (tests and the demo), ready when /health/ready is 200."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from roadbranch_shared.devstack.process import free_port, pid_alive, tail, terminate


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
