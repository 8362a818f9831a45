"""Dockerfile parser: text in, facts out. Line numbers are exact; BuildKit's parser is the reference."""

from __future__ import annotations

import pytest

from gatekeeper.errors import InputError
from gatekeeper.facts.dockerfile import Dockerfile, Instruction, Stage
from gatekeeper.parsers.dockerfile import KEYWORDS, parse, substitute


def rows(dockerfile: Dockerfile) -> list[tuple[str, str, int, int, int]]:
    """(keyword, args, line, end_line, stage) of every instruction, global ARGs first."""
    return [(i.keyword, i.args, i.line, i.end_line, i.stage) for i in dockerfile.instructions]


def stage_rows(dockerfile: Dockerfile) -> list[tuple[int, str, str, int, int | None, str]]:
    """(index, base, name, line, base_stage, platform) of every stage."""
    return [(s.index, s.base, s.name, s.line, s.base_stage, s.platform) for s in dockerfile.stages]


def only(dockerfile: Dockerfile, keyword: str) -> Instruction:
    [found] = [i for i in dockerfile.instructions if i.keyword == keyword]
    return found


# --- the article's examples ---------------------------------------------------------------------

SINGLE_STAGE = """\
FROM node:18
WORKDIR /app
COPY . .
RUN npm install
RUN npm run build
CMD ["npm", "start"]
"""


def test_single_stage_node() -> None:
    df = parse(SINGLE_STAGE)
    assert df.path == "Dockerfile"
    assert df.escape == "\\"
    assert df.text == SINGLE_STAGE
    assert df.global_args == ()
    assert stage_rows(df) == [(0, "node:18", "", 1, None, "")]
    assert rows(df) == [
        ("FROM", "node:18", 1, 1, 0),
        ("WORKDIR", "/app", 2, 2, 0),
        ("COPY", ". .", 3, 3, 0),
        ("RUN", "npm install", 4, 4, 0),
        ("RUN", "npm run build", 5, 5, 0),
        ("CMD", '["npm", "start"]', 6, 6, 0),
    ]
    cmd = only(df, "CMD")
    assert cmd.json_args == ("npm", "start")
    assert cmd.words == ("npm", "start")
    assert cmd.original == 'CMD ["npm", "start"]'
    assert only(df, "WORKDIR").json_args is None
    final = df.final
    assert final is not None
    assert final.label() == "0"
    assert [i.line for i in final.find("RUN")] == [4, 5]
    last_run = final.find("RUN")[-1]
    assert last_run is not None
    assert last_run.args == "npm run build"
    assert final.find("USER") == ()
    assert df.runtime_chain() == (final,)


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


def test_multi_stage_node() -> None:
    df = parse(MULTI_STAGE)
    assert stage_rows(df) == [
        (0, "node:18-alpine", "builder", 2, None, ""),
        (1, "node:18-alpine", "", 9, None, ""),
    ]
    assert rows(df) == [
        ("FROM", "node:18-alpine AS builder", 2, 2, 0),
        ("WORKDIR", "/app", 3, 3, 0),
        ("COPY", "package*.json ./", 4, 4, 0),
        ("RUN", "npm ci --only=production", 5, 5, 0),
        ("COPY", ". .", 6, 6, 0),
        ("RUN", "npm run build", 7, 7, 0),
        ("FROM", "node:18-alpine", 9, 9, 1),
        ("WORKDIR", "/app", 10, 10, 1),
        ("COPY", "/app/dist ./dist", 11, 11, 1),
        ("COPY", "/app/node_modules ./node_modules", 12, 12, 1),
        ("COPY", "package*.json ./", 13, 13, 1),
        ("EXPOSE", "3000", 14, 14, 1),
        ("CMD", '["node", "dist/index.js"]', 15, 15, 1),
    ]
    final = df.final
    assert final is not None
    copies = final.find("COPY")
    assert [c.flag("from") for c in copies] == ["builder", "builder", None]
    assert copies[0].flags == (("from", "builder"),)
    assert copies[0].original == "COPY --from=builder /app/dist ./dist"
    # The final stage only copies from the builder: the builder is not part of the runtime chain.
    assert df.runtime_chain() == (final,)
    assert df.stage_named("builder") is df.stages[0]
    assert df.stage_named("Builder") is df.stages[0]
    assert df.stage_named("1") is final
    assert df.stages[0].label() == "builder"


