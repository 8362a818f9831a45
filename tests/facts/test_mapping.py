"""Image history <-> Dockerfile instructions, for the classic builder and BuildKit."""

from __future__ import annotations

import pytest

from gatekeeper.facts.dockerfile import Instruction
from gatekeeper.facts.image import HistoryEntry
from gatekeeper.facts.mapping import (
    history_keyword,
    layer_instructions,
    match_history,
    nop_step,
    short_command,
    split_build_args,
)
from gatekeeper.parsers.dockerfile import parse

ROOTFS = "37a76ec18f9887751cd8473744917d08b7431fc4085097bb6a09d81b41775473"
ENTRYPOINT = "4d192565a7220e135cab6c77fbc1c73211b69f3d9fb37e62857b2c6eb9363d51"
HEALTHCHECK_CLASSIC = (
    '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f localhost"] "30s" "3s" "0s" "0s" 3}'
)
HEALTHCHECK_BUILDKIT = (
    'HEALTHCHECK &{["CMD" "curl" "-f" "http://localhost:3000/health"] "30s" "3s" "5s" "0s" 3}'
)


def history(*steps: tuple[str, bool]) -> list[HistoryEntry]:
    """(created_by, makes_a_layer) steps; layer indexes are counted like `rootfs.diff_ids`."""
    entries: list[HistoryEntry] = []
    layer = 0
    for created_by, makes_layer in steps:
        entries.append(HistoryEntry(created_by, not makes_layer, layer_index=layer if makes_layer else None))
        layer += makes_layer
    return entries


def lines(matched: dict[int, Instruction]) -> dict[int, tuple[str, int]]:
    """History index -> (keyword, Dockerfile line)."""
    return {h: (i.keyword, i.line) for h, i in sorted(matched.items())}


@pytest.mark.parametrize(
    ("created_by", "keyword"),
    [
        # classic builder
        ('/bin/sh -c #(nop)  CMD ["x"]', "CMD"),
        ("/bin/sh -c #(nop) COPY file:abc123 in /app ", "COPY"),
        (
            f"/bin/sh -c #(nop) ADD file:{ROOTFS} in / ",
            "ADD",
        ),
        ("/bin/sh -c #(nop) WORKDIR /app", "WORKDIR"),
        ("/bin/sh -c #(nop)  ENV NODE_VERSION=18.20.3", "ENV"),
        ("/bin/sh -c #(nop)  EXPOSE 3000", "EXPOSE"),
        (HEALTHCHECK_CLASSIC, "HEALTHCHECK"),
        ("/bin/sh -c #(nop)  USER app", "USER"),
        ("/bin/sh -c #(nop)  ARG NODE_ENV=production", "ARG"),
        ("/bin/sh -c #(nop)  LABEL maintainer=me", "LABEL"),
        ("/bin/sh -c apt-get update", "RUN"),
        ("/bin/sh -c make", "RUN"),
        ("|2 A=1 B=2 /bin/sh -c make", "RUN"),
        ("|1 NODE_ENV=production /bin/sh -c if [ x ]; then npm ci; fi", "RUN"),
        ("|0 /bin/sh -c make", "RUN"),
        # classic builder after SHELL [...]: the shell prefixes every step
        ('/bin/bash -o pipefail -c #(nop)  CMD ["node"]', "CMD"),
        ("powershell -Command #(nop)  WORKDIR C:\\app", "WORKDIR"),
        ('cmd /S /C #(nop)  ENTRYPOINT ["app.exe"]', "ENTRYPOINT"),
        ("cmd /S /C dir", "RUN"),
        # a RUN whose command holds the marker is still a RUN: it counts only after the shell
        ("/bin/sh -c echo '#(nop) ENV x' > /notes", "RUN"),
        ("/bin/sh -c grep -rl #(nop) /var/lib/docker", "RUN"),
        ("|1 A=b /bin/sh -c echo #(nop) USER root", "RUN"),
        # BuildKit
        ("RUN /bin/sh -c make # buildkit", "RUN"),
        ("RUN |1 A=b /bin/sh -c make # buildkit", "RUN"),
        ("COPY . /app # buildkit", "COPY"),
        ("COPY /app/dist ./dist # buildkit", "COPY"),
        ("ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit", "ADD"),
        ("ENV A=b", "ENV"),
        ("WORKDIR /app", "WORKDIR"),
        (HEALTHCHECK_BUILDKIT, "HEALTHCHECK"),
        ("EXPOSE map[3000/tcp:{}]", "EXPOSE"),
        ("USER app", "USER"),
        ("ARG X=1", "ARG"),
        ('CMD ["bash"]', "CMD"),
        ('ENTRYPOINT ["docker-entrypoint.sh"]', "ENTRYPOINT"),
        ("LABEL org.opencontainers.image.source=https://x", "LABEL"),
        ("STOPSIGNAL SIGQUIT", "STOPSIGNAL"),
        ('SHELL ["/bin/bash" "-c"]', "SHELL"),
        ("VOLUME [/data]", "VOLUME"),
        ("ONBUILD RUN make", "ONBUILD"),
        ("MAINTAINER me", "MAINTAINER"),
        # unknown: no builder marker
        ("", ""),
        ("   ", ""),
        ("npm ci", ""),  # the classic builder's exec-form RUN
        ("env", ""),  # not upper case: a command, not BuildKit's ENV
        ("FROM alpine", ""),
        ("created by some tool", ""),
    ],
)
def test_history_keyword(created_by: str, keyword: str) -> None:
    assert history_keyword(created_by) == keyword


