"""Small process and filesystem helpers shared by the local servers: caches, ports, readiness."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


class DevstackError(RuntimeError):
    """A local server could not be built, started or reached."""


def cache_dir() -> Path:
    """The user's cache folder for roadbranch (builds, jars), created on first use."""
    root = os.environ.get("ROADBRANCH_CACHE_DIR")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "roadbranch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def inputs_digest(*files: Path, extra: str = "") -> str:
    """A short digest of build inputs, so a cache entry is rebuilt when they change."""
    h = hashlib.sha256(extra.encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def run_checked(
    cmd: list[str], *, cwd: Path, log: Path, what: str, env: dict[str, str] | None = None
) -> None:
    """Run a build step, its output to `log`; on failure raise with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        raise DevstackError(f"{what} failed (exit {proc.returncode}):\n{tail(log)}")


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def spawn(
    cmd: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own session so stopping it never signals our process group."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab")
    try:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    finally:
        out.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def terminate(pid: int, *, timeout: float = 30.0) -> None:
    """SIGTERM, wait for a clean exit, SIGKILL only if it will not stop."""
    if not pid_alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    print(f"process {pid} ignored SIGTERM for {timeout:.0f}s, killing it", file=sys.stderr)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while pid_alive(pid):
        time.sleep(0.05)


def wait_until_ready(
    check: Callable[[], bool], *, pid: int, log: Path, what: str, timeout: float = 90.0
) -> None:
    """Poll `check` (a real client call) until it succeeds; fail fast if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise DevstackError(f"{what} exited during startup. Its log ({log}):\n{tail(log)}")
        if check():
            return
        time.sleep(0.2)
    raise DevstackError(f"{what} was not ready after {timeout:.0f}s. Its log ({log}):\n{tail(log)}")


class LocalServer:
    """What the dev stack's servers (Kafka, FerretDB, mongo-java-server) share: a process started
    in its own session and waited for until a real client call answers, stopped on a failed start
    and by `stop`; a start lost to another process taking the port first is told by its log."""

    pid: int | None
    port: int
    # What the server's log says when its port was taken between our pick and its bind.
    PORT_TAKEN: tuple[str, ...] = ("Address already in use",)

    @property
    def log(self) -> Path:
        raise NotImplementedError

    @property
    def startup_log(self) -> Path:
        """The log that tells a lost port race (the process's own output unless said otherwise)."""
        return self.log

    def _run(
        self, cmd: list[str], *, cwd: Path, ready: Callable[[], bool], what: str, timeout: float
    ) -> None:
        proc = spawn(cmd, cwd=cwd, log=self.log)
        self.pid = proc.pid
        try:
            wait_until_ready(ready, pid=proc.pid, log=self.log, what=what, timeout=timeout)
        except DevstackError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.pid is not None:
            terminate(self.pid)
            self.pid = None

    def lost_port_race(self) -> bool:
        """Whether the last start failed because another process took our port first."""
        log = self.startup_log
        text = log.read_text(errors="replace") if log.exists() else ""
        return any(mark in text for mark in self.PORT_TAKEN)

    def new_ports(self) -> None:
        self.log.unlink(missing_ok=True)
        self.port = free_port()