PYTHON = """\
FROM python:3.11-slim
# Install system dependencies (rarely changes)
RUN apt-get update && apt-get install -y \\
gcc \\
&& rm -rf /var/lib/apt/lists/*
# Install Python dependencies (changes occasionally)
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# Copy application code (changes frequently)
COPY . /app
WORKDIR /app
CMD ["python", "main.py"]
"""


def test_python_with_continuation() -> None:
    df = parse(PYTHON)
    assert rows(df) == [
        ("FROM", "python:3.11-slim", 1, 1, 0),
        ("RUN", "apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*", 3, 5, 0),
        ("COPY", "requirements.txt .", 7, 7, 0),
        ("RUN", "pip install --no-cache-dir -r requirements.txt", 8, 8, 0),
        ("COPY", ". /app", 10, 10, 0),
        ("WORKDIR", "/app", 11, 11, 0),
        ("CMD", '["python", "main.py"]', 12, 12, 0),
    ]
    run = df.instructions[1]
    assert run.flags == ()
    assert run.words[:4] == ("apt-get", "update", "&&", "apt-get")


HEALTHCHECK = """\
FROM node:18-alpine
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \\
  CMD curl -f http://localhost:3000/health || exit 1
"""


def test_healthcheck_flags_and_command() -> None:
    hc = only(parse(HEALTHCHECK), "HEALTHCHECK")
    assert (hc.line, hc.end_line) == (2, 3)
    assert hc.flags == (("interval", "30s"), ("timeout", "3s"), ("start-period", "5s"), ("retries", "3"))
    assert hc.flag("retries") == "3"
    assert hc.args == "CMD curl -f http://localhost:3000/health || exit 1"
    assert hc.json_args is None
    assert hc.words[0] == "CMD"


@pytest.mark.parametrize(
    ("text", "args", "json_args"),
    [
        ("HEALTHCHECK NONE", "NONE", None),
        (
            'HEALTHCHECK CMD ["curl", "-f", "http://localhost/"]',
            'CMD ["curl", "-f", "http://localhost/"]',
            None,
        ),
        ("HEALTHCHECK --interval=5m CMD wget -qO- localhost", "CMD wget -qO- localhost", None),
    ],
)
def test_healthcheck_forms(text: str, args: str, json_args: tuple[str, ...] | None) -> None:
    hc = only(parse(f"FROM alpine\n{text}\n"), "HEALTHCHECK")
    assert (hc.args, hc.json_args, hc.line) == (args, json_args, 2)


ENVIRONMENT = """\
FROM node:18-alpine
ARG NODE_ENV=production
ENV NODE_ENV=${NODE_ENV}
RUN if [ "$NODE_ENV" = "development" ]; then \\
npm install; \\
else \\
npm ci --only=production; \\
fi
"""


def test_arg_env_and_if_else_continuation() -> None:
    df = parse(ENVIRONMENT)
    assert df.global_args == ()  # an ARG inside a stage is not a global ARG
    assert rows(df) == [
        ("FROM", "node:18-alpine", 1, 1, 0),
        ("ARG", "NODE_ENV=production", 2, 2, 0),
        ("ENV", "NODE_ENV=${NODE_ENV}", 3, 3, 0),  # only FROM is substituted
        (
            "RUN",
            'if [ "$NODE_ENV" = "development" ]; then npm install; else npm ci --only=production; fi',
            4,
            8,
            0,
        ),
    ]


NON_ROOT = """\
FROM node:18-alpine
RUN addgroup --system --gid 1001 nodejs
RUN adduser --system --uid 1001 nextjs
USER nextjs
"""


