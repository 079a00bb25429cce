"""FerretDB 1.24 (SQLite handler) built from the Go module proxy and run as a local MongoDB-wire server."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from roadbranch_shared.devstack.process import (
    HERE,
    DevstackError,
    LocalServer,
    cache_dir,
    free_port,
    inputs_digest,
    run_checked,
)

FERRETDB_VERSION = "1.24.2"
MODULE = HERE / "ferretdb"


# FerretDB 1.24's SQLite backend looks documents up by `_ferretdb_sjson->'$._id'`, but the unique
# index it creates on `_id` is on `_ferretdb_sjson->"_id"`: SQLite sees two different expressions
# and scans the whole table for every lookup and update by _id. `->'_id'` is the same JSON path
# written as the index is, so SQLite uses the index (measured at 10,000 documents: find by _id
# 138 ms -> 4 ms, update by _id 348 ms -> 3 ms). The patch is applied to a vendored copy in the
# cache at build time; nothing of FerretDB's source is kept in this repository.
ID_LOOKUP_PATCH = (
    "internal/backends/sqlite/metadata/metadata.go",
    "IDColumn = DefaultColumn + \"->'$._id'\"",
    "IDColumn = DefaultColumn + \"->'_id'\"",
)


def ferretdb_binary() -> Path:
    """Build our small FerretDB command once (keyed by its sources and the patch) and cache it."""
    sources = [MODULE / "go.mod", MODULE / "go.sum", MODULE / "main.go"]
    digest = inputs_digest(*sources, extra="".join(ID_LOOKUP_PATCH))
    home = cache_dir() / f"ferretdb-{FERRETDB_VERSION}-{digest}"
    binary = home / "ferretdb"
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise DevstackError("Go is needed to build FerretDB; install Go 1.24+")
    build = home / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    for source in sources:
        shutil.copy2(source, build / source.name)
    env = dict(os.environ, CGO_ENABLED="0")
    log = home / "build.log"
    run_checked(["go", "mod", "vendor"], cwd=build, log=log, what="Fetching FerretDB's modules", env=env)
    _apply_id_lookup_patch(build / "vendor" / "github.com" / "FerretDB" / "FerretDB")
    partial = home / "ferretdb.partial"
    run_checked(
        ["go", "build", "-mod=vendor", "-trimpath", "-o", str(partial), "."],
        cwd=build,
        log=log,
        what="Building FerretDB with Go",
        env=env,
    )
    partial.rename(binary)
    shutil.rmtree(build, ignore_errors=True)
    return binary


def _apply_id_lookup_patch(ferretdb_source: Path) -> None:
    relative, old, new = ID_LOOKUP_PATCH
    path = ferretdb_source / relative
    text = path.read_text()
    if text.count(old) != 1:
        raise DevstackError(
            f"FerretDB's {relative} is not what the _id lookup patch expects; review the patch"
        )
    path.chmod(0o644)  # vendored files keep the module cache's read-only mode
    path.write_text(text.replace(old, new))


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
class FerretDBServer(LocalServer):
    PORT_TAKEN = ("address already in use",)

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
        self._run(
            [
                str(binary),
                "-listen-addr",
                f"127.0.0.1:{self.port}",
                "-data-dir",
                str(self.folder / "data"),
                "-log-level",
                "warn",
                # No disk sync at each commit: a throwaway dev database (see main.go).
                "-synchronous",
                "normal",
            ],
            cwd=self.folder,
            ready=lambda: mongo_answers(self.uri),
            what=f"FerretDB on port {self.port}",
            timeout=timeout,
        )