MULTI_STAGE = """\
# Build stage
FROM node:18-alpine AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci --only=production
COPY . .
RUN npm run build
# Production stage
FROM node:18-alpine
WORKDIR /app
COPY --from=builder /app/dist ./dist
COPY --from=builder /app/node_modules ./node_modules
COPY package*.json ./
EXPOSE 3000
CMD ["node", "dist/index.js"]
"""

# node:18-alpine as the official image ships it, then the final stage's steps.
NODE_BASE_CLASSIC = (
    (
        f"/bin/sh -c #(nop) ADD file:{ROOTFS} in / ",
        True,
    ),
    ('/bin/sh -c #(nop)  CMD ["/bin/sh"]', False),
    ("/bin/sh -c #(nop)  ENV NODE_VERSION=18.20.3", False),
    ("/bin/sh -c addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node", True),
    (
        f"/bin/sh -c #(nop) COPY file:{ENTRYPOINT} in /usr/local/bin/ ",
        True,
    ),
    ('/bin/sh -c #(nop)  ENTRYPOINT ["docker-entrypoint.sh"]', False),
    ('/bin/sh -c #(nop)  CMD ["node"]', False),
)
APP_CLASSIC = (
    ("/bin/sh -c #(nop) WORKDIR /app", False),
    ("/bin/sh -c #(nop) COPY dir:0a1b2c in ./dist ", True),
    ("/bin/sh -c #(nop) COPY dir:3d4e5f in ./node_modules ", True),
    ("/bin/sh -c #(nop) COPY multi:6a7b8c in ./ ", True),
    ("/bin/sh -c #(nop)  EXPOSE 3000", False),
    ('/bin/sh -c #(nop)  CMD ["node" "dist/index.js"]', False),
)
NODE_BASE_BUILDKIT = (
    ("ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit", True),
    ('CMD ["/bin/sh"]', False),
    ("ENV NODE_VERSION=18.20.3", False),
    ("RUN /bin/sh -c addgroup -g 1000 node && adduser -u 1000 -G node -s /bin/sh -D node # buildkit", True),
    ("COPY docker-entrypoint.sh /usr/local/bin/ # buildkit", True),
    ('ENTRYPOINT ["docker-entrypoint.sh"]', False),
    ('CMD ["node"]', False),
)
APP_BUILDKIT = (
    ("WORKDIR /app", True),
    ("COPY /app/dist ./dist # buildkit", True),
    ("COPY /app/node_modules ./node_modules # buildkit", True),
    ("COPY package*.json ./ # buildkit", True),
    ("EXPOSE map[3000/tcp:{}]", False),
    ('CMD ["node" "dist/index.js"]', False),
)


@pytest.mark.parametrize(
    ("steps", "layers"),
    [
        pytest.param(
            NODE_BASE_CLASSIC + APP_CLASSIC, {3: ("COPY", 11), 4: ("COPY", 12), 5: ("COPY", 13)}, id="classic"
        ),
        pytest.param(
            NODE_BASE_BUILDKIT + APP_BUILDKIT,
            {3: ("WORKDIR", 10), 4: ("COPY", 11), 5: ("COPY", 12), 6: ("COPY", 13)},
            id="buildkit",
        ),
    ],
)
def test_final_stage_maps_to_the_tail_of_the_history(
    steps: tuple[tuple[str, bool], ...], layers: dict[int, tuple[str, int]]
) -> None:
    entries = history(*steps)
    matched = match_history(parse(MULTI_STAGE), entries)
    # The base image's seven entries (even its trailing CMD) are not the Dockerfile's.
    assert lines(matched) == {
        7: ("WORKDIR", 10),
        8: ("COPY", 11),
        9: ("COPY", 12),
        10: ("COPY", 13),
        11: ("EXPOSE", 14),
        12: ("CMD", 15),
    }
    mapped = layer_instructions(entries, matched)
    assert {layer: (i.keyword, i.line) for layer, i in sorted(mapped.items())} == layers