def test_non_root_user() -> None:
    df = parse(NON_ROOT)
    final = df.final
    assert final is not None
    user = final.find("USER")[-1]
    assert user is not None
    assert (user.args, user.line) == ("nextjs", 4)
    # `--system` is not a builder flag: RUN's flags stop at the first word that is not one.
    assert final.find("RUN")[0].flags == ()
    assert final.find("RUN")[0].args == "addgroup --system --gid 1001 nodejs"


# --- directives, comments, continuations ------------------------------------------------------

ESCAPE_BACKTICK = """\
# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
COPY testfile.txt c:\\
RUN dir c:\\ `
    && echo done
"""


def test_escape_directive_backtick() -> None:
    df = parse(ESCAPE_BACKTICK)
    assert df.escape == "`"
    assert rows(df) == [
        ("FROM", "mcr.microsoft.com/windows/servercore:ltsc2022", 2, 2, 0),
        ("COPY", "testfile.txt c:\\", 3, 3, 0),  # a backslash is no continuation here
        ("RUN", "dir c:\\ && echo done", 4, 5, 0),
    ]


@pytest.mark.parametrize(
    ("text", "escape", "run_args"),
    [
        pytest.param("# escape=\\\nFROM a\nRUN x \\\n  y\n", "\\", "x y", id="explicit-backslash"),
        pytest.param("#escape = `\nFROM a\nRUN x `\n  y\n", "`", "x y", id="spacing"),
        pytest.param(
            "# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN x `\n y\n", "`", "x y", id="after-syntax"
        ),
        # A directive after a comment or an instruction is only a comment.
        pytest.param("# build it\n# escape=`\nFROM a\nRUN x `\n", "\\", "x `", id="after-comment"),
        pytest.param("\n# escape=`\nFROM a\nRUN x `\n", "\\", "x `", id="after-blank-line"),
    ],
)
def test_escape_directive_placement(text: str, escape: str, run_args: str) -> None:
    df = parse(text)
    assert df.escape == escape
    assert only(df, "RUN").args == run_args


COMMENTS_IN_CONTINUATION = """\
FROM debian:12
RUN apt-get update && \\
    # curl for the health check
    apt-get install -y curl \\

    && rm -rf /var/lib/apt/lists/*
  # indented comment between instructions
CMD ["bash"]
"""


def test_comments_and_blank_lines_inside_a_continuation() -> None:
    assert rows(parse(COMMENTS_IN_CONTINUATION)) == [
        ("FROM", "debian:12", 1, 1, 0),
        ("RUN", "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*", 2, 6, 0),
        ("CMD", '["bash"]', 8, 8, 0),
    ]


@pytest.mark.parametrize(
    ("text", "keywords"),
    [
        pytest.param("FROM a\n\\\nCMD x\n", ["FROM", "CMD"], id="lone-escape"),
        pytest.param("FROM a\n\\\n\\\n\nCMD x\n", ["FROM", "CMD"], id="escapes-then-blank"),
        pytest.param("FROM a\n\\", ["FROM"], id="escape-at-end-of-file"),
    ],
)
def test_lines_of_only_continuations_are_no_instruction(text: str, keywords: list[str]) -> None:
    assert [keyword for keyword, *_ in rows(parse(text))] == keywords


def test_only_continuations_is_not_a_dockerfile() -> None:
    with pytest.raises(InputError, match="no FROM instruction"):
        parse("\\\n\\\n")


def test_crlf_line_endings() -> None:
    text = 'FROM alpine:3.20\r\nRUN apk add --no-cache curl \\\r\n    jq\r\n\r\nCMD ["sh"]\r\n'
    df = parse(text)
    assert rows(df) == [
        ("FROM", "alpine:3.20", 1, 1, 0),
        ("RUN", "apk add --no-cache curl jq", 2, 3, 0),
        ("CMD", '["sh"]', 5, 5, 0),
    ]
    assert only(df, "CMD").json_args == ("sh",)


def test_byte_order_mark_is_ignored() -> None:
    assert rows(parse("\ufeffFROM alpine\nUSER 1000\n")) == [
        ("FROM", "alpine", 1, 1, 0),
        ("USER", "1000", 2, 2, 0),
    ]


