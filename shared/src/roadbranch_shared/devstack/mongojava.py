"""mongo-java-server 1.47 (in-memory backend) from Maven Central: a second, atomic MongoDB-wire server.

FerretDB stays the durable default of the dev stack. This server keeps everything in memory (nothing
survives a stop) but applies a filtered update atomically, as MongoDB does, so code meant for several
replicas per service can run on it (see docs/adr/0023-mongo-java-server-for-several-replicas.md).
Maven fetches the jars, javac compiles our small main (`mongojava/Main.java`, which reports a wire
version PyMongo accepts); both are cached like the Kafka jars.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from roadbranch_shared.devstack.ferretdb import mongo_answers
from roadbranch_shared.devstack.process import (
    HERE,
    DevstackError,
    LocalServer,
    cache_dir,
    free_port,
    inputs_digest,
    run_checked,
)

MONGO_JAVA_SERVER_VERSION = "1.47.0"
PROJECT = HERE / "mongojava"
MAIN_CLASS = "org.roadbranch.devstack.mongojava.Main"
# The JVM's heap limit; measured earlier, about 360 MB resident at 50,000 documents with 256m.
DEFAULT_HEAP = "512m"


def _jdk_tool(name: str) -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / name) if java_home else name


def mongo_java_classpath() -> str:
    """The jars and our compiled main, built once (keyed by the pom and the main) in the user's cache."""
    sources = [PROJECT / "pom.xml", PROJECT / "Main.java"]
    home = cache_dir() / f"mongo-java-server-{MONGO_JAVA_SERVER_VERSION}-{inputs_digest(*sources)}"
    lib, classes = home / "lib", home / "classes"
    classpath = f"{classes}{os.pathsep}{lib}/*"
    if (home / "complete").exists():
        return classpath
    for tool, what in (("mvn", "Maven (mvn) 3.8+"), (_jdk_tool("javac"), "A JDK 17+ (javac)")):
        if shutil.which(tool) is None:
            raise DevstackError(f"{what} is needed to build mongo-java-server for the dev stack")
    log = home / "build.log"
    staging = home / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    run_checked(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(PROJECT / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        cwd=HERE,
        log=log,
        what="Fetching the mongo-java-server jars with Maven",
    )
    compiled = home / "classes.partial"
    shutil.rmtree(compiled, ignore_errors=True)
    run_checked(
        [
            _jdk_tool("javac"),
            "--release",
            "17",
            "-d",
            str(compiled),
            "-cp",
            f"{staging}/*",
            str(PROJECT / "Main.java"),
        ],
        cwd=home,
        log=log,
        what="Compiling the mongo-java-server main with javac",
    )
    for partial, final in ((staging, lib), (compiled, classes)):
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    (home / "complete").write_text(MONGO_JAVA_SERVER_VERSION)
    return classpath


@dataclass
class MongoJavaServer(LocalServer):
    """One in-memory mongo-java-server; a stop loses its data (unlike FerretDB, which keeps its folder)."""

    folder: Path
    port: int = field(default_factory=free_port)
    heap: str = DEFAULT_HEAP
    pid: int | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / "mongo-java-server.log"

    def start(self, *, timeout: float = 60.0) -> None:
        classpath = mongo_java_classpath()
        self.folder.mkdir(parents=True, exist_ok=True)
        cmd = [
            _jdk_tool("java"),
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            # The server logs every connection at INFO; warnings and errors are enough here.
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.port),
        ]
        self._run(
            cmd,
            cwd=self.folder,
            ready=lambda: mongo_answers(self.uri),
            what=f"mongo-java-server on port {self.port}",
            timeout=timeout,
        )