CHAINED = """\
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
FROM base AS deps
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
FROM golang:1.22 AS tools
RUN go install example.com/tool@latest
FROM deps AS final
COPY . .
USER app
CMD ["python", "main.py"]
"""

PYTHON_BASE = (
    ("ADD rootfs.tar.xz / # buildkit", True),
    ('CMD ["bash"]', False),
    ("ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", False),
    (
        "RUN /bin/sh -c set -eux; apt-get update; apt-get install -y ca-certificates # buildkit",
        True,
    ),
    ("ENV PYTHON_VERSION=3.11.9", False),
    ('CMD ["python3"]', False),
)


def test_from_stage_chain_includes_the_earlier_stages() -> None:
    steps = (
        *PYTHON_BASE,
        ("ENV PYTHONDONTWRITEBYTECODE=1", False),
        ("WORKDIR /app", True),
        ("COPY requirements.txt . # buildkit", True),
        ("RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit", True),
        ("COPY . . # buildkit", True),
        ("USER app", False),
        ('CMD ["python" "main.py"]', False),
    )
    entries = history(*steps)
    matched = match_history(parse(CHAINED), entries)
    assert lines(matched) == {
        6: ("ENV", 2),
        7: ("WORKDIR", 3),
        8: ("COPY", 5),
        9: ("RUN", 6),
        10: ("COPY", 10),
        11: ("USER", 11),
        12: ("CMD", 12),
    }
    assert {layer: i.line for layer, i in layer_instructions(entries, matched).items()} == {
        2: 3,
        3: 5,
        4: 6,
        5: 10,
    }


def test_classic_builder_exec_form_run_and_custom_shell() -> None:
    dockerfile = parse(
        "FROM debian:12\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN apt-get update | tee /log\n"
        'RUN ["npm", "ci"]\n'
        "ARG VERSION=1\n"
        "RUN make VERSION=$VERSION\n"
        'CMD ["app"]\n'
    )
    entries = history(
        ("/bin/sh -c #(nop) ADD file:abc in / ", True),
        ('/bin/sh -c #(nop)  CMD ["bash"]', False),
        ("/bin/sh -c #(nop)  SHELL [/bin/bash -o pipefail -c]", False),
        ("/bin/bash -o pipefail -c apt-get update | tee /log", True),
        ("npm ci", True),
        ("/bin/bash -o pipefail -c #(nop)  ARG VERSION=1", False),
        ("|1 VERSION=1 /bin/bash -o pipefail -c make VERSION=$VERSION", True),
        ('/bin/bash -o pipefail -c #(nop)  CMD ["app"]', False),
    )
    assert lines(match_history(dockerfile, entries)) == {
        2: ("SHELL", 2),
        3: ("RUN", 3),
        4: ("RUN", 4),
        5: ("ARG", 5),
        6: ("RUN", 6),
        7: ("CMD", 7),
    }


def test_arg_without_history_entry_is_skipped() -> None:
    dockerfile = parse("FROM alpine\nARG UNUSED\nRUN make\nARG LATE=1\nUSER app\n")
    entries = history(
        ("ADD alpine-minirootfs.tar.gz / # buildkit", True),
        ('CMD ["/bin/sh"]', False),
        ("RUN /bin/sh -c make # buildkit", True),
        ("USER app", False),
    )
    assert lines(match_history(dockerfile, entries)) == {2: ("RUN", 3), 3: ("USER", 5)}