@pytest.mark.parametrize(
    ("text", "run"),
    [
        pytest.param("FROM a\nRUN echo hi \\", ("echo hi", 2, 2), id="no-newline"),
        pytest.param("FROM a\nRUN echo hi \\\n", ("echo hi", 2, 2), id="newline"),
        pytest.param("FROM a\nRUN echo hi \\\n# the end\n", ("echo hi", 2, 3), id="comment-after"),
        pytest.param("FROM a\nRUN echo hi \\\n\n\n", ("echo hi", 2, 4), id="blank-lines-after"),
        pytest.param("FROM a\nRUN echo \\\n  hi \\   \n", ("echo hi", 2, 3), id="trailing-spaces"),
    ],
)
def test_dangling_backslash_at_end_of_file(text: str, run: tuple[str, int, int]) -> None:
    instruction = only(parse(text), "RUN")
    assert (instruction.args, instruction.line, instruction.end_line) == run


def test_whitespace_between_keyword_and_arguments() -> None:
    df = parse("FROM\talpine\nRUN\t\techo  hi\nCOPY --chown=1:1\t--link  a b\n")
    assert rows(df) == [
        ("FROM", "alpine", 1, 1, 0),
        ("RUN", "echo  hi", 2, 2, 0),
        ("COPY", "a b", 3, 3, 0),
    ]
    assert only(df, "COPY").flags == (("chown", "1:1"), ("link", ""))


def test_lower_case_keywords() -> None:
    df = parse('from alpine:3.20 as base\nrun apk add curl\nuser app\ncmd ["sh"]\n')
    assert [(i.keyword, i.args) for i in df.instructions] == [
        ("FROM", "alpine:3.20 as base"),
        ("RUN", "apk add curl"),
        ("USER", "app"),
        ("CMD", '["sh"]'),
    ]
    assert stage_rows(df) == [(0, "alpine:3.20", "base", 1, None, "")]


# --- heredocs ---------------------------------------------------------------------------------

HEREDOCS = """\
FROM debian:12
RUN <<EOF
apt-get update
apt-get install -y curl
EOF
RUN <<-EOT bash
\tset -e
\t\techo hi
\tEOT
COPY <<"EOF" /app/config.txt
value=$HOME
EOF
RUN cat <<A > /a && cat <<'B' > /b
a
A
b
B
CMD ["bash"]
"""


def test_heredocs() -> None:
    df = parse(HEREDOCS)
    assert [(i.keyword, i.args, i.line, i.end_line, i.heredocs) for i in df.instructions] == [
        ("FROM", "debian:12", 1, 1, ()),
        ("RUN", "<<EOF", 2, 5, ("apt-get update\napt-get install -y curl",)),
        ("RUN", "<<-EOT bash", 6, 9, ("set -e\necho hi",)),  # <<- strips leading tabs
        ("COPY", '<<"EOF" /app/config.txt', 10, 12, ("value=$HOME",)),
        ("RUN", "cat <<A > /a && cat <<'B' > /b", 13, 17, ("a", "b")),
        ("CMD", '["bash"]', 18, 18, ()),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "FROM a\nRUN <<EOF\n  EOF\nEOF\nUSER x\n",
            [("RUN", "<<EOF", 2, 4, ("  EOF",)), ("USER", "x", 5, 5, ())],
            id="indented-word-is-content",
        ),
        pytest.param(
            "FROM a\nRUN <<EOF\n\tEOF\nEOF\n",
            [("RUN", "<<EOF", 2, 4, ("\tEOF",))],
            id="tabs-kept-without-dash",
        ),
        pytest.param(
            'FROM a\nRUN ["sh", "-c", "cat <<EOF"]\nUSER x\n',
            [("RUN", '["sh", "-c", "cat <<EOF"]', 2, 2, ()), ("USER", "x", 3, 3, ())],
            id="exec-form-has-none",
        ),
        pytest.param(
            "FROM a\nCMD cat <<EOF\nUSER x\n",
            [("CMD", "cat <<EOF", 2, 2, ()), ("USER", "x", 3, 3, ())],
            id="only-run-copy-add",
        ),
        pytest.param(
            "FROM a\nRUN echo $((1<<2)) >/n\nUSER x\n",
            [("RUN", "echo $((1<<2)) >/n", 2, 2, ()), ("USER", "x", 3, 3, ())],
            id="shift-is-no-heredoc",
        ),
        pytest.param(
            "FROM a\nRUN --mount=type=cache,target=/var/cache/apt <<EOF\napt-get update\nEOF\n",
            [("RUN", "<<EOF", 2, 4, ("apt-get update",))],
            id="after-flags",
        ),
        pytest.param(
            "FROM a\nONBUILD RUN <<EOF\nmake\nEOF\nUSER x\n",
            [("ONBUILD", "RUN <<EOF", 2, 4, ("make",)), ("USER", "x", 5, 5, ())],
            id="onbuild",
        ),
        pytest.param(
            "FROM a\r\nRUN <<EOF\r\necho hi\r\nEOF\r\nUSER x\r\n",
            [("RUN", "<<EOF", 2, 4, ("echo hi",)), ("USER", "x", 5, 5, ())],
            id="crlf",
        ),
    ],
)
def test_heredoc_edges(text: str, expected: list[tuple[str, str, int, int, tuple[str, ...]]]) -> None:
    got = [(i.keyword, i.args, i.line, i.end_line, i.heredocs) for i in parse(text).instructions[1:]]
    assert got == expected


