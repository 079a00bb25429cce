"""The one-origin gateway, locally: Debian's nginx, unprivileged, with deploy/nginx/gateway.conf.template."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from roadbranch_shared.devstack.process import (
    HERE,
    DevstackError,
    free_port,
    spawn,
    tail,
    terminate,
    wait_until_ready,
)

# compose.yaml's gateway image renders the same file (web/Dockerfile); it lives with the deploy files.
TEMPLATE = HERE.parents[3] / "deploy" / "nginx" / "gateway.conf.template"
NGINX_ENV = "ROADBRANCH_NGINX"
NGINX_INSTALL = "apt-get install -y --no-install-recommends nginx (`make deps` installs it)"

# Only braced upper-case names, as the template is written: nginx's own variables are lower-case.
VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
UPSTREAM = re.compile(r"^ROADBRANCH_([A-Z0-9]+)_UPSTREAM$")
# A path nginx would read as something else: `$` starts a variable, `"` and `\` end or escape a string.
UNSAFE_IN_PATH = re.compile(r'["$\\\x00-\x1f]')

# nginx's own table as Debian installs it (the image has the same); MIME_TYPES below only where it
# is missing (an nginx built elsewhere), holding what a Vite build serves.
SYSTEM_MIME_TYPES = Path("/etc/nginx/mime.types")
MIME_TYPES = {
    "text/html": "html htm",
    "text/css": "css",
    "application/javascript": "js mjs",
    "application/json": "json map",
    "application/manifest+json": "webmanifest",
    "application/wasm": "wasm",
    "image/svg+xml": "svg svgz",
    "image/png": "png",
    "image/jpeg": "jpg jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/x-icon": "ico",
    "font/woff": "woff",
    "font/woff2": "woff2",
    "font/ttf": "ttf",
    "text/plain": "txt",
    "application/xml": "xml",
}


def mime_table(system: Path = SYSTEM_MIME_TYPES) -> str:
    """nginx's `types {}` block: the system's full table when there is one, with what a Vite build
    needs added where that table lacks it (older tables have no webmanifest, wasm or avif)."""
    base = system.read_text(encoding="utf-8") if system.is_file() else "types {\n}\n"
    known = set(re.findall(r"[\s;]([a-z0-9]+)(?=[\s;])", base.split("{", 1)[-1]))
    missing = {kind: " ".join(e for e in exts.split() if e not in known) for kind, exts in MIME_TYPES.items()}
    extra = "".join(f"    {kind} {exts};\n" for kind, exts in missing.items() if exts)
    head, _, _ = base.rpartition("}")
    return f"{head}{extra}}}\n"


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    """$ROADBRANCH_NGINX, else nginx on PATH, else Debian's /usr/sbin/nginx (sbin is often not on PATH)."""
    configured = os.environ.get(NGINX_ENV)
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise DevstackError(f"{NGINX_ENV}={configured!r} is not an executable file")
        return configured
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise DevstackError(
            f"nginx not found: the gateway runs Debian's nginx; install it with `{NGINX_INSTALL}`, "
            f"or set {NGINX_ENV} to its path"
        )
    return found


def template_variables(text: str) -> set[str]:
    return set(VARIABLE.findall(text))


def template_services(text: str) -> set[str]:
    """The services the template routes, from its ${ROADBRANCH_<SERVICE>_UPSTREAM} names."""
    return {m.group(1).lower() for name in template_variables(text) if (m := UPSTREAM.match(name))}


def render(text: str, values: Mapping[str, str]) -> str:
    """Substitute every ${NAME} as envsubst does in the image; a name without a value is an error."""
    missing = sorted(template_variables(text) - set(values))
    if missing:
        raise DevstackError(f"the gateway template needs values for {', '.join(missing)}")
    return VARIABLE.sub(lambda m: values[m.group(1)], text)


