# Image of an app service, the one Dockerfile of all six: the build argument
# SERVICE names the service (its package roadbranch-<SERVICE>, its module
# <SERVICE>.main). Build from the repository root, the uv workspace:
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=roster -t roadbranch/roster:local .
# (compose.yaml does this for every service).

# uv pinned to the version the workspace's uv.lock is written with.
ARG UV_VERSION=0.13.9
ARG PYTHON_IMAGE=python:3.11-slim

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---- build stage: resolve the locked dependencies into /app/.venv ----
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /uvx /usr/local/bin/
# Use the image's Python, never a downloaded one; copy (not hard-link) out of the
# cache mount; install the workspace packages as wheels (no source tree needed
# at run time); precompile bytecode so a read-only venv starts fast.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY shared ./shared
COPY services ./services
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "roadbranch-${SERVICE}"

# ---- run stage: the venv only, as a non-root user ----
FROM ${PYTHON_IMAGE}
# Debian's packages a service needs at run time (the briefing: fonts-noto-cjk for its PDF).
ARG DEBIAN_PACKAGES=""
RUN if [ -n "${DEBIAN_PACKAGES}" ]; then \
      apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES} \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --system --gid 10001 roadbranch \
 && useradd --system --uid 10001 --gid roadbranch --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin roadbranch
# Owned by root and read-only for the service user.
COPY --from=build /app/.venv /app/.venv
ARG SERVICE
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# exec: uvicorn, not the shell, is the process Docker signals to stop.
CMD ["sh", "-c", "exec uvicorn --factory \"${SERVICE}.main:create_app\" --host 0.0.0.0 --port 8000"]