# --- exec form and flags ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "json_args", "words"),
    [
        ('["npm", "start"]', ("npm", "start"), ("npm", "start")),
        ('[ "node" , "dist/index.js" ]', ("node", "dist/index.js"), ("node", "dist/index.js")),
        ("[]", (), ()),
        ('["echo", "a b"]', ("echo", "a b"), ("echo", "a b")),
        # Not a JSON array of strings: Docker falls back to the shell form.
        ("[npm, start]", None, ("[npm,", "start]")),
        ("['npm', 'start']", None, ("['npm',", "'start']")),
        ('["npm", 1]', None, ('["npm",', "1]")),
        ('{"a": 1}', None, ('{"a":', "1}")),
        ("npm start", None, ("npm", "start")),
    ],
)
def test_exec_form(args: str, json_args: tuple[str, ...] | None, words: tuple[str, ...]) -> None:
    cmd = only(parse(f"FROM a\nCMD {args}\n"), "CMD")
    assert (cmd.args, cmd.json_args, cmd.words) == (args, json_args, words)


@pytest.mark.parametrize(
    ("line", "flags", "args"),
    [
        ("COPY --from=builder /app/dist ./dist", (("from", "builder"),), "/app/dist ./dist"),
        ("COPY --chown=1000:1000 . /app", (("chown", "1000:1000"),), ". /app"),
        (
            "COPY --from=builder --chown=app:app --chmod=0755 /out /usr/local/bin/",
            (("from", "builder"), ("chown", "app:app"), ("chmod", "0755")),
            "/out /usr/local/bin/",
        ),
        ("COPY --link . .", (("link", ""),), ". ."),
        (
            "RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt",
            (("mount", "type=cache,target=/root/.cache"),),
            "pip install -r requirements.txt",
        ),
        (
            "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --network=none npm ci",
            (("mount", "type=secret,id=npmrc,target=/root/.npmrc"), ("network", "none")),
            "npm ci",
        ),
        (
            "ADD --checksum=sha256:abc https://x/y.tgz /y.tgz",
            (("checksum", "sha256:abc"),),
            "https://x/y.tgz /y.tgz",
        ),
        ("COPY --FROM=Builder a b", (("from", "Builder"),), "a b"),
        # Flags are read for FROM, COPY, ADD, RUN and HEALTHCHECK only.
        ("CMD --help", (), "--help"),
        ("ENTRYPOINT --verbose", (), "--verbose"),
    ],
)
def test_flags(line: str, flags: tuple[tuple[str, str], ...], args: str) -> None:
    instruction = parse(f"FROM a\n{line}\n").instructions[1]
    assert (instruction.flags, instruction.args) == (flags, args)


