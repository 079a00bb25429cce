"""FerretDB 1.24 (SQLite handler) built from the Go module proxy and run as a local MongoDB-wire server."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from roadbranch_shared.devstack.process import (
    HERE,
    DevstackError,
    cache_dir,
    free_port,
    inputs_digest,
    run_checked,
    spawn,
    terminate,
    wait_until_ready,
)

FERRETDB_VERSION = "1.24.2"
MODULE = HERE / "ferretdb"


def ferretdb_binary() -> Path:
    """Build our small FerretDB command once (keyed by its sources) and keep it in the cache."""
    sources = [MODULE / "go.mod", MODULE / "go.sum", MODULE / "main.go"]
    home = cache_dir() / f"ferretdb-{FERRETDB_VERSION}-{inputs_digest(*sources)}"
    binary = home / "ferretdb"
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise DevstackError("Go is needed to build FerretDB; install Go 1.24+")
    home.mkdir(parents=True, exist_ok=True)
    partial = home / "ferretdb.partial"
    env = dict(os.environ, CGO_ENABLED="0")
    run_checked(
        ["go", "build", "-trimpath", "-o", str(partial), "."],
        cwd=MODULE,
        log=home / "build.log",
        what="Building FerretDB with Go",
        env=env,
    )
    partial.rename(binary)
    return binary


def mongo_answers(uri: str) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass
class FerretDBServer:
    folder: Path
    port: int = field(default_factory=free_port)
    pid: int | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / "ferretdb.log"

    def start(self, *, timeout: float = 60.0) -> None:
        binary = ferretdb_binary()
        self.folder.mkdir(parents=True, exist_ok=True)
        proc = spawn(
            [
                str(binary),
                "-listen-addr",
                f"127.0.0.1:{self.port}",
                "-data-dir",
                str(self.folder / "data"),
                "-log-level",
                "warn",
            ],
            cwd=self.folder,
            log=self.log,
        )
        self.pid = proc.pid
        try:
            wait_until_ready(
                lambda: mongo_answers(self.uri),
                pid=proc.pid,
                log=self.log,
                what=f"FerretDB on port {self.port}",
                timeout=timeout,
            )
        except DevstackError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.pid is not None:
            terminate(self.pid)
            self.pid = None
