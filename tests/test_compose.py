"""Static checks of the operators' stack: compose.yaml, the Dockerfiles, the gateway, Prometheus, Grafana.

No Docker engine is needed: the compose file is validated against the Compose
Specification (check-jsonschema's vendored schema, no network), its
cross-references are checked with PyYAML, the Prometheus config and the
dashboard's queries are checked with promtool (Debian's `prometheus` package).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from roadbranch_shared.dashboards import dashboard_queries, metric_names

# Metric names the Grafana dashboards may query. This list MUST match what the
# services export on /metrics: FastStream's KafkaPrometheusMiddleware
# (faststream_*), the shared outbox relay and dead-letter middleware
# (roadbranch_*), plus Prometheus's own per-target `up`. A later issue checks
# this list against the /metrics of real running services; until then, add a
# name here only together with the code that exports it.
ALLOWED_METRICS = frozenset(
    {
        "faststream_received_messages_total",
        "faststream_published_messages_total",
        "roadbranch_outbox_pending_events",
        "roadbranch_outbox_oldest_pending_age_seconds",
        "roadbranch_dead_letters_total",
        # welfare (services/welfare/src/welfare/app/figures.py)
        "roadbranch_welfare_open_needs",
        "roadbranch_welfare_need_resolve_seconds_bucket",
        "roadbranch_welfare_need_resolve_seconds_sum",
        "roadbranch_welfare_need_resolve_seconds_count",
        "roadbranch_welfare_need_escalations_total",
        "roadbranch_welfare_station_occupancy",
        "roadbranch_welfare_station_beds",
        "roadbranch_welfare_items_issued",
        "roadbranch_welfare_visits",
        # activities (services/activities/src/activities/app/figures.py)
        "roadbranch_activities_meetings_held",
        "roadbranch_activities_attendance_rate",
        "roadbranch_activities_makeups_completed",
        "roadbranch_activities_read_rate",
        "roadbranch_activities_quiz_pass_rate",
        "roadbranch_activities_compliance_met",
        # briefing (services/briefing/src/briefing/app/figures.py)
        "roadbranch_briefing_figure",
        # notify (services/notify/src/notify/app/metrics.py)
        "roadbranch_notify_deliveries_total",
        "roadbranch_notify_duplicates_after_crash_total",
        "roadbranch_notify_sms_provider_answers_total",
        "roadbranch_notify_queue_depth",
        "roadbranch_notify_reminders_pending",
        "roadbranch_notify_oldest_pending_age_seconds",
        "up",
    }
)

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "compose.yaml"
CLUSTER_FILE = ROOT / "compose.cluster.yaml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
DATASOURCES_FILE = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
DASHBOARD_PROVIDER_FILE = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" / "roadbranch.yaml"
ENV_EXAMPLE_FILE = ROOT / "deploy" / "roadbranch.env.example"
GATEWAY_TEMPLATE = ROOT / "deploy" / "nginx" / "gateway.conf.template"
GATEWAY_DOCKERFILE = ROOT / "web" / "Dockerfile"
SERVICE_DOCKERFILE = ROOT / "deploy" / "service.Dockerfile"

APP_SERVICES = ("roster", "activities", "welfare", "notify", "briefing", "identity")
# Services that run once and exit: they have no health check.
ONE_SHOT_SERVICES = frozenset({"topics"})
# nginx in front of the app services (web/Dockerfile, deploy/nginx/gateway.conf.template).
GATEWAY = "gateway"
APP_PORT = 8000
REPLICA_SET = "rs0"
PII_KEYS = ("ROADBRANCH_PII_BLIND_INDEX_KEY", "ROADBRANCH_PII_ENCRYPTION_KEY", "ROADBRANCH_PII_CONTACT_KEY")
# Files the operator creates before `docker compose up` and never commits
# (repo-relative path -> the committed file that tells how to make it).
OPERATOR_PROVIDED = {
    "deploy/roadbranch.env": "deploy/roadbranch.env.example",
    "deploy/tokens.json": "deploy/roadbranch.env.example",
}

PROMTOOL_ENV = "ROADBRANCH_PROMTOOL"
PROMTOOL_INSTALL = "apt-get install -y --no-install-recommends prometheus"


# ---------------------------------------------------------------- helpers


def _load_yaml(path: Path) -> Any:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), "compose.yaml is not a YAML mapping"
    assert isinstance(data.get("services"), dict), "compose.yaml has no `services:` mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _names(entries: Any) -> list[str]:
    """Names from a short/long-syntax list (`- name` or `- source: name`) or a mapping."""
    if entries is None:
        return []
    if isinstance(entries, dict):
        return list(entries)
    return [e if isinstance(e, str) else e["source"] for e in entries]


def _volume_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """Yield (type, source, target) of every mount of a service; type is volume or bind."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            yield entry.get("type", "volume"), entry.get("source"), entry["target"]
            continue
        parts = entry.split(":")
        if len(parts) == 1:  # anonymous volume
            yield "volume", None, parts[0]
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
        yield kind, source, target