def test_flag_lookup() -> None:
    copy = only(parse("FROM a\nCOPY --from=0 --chown=1:2 x y\n"), "COPY")
    assert copy.flag("from") == "0"
    assert copy.flag("chown") == "1:2"
    assert copy.flag("chmod") is None


def test_from_platform_flag() -> None:
    df = parse(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        "RUN go build -o /out/app\n"
        "FROM --platform=linux/arm64 gcr.io/distroless/static\n"
        "COPY --from=build /out/app /app\n"
    )
    assert stage_rows(df) == [
        (0, "golang:1.22", "build", 1, None, "$BUILDPLATFORM"),
        (1, "gcr.io/distroless/static", "", 3, None, "linux/arm64"),
    ]
    assert df.stages[0].instructions[0].flags == (("platform", "$BUILDPLATFORM"),)


# --- stages, ARG substitution, stage references -----------------------------------------------


@pytest.mark.parametrize(
    ("line", "base", "name"),
    [
        ("FROM alpine AS build", "alpine", "build"),
        ("FROM alpine as build", "alpine", "build"),
        ("FROM alpine As Build", "alpine", "build"),
        ("FROM alpine aS BUILD", "alpine", "build"),
        ("FROM alpine", "alpine", ""),
        ("FROM alpine@sha256:0123 AS pinned", "alpine@sha256:0123", "pinned"),
        ("FROM scratch", "scratch", ""),
        (
            "FROM registry.example.com:5000/team/base:1.2 AS base",
            "registry.example.com:5000/team/base:1.2",
            "base",
        ),
    ],
)
def test_from_alias(line: str, base: str, name: str) -> None:
    [stage] = parse(line + "\n").stages
    assert (stage.base, stage.name) == (base, name)


GLOBAL_ARGS = """\
ARG NODE_VERSION=18
ARG VARIANT="alpine"
ARG REGISTRY
ARG A=1 B=2
FROM node:${NODE_VERSION}-$VARIANT AS base
ARG NODE_VERSION=20
FROM ${REGISTRY:-docker.io}/library/node:${NODE_VERSION}
FROM $REGISTRY/app:${B}
"""


def test_args_before_from_are_substituted_in_from() -> None:
    df = parse(GLOBAL_ARGS)
    assert [(i.keyword, i.args, i.line, i.stage) for i in df.global_args] == [
        ("ARG", "NODE_VERSION=18", 1, -1),
        ("ARG", 'VARIANT="alpine"', 2, -1),
        ("ARG", "REGISTRY", 3, -1),
        ("ARG", "A=1 B=2", 4, -1),
    ]
    # A stage's own ARG does not change later FROMs; an ARG without a default stays as written.
    assert [s.base for s in df.stages] == [
        "node:18-alpine",
        "docker.io/library/node:18",
        "$REGISTRY/app:2",
    ]
    assert df.instructions[:4] == df.global_args
    assert df.stages[0].instructions[1].stage == 0


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("$A", {"A": "1"}, "1"),
        ("$A-$B", {"A": "1", "B": "2"}, "1-2"),
        ("${A:-x}", {"A": "1"}, "1"),
        ("${A:-x}", {}, "x"),
        ("${A-x}", {}, "x"),
        ("${A:+alt}", {"A": "1"}, "alt"),
        ("${A+alt}", {"A": "1"}, "alt"),
        ("${A:+alt}", {}, "${A:+alt}"),
        ("${UNKNOWN}", {}, "${UNKNOWN}"),
        ("$UNKNOWN/x", {}, "$UNKNOWN/x"),
        ("node:${V}-alpine", {"V": "18"}, "node:18-alpine"),
        ("no variables", {"A": "1"}, "no variables"),
    ],
)
def test_substitute(text: str, values: dict[str, str], expected: str) -> None:
    assert substitute(text, values) == expected


