"""Apache Kafka 4.4 from Maven Central, run as a single-node KRaft broker+controller process."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roadbranch_shared.devstack.process import (
    HERE,
    DevstackError,
    LocalServer,
    cache_dir,
    free_port,
    inputs_digest,
    port_open,
    run_checked,
)

KAFKA_VERSION = "4.4.0"
POM = HERE / "kafka" / "pom.xml"

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def kafka_lib() -> Path:
    """The folder of Kafka jars, fetched by Maven once and kept in the user's cache."""
    home = cache_dir() / f"kafka-{KAFKA_VERSION}-{inputs_digest(POM)}"
    lib = home / "lib"
    if (home / "complete").exists():
        return lib
    if shutil.which("mvn") is None:
        raise DevstackError("Maven (mvn) is needed to fetch the Kafka jars; install Maven 3.8+")
    staging = home / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    run_checked(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        cwd=HERE,
        log=home / "mvn.log",
        what="Fetching the Kafka jars with Maven",
    )
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    (home / "complete").write_text(KAFKA_VERSION)
    return lib


# For a broker that lives minutes under a light load (a test session): the JVM compiles with its
# first tier (C1) only. The optimising tier's compiler threads cost more CPU than they ever win
# back there: measured while a pilot played on a fresh stack, Kafka used 30-31 s of CPU with the
# default tiers and 16-17 s with this (5.5 s instead of 9-10 s to start). Benchmarks and the demo
# keep the default, tuned for a broker that runs long.
SHORT_RUN_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)


def java_cmd(lib: Path, main: str, *args: str, heap: str = "512m", options: Sequence[str] = ()) -> list[str]:
    java = os.environ.get("JAVA_HOME")
    exe = str(Path(java) / "bin" / "java") if java else "java"
    return [exe, f"-Xmx{heap}", "-Xms128m", "-XX:+UseG1GC", *options, "-cp", f"{lib}/*", main, *args]


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


async def _probe(bootstrap: str) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


def broker_answers(bootstrap: str) -> bool:
    """Ask the broker for its cluster metadata with a real client (in a thread: callers may be async)."""
    _, _, port = bootstrap.rpartition(":")
    if not port_open(int(port)):
        return False
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _probe(bootstrap)).result()


@dataclass
class KafkaServer(LocalServer):
    """One KRaft node; keeps its ports and data across stop()/start() so a restart loses nothing."""

    folder: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    pid: int | None = None
    jvm_options: Sequence[str] = ()  # e.g. SHORT_RUN_JVM_OPTIONS
    PORT_TAKEN = ("Unable to start acceptor", "Address already in use")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        props = self.folder / "server.properties"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.folder / "data"),
            # Topics are created explicitly with fixed partition counts (see roadbranch_shared.topics).
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        props.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        (self.folder / "log4j2.properties").write_text(LOG4J2.format(log=self.folder / "kafka.log"))
        return props

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KAFKA_LOG4J_OPTS"] = ""
        return env

    def start(self, *, timeout: float = 90.0) -> None:
        lib = kafka_lib()
        props = self._write_config()
        if not (self.folder / "data" / "meta.properties").exists():
            run_checked(
                java_cmd(
                    lib,
                    "kafka.tools.StorageTool",
                    "format",
                    # One argument: a random id may begin with "-", which argparse would read as an option.
                    f"--cluster-id={_cluster_id()}",
                    "-c",
                    str(props),
                    "--standalone",
                    heap="256m",
                    options=self.jvm_options,
                ),
                cwd=self.folder,
                log=self.log,
                what="Formatting the Kafka storage",
            )
        cmd = java_cmd(lib, "kafka.Kafka", str(props), options=self.jvm_options)
        cmd.insert(1, f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}")
        self._run(
            cmd,
            cwd=self.folder,
            ready=lambda: broker_answers(self.bootstrap),
            what=f"Kafka on {self.bootstrap}",
            timeout=timeout,
        )

    @property
    def startup_log(self) -> Path:
        return self.folder / "kafka.log"  # log4j's, where the broker says it could not bind

    def new_ports(self) -> None:
        """Fresh ports and storage (the controller's address is written into the storage at format)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.port, self.controller_port = free_port(), free_port()


def run_perf_tool(main: str, *args: str) -> str:
    """Run one of Kafka's own perf tools (e.g. ProducerPerformance) and return its output."""
    proc = subprocess.run(java_cmd(kafka_lib(), main, *args), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DevstackError(f"{main} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