def _host_path(relative: str) -> Path:
    return (COMPOSE_FILE.parent / relative).resolve()


def _published_ports(spec: Any) -> Iterator[tuple[int, str]]:
    """Yield (host port, protocol) for every host port a ports entry publishes."""
    if isinstance(spec, dict):
        published = spec.get("published")
        if published is None:
            return
        protocol = spec.get("protocol", "tcp")
        text = str(published)
    else:
        text, _, protocol = str(spec).partition("/")
        protocol = protocol or "tcp"
        if text.startswith("["):  # [ipv6]:host:container
            text = text[text.index("]") + 2 :]
        parts = text.split(":")
        if len(parts) == 1:  # container port only: Docker picks an ephemeral host port
            return
        text = parts[-2]
        if not text:  # "ip::container": ephemeral as well
            return
    low, _, high = text.partition("-")
    for port in range(int(low), int(high or low) + 1):
        yield port, protocol


def _dashboards() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def _promtool() -> str:
    configured = os.environ.get(PROMTOOL_ENV)
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            pytest.fail(f"{PROMTOOL_ENV}={configured!r} is not an executable file")
        return configured
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool not found: set "
            f"{PROMTOOL_ENV} to its path or put it on PATH "
            f"(Debian: `{PROMTOOL_INSTALL}`)"
        )
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


# ------------------------------------------------ (a) the Compose Specification