STAGE_REFERENCES = """\
FROM golang:1.22 AS build
RUN go build -o /out/app
FROM build AS test
RUN go test ./...
FROM alpine:3.20
COPY --from=build /out/app /app
"""


def test_stage_reference_by_name() -> None:
    df = parse(STAGE_REFERENCES)
    assert stage_rows(df) == [
        (0, "golang:1.22", "build", 1, None, ""),
        (1, "build", "test", 3, 0, ""),
        (2, "alpine:3.20", "", 5, None, ""),
    ]
    final = df.final
    assert final is not None
    assert df.runtime_chain() == (final,)
    assert df.stage_named("test") is df.stages[1]
    assert df.stage_named("BUILD") is df.stages[0]
    assert df.stage_named("2") is final
    assert df.stage_named("0") is df.stages[0]  # COPY --from=0 works for named stages too
    assert df.stage_named("nope") is None
    assert df.stage_named("3") is None


CHAIN = """\
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1
FROM Base AS deps
COPY requirements.txt .
RUN pip install -r requirements.txt
FROM golang:1.22 AS tools
FROM deps AS final
COPY . .
USER app
"""


def test_runtime_chain_follows_from_stage() -> None:
    df = parse(CHAIN)
    assert [(s.name, s.base_stage) for s in df.stages] == [
        ("base", None),
        ("deps", 0),  # `FROM Base` refers to the stage case-insensitively
        ("tools", None),
        ("final", 1),
    ]
    chain = df.runtime_chain()
    assert [s.name for s in chain] == ["base", "deps", "final"]
    assert [i.keyword for s in chain for i in s.instructions] == [
        "FROM",
        "ENV",
        "FROM",
        "COPY",
        "RUN",
        "FROM",
        "COPY",
        "USER",
    ]


@pytest.mark.parametrize(
    ("text", "base_stages"),
    [
        pytest.param("FROM alpine\nFROM 0\n", [None, 0], id="unnamed-by-index"),
        # BuildKit resolves FROM only by stage name; an index reaches only an unnamed stage here.
        pytest.param("FROM alpine AS a\nFROM 0\n", [None, None], id="named-not-by-index"),
        pytest.param("FROM later\nFROM alpine AS later\n", [None, None], id="no-forward-reference"),
        pytest.param("FROM alpine AS a\nFROM a\nFROM 1\n", [None, 0, 1], id="chain"),
    ],
)
def test_stage_reference_by_index(text: str, base_stages: list[int | None]) -> None:
    assert [s.base_stage for s in parse(text).stages] == base_stages


def test_runtime_chain_without_stages() -> None:
    assert Dockerfile("Dockerfile", ()).runtime_chain() == ()
    assert Dockerfile("Dockerfile", ()).final is None


