"""The local dev stack: one run folder holding Kafka's and FerretDB's data, logs and ports."""

from __future__ import annotations

import concurrent.futures
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from roadbranch_shared.devstack.ferretdb import FerretDBServer, ferretdb_binary, mongo_answers
from roadbranch_shared.devstack.kafka import KafkaServer, broker_answers, kafka_lib
from roadbranch_shared.devstack.mongojava import MongoJavaServer, mongo_java_classpath
from roadbranch_shared.devstack.process import DevstackError, cache_dir, pid_alive, terminate
from roadbranch_shared.pii.crypto import generate_key


@dataclass(frozen=True)
class StackInfo:
    run_dir: str
    kafka_bootstrap: str
    mongo_uri: str
    kafka_pid: int | None = None
    ferretdb_pid: int | None = None
    # The key roster and the readers of roster.contact.v1 share (ROADBRANCH_PII_CONTACT_KEY): one
    # per local stack, like a deployment's; each service's own PII keys stay its own.
    contact_key: str = ""

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process needs to reach this stack."""
        prefix = f"ROADBRANCH_{service.upper()}_"
        env = {
            f"{prefix}KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            f"{prefix}MONGO_URI": self.mongo_uri,
        }
        if self.contact_key:
            env["ROADBRANCH_PII_CONTACT_KEY"] = self.contact_key
        return env


def prepare() -> None:
    """Fetch the Kafka jars, build FerretDB and mongo-java-server; a no-op once all are cached.

    The two Maven builds run one after the other (they share Maven's local repository), beside Go's.
    """

    def maven_builds() -> None:
        kafka_lib()
        mongo_java_classpath()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        builds: list[concurrent.futures.Future[object]] = [
            pool.submit(maven_builds),
            pool.submit(ferretdb_binary),
        ]
        for f in builds:
            f.result()


class Stack:
    """Starts and stops both servers; `kafka` can be stopped and restarted on the same port and data."""

    def __init__(self, run_dir: Path | None = None, *, kafka_jvm_options: Sequence[str] = ()) -> None:
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="roadbranch-run-"))
        self.kafka = KafkaServer(self.run_dir / "kafka", jvm_options=kafka_jvm_options)
        self.ferretdb = FerretDBServer(self.run_dir / "ferretdb")
        self.contact_key = generate_key()

    def up(self) -> StackInfo:
        prepare()
        try:
            start_on_free_ports(self.ferretdb)
            start_on_free_ports(self.kafka)
        except BaseException:
            self.down()
            raise
        info = self.info()
        (self.run_dir / "stack.json").write_text(json.dumps(asdict(info), indent=2))
        return info

    def info(self) -> StackInfo:
        return StackInfo(
            run_dir=str(self.run_dir),
            kafka_bootstrap=self.kafka.bootstrap,
            mongo_uri=self.ferretdb.uri,
            kafka_pid=self.kafka.pid,
            ferretdb_pid=self.ferretdb.pid,
            contact_key=self.contact_key,
        )

    def down(self) -> None:
        self.kafka.stop()
        self.ferretdb.stop()


def start_on_free_ports(server: KafkaServer | FerretDBServer | MongoJavaServer, tries: int = 3) -> None:
    """A free port can be taken by another process between our pick and the server's bind
    (two test runs at once): then pick new ports and start again."""
    for attempt in range(1, tries + 1):
        try:
            server.start()
            return
        except DevstackError:
            if attempt == tries or not server.lost_port_race():
                raise
            server.new_ports()


CURRENT = "devstack-current.json"


def save_current(info: StackInfo) -> Path:
    path = cache_dir() / CURRENT
    path.write_text(json.dumps(asdict(info), indent=2))
    return path


def load_current() -> StackInfo | None:
    path = cache_dir() / CURRENT
    if not path.exists():
        return None
    return StackInfo(**json.loads(path.read_text()))


def stop_current() -> StackInfo | None:
    info = load_current()
    if info is None:
        return None
    for pid, program in ((info.kafka_pid, "kafka.Kafka"), (info.ferretdb_pid, "ferretdb")):
        # After a reboot the saved pid may belong to another program: only stop ours.
        if pid is not None and program in _command_line(pid):
            terminate(pid)
    (cache_dir() / CURRENT).unlink(missing_ok=True)
    return info


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def status(info: StackInfo) -> dict[str, Any]:
    return {
        "run_dir": info.run_dir,
        "kafka": {
            "bootstrap": info.kafka_bootstrap,
            "process": info.kafka_pid is not None and pid_alive(info.kafka_pid),
            "answers": broker_answers(info.kafka_bootstrap),
        },
        "ferretdb": {
            "uri": info.mongo_uri,
            "process": info.ferretdb_pid is not None and pid_alive(info.ferretdb_pid),
            "answers": mongo_answers(info.mongo_uri),
        },
    }


def healthy(report: dict[str, Any]) -> bool:
    return bool(report["kafka"]["answers"] and report["ferretdb"]["answers"])
