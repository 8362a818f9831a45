"""No output of gatekeeper ever carries a secret it found, in any format.

gk-it/secrets (tests/data/integration/secrets/) carries a dozen kinds of fake secrets in every
place an image can: ENV (GitHub token, AWS key id and secret key, Stripe live key, Slack bot
token, a URL with a password), a build argument used by a RUN (recorded in the history by both
builders), a LABEL holding a JWT, a live `.env` and one deleted by a later layer, an SSH private
key, an `.npmrc` with `_authToken` and a `.docker/config.json` with an `auths` entry.

The CLI runs in-process with every output format at once: console on stdout, the GitHub workflow
commands after it, JSON, JUnit, SARIF, GitLab, Markdown and HTML files, the GitHub job summary
and step outputs; stderr and every log record (DEBUG and up) are captured too. Each output is then
searched, as bytes, for every secret value, its escaped forms and distinctive 8+ character pieces
of its body. The findings themselves must be there, with masked hints only, so the test cannot
pass by finding nothing.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pytest

from gatekeeper import cli
from tests.conftest import BUILDERS, Builder
from tests.integration.conftest import SECRETS, Shelf

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FILE_FORMATS = ("json", "junit", "sarif", "gitlab", "markdown", "html")

# Public parts of a secret that outputs may show: the token prefixes the masks keep (`ghp_…`), the
# `openssh-key-v1` header every OpenSSH key starts with, the JWT header every HS256 token shares.
PUBLIC_PARTS = (
    "ghp_",
    "AKIA",
    "sk_live_",
    "xoxb-2417659301-5872340198765-",
    "npm_",
    "glpat-",
    "AIza",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "-----END OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB",
    "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.",
)


def needles(value: str) -> set[str]:
    """What must not appear: the value, its escaped forms, and every 10-character window of the
    alphanumeric runs of its secret body (escaping never changes those)."""
    found = {value, json.dumps(value)[1:-1], html.escape(value), xml_escape(value)}
    body = value
    for part in PUBLIC_PARTS:
        body = body.replace(part, " ")
    for run in re.findall(r"[A-Za-z0-9]{8,}", body):
        found.add(run)
        found.update(run[i : i + 10] for i in range(len(run) - 9))
    return found


NEEDLES: dict[str, set[str]] = {name: needles(value) for name, value in SECRETS.items()}


def test_every_secret_has_distinctive_needles() -> None:
    for name, found in NEEDLES.items():
        assert any(len(n) >= 8 and n != SECRETS[name] for n in found), name
        assert not any(n in "".join(PUBLIC_PARTS) for n in found if len(n) >= 8), name


# What the report must say: the rule, where, and the masked hint that stands for the value.
EXPECTED_FINDINGS = [
    ("secret-files", "secrets/Dockerfile:20", "/app/.env: dotenv file with 2 secrets: DJANGO_SECRET_KEY"),
    ("secret-files", "secrets/Dockerfile:20", "GITLAB_TOKEN (GitLab token, glpa…(26 chars))"),
    ("secret-files", "secrets/Dockerfile:21", "GOOGLE_MAPS_API_KEY (Google API key, AIza…(39 chars))"),
    ("secret-files", "secrets/Dockerfile:21", "deleted in layer 8, but still shipped in layer 7"),
    ("secret-files", "secrets/Dockerfile:23", "/home/app/.ssh/id_ed25519: SSH private key"),
    (
        "secret-files",
        "secrets/Dockerfile:24",
        "//registry.npmjs.org/:_authToken (npm token, npm_…(40 chars))",
    ),
    ("secret-files", "secrets/Dockerfile:25", "/home/app/.docker/config.json: Docker registry credentials"),
    (
        "secrets-in-config",
        "secrets/Dockerfile:5",
        "LABEL com.example.deploy-session holds a secret (JSON Web Token, eyJ…",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV GITHUB_TOKEN holds a secret (GitHub token, ghp_…(40 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV AWS_ACCESS_KEY_ID holds a secret (AWS access key id, AKIA…(20 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV AWS_SECRET_ACCESS_KEY holds a secret (AWS secret access key, …(40 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV STRIPE_API_KEY holds a secret (Stripe live secret key, sk_l…(32 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV SLACK_BOT_TOKEN holds a secret (Slack token, xoxb…(54 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:8",
        "ENV DATABASE_URL holds a secret (password in a URL, …(14 chars))",
    ),
    (
        "secrets-in-config",
        "secrets/Dockerfile:15",
        "Build argument NPM_TOKEN holds a secret (npm token, npm_…(40 chars))",
    ),
]


@dataclass(frozen=True)
class Run:
    exit_code: int
    outputs: dict[str, bytes]
    """Output name (`stdout`, `stderr`, `log`, `report.sarif`, `GITHUB_OUTPUT`...) -> bytes."""

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.outputs["report.json"])
        return data


RUNS: dict[Builder, Run] = {}


def run_cli(
    shelf: Shelf,
    builder: Builder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Run:
    """`gatekeeper check` of gk-it/secrets with every output format, once per builder."""
    if builder in RUNS:
        return RUNS[builder]
    image = shelf.get("secrets", builder)
    out = tmp_path / "out"
    out.mkdir()
    summary, step_outputs = out / "GITHUB_STEP_SUMMARY", out / "GITHUB_OUTPUT"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(step_outputs))
    monkeypatch.chdir(image.workspace)
    argv = [
        "check",
        image.ref,
        "--dockerfile",
        "secrets/Dockerfile",
        "--context",
        "secrets",
        "--no-discover",
        "--policy",
        "builtin:default",
        "--format",
        "console",
        "--color",
        "never",
        "--github",
        "on",
    ]
    for name in FILE_FORMATS:
        argv += [f"--{name}", str(out / f"report.{name}")]
    caplog.set_level(logging.DEBUG)
    capsys.readouterr()
    exit_code = cli.main(argv)
    captured = capsys.readouterr()
    outputs = {
        "stdout": captured.out.encode(),
        "stderr": captured.err.encode(),
        "log": "\n".join(
            [caplog.text, *(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)]
        ).encode(),
    }
    outputs.update({path.name: path.read_bytes() for path in sorted(out.iterdir())})
    RUNS[builder] = Run(exit_code, outputs)
    return RUNS[builder]


@pytest.fixture(params=BUILDERS)
def run(
    request: pytest.FixtureRequest,
    shelf: Shelf,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Run:
    builder: Builder = request.param
    return run_cli(shelf, builder, tmp_path, monkeypatch, capsys, caplog)


def test_every_output_was_written(run: Run) -> None:
    assert run.exit_code == 1  # the gate failed, nothing crashed
    expected = {"stdout", "stderr", "log", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"}
    expected |= {f"report.{name}" for name in FILE_FORMATS}
    assert set(run.outputs) == expected
    for name in expected - {"stderr", "log"}:
        assert run.outputs[name].strip(), f"{name} is empty"
    assert b"result=failed" in run.outputs["GITHUB_OUTPUT"]
    assert b"::error " in run.outputs["stdout"]  # the GitHub annotations follow the console report


def test_the_secrets_were_found(run: Run) -> None:
    """Not vacuous: every kind of secret is reported, by name and masked hint."""
    findings = [
        (f["rule"], f"{f['location']['artifact']}:{f['location']['line']}", f["message"])
        for f in run.report["findings"]
    ]
    for rule, where, phrase in EXPECTED_FINDINGS:
        hits = [m for name, at, m in findings if (name, at) == (rule, where) and phrase in m]
        assert hits, (rule, where, phrase, findings)
    secret_rules = [name for name, _, _ in findings if name in {"secrets-in-config", "secret-files"}]
    assert len(secret_rules) == 13  # 8 in the config and history, 5 files
    # the console shows them too, masked
    console = run.outputs["stdout"].decode()
    for hint in (
        "ghp_…(40 chars)",
        "AKIA…(20 chars)",
        "sk_l…(32 chars)",
        "xoxb…(54 chars)",
        "npm_…(40 chars)",
    ):
        assert hint in console


def test_no_output_carries_a_secret(run: Run) -> None:
    leaks = [
        f"{output}: {secret} ({needle[:4]}…, {len(needle)} chars)"
        for output, data in run.outputs.items()
        for secret, found in NEEDLES.items()
        for needle in found
        if needle.encode() in data
    ]
    assert not leaks, "secrets in the output:\n" + "\n".join(sorted(set(leaks)))


def test_the_search_finds_the_secrets_where_they_are(shelf: Shelf, docker_client: Any) -> None:
    """The search itself works: every secret is found, the same way, in the build context or in
    the history the engine recorded (the --build-arg value, with both builders)."""
    image = shelf.get("secrets", "classic")
    sources = {
        str(path.relative_to(image.context)): path.read_bytes()
        for path in image.context.rglob("*")
        if path.is_file()
    }
    for builder in BUILDERS:
        history = docker_client.api.history(shelf.get("secrets", builder).built.tag)
        sources[f"history ({builder})"] = "\n".join(e["CreatedBy"] for e in history).encode()
    not_found = [
        name
        for name, found in NEEDLES.items()
        if not any(n.encode() in data for n in found for data in sources.values())
    ]
    assert not_found == ["DOCKER_PASSWORD"]  # only its base64 form (DOCKER_AUTH) is in the image
    for builder in BUILDERS:
        assert SECRETS["NPM_TOKEN"].encode() in sources[f"history ({builder})"]