def test_runtime_chain_guards_against_cycles() -> None:
    looped = Stage(index=0, base="x", base_stage=0)
    assert Dockerfile("Dockerfile", (looped,)).runtime_chain() == (looped,)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "app/Dockerfile: no FROM instruction (is this a Dockerfile?)", id="empty"),
        pytest.param(
            "# only\n\n# comments\n",
            "app/Dockerfile: no FROM instruction (is this a Dockerfile?)",
            id="comments",
        ),
        pytest.param(
            "ARG A=1\n", "app/Dockerfile: no FROM instruction (is this a Dockerfile?)", id="only-arg"
        ),
        pytest.param(
            "RUN make\nFROM alpine\n", "app/Dockerfile:1: RUN before the first FROM", id="run-first"
        ),
        pytest.param(
            "ARG X=1\n# c\nLABEL a=b\nFROM alpine\n",
            "app/Dockerfile:3: LABEL before the first FROM",
            id="label-first",
        ),
        pytest.param(
            "hello world\n",
            "app/Dockerfile:1: unknown instruction 'hello' (is this a Dockerfile?)",
            id="prose",
        ),
        pytest.param(
            "services:\n  app:\n    image: x\n",
            "app/Dockerfile:1: unknown instruction 'services:' (is this a Dockerfile?)",
            id="yaml",
        ),
        pytest.param(
            '{"FROM": "alpine"}\n',
            "app/Dockerfile:1: unknown instruction '{\"FROM\":' (is this a Dockerfile?)",
            id="json",
        ),
        pytest.param(
            "FROM alpine\n\nFOO bar\n",
            "app/Dockerfile:3: unknown instruction 'FOO' (is this a Dockerfile?)",
            id="unknown-after-from",
        ),
        pytest.param(
            "FROM alpine\nRUN a \\\n  b\nCOPYY . .\n",
            "app/Dockerfile:4: unknown instruction 'COPYY' (is this a Dockerfile?)",
            id="typo-after-continuation",
        ),
        pytest.param(
            "# escape=x\nFROM alpine\n", "app/Dockerfile:1: invalid escape directive 'x'", id="escape"
        ),
        pytest.param(
            "FROM alpine\nRUN <<EOF\necho hi\n", "app/Dockerfile:2: unterminated heredoc <<EOF", id="heredoc"
        ),
        pytest.param(
            "FROM alpine\nRUN <<EOF\necho hi\nEOF \n",
            "app/Dockerfile:2: unterminated heredoc <<EOF",
            id="heredoc-word-with-space",
        ),
        pytest.param(
            "\x00\x01\x02garbage\n",
            "app/Dockerfile:1: unknown instruction '\\x00\\x01\\x02garbage'",
            id="binary",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, "app/Dockerfile")
    assert str(info.value).startswith(message)


def test_default_path_in_errors() -> None:
    with pytest.raises(InputError, match=r"^Dockerfile:2: unknown instruction 'BOGUS'"):
        parse("FROM a\nBOGUS\n")


def test_every_documented_keyword_is_accepted() -> None:
    assert len(KEYWORDS) == 18
    keywords = sorted(KEYWORDS - {"FROM"})
    df = parse("FROM a\n" + "".join(f"{k} x\n" for k in keywords))
    assert [i.keyword for i in df.instructions] == ["FROM", *keywords]
    assert [i.line for i in df.instructions] == list(range(1, len(keywords) + 2))


def test_last_in_chain_follows_the_stages_the_final_one_is_built_from() -> None:
    text = (
        "FROM alpine AS base\nUSER 1000\nENV A=1\n"
        "FROM golang AS build\nUSER 2000\n"
        "FROM base\nENV B=2\nCOPY --from=build /x /x\n"
    )
    dockerfile = parse(text, "Dockerfile")
    user = dockerfile.last_in_chain("USER")
    assert user is not None and (user.line, user.args) == (2, "1000")  # not the build stage's
    env = dockerfile.last_in_chain("ENV")
    assert env is not None and env.line == 7
    picked = dockerfile.last_in_chain("ENV", lambda i: i.args.startswith("A="))
    assert picked is not None and picked.line == 3
    assert dockerfile.last_in_chain("HEALTHCHECK") is None


def test_a_long_chain_of_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    # `stage in chain` compared whole stages: 3,000 chained stages took 5-18 s (found by fuzzing)
    text = "FROM scratch AS s0\n" + "".join(f"FROM s{i - 1} AS s{i}\nRUN true\n" for i in range(1, 3000))
    df = parse(text, "Dockerfile")

    def no_comparing(*_: object) -> bool:
        raise AssertionError("runtime_chain compared stages field by field")

    monkeypatch.setattr(Stage, "__eq__", no_comparing)
    chain = df.runtime_chain()
    assert [stage.index for stage in chain] == list(range(3000))
    assert df.last_in_chain("RUN") is chain[-1].instructions[-1]


@pytest.mark.parametrize("depth", [900, 200_000])
def test_exec_form_nested_too_deeply_is_shell_form(depth: int) -> None:
    # a RecursionError from the JSON reader was exit 4 (found reviewing loads_json)
    text = "FROM scratch\nCMD " + "[" * depth + '"\\ud800"' + "]" * depth + "\n"
    (cmd,) = parse(text, "Dockerfile").stages[0].find("CMD")
    assert cmd.args.startswith("[[[")
    assert cmd.json_args is None  # read as shell form
