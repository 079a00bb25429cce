"""The gateway: real nginx (deploy/nginx/gateway.conf.template) in front of small real HTTP upstreams.

The upstreams are plain http.server apps in threads, one a service, that answer with what they
received: the tests are about nginx's routing, headers, limits and logs, not about the services.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from roadbranch_shared.devstack.gateway import TEMPLATE, Gateway, template_services
from roadbranch_shared.devstack.process import DevstackError, free_port, port_open

SERVICES = ("identity", "roster", "activities", "welfare", "notify", "briefing")
# Its upstream is a port nobody listens on: the service is down.
DOWN = "briefing"
PHONE = "13800138000"
MB = 1024 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
}
INDEX = "<!doctype html><title>路支队工作台</title><div id=app></div>"
ASSET = "export const greeting = 'hello';\n" * 100  # over gzip_min_length


class Upstream:
    """An HTTP server answering every request with JSON describing it; keeps what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[dict[str, Any]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                seen = {"path": self.path, "headers": dict(self.headers.items()), "body_bytes": len(body)}
                upstream.received.append(seen)
                if self.path.startswith("/v1/moved"):
                    # What FastAPI's trailing-slash redirect sends: an absolute URL from Host.
                    self.send_response(307)
                    self.send_header("Location", f"http://{self.headers['Host']}/v1/moved/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps({"service": upstream.name, **seen}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def last(self) -> dict[str, Any]:
        assert self.received, f"{self.name} received nothing"
        return self.received[-1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, Upstream]]:
    servers = {name: Upstream(name) for name in SERVICES if name != DOWN}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("console-dist")
    (folder / "assets").mkdir()
    (folder / "index.html").write_text(INDEX, encoding="utf-8")
    (folder / "assets" / "x.js").write_text(ASSET, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def gateway(
    upstreams: dict[str, Upstream], dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    urls = {name: server.url for name, server in upstreams.items()}
    urls[DOWN] = f"http://127.0.0.1:{free_port()}"
    with Gateway(urls, dist, tmp_path_factory.mktemp("gateway-run")) as running:
        yield running


@pytest.fixture
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


# ------------------------------------------------------------------ the APIs


def test_api_request_reaches_its_service_without_the_prefix_query_intact(
    http: httpx.Client, upstreams: dict[str, Upstream]
) -> None:
    response = http.get("/api/roster/v1/drivers?page=2&q=%E5%BC%A0", headers={"X-Forwarded-For": "6.6.6.6"})
    assert response.status_code == 200
    assert response.json()["service"] == "roster"
    seen = upstreams["roster"].last()
    assert seen["path"] == "/v1/drivers?page=2&q=%E5%BC%A0"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1", "the address nginx saw, not the client's claim"
    assert seen["headers"]["X-Real-IP"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["Host"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Host"] == response.request.headers["Host"]


@pytest.mark.parametrize("service", [s for s in SERVICES if s != DOWN])
def test_every_service_has_its_prefix(http: httpx.Client, service: str) -> None:
    response = http.get(f"/api/{service}/health/ready")
    assert response.status_code == 200
    assert response.json()["service"] == service
    assert response.json()["path"] == "/health/ready"


def test_the_template_routes_exactly_the_six_services() -> None:
    assert template_services(TEMPLATE.read_text(encoding="utf-8")) == set(SERVICES)


def test_unknown_service_is_a_json_404(http: httpx.Client) -> None:
    for path in ("/api/nope/v1/x", "/api/", "/api/rosterx/v1/x"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"error": {"code": "not_found", "message": "没有这个服务"}}


def test_a_service_that_is_down_is_a_json_502(http: httpx.Client) -> None:
    response = http.get(f"/api/{DOWN}/v1/briefings")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unavailable"


def test_service_redirects_stay_under_its_prefix(http: httpx.Client) -> None:
    response = http.get("/api/welfare/v1/moved")
    assert response.status_code == 307
    assert response.headers["location"] == "/api/welfare/v1/moved/"


def test_a_15_mb_upload_passes_and_over_20_mb_is_refused(
    http: httpx.Client, upstreams: dict[str, Upstream]
) -> None:
    body = b"x" * (15 * MB)
    response = http.post("/api/roster/v1/imports", content=body)
    assert response.status_code == 200
    assert upstreams["roster"].last()["body_bytes"] == len(body)

    response = http.post("/api/roster/v1/imports", content=b"x" * (21 * MB))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_api_json_is_gzipped(http: httpx.Client) -> None:
    response = http.get("/api/roster/v1/" + "a" * 1100, headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert response.json()["service"] == "roster"


# ------------------------------------------------------------------ the console


@pytest.mark.parametrize("path", ["/", "/index.html", "/some/deep/route", "/drivers/42?tab=records"])
def test_console_routes_get_index_html_revalidated(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_good_and_gzipped(http: httpx.Client) -> None:
    response = http.get("/assets/x.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.text == ASSET
    assert "immutable" in response.headers["cache-control"]
    assert "max-age=31536000" in response.headers["cache-control"]
    assert response.headers.get("content-encoding") == "gzip"


def test_a_missing_asset_is_a_404_not_the_console(http: httpx.Client) -> None:
    response = http.get("/assets/gone.js")
    assert response.status_code == 404
    assert INDEX not in response.text


def test_driver_app_is_a_404_until_it_is_built(http: httpx.Client) -> None:
    assert http.get("/driver/").status_code == 404
    assert http.get("/driver/tasks/7").status_code == 404


def test_a_console_not_built_yet_is_a_404(upstreams: dict[str, Upstream], tmp_path: Path) -> None:
    urls = {name: server.url for name, server in upstreams.items()} | {DOWN: "http://127.0.0.1:9"}
    with Gateway(urls, tmp_path / "not-built", tmp_path / "run") as gateway:
        assert httpx.get(f"{gateway.url}/some/route").status_code == 404
        assert httpx.get(f"{gateway.url}/api/roster/v1/x").json()["service"] == "roster"


def test_driver_app_is_served_under_driver(upstreams: dict[str, Upstream], tmp_path: Path) -> None:
    console, driver = tmp_path / "console", tmp_path / "driver"
    (driver / "assets").mkdir(parents=True)
    console.mkdir()
    (console / "index.html").write_text("console", encoding="utf-8")
    (driver / "index.html").write_text("driver", encoding="utf-8")
    (driver / "assets" / "d.js").write_text("d", encoding="utf-8")
    urls = {name: server.url for name, server in upstreams.items()} | {DOWN: "http://127.0.0.1:9"}
    with Gateway(urls, console, tmp_path / "run", driver_dist=driver) as gateway:
        assert httpx.get(f"{gateway.url}/driver/").text == "driver"
        assert httpx.get(f"{gateway.url}/driver/tasks/7").text == "driver"
        assert httpx.get(f"{gateway.url}/driver").headers["location"] == "/driver/"
        asset = httpx.get(f"{gateway.url}/driver/assets/d.js")
        assert asset.text == "d"
        assert "immutable" in asset.headers["cache-control"]
        assert httpx.get(f"{gateway.url}/driver/assets/gone.js").status_code == 404
        assert httpx.get(f"{gateway.url}/elsewhere").text == "console"


@pytest.mark.parametrize("path", ["/", "/assets/x.js", "/api/roster/v1/x", "/api/nope/", "/assets/gone.js"])
def test_security_headers_on_every_response(http: httpx.Client, path: str) -> None:
    headers = http.get(path).headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{path}: {name}"
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "img-src 'self' data: blob:" in policy
    assert "script-src 'self';" in policy, "no inline or remote scripts"


# ------------------------------------------------------------------ the logs


def test_logs_have_the_path_but_not_the_query_string(http: httpx.Client, gateway: Gateway) -> None:
    for path in (
        f"/api/roster/v1/drivers/lookup?phone={PHONE}",
        f"/api/{DOWN}/v1/reports?phone={PHONE}",  # a service down: nginx logs an error
        f"/api/nope/x?phone={PHONE}",
        f"/drivers/search?phone={PHONE}",
        f"/assets/gone.js?phone={PHONE}",
    ):
        http.get(path)
    access = gateway.access_log.read_text(encoding="utf-8")
    assert "/api/roster/v1/drivers/lookup" in access
    assert "/drivers/search" in access
    assert PHONE not in access
    assert PHONE not in gateway.error_log.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in access.splitlines()]
    assert {"path": "/drivers/search", "status": 200} in [
        {"path": entry["path"], "status": entry["status"]} for entry in lines
    ]


# ------------------------------------------------------------------ the Gateway class


def test_stop_ends_nginx(upstreams: dict[str, Upstream], dist: Path, tmp_path: Path) -> None:
    urls = {name: server.url for name, server in upstreams.items()} | {DOWN: "http://127.0.0.1:9"}
    gateway = Gateway(urls, dist, tmp_path).start()
    assert httpx.get(f"{gateway.url}/").status_code == 200
    gateway.stop()
    assert not port_open(gateway.port)
    assert gateway.pid is None


def test_every_service_needs_an_upstream(tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match=r"missing \['briefing', 'notify'\], unknown \['payroll'\]"):
        Gateway(
            {"identity": "http://a:1", "roster": "http://a:1", "activities": "http://a:1",
             "welfare": "http://a:1", "payroll": "http://a:1"},
            tmp_path,
            tmp_path,
        )  # fmt: skip


def test_an_upstream_is_a_base_url(tmp_path: Path) -> None:
    urls = dict.fromkeys(SERVICES, "http://127.0.0.1:1") | {"roster": "http://127.0.0.1:1/v1"}
    with pytest.raises(DevstackError, match="upstream of roster must be a base URL"):
        Gateway(urls, tmp_path, tmp_path)


def test_an_invalid_config_is_refused_with_nginx_s_message(tmp_path: Path) -> None:
    template = tmp_path / "bad.conf.template"
    template.write_text(
        "server {\n    listen ${ROADBRANCH_GATEWAY_HOST}:${ROADBRANCH_GATEWAY_PORT};\n"
        "    location /api/roster/ { proxy_pass ${ROADBRANCH_ROSTER_UPSTREAM}/; }\n"
        "    proxy_buffer_everything on;\n}\n",
        encoding="utf-8",
    )
    gateway = Gateway({"roster": "http://127.0.0.1:1"}, tmp_path, tmp_path / "run", template=template)
    with pytest.raises(DevstackError, match='unknown directive "proxy_buffer_everything"'):
        gateway.start()
    assert gateway.pid is None


def test_a_missing_nginx_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROADBRANCH_NGINX", raising=False)
    monkeypatch.setattr("shutil.which", lambda *args, **kwargs: None)
    gateway = Gateway(dict.fromkeys(SERVICES, "http://127.0.0.1:1"), tmp_path, tmp_path / "run")
    with pytest.raises(DevstackError, match=r"apt-get install .*nginx"):
        gateway.start()


def test_a_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = Gateway(
            dict.fromkeys(SERVICES, "http://127.0.0.1:1"), tmp_path, tmp_path / "run", port=port
        )
        with pytest.raises(DevstackError, match="Address already in use"):
            gateway.start()
    assert gateway.pid is None