def test_compose_file_validates_against_the_compose_spec() -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    assert exe.is_file(), f"{exe} is missing: install the dev group (`uv sync`)"
    result = _run([str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])
    assert result.returncode == 0, (
        f"compose.yaml does not validate against the Compose Specification "
        f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def test_compose_file_has_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "`version:` is obsolete in the Compose Specification"


# ------------------------------------------------------ (b) cross-references


def test_depends_on_targets_are_defined_services(services: dict[str, dict[str, Any]]) -> None:
    problems = [
        f"{name} depends on undefined service {target!r}"
        for name, service in services.items()
        for target in _names(service.get("depends_on"))
        if target not in services
    ]
    assert not problems, "\n".join(problems)


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    problems = [
        f"{name} mounts named volume {source!r}, not declared under top-level `volumes:`"
        for name, service in compose["services"].items()
        for kind, source, _ in _volume_mounts(service)
        if kind == "volume" and source is not None and source not in declared
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["secrets", "configs"])
def test_secrets_and_configs_are_declared(compose: dict[str, Any], kind: str) -> None:
    declared = set(compose.get(kind) or {})
    problems = [
        f"{name} uses {kind[:-1]} {used!r}, not declared under top-level `{kind}:`"
        for name, service in compose["services"].items()
        for used in _names(service.get(kind))
        if used not in declared
    ]
    assert not problems, "\n".join(problems)


def test_no_two_services_publish_the_same_host_port(services: dict[str, dict[str, Any]]) -> None:
    owners: dict[tuple[int, str], list[str]] = {}
    for name, service in services.items():
        for spec in service.get("ports") or []:
            for key in _published_ports(spec):
                owners.setdefault(key, []).append(name)
    clashes = {f"{port}/{proto}": who for (port, proto), who in owners.items() if len(who) > 1}
    assert not clashes, f"host ports published more than once: {clashes}"


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    missing = [
        name
        for name, service in services.items()
        if name not in ONE_SHOT_SERVICES
        and (not service.get("healthcheck") or service["healthcheck"].get("disable"))
    ]
    assert not missing, f"services without a health check: {missing}"


def test_one_shot_services_are_not_restarted(services: dict[str, dict[str, Any]]) -> None:
    for name in ONE_SHOT_SERVICES:
        assert name in services, f"one-shot service {name!r} is not in compose.yaml"
        restart = services[name].get("restart", "no")
        assert restart in ("no", "on-failure"), f"{name} runs once and exits, but has restart: {restart!r}"


def test_build_contexts_and_dockerfiles_exist(services: dict[str, dict[str, Any]]) -> None:
    problems = []
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = _host_path(build.get("context", "."))
        if not context.is_dir():
            problems.append(f"{name}: build context {build.get('context')!r} is not a directory")
            continue
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
    assert not problems, "\n".join(problems)


def test_bind_mounted_host_files_exist(services: dict[str, dict[str, Any]]) -> None:
    problems = [
        f"{name} bind-mounts {source!r}, which does not exist in the repo"
        for name, service in services.items()
        for kind, source, _ in _volume_mounts(service)
        if kind == "bind" and source is not None and not _host_path(source).exists()
    ]
    assert not problems, "\n".join(problems)


def test_env_files_and_secret_files_exist_or_are_documented(compose: dict[str, Any]) -> None:
    """Operator-provided files need not exist, but a committed file must explain them."""
    used: list[tuple[str, str]] = []
    for name, service in compose["services"].items():
        env_files = service.get("env_file") or []
        for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
            used.append((f"service {name} env_file", entry if isinstance(entry, str) else entry["path"]))
    for kind in ("secrets", "configs"):
        for name, spec in (compose.get(kind) or {}).items():
            if "file" in spec:
                used.append((f"{kind[:-1]} {name}", spec["file"]))
    problems = []
    for who, path in used:
        relative = _host_path(path).relative_to(ROOT).as_posix()
        if relative in OPERATOR_PROVIDED:
            doc = ROOT / OPERATOR_PROVIDED[relative]
            if not doc.is_file() or relative not in doc.read_text(encoding="utf-8"):
                problems.append(f"{who}: {OPERATOR_PROVIDED[relative]} must explain {relative}")
        elif not _host_path(path).is_file():
            problems.append(f"{who}: {relative} does not exist and is not operator-provided")
    assert not problems, "\n".join(problems)


def test_the_app_services_are_the_six_services(services: dict[str, dict[str, Any]]) -> None:
    built = {n for n, s in services.items() if "build" in s} - ONE_SHOT_SERVICES - {GATEWAY}
    assert built == set(APP_SERVICES), f"services built from this repo: {sorted(built)}"


def test_app_services_wait_for_kafka_mongo_and_topics(
    services: dict[str, dict[str, Any]],
) -> None:
    expected = {
        "kafka": "service_healthy",
        "mongo": "service_healthy",
        "topics": "service_completed_successfully",
    }
    problems = []
    for name in APP_SERVICES:
        depends = services[name].get("depends_on") or {}
        got = {t: c.get("condition") for t, c in depends.items()} if isinstance(depends, dict) else {}
        for target, condition in expected.items():
            if got.get(target) != condition:
                problems.append(f"{name} must depend on {target} with condition {condition}")
    topics_depends = services["topics"].get("depends_on") or {}
    if (
        not isinstance(topics_depends, dict)
        or topics_depends.get("kafka", {}).get("condition") != "service_healthy"
    ):
        problems.append("topics must depend on kafka with condition service_healthy")
    assert not problems, "\n".join(problems)


def test_app_services_get_their_settings(services: dict[str, dict[str, Any]]) -> None:
    problems = []
    for name in APP_SERVICES:
        service = services[name]
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"{name}: write `environment:` as a mapping"
        prefix = f"ROADBRANCH_{name.upper()}_"
        expected = {
            "KAFKA_BOOTSTRAP": "kafka:9092",
            "MONGO_URI": f"mongodb://mongo:27017/?replicaSet={REPLICA_SET}",
            "MONGO_DB": name,
        }
        for key, value in expected.items():
            if env.get(prefix + key) != value:
                problems.append(f"{name}: {prefix}{key} must be {value!r}, is {env.get(prefix + key)!r}")
        tokens = env.get(prefix + "TOKENS_FILE")
        mounted = {f"/run/secrets/{s}" for s in _names(service.get("secrets"))}
        if tokens not in mounted:
            problems.append(f"{name}: {prefix}TOKENS_FILE={tokens!r} is not a mounted secret {mounted}")
        if not service.get("env_file"):
            problems.append(f"{name}: has no env_file for the PII keys")
    assert not problems, "\n".join(problems)


def test_only_the_gateway_publishes_a_fixed_host_port(services: dict[str, dict[str, Any]]) -> None:
    """A service with a fixed host port cannot run as several replicas (`--scale`): the app services
    publish none (the gateway reaches them inside the network), the operators' servers only an
    ephemeral one on 127.0.0.1, and nothing sets a container_name."""
    fixed = {
        name: [port for spec in service.get("ports") or [] for port, _ in _published_ports(spec)]
        for name, service in services.items()
    }
    assert {name: ports for name, ports in fixed.items() if ports} == {GATEWAY: [8080]}
    for name in APP_SERVICES:
        assert not services[name].get("ports"), f"{name} publishes a host port: it could not be scaled"
    named = [name for name, service in services.items() if "container_name" in service]
    assert not named, f"a container_name keeps a service from being scaled: {named}"
    for name, service in services.items():
        for spec in service.get("ports") or []:
            if name != GATEWAY:
                assert str(spec).startswith("127.0.0.1::"), f"{name}: {spec} is not on 127.0.0.1 only"


def test_mongo_runs_as_the_replica_set_the_services_name(services: dict[str, dict[str, Any]]) -> None:
    mongo = services["mongo"]
    command = [str(part) for part in mongo.get("command") or []]
    assert command[command.index("--replSet") + 1] == REPLICA_SET
    check = " ".join(str(part) for part in mongo["healthcheck"]["test"])
    assert f"rs.initiate({{_id: '{REPLICA_SET}'" in check, "the health check initiates the set"
    assert "host: 'mongo:27017'" in check, "its member is named as the services reach it"


def test_pii_keys_are_never_literal_in_compose(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    literal = [
        f"{name}: {key}"
        for name, service in compose["services"].items()
        for key in (service.get("environment") or {})
        if str(key).split("=")[0].startswith("ROADBRANCH_PII_")
    ]
    assert not literal, f"PII keys set in compose.yaml (use env_file or secrets): {literal}"
    for key in PII_KEYS:
        assert not re.search(rf"^\s*-?\s*{key}\s*[:=]", text, re.M), f"{key} is set in compose.yaml"


def test_env_example_has_placeholder_pii_keys() -> None:
    assert ENV_EXAMPLE_FILE.is_file(), "deploy/roadbranch.env.example is missing"
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    for key in PII_KEYS:
        assert key in values, f"{key} is missing from deploy/roadbranch.env.example"
        assert values[key].startswith("change-me"), (
            f"{key} in the example must be a change-me placeholder, not a real key"
        )


def test_env_example_names_only_real_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `ROADBRANCH_<SERVICE>_<SETTING>` in the example, set or commented out, is a setting of
    that service, and the example values are ones the service accepts from its environment."""
    import importlib

    named = re.findall(
        r"^#?\s*(ROADBRANCH_([A-Z]+)_([A-Z0-9_]+))=(.*)$", ENV_EXAMPLE_FILE.read_text(encoding="utf-8"), re.M
    )
    services = set()
    for variable, service, setting, value in named:
        if service.lower() not in APP_SERVICES:
            continue
        settings_class = importlib.import_module(f"{service.lower()}.settings").Settings
        assert setting.lower() in settings_class.model_fields, (
            f"{variable} in the env example is no setting of {service.lower()}"
        )
        monkeypatch.setenv(variable, value.strip())
        services.add(service.lower())
    assert "notify" in services, "the example should document the notify channels"
    for service in services:
        importlib.import_module(f"{service}.settings").Settings()  # the example values parse


def test_app_services_are_built_from_the_one_service_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    """Each app service (and the topics job, on the roster image) builds deploy/service.Dockerfile
    with its own name as SERVICE: the package and module the image installs and runs exist."""
    problems = []
    for name in (*APP_SERVICES, "topics"):
        build = services[name].get("build") or {}
        service = (build.get("args") or {}).get("SERVICE")
        if (
            _host_path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")
            != SERVICE_DOCKERFILE
        ):
            problems.append(f"{name} is not built from {SERVICE_DOCKERFILE.relative_to(ROOT)}")
        expected = "roster" if name == "topics" else name
        if service != expected:
            problems.append(f"{name} builds with SERVICE={service!r}, not {expected!r}")
        elif not (ROOT / "services" / service / "src" / service / "main.py").is_file():
            problems.append(f"{name}: SERVICE={service} names no services/{service}/src/{service}/main.py")
    assert not problems, "\n".join(problems)
    leftovers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "services").glob("*/Dockerfile"))
    assert not leftovers, f"a service Dockerfile besides {SERVICE_DOCKERFILE.relative_to(ROOT)}: {leftovers}"


def test_the_service_dockerfile_installs_and_runs_the_service_it_is_given() -> None:
    text = SERVICE_DOCKERFILE.read_text(encoding="utf-8")
    instructions = _dockerfile_instructions(SERVICE_DOCKERFILE)
    for instruction in ("USER ", "EXPOSE 8000", "uv sync --frozen --no-dev"):
        assert instruction in text, f"the service Dockerfile lacks `{instruction}`"
    assert '--package "roadbranch-${SERVICE}"' in text, (
        "the build stage must install the package SERVICE names"
    )
    assert _dockerfile_env(SERVICE_DOCKERFILE).get("SERVICE") == "${SERVICE}", "the image must keep SERVICE"
    cmd = [arguments for instruction, arguments in instructions if instruction == "CMD"]
    assert len(cmd) == 1, "the service Dockerfile must have one CMD"
    assert "exec uvicorn" in cmd[0], "uvicorn, not a shell, must be the process Docker stops"
    assert "${SERVICE}.main:create_app" in cmd[0], "the CMD must run the factory of the service SERVICE names"
    assert "--factory" in cmd[0], "uvicorn must be told that it names an app factory"
    named = [name for name in APP_SERVICES for _, arguments in instructions if name in arguments]
    assert not named, f"the service Dockerfile must name no service in its instructions: {named}"


def test_app_services_are_scraped_by_prometheus(services: dict[str, dict[str, Any]]) -> None:
    """Every app service's replicas, found by DNS (one A record a replica), on their port."""
    config = _load_yaml(PROMETHEUS_FILE)
    targets: set[str] = set()
    for job in config.get("scrape_configs") or []:
        if job.get("metrics_path", "/metrics") != "/metrics":
            continue
        for found in job.get("dns_sd_configs") or []:
            assert found.get("type", "SRV") == "A", "Docker's DNS answers a service's name with A records"
            targets.update(f"{name}:{found.get('port')}" for name in found.get("names") or [])
        relabels = job.get("relabel_configs") or []
        if job.get("dns_sd_configs"):
            assert {"source_labels": ["__meta_dns_name"], "target_label": "service"} in relabels, (
                "the dashboards group by `service`: it must be the name asked"
            )
    missing = [f"{name}:{APP_PORT}" for name in APP_SERVICES if f"{name}:{APP_PORT}" not in targets]
    assert not missing, f"deploy/prometheus/prometheus.yml does not scrape /metrics of {missing}"
    mounted = {
        source for kind, source, _ in _volume_mounts(services["prometheus"]) if kind == "bind" and source
    }
    assert any(_host_path(s) == PROMETHEUS_FILE for s in mounted), (
        "the prometheus service does not mount deploy/prometheus/prometheus.yml"
    )


def test_grafana_provisioning_points_at_the_dashboards(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = {
        target: _host_path(source)
        for kind, source, target in _volume_mounts(services["grafana"])
        if kind == "bind" and source
    }
    for file in (DATASOURCES_FILE, DASHBOARD_PROVIDER_FILE):
        assert file in mounts.values(), f"grafana does not mount {file.relative_to(ROOT)}"
    provider_paths = [
        p["options"]["path"] for p in _load_yaml(DASHBOARD_PROVIDER_FILE).get("providers") or []
    ]
    assert provider_paths, "the dashboard provider file defines no provider"
    for path in provider_paths:
        assert mounts.get(path) == DASHBOARD_DIR, (
            f"dashboard provider path {path} is not where grafana mounts deploy/grafana/dashboards"
        )
    datasource_uids = {d.get("uid") for d in _load_yaml(DATASOURCES_FILE).get("datasources") or []}
    for dashboard in _dashboards():
        text = dashboard.read_text(encoding="utf-8")
        used = set(re.findall(r'"uid":\s*"([^"]+)"', text)) - {json.loads(text).get("uid")}
        assert used <= datasource_uids, (
            f"{dashboard.name} refers to datasource uids {used - datasource_uids} "
            f"not provisioned in {DATASOURCES_FILE.name}"
        )


# ------------------------------------------------------------- the gateway


def _template_variables() -> set[str]:
    assert GATEWAY_TEMPLATE.is_file(), f"{GATEWAY_TEMPLATE.relative_to(ROOT)} is missing"
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", GATEWAY_TEMPLATE.read_text(encoding="utf-8")))


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for line in joined.splitlines()
        if (parts := line.strip().split(None, 1))
    ]


def _dockerfile_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in _dockerfile_instructions(path):
        if instruction == "ENV":
            for item in shlex.split(arguments):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _gateway_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What the gateway container's environment sets: the image's ENV, then compose's."""
    env = services[GATEWAY].get("environment") or {}
    assert isinstance(env, dict), f"{GATEWAY}: write `environment:` as a mapping"
    return _dockerfile_env(GATEWAY_DOCKERFILE) | {k: str(v) for k, v in env.items()}


def test_gateway_is_built_by_web_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    assert GATEWAY in services, "compose.yaml has no gateway service"
    build = services[GATEWAY].get("build") or {}
    assert _host_path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile") == GATEWAY_DOCKERFILE


def test_gateway_routes_every_app_service() -> None:
    text = GATEWAY_TEMPLATE.read_text(encoding="utf-8")
    routed = dict(
        re.findall(r"location /api/([a-z]+)/ \{\s*proxy_pass \$\{(ROADBRANCH_[A-Z]+_UPSTREAM)\}/;", text)
    )
    assert set(routed) == set(APP_SERVICES), (
        f"the gateway template routes /api/<name>/ for {sorted(routed)}, "
        f"the app services are {sorted(APP_SERVICES)}"
    )
    wrong = {
        name: variable
        for name, variable in routed.items()
        if variable != f"ROADBRANCH_{name.upper()}_UPSTREAM"
    }
    assert not wrong, f"/api/<name>/ must go to ROADBRANCH_<NAME>_UPSTREAM: {wrong}"


def test_gateway_env_names_every_upstream_the_template_uses(services: dict[str, dict[str, Any]]) -> None:
    variables = _template_variables()
    env = _gateway_env(services)
    missing = sorted(variables - set(env))
    assert not missing, f"the gateway's environment (compose.yaml or web/Dockerfile) lacks {missing}"
    compose_env = services[GATEWAY].get("environment") or {}
    problems = []
    for name in APP_SERVICES:
        variable = f"ROADBRANCH_{name.upper()}_UPSTREAM"
        expected = f"http://{name}:{APP_PORT}"
        if compose_env.get(variable) != expected:
            problems.append(
                f"{variable} must be {expected!r} in compose.yaml, is {compose_env.get(variable)!r}"
            )
    unused = sorted(k for k in env if k.startswith("ROADBRANCH_") and k not in variables)
    if unused:
        problems.append(f"the gateway's environment sets {unused}, which the template does not use")
    assert not problems, "\n".join(problems)


def test_gateway_waits_for_every_app_service(services: dict[str, dict[str, Any]]) -> None:
    depends = services[GATEWAY].get("depends_on") or {}
    assert isinstance(depends, dict), "gateway: write depends_on as a mapping with conditions"
    not_waited = [n for n in APP_SERVICES if (depends.get(n) or {}).get("condition") != "service_healthy"]
    assert not not_waited, (
        f"the gateway must wait for {not_waited} to be healthy (nginx resolves them at start)"
    )


def test_gateway_publishes_the_port_it_listens_on(services: dict[str, dict[str, Any]]) -> None:
    port = _gateway_env(services)["ROADBRANCH_GATEWAY_PORT"]
    ports = [str(p) for p in services[GATEWAY].get("ports") or []]
    assert f"8080:{port}" in ports, f"the gateway listens on {port}; publish it as host port 8080: {ports}"
    assert f"EXPOSE {port}" in GATEWAY_DOCKERFILE.read_text(encoding="utf-8")
    health = " ".join(services[GATEWAY]["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in health, f"the health check asks another port: {health}"


def test_gateway_image_has_the_template_and_the_builds_where_the_env_says(
    services: dict[str, dict[str, Any]],
) -> None:
    env = _gateway_env(services)
    instructions = _dockerfile_instructions(GATEWAY_DOCKERFILE)
    copies = [shlex.split(arguments)[-2:] for instruction, arguments in instructions if instruction == "COPY"]
    assert ["deploy/nginx/gateway.conf.template", "/etc/nginx/templates/default.conf.template"] in copies, (
        "web/Dockerfile must copy the template to where the nginx image renders it"
    )
    destinations = {target: source for source, target in copies}
    for variable, build in (
        ("ROADBRANCH_GATEWAY_ROOT", "/console/dist"),
        ("ROADBRANCH_GATEWAY_DRIVER_ROOT", "/driver/dist"),
    ):
        source = destinations.get(env[variable], "")
        assert source.endswith(build), (
            f"{variable}={env[variable]} is not where web/Dockerfile copies *{build}"
        )


# ----------------------------------------------------------- (c) dashboards


def test_there_is_a_dashboard() -> None:
    assert (DASHBOARD_DIR / "service-health.json").is_file(), (
        "deploy/grafana/dashboards/service-health.json is missing"
    )


@pytest.mark.parametrize("dashboard", _dashboards(), ids=lambda p: p.name)
def test_dashboard_json_parses(dashboard: Path) -> None:
    try:
        data = json.loads(dashboard.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        pytest.fail(f"{dashboard.name} is not valid JSON: {exc}")
    assert isinstance(data, dict), f"{dashboard.name}: a dashboard is a JSON object"
    for key in ("uid", "title", "panels", "schemaVersion"):
        assert key in data, f"{dashboard.name} has no {key!r}"
    assert list(dashboard_queries(data)), f"{dashboard.name} has no query (`expr`)"


@pytest.mark.parametrize("dashboard", _dashboards(), ids=lambda p: p.name)
def test_dashboard_queries_use_only_exported_metrics(dashboard: Path) -> None:
    data = json.loads(dashboard.read_text(encoding="utf-8"))
    problems = [
        f"{expr!r} uses {sorted(metric_names(expr) - ALLOWED_METRICS)}"
        for expr in dashboard_queries(data)
        if not metric_names(expr) <= ALLOWED_METRICS
    ]
    assert not problems, (
        f"{dashboard.name} queries metrics outside ALLOWED_METRICS "
        "(add them there only with the code that exports them):\n" + "\n".join(problems)
    )
    assert all(metric_names(expr) for expr in dashboard_queries(data)), (
        f"{dashboard.name} has a query selecting no metric"
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('up{job="roadbranch"}', {"up"}),
        ('sum by (service) (rate(a_total{x=~"b|c"}[5m]))', {"a_total"}),
        ("sum(rate(a_total[$__rate_interval])) by (le) / on(x) group_left(y) b", {"a_total", "b"}),
        ("histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m]))) > bool 1e3", {"h_bucket"}),
        ("max_over_time(m:rec[1h:5m] offset 1d) and c", {"m:rec", "c"}),
    ],
)
def test_metric_name_extraction(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


# ------------------------------------------------------------------ promtool


def test_promtool_checks_the_prometheus_config() -> None:
    result = _run([_promtool(), "check", "config", str(PROMETHEUS_FILE)])
    assert result.returncode == 0, (
        f"promtool check config failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


def test_promtool_parses_the_dashboard_queries(tmp_path: Path) -> None:
    """Every dashboard query, as a recording rule, must be valid PromQL for promtool."""
    rules = []
    for dashboard in _dashboards():
        for expr in dashboard_queries(json.loads(dashboard.read_text(encoding="utf-8"))):
            # Grafana's own variables are not PromQL: give them a plain duration.
            promql = re.sub(r"\$\{?__(?:rate_interval|interval|range)\}?", "5m", expr)
            rules.append({"record": f"dashboard:query_{len(rules)}", "expr": promql})
    assert rules, "no dashboard query to check"
    rules_file = tmp_path / "dashboard-queries.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = _run([_promtool(), "check", "rules", str(rules_file)])
    assert result.returncode == 0, (
        f"promtool rejects a dashboard query (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )


# ------------------------------------------------------------------ the cluster overlay

BROKERS = ("kafka", "kafka-2", "kafka-3")
MEMBERS = ("mongo", "mongo-2", "mongo-3")


def _merged(base: Any, overlay: Any) -> Any:
    """`overlay` on `base` as Compose merges files: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        return {k: _merged(base[k], v) if k in base else v for k, v in overlay.items()} | {
            k: v for k, v in base.items() if k not in overlay
        }
    return overlay


def _named_volumes(services: dict[str, Any], names: tuple[str, ...]) -> list[str | None]:
    mounts = [mount for name in names for mount in _volume_mounts(services[name])]
    return [source for kind, source, _ in mounts if kind == "volume"]


@pytest.fixture(scope="module")
def cluster(compose: dict[str, Any]) -> dict[str, Any]:
    merged = _merged(compose, _load_yaml(CLUSTER_FILE))
    assert isinstance(merged, dict)
    return merged


def test_the_cluster_overlay_validates_against_the_compose_spec() -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    result = _run([str(exe), "--builtin-schema", "vendor.compose-spec", str(CLUSTER_FILE)])
    assert result.returncode == 0, (
        f"compose.cluster.yaml does not validate:\n{result.stdout}\n{result.stderr}"
    )


def test_the_cluster_has_three_brokers_in_one_quorum_keeping_three_copies(cluster: dict[str, Any]) -> None:
    services = cluster["services"]
    envs = {name: services[name]["environment"] for name in BROKERS}
    assert sorted(int(env["KAFKA_NODE_ID"]) for env in envs.values()) == [1, 2, 3]
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in envs.items()}
    for name, env in envs.items():
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://{name}:9092", name
        assert env["CLUSTER_ID"] == envs["kafka"]["CLUSTER_ID"], f"{name}: one cluster"
        for key in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"):
            assert int(env[f"KAFKA_{key}_REPLICATION_FACTOR"]) == 3, (name, key)
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == 3, name
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2, name
    topics = services["topics"]["environment"]
    assert (
        topics["ROADBRANCH_KAFKA_REPLICATION_FACTOR"],
        topics["ROADBRANCH_KAFKA_MIN_INSYNC_REPLICAS"],
    ) == (
        "3",
        "2",
    ), "the topics job makes every topic with three copies, two in sync"
    volumes = [
        source for name in BROKERS for kind, source, _ in _volume_mounts(services[name]) if kind == "volume"
    ]
    assert len(set(volumes)) == 3, f"each broker keeps its own log: {volumes}"
    assert set(volumes) <= set(cluster["volumes"])


def test_the_cluster_has_a_replica_set_of_three_the_services_name(cluster: dict[str, Any]) -> None:
    services = cluster["services"]
    for name in MEMBERS:
        command = [str(part) for part in services[name]["command"]]
        assert command[command.index("--replSet") + 1] == REPLICA_SET, name
    check = " ".join(str(part) for part in services["mongo"]["healthcheck"]["test"])
    for number, name in enumerate(MEMBERS):
        assert f"{{_id: {number}, host: '{name}:27017'}}" in check, f"{name} is not in the set it initiates"
    depends = services["mongo"].get("depends_on") or {}
    assert set(MEMBERS[1:]) <= set(depends), "the first member initiates the set once the others are up"
    uri = f"mongodb://{','.join(f'{m}:27017' for m in MEMBERS)}/?replicaSet={REPLICA_SET}"
    bootstrap = ",".join(f"{b}:9092" for b in BROKERS)
    for name in APP_SERVICES:
        env = services[name]["environment"]
        prefix = f"ROADBRANCH_{name.upper()}_"
        assert env[prefix + "MONGO_URI"] == uri, name
        assert env[prefix + "KAFKA_BOOTSTRAP"] == bootstrap, name
    assert services["topics"]["environment"]["ROADBRANCH_KAFKA_BOOTSTRAP"] == bootstrap
    volumes = [
        source for name in MEMBERS for kind, source, _ in _volume_mounts(services[name]) if kind == "volume"
    ]
    assert len(set(volumes)) == 3, f"each member keeps its own data: {volumes}"
    assert set(volumes) <= set(cluster["volumes"])