def _upstream_url(service: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
        raise DevstackError(
            f"upstream of {service} must be a base URL like http://127.0.0.1:8001, not {url!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _nginx_path(path: Path) -> str:
    text = str(path.resolve())
    if UNSAFE_IN_PATH.search(text):
        raise DevstackError(
            f"nginx cannot be given the path {text!r} (it has a quote, $, \\ or control character)"
        )
    return text


class Gateway:
    """nginx on 127.0.0.1 serving `dist` (and `driver_dist` under /driver/) and routing
    /api/<service>/ to `upstreams[service]`, with its config, logs and temp files in `run_dir`."""

    def __init__(
        self,
        upstreams: Mapping[str, str],
        dist: Path,
        run_dir: Path,
        *,
        driver_dist: Path | None = None,
        port: int | None = None,
        template: Path = TEMPLATE,
    ) -> None:
        if not template.is_file():
            raise DevstackError(f"the gateway template {template} is missing (it is in the repository)")
        self.template = template
        text = template.read_text(encoding="utf-8")
        expected = template_services(text)
        if set(upstreams) != expected:
            raise DevstackError(
                f"the gateway routes {sorted(expected)}: give an upstream URL for each"
                f" (missing {sorted(expected - set(upstreams))}, unknown {sorted(set(upstreams) - expected)})"
            )
        self.upstreams = {name: _upstream_url(name, url) for name, url in upstreams.items()}
        self.dist = dist
        self.run_dir = run_dir
        # Without the driver app, /driver/ serves an empty folder: a 404.
        self._no_driver_app = driver_dist is None
        self.driver_dist = driver_dist if driver_dist is not None else run_dir / "no-driver-app"
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.run_dir / "nginx.conf"

    @property
    def access_log(self) -> Path:
        return self.run_dir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.run_dir / "error.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def values(self) -> dict[str, str]:
        """The template's variables for this gateway: the same names compose gives the image."""
        return {
            "ROADBRANCH_GATEWAY_HOST": "127.0.0.1",
            "ROADBRANCH_GATEWAY_PORT": str(self.port),
            "ROADBRANCH_GATEWAY_ROOT": _nginx_path(self.dist),
            "ROADBRANCH_GATEWAY_DRIVER_ROOT": _nginx_path(self.driver_dist),
            "ROADBRANCH_GATEWAY_ACCESS_LOG": _nginx_path(self.access_log),
            **{f"ROADBRANCH_{name.upper()}_UPSTREAM": url for name, url in self.upstreams.items()},
        }

    def write_config(self) -> Path:
        """Render the template and the main config around it; return the main config's path."""
        run = self.run_dir
        for name in TEMP_PATHS:
            (run / "tmp" / name).mkdir(parents=True, exist_ok=True)
        if self._no_driver_app:
            self.driver_dist.mkdir(exist_ok=True)
        server = render(self.template.read_text(encoding="utf-8"), self.values())
        (run / "gateway.conf").write_text(server, encoding="utf-8")
        (run / "mime.types").write_text(mime_table(), encoding="utf-8")
        temp = "".join(f'    {name}_temp_path "{_nginx_path(run / "tmp" / name)}";\n' for name in TEMP_PATHS)
        self.config.write_text(
            "# Written by roadbranch_shared.devstack.gateway: the main config around gateway.conf,\n"
            "# everything nginx writes kept in this folder so it runs as a normal user.\n"
            f"{_user_directive()}"
            "worker_processes 1;\n"
            f'pid "{_nginx_path(run / "nginx.pid")}";\n'
            f'error_log "{_nginx_path(self.error_log)}" notice;\n'
            "events {\n    worker_connections 256;\n}\n"
            "http {\n"
            f'    include "{_nginx_path(run / "mime.types")}";\n'
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            f"{temp}"
            f'    include "{_nginx_path(run / "gateway.conf")}";\n'
            "}\n",
            encoding="utf-8",
        )
        return self.config

    def check_config(self) -> None:
        """`nginx -t`: raise with nginx's own message if the rendered config is invalid."""
        result = subprocess.run(
            [*self._command(), "-t", "-q"], capture_output=True, text=True, check=False, timeout=30
        )
        if result.returncode != 0:
            raise DevstackError(
                f"nginx rejects the gateway config {self.run_dir / 'gateway.conf'}:\n"
                f"{(result.stderr + result.stdout).strip()}"
            )

    def start(self, *, timeout: float = 30.0, tries: int = 3) -> Gateway:
        """Write and check the config, start nginx and wait until it answers /healthz."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, tries + 1):
            self.write_config()
            self.check_config()
            self.proc = spawn([*self._command(), "-g", "daemon off;"], cwd=self.run_dir, log=self.error_log)
            try:
                wait_until_ready(
                    self._answers,
                    pid=self.proc.pid,
                    log=self.error_log,
                    what=f"nginx (the gateway) on port {self.port}",
                    timeout=timeout,
                )
                return self
            except DevstackError:
                lost_race = "Address already in use" in tail(self.error_log, 20)
                self.stop()
                if self._fixed_port or not lost_race or attempt == tries:
                    raise
                # Another process took the free port between our pick and nginx's bind.
                self.port = free_port()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc.pid, timeout=10)
            self.proc.wait()
            self.proc = None

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _command(self) -> list[str]:
        return [
            nginx_binary(),
            "-p",
            _nginx_path(self.run_dir),
            "-c",
            _nginx_path(self.config),
            "-e",
            _nginx_path(self.error_log),
        ]

    def _answers(self) -> bool:
        # nginx writes its pid file once it holds the port: then /healthz is ours, not another server's.
        pid_file = self.run_dir / "nginx.pid"
        if self.proc is None or not pid_file.exists() or pid_file.read_text().strip() != str(self.proc.pid):
            return False
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def _user_directive() -> str:
    """Started by root, nginx would run its workers as nobody, who cannot read a private dist or run
    folder: keep them the caller's user. A normal user's nginx ignores `user`, so it is left out."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
