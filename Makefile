# roadbranch: `make demo` runs the main job, `make test` runs every test. Both install what they need,
# idempotently, caching under the user's cache folder (uv, Python packages, Kafka jars, FerretDB build).

SHELL := /bin/bash
CACHE_HOME := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)
CACHE := $(CACHE_HOME)/roadbranch
BOOTSTRAP := $(CACHE)/bootstrap
UV_VERSION := 0.13.9
UV := $(BOOTSTRAP)/bin/uv
PYTHON ?= python3.11
# Never let uv download a Python: this project runs on the machine's Python 3.11.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11
RUN := $(UV) run --frozen

.PHONY: all deps debs web screenshots demo test test-fast lint bench bench-roster bench-notify bench-mongo fuzz contracts devstack-up devstack-down clean

all: test

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed"; exit 1; }
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled here, once, not at every import: each service process the tests and the demo
# start imports FastAPI, FastStream, Pydantic and PyMongo, and where PYTHONDONTWRITEBYTECODE is set
# (as on the CI machine) Python would otherwise compile them from source in every process, about
# 3 s of CPU each (see docs/testing.md#how-long-it-takes).
.venv/synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# Debian's packages, each installed once when its command is missing: promtool (prometheus) checks the
# Prometheus config and the dashboards' queries; nginx is the gateway of the console; chromium (with
# a CJK font for the screenshots) runs the browser tests.
DEBS := promtool:prometheus nginx:nginx chromium:chromium \
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk
debs:
	@missing=""; for pair in $(DEBS); do what=$${pair%%:*}; \
	  command -v $$what >/dev/null || [ -e $$what ] || missing="$$missing $${pair#*:}"; done; \
	[ -z "$$missing" ] || { \
	  echo "installing Debian's packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }

# The web front ends (web/): npm packages from the lockfile (npm's cache under ours), then the build.
NPM := npm --cache $(CACHE)/npm --no-audit --no-fund --prefer-offline
WEB_SOURCES := $(shell find web/api/generate.mjs web/api/openapi web/api/src web/console/src web/console/index.html web/console/vite.config.ts web/driver/src web/driver/index.html web/driver/vite.config.ts -type f -not -path '*/generated/*' 2>/dev/null)
web/node_modules/.package-lock.json: web/package-lock.json web/package.json $(wildcard web/*/package.json)
	cd web && $(NPM) ci
	@touch $@

# One build makes both apps (the console, and the driver's app with its service worker).
web/console/dist/index.html web/driver/dist/sw.js &: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

web: web/console/dist/index.html web/driver/dist/sw.js

deps: .venv/synced debs web
	$(RUN) python -m roadbranch_shared.devstack prepare
	@$(RUN) python -m compileall -q -j 0 shared/src services/*/src  # the workspace's own code (cheap when current)

lint: .venv/synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

test: deps lint
	cd web && npm run typecheck && npm test
	$(RUN) pytest

# Unit tests only (no servers): fast feedback while editing.
test-fast: .venv/synced
	$(RUN) pytest -m "not integration" shared/tests services

demo: deps
	$(RUN) python demo/run.py $(if $(ONCE),--once)

# The console's and the driver app's end-to-end tests, keeping their screenshots in docs/screenshots/ (committed).
screenshots: deps
	ROADBRANCH_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(RUN) pytest tests/seed -q

bench: deps
	$(RUN) python bench/run.py

bench-roster: deps
	$(RUN) python bench/roster_bench.py $(ARGS)

bench-notify: deps
	$(RUN) python bench/notify_bench.py $(ARGS)

# FerretDB and mongo-java-server side by side, and lost updates with 4 writer processes.
bench-mongo: deps
	$(RUN) python bench/mongo_servers_bench.py $(ARGS)

# Schemathesis against every service's OpenAPI (its own stack); ARGS="--examples 20 --only roster".
fuzz: deps
	$(RUN) python tests/fuzz/openapi_fuzz.py $(ARGS)

contracts: .venv/synced
	$(RUN) python -m roadbranch_shared.contract_snapshots write
	$(RUN) python -m roadbranch_shared.asyncapi_docs write
	$(RUN) python -m roadbranch_shared.openapi_docs write

devstack-up: deps
	$(RUN) python -m roadbranch_shared.devstack up

devstack-down: .venv/synced
	$(RUN) python -m roadbranch_shared.devstack down

clean:
	rm -rf .venv runs .pytest_cache .mypy_cache .ruff_cache