@pytest.mark.parametrize(
    ("dockerfile", "steps", "expected"),
    [
        pytest.param(
            "FROM alpine\nUSER app\n",
            (("ADD x / # buildkit", True), ('CMD ["/bin/sh"]', False)),
            {},
            id="different-image",
        ),
        pytest.param("FROM alpine\nUSER app\n", (), {}, id="no-history"),
        pytest.param(
            "FROM alpine\nRUN a\nUSER app\n",
            (("some tool wrote this", True), ("USER app", False)),
            {0: ("RUN", 2), 1: ("USER", 3)},
            id="unknown-entry-matches-a-run",
        ),
        pytest.param(
            "FROM alpine\nCOPY a /a\nUSER app\n",
            (("some tool wrote this", True), ("USER app", False)),
            {1: ("USER", 3)},
            id="unknown-entry-stops",
        ),
        pytest.param(
            'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n',
            (("COPY app /app # buildkit", True), ('ENTRYPOINT ["/app"]', False)),
            {0: ("COPY", 2), 1: ("ENTRYPOINT", 3)},
            id="from-scratch",
        ),
        pytest.param(
            'FROM alpine\nCMD ["x"]\n',
            (("ADD x / # buildkit", True), ('CMD ["/bin/sh"]', False), ('CMD ["x"]', False)),
            {2: ("CMD", 2)},
            id="only-own-cmd",
        ),
    ],
)
def test_match_history_edges(
    dockerfile: str, steps: tuple[tuple[str, bool], ...], expected: dict[int, tuple[str, int]]
) -> None:
    assert lines(match_history(parse(dockerfile), history(*steps))) == expected


def test_layer_instructions_skips_unmatched_and_empty_entries() -> None:
    entries = history(
        ("ADD x / # buildkit", True), ("ENV A=1", False), ("RUN /bin/sh -c make # buildkit", True)
    )
    dockerfile = parse("FROM alpine\nENV A=1\nRUN make\n")
    matched = match_history(dockerfile, entries)
    assert lines(matched) == {1: ("ENV", 2), 2: ("RUN", 3)}
    assert {layer: i.line for layer, i in layer_instructions(entries, matched).items()} == {1: 3}
    assert layer_instructions(entries, {}) == {}


@pytest.mark.parametrize(
    ("created_by", "short"),
    [
        ('/bin/sh -c #(nop)  CMD ["x"]', 'CMD ["x"]'),
        ("/bin/sh -c #(nop) COPY file:abc in /app ", "COPY file:abc in /app"),
        ("/bin/sh -c apt-get update", "RUN apt-get update"),
        ("|2 A=1 B=2 /bin/sh -c make", "RUN make"),
        ("RUN /bin/sh -c make # buildkit", "RUN make"),
        ("RUN |2 A=1 B=2 /bin/sh -c make # buildkit", "RUN make"),
        ("COPY . /app # buildkit", "COPY . /app"),
        ("/bin/bash -o pipefail -c #(nop)  USER app", "USER app"),
        ("/bin/sh -c echo '#(nop) ENV x' > /notes", "RUN echo '#(nop) ENV x' > /notes"),
        ('CMD ["bash"]', 'CMD ["bash"]'),
        ("npm ci", "npm ci"),
        ("  RUN   /bin/sh -c   make   # buildkit", "RUN make"),
        ("", ""),
    ],
)
def test_short_command(created_by: str, short: str) -> None:
    assert short_command(created_by) == short


def test_build_arg_count_that_is_not_ascii_digits() -> None:
    """`|²` is no build-argument count: no crash (int("²") raises), the text is kept as it is."""
    assert short_command("|² A=1 /bin/sh -c make") == "|² A=1 /bin/sh -c make"
    assert short_command("|1 A=1 /bin/sh -c make") == "RUN make"


@pytest.mark.parametrize("count", ["9" * 5000, "٣"])
def test_build_arg_count_of_thousands_of_digits(count: str) -> None:
    # int() refuses more than 4,300 digits: a traceback (exit 4) from the report's layer list
    created_by = f"|{count} A=1 /bin/sh -c make"
    assert short_command(created_by) == created_by
    assert history_keyword(created_by) == ""
    assert split_build_args(created_by) == ((), created_by)
    assert split_build_args("|2 A=1 B=x y z") == ((("A", "1"), ("B", "x")), "y z")


@pytest.mark.parametrize(
    ("created_by", "step"),
    [
        ("/bin/sh -c #(nop)  ENV A=b C=d", ("ENV", "A=b C=d")),
        ("/bin/bash -o pipefail -c #(nop)  user app", ("USER", "app")),
        ("/bin/sh -c #(nop)  HEALTHCHECK", ("HEALTHCHECK", "")),
        ("cmd /S /C #(nop)  WORKDIR C:\\app", ("WORKDIR", "C:\\app")),
        ("/bin/sh -c #(nop)  123 x", None),  # no keyword
        ("/bin/sh -c echo '#(nop) ENV x'", None),  # the marker inside a RUN's command
        ("/bin/sh -c make", None),
        ("ENV A=b", None),  # BuildKit: no marker
    ],
)
def test_nop_step(created_by: str, step: tuple[str, str] | None) -> None:
    assert nop_step(created_by) == step
