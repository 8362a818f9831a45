# gatekeeper's own image, built the way its checklist asks: a build stage makes a virtual
# environment, and a slim final stage receives only that environment, runs as a numeric non-root
# user, has a health check and traceability labels, and logs to stdout/stderr.
#
#   docker build -t gatekeeper --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm -v "$PWD:/data:ro" gatekeeper check docker-archive:/data/app.tar
#
# Offline builds (`docker build --network none`): put the dependency wheels and the build backend
# into ./wheels first, for the base image's Python (run this with the same Python version); when
# that directory holds wheels, pip installs from it with --no-index:
#
#   python -m pip wheel --wheel-dir wheels . hatchling
#
# The base images are build arguments, so a mirror or a digest can be pinned without editing this
# file (`--build-arg BASE_IMAGE=python:3.12-slim-bookworm@sha256:...`). The builder must carry
# the same Python at the same path as the final base: the virtual environment is copied across.
ARG BUILDER_IMAGE=python:3.12-bookworm
ARG BASE_IMAGE=python:3.12-slim-bookworm

FROM ${BUILDER_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# The dependencies first: this layer is rebuilt only when pyproject.toml or the wheels change.
# (`wheel[s]` is a glob so that a context without a wheels directory still builds.)
COPY pyproject.toml wheel[s] ./
RUN set -eu; \
    if ls ./*.whl >/dev/null 2>&1; then set -- --no-index --find-links /build; else set --; fi; \
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > requirements.txt; \
    python3 -m venv --without-pip /opt/gatekeeper; \
    python3 -m pip --python /opt/gatekeeper/bin/python install "$@" --requirement requirements.txt
# Then gatekeeper itself, built from this source tree.
COPY README.md ./
COPY policies/ policies/
COPY gatekeeper/ gatekeeper/
RUN set -eu; \
    if ls ./*.whl >/dev/null 2>&1; then set -- --no-index --find-links /build; else set --; fi; \
    python3 -m pip --python /opt/gatekeeper/bin/python install "$@" --no-deps .; \
    # Debug symbols are most of the compiled extensions' size (zstandard: 23 MB of 24).
    if command -v strip >/dev/null; then \
        find /opt/gatekeeper -name '*.so' -exec strip --strip-unneeded {} +; \
    fi; \
    /opt/gatekeeper/bin/gatekeeper --version

FROM ${BASE_IMAGE}
RUN useradd --no-log-init --uid 10001 --user-group --create-home --home-dir /home/gatekeeper \
        --shell /usr/sbin/nologin gatekeeper
COPY --from=builder /opt/gatekeeper /opt/gatekeeper
# Reports and logs go to stdout/stderr; the bytecode was compiled at build time.
ENV PATH=/opt/gatekeeper/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /data
USER 10001:10001
# A CLI container lives as long as one check, so the health check is the cheapest proof that the
# interpreter and the installed package still start (it matters for long registry checks and for
# anyone who keeps the container around, e.g. `docker run -d ... sleep`).
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 CMD ["gatekeeper", "--version"]
# Last, so that a new commit changes only the metadata, not the cached layers above.
ARG REVISION=
ARG VERSION=
LABEL org.opencontainers.image.title="gatekeeper" \
      org.opencontainers.image.description="A production-readiness gate for container images in CI" \
      org.opencontainers.image.source="https://github.com/gatekeeper-dev/gatekeeper" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
ENTRYPOINT ["gatekeeper"]
CMD ["--help"]
