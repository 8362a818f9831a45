"""The production checklist end to end, on realistic images.

Every image in tests/data/integration/ is built from the local Debian bases with both builders
(classic and BuildKit record different histories) and judged by `api.check` with its Dockerfile,
build context and runtime files, like CI would. The tables below are the whole expectation: the
status of every rule per scenario, where each finding points (the Dockerfile line comes from
matching the image history to the Dockerfile), which Dockerfile line made each image layer, and
what the checklist summary says. A few images are also run, so the verdicts are checked against
what the container really does.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gatekeeper.report import Report, Status
from gatekeeper.rules import all_rules
from tests.conftest import BUILDERS, Builder
from tests.integration.conftest import DEFAULT_POLICY, SECRETS, Shelf

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@dataclasses.dataclass(frozen=True)
class Scenario:
    image: str
    """gk-it/<image>, built from tests/data/integration/<image>/."""
    runtime: str = ""
    """Runtime files: "" none, "good" the compose.yaml and k8s/ next to the good Dockerfile,
    "runtime/<name>" those of tests/data/integration/runtime/<name>/."""
    policy: str = DEFAULT_POLICY
    builders: tuple[Builder, ...] = BUILDERS
    """Scenarios about the runtime files or the policy judge the same image facts whatever the
    builder (the image rows prove that), so they read one build only."""


CLASSIC: tuple[Builder, ...] = ("classic",)
SCENARIOS: dict[str, Scenario] = {
    "good": Scenario("good"),
    "good+runtime": Scenario("good", runtime="good", builders=CLASSIC),
    "single-stage": Scenario("single-stage"),
    "secret-env": Scenario("secret-env"),
    "env-file-deleted": Scenario("env-file-deleted"),
    "build-arg-token": Scenario("build-arg-token"),
    "root-user": Scenario("root-user"),
    "health-curl": Scenario("health-curl"),
    "log-files": Scenario("log-files"),
    "fat": Scenario("fat"),
    "fat+waiver": Scenario("fat", policy="policies/waive-model-size.yaml", builders=CLASSIC),
    "caches": Scenario("caches"),
    "wasted": Scenario("wasted"),
    "article": Scenario("article"),
    "runtime-bare": Scenario("good", runtime="runtime/bare", builders=CLASSIC),
    "runtime-root": Scenario("good", runtime="runtime/root", builders=CLASSIC),
    "runtime-partial": Scenario("good", runtime="runtime/partial", builders=CLASSIC),
}

# ------------------------------------------------------------------ the verdict matrix
#
# One row per scenario, one column per rule (see COLUMNS for the names):
#   .  passed     F  failed     -  skipped     W  waived (every finding covered by a waiver)
# The last column is the gate: ready for production, or not.
# Identical for both builders (the scenarios about runtime files and policy read the classic one).

COLUMNS = {
    "st": "single-stage-build",
    "dp": "dependencies-after-source",
    "pn": "base-image-unpinned",
    "ig": "dockerignore",
    "us": "runs-as-root",
    "hc": "healthcheck-missing",
    "sz": "image-size",
    "bt": "build-tools-in-image",
    "pc": "package-cache-left",
    "ws": "wasted-space",
    "lg": "logs-to-files",
    "sc": "secrets-in-config",
    "sf": "secret-files",
    "jk": "junk-files",
    "lb": "labels-missing",
    "dv": "dev-dependencies-in-image",
    "we": "waiver-expired",
    "wi": "inline-waiver-invalid",
    "rl": "resource-limits-missing",
    "cu": "container-unhealthy",
    "jf": "job-failed",
    "cc": "container-crashed",
    "vu": "vulnerabilities",
}

MATRIX = """
scenario         st dp pn ig us hc sz bt pc ws lg sc sf jk lb dv we wi rl cu jf cc vu  gate
good             .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   ready
good+runtime     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -   ready
single-stage     F  .  .  .  .  .  F  F  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
secret-env       .  .  .  .  .  .  .  .  .  .  .  F  .  .  .  .  .  .  -  -  -  -  -   NOT
env-file-deleted .  .  .  F  .  .  .  .  .  .  .  .  F  .  .  .  .  .  -  -  -  -  -   NOT
build-arg-token  .  .  .  .  .  .  .  .  .  .  .  F  .  .  .  .  .  .  -  -  -  -  -   NOT
root-user        .  .  .  .  F  .  .  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
health-curl      .  .  .  .  .  F  .  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
log-files        .  .  .  .  .  .  .  .  .  .  F  .  .  .  .  .  .  .  -  -  -  -  -   NOT
fat              .  .  .  .  .  .  F  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
fat+waiver       .  .  .  .  .  .  W  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -  -   ready
caches           .  .  .  .  .  .  .  .  F  .  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
wasted           .  .  .  .  .  .  .  .  .  F  .  .  .  .  .  .  .  .  -  -  -  -  -   NOT
article          F  F  F  F  F  F  .  .  .  .  .  .  .  F  F  .  .  .  -  -  -  -  -   NOT
runtime-bare     .  .  .  .  .  F  .  .  .  .  .  .  .  .  .  .  .  .  F  -  -  -  -   NOT
runtime-root     .  .  .  .  F  .  .  .  .  .  .  .  .  .  .  .  .  .  .  -  -  -  -   NOT
runtime-partial  .  .  .  .  .  F  .  .  .  .  F  .  .  .  .  .  .  .  F  -  -  -  -   NOT
"""

# Why a rule is skipped: its input is absent (no run, no runtime files, no scan report). Anything
# else (say "the image filesystem was not read") would be a skip for the wrong reason.
SKIP_REASONS = {
    "resource-limits-missing": "no compose or Kubernetes file given or found",
    "container-unhealthy": "runtime verification not requested (--run)",
    "job-failed": "runtime verification not requested (--run)",
    "container-crashed": "runtime verification not requested (--run)",
    "vulnerabilities": "no scan report given (--scan-report FILE)",
}

SYMBOLS = {".": Status.PASSED, "F": Status.FAILED, "-": Status.SKIPPED, "W": Status.WAIVED}


def parse_matrix(text: str) -> tuple[dict[str, dict[str, Status]], dict[str, bool]]:
    header, *rows = text.strip().splitlines()
    names = header.split()
    assert names[0] == "scenario"
    assert names[-1] == "gate"
    assert names[1:-1] == list(COLUMNS), "the matrix columns must follow COLUMNS"
    statuses: dict[str, dict[str, Status]] = {}
    gates: dict[str, bool] = {}
    for row in rows:
        scenario, *cells, gate = row.split()
        assert len(cells) == len(COLUMNS), row
        statuses[scenario] = {COLUMNS[c]: SYMBOLS[s] for c, s in zip(COLUMNS, cells, strict=True)}
        gates[scenario] = gate == "ready"
    return statuses, gates


EXPECTED, READY = parse_matrix(MATRIX)

# ------------------------------------------------------------------ where findings point
#
# (rule, location) of every finding: `<image>/Dockerfile:<line> (<pointer>)` when the rule or
# the history mapping knows the line, `image <pointer>` for facts that no Dockerfile line made
# (a missing USER, the base image's packages, the total size), or the runtime file and line.

FINDINGS: dict[str, list[tuple[str, str]]] = {
    "good": [],
    "good+runtime": [],
    "single-stage": [
        ("build-tools-in-image", "single-stage/Dockerfile:3 (/var/lib/dpkg/status)"),  # the FROM bringing it
        ("image-size", "single-stage/Dockerfile:3 (size)"),  # the largest layer is the base's
        ("single-stage-build", "single-stage/Dockerfile:3 (FROM)"),
    ],
    "secret-env": [("secrets-in-config", "secret-env/Dockerfile:23 (config.Env)")],
    "env-file-deleted": [
        ("dockerignore", "env-file-deleted/.dockerignore (.dockerignore)"),
        ("secret-files", "env-file-deleted/Dockerfile:23 (/app/.env)"),  # the COPY, not the rm
    ],
    "build-arg-token": [("secrets-in-config", "build-arg-token/Dockerfile:24 (history)")],  # the RUN
    "root-user": [("runs-as-root", "root-user/Dockerfile:14 (config.User)")],  # the final FROM
    "health-curl": [("healthcheck-missing", "health-curl/Dockerfile:25 (config.Healthcheck)")],
    "log-files": [
        ("logs-to-files", "log-files/Dockerfile:20 (/var/log/app)"),  # log file
        ("logs-to-files", "log-files/Dockerfile:20 (/var/log/app)"),  # log directory
        ("logs-to-files", "log-files/Dockerfile:30 (config.Cmd)"),  # `>> /var/log/app/app.log`
    ],
    "fat": [("image-size", "fat/Dockerfile:23 (size)")],  # the layer that makes it fat
    "fat+waiver": [("image-size", "fat/Dockerfile:23 (size)")],
    "caches": [
        ("package-cache-left", "caches/Dockerfile:27 (/var/lib/apt/lists)"),
        ("package-cache-left", "caches/Dockerfile:28 (/root/.cache/pip)"),
    ],
    "wasted": [("wasted-space", "wasted/Dockerfile:23 (layers)")],  # the layer that deleted it
    "article": [
        ("base-image-unpinned", "article/Dockerfile:5 (FROM)"),
        ("dependencies-after-source", "article/Dockerfile:7 (COPY)"),
        ("dockerignore", "article/Dockerfile:7 (COPY)"),  # /app/.git came through `COPY . .`
        ("dockerignore", "article/Dockerfile:7 (COPY)"),  # no .dockerignore: the COPY . it would filter
        ("healthcheck-missing", "article/Dockerfile:5 (config.Healthcheck)"),
        ("junk-files", "article/Dockerfile:7 (/app/.git)"),
        ("junk-files", "article/Dockerfile:7 (/app/.vscode)"),
        ("labels-missing", "article/Dockerfile:5 (config.Labels)"),
        ("runs-as-root", "article/Dockerfile:5 (config.User)"),
        ("single-stage-build", "article/Dockerfile:5 (FROM)"),
    ],
    "runtime-bare": [
        ("healthcheck-missing", "runtime/bare/k8s/deployment.yaml:13 (spec.template.spec.containers.0)"),
        ("resource-limits-missing", "runtime/bare/compose.yaml:2 (services.orders)"),
        ("resource-limits-missing", "runtime/bare/k8s/deployment.yaml:13 (spec.template.spec.containers.0)"),
    ],
    "runtime-root": [
        ("runs-as-root", "runtime/root/compose.yaml:4 (services.orders.user)"),
        (
            "runs-as-root",
            "runtime/root/k8s/deployment.yaml:16 (spec.template.spec.containers.0.securityContext.runAsUser)",
        ),
    ],
    "runtime-partial": [
        ("healthcheck-missing", "runtime/partial/compose.yaml:6 (services.orders.healthcheck)"),
        ("healthcheck-missing", "runtime/partial/k8s/deployment.yaml:15 (spec.template.spec.containers.0)"),
        ("logs-to-files", "runtime/partial/compose.yaml:8 (services.orders.logging.driver)"),
        ("resource-limits-missing", "runtime/partial/compose.yaml:2 (services.orders)"),
    ],
}

# What each finding says, in a phrase (the message of the finding at the same index above).
MESSAGES: dict[str, list[str]] = {
    "single-stage": [
        "The base image local/python:3.11 (layer 2",
        "The image is 469.6 MB (uncompressed), over the 200.0 MB budget",
        "The Dockerfile has a single stage (FROM local/python:3.11)",
    ],
    "secret-env": ["ENV GITHUB_TOKEN holds a secret (GitHub token, ghp_…(40 chars))"],
    "env-file-deleted": [
        "does not exclude .env.",
        "/app/.env: dotenv file with 2 secrets: DATABASE_PASSWORD (password, …(14 chars)), "
        "STRIPE_API_KEY (Stripe live secret key, sk_l…(32 chars)); deleted in layer 7, but still "
        "shipped in layer 6.",
    ],
    "build-arg-token": [
        "Build argument NPM_TOKEN holds a secret (npm token, npm_…(40 chars)): anyone who can pull "
        "the image reads it in the history (entry 12, RUN)"
    ],
    "root-user": ["no USER is set, so it runs as root"],
    "health-curl": ["'curl' is not in the image (searched PATH), so the check can never pass"],
    "log-files": [
        "1 log file in /var/log/app, written in layer 3",
        "Log directory /var/log/app is prepared for the app to write logs into (owned by the "
        "runtime user, UID 10001)",
        "CMD redirects the app's output to the file /var/log/app/app.log",
    ],
    "fat": ["The image is 366.2 MB (uncompressed), over the 200.0 MB budget by 166.2 MB"],
    "fat+waiver": ["The image is 366.2 MB (uncompressed), over the 200.0 MB budget by 166.2 MB"],
    "caches": [
        "Apt package lists left in the image: 560.0 kB in 1 file under /var/lib/apt/lists, from "
        "layer 8 (RUN apt-get update)",
        "Pip cache left in the image: 402.0 kB in 2 files under /root/.cache/pip, from layer 9",
    ],
    "wasted": [
        "of the image is wasted, over the 20.0 MB and 10% limits: files added in one layer and "
        "overwritten or deleted in a later one still ship. Biggest: /tmp/assets-bundle.tar (31.5 MB) "
        "added in layer 6 (RUN dd if=/dev/urandom of=/tmp/assets-bundle.tar bs=1M co...), deleted "
        "in layer 7 (RUN rm /tmp/assets-bundle.tar)"
    ],
    "article": [
        "FROM gk-it/python (stage '0') has no tag, so it means `latest`",
        "`COPY . .` (line 7) comes before `pip install --no-cache-dir --no-index -r requirements.txt`",
        "/app/.git reached the image through `COPY . .` (line 7)",
        "The build context 'article' has no .dockerignore",
        "The image has no HEALTHCHECK",
        "/app/.git: version-control metadata (4 files,",
        "/app/.vscode: IDE settings (1 file,",
        "Missing image label(s): org.opencontainers.image.source, org.opencontainers.image.revision",
        "no USER is set, so it runs as root",
        "The Dockerfile has a single stage (FROM gk-it/python)",
    ],
    "runtime-bare": [
        "Deployment/orders container orders has no liveness or readiness probe",
        "compose service orders has no CPU or memory limit",
        "Deployment/orders container orders has no CPU or memory limit",
    ],
    "runtime-root": [
        "compose service orders: user root is root",
        "Deployment/orders container orders: user 0 is root",
    ],
    "runtime-partial": [
        "compose service orders disables the health check",
        "Deployment/orders container orders has no readiness probe",
        "compose service orders sets logging driver `none`",
        "compose service orders has no CPU limit",
    ],
}

# ------------------------------------------------------------------ history -> Dockerfile lines
#
# The Dockerfile line that made each image layer, base-image layers first (None): what findings
# and the console's layer table point at. Identical for both builders, although the classic
# builder writes `/bin/sh -c #(nop)  COPY dir:<digest> in /app` and BuildKit `COPY /src /app`.

LAYER_LINES: dict[str, tuple[int | None, ...]] = {
    "good": (None, None, 18, 19, 20, 21),
    "single-stage": (None, None, None, 7, 8, 9, 10, 11, 12, 13),
    "secret-env": (None, None, 19, 20, 21, 22),
    "env-file-deleted": (None, None, 19, 20, 21, 22, 23, 24),
    "build-arg-token": (None, None, 19, 20, 21, 22, 24),
    "root-user": (None, None, 18, 19, 20, 21),
    "health-curl": (None, None, 18, 19, 20, 21),
    "log-files": (None, None, 19, 20, 22, 23, 24),
    "fat": (None, None, 19, 20, 21, 22, 23),
    "caches": (None, None, 20, 21, 22, 23, 24, 25, 27, 28),
    "wasted": (None, None, 18, 19, 20, 21, 22, 23),
    "article": (None, None, 6, 7, 8),
}

# ------------------------------------------------------------------ the checklist summary
#
# Item -> status and a phrase of its one-line summary (the first finding of a failed item, the
# first evidence of a passed one). Items not listed for a scenario are as in `good`.

GOOD_CHECKLIST: dict[str, tuple[Status, str]] = {
    "Multi-stage build": (Status.PASSED, "2 stages; final stage FROM local/python:3.11-slim"),
    "Image size": (Status.PASSED, "uncompressed size 146.0 MB, budget 200.0 MB"),
    "Health checks": (Status.PASSED, "HEALTHCHECK CMD python3 /app/healthcheck.py: python3 found"),
    "Non-root user": (Status.PASSED, "USER 10001:10001: numeric non-root UID 10001"),
    "Secrets managed externally": (Status.PASSED, "no secrets in 4 ENV, 3 LABELs"),
    "Logs to stdout/stderr": (Status.PASSED, "no log files or log redirection"),
    "Resource limits": (Status.SKIPPED, "no compose or Kubernetes file given or found"),
    "Vulnerability scan": (Status.SKIPPED, "no scan report given"),
    "Dockerfile hygiene": (Status.PASSED, "1 dependency install(s), each before the source is copied"),
    "Policy exceptions": (Status.PASSED, "no waivers"),
}

CHECKLIST: dict[str, dict[str, tuple[Status, str]]] = {
    "good": {},
    "good+runtime": {
        "Health checks": (Status.PASSED, "compose service orders healthcheck exec CMD python3"),
        "Non-root user": (Status.PASSED, "the image's default user (10001:10001) is overridden"),
        "Resource limits": (Status.PASSED, "compose service orders: cpu 0.50, memory 256M"),
    },
    "single-stage": {
        "Multi-stage build": (Status.FAILED, "The Dockerfile has a single stage"),
        "Image size": (Status.FAILED, "The image is 469.6 MB (uncompressed)"),
        "Secrets managed externally": (Status.PASSED, "22 history entries"),
    },
    "secret-env": {"Secrets managed externally": (Status.FAILED, "ENV GITHUB_TOKEN holds a secret")},
    "env-file-deleted": {
        "Secrets managed externally": (Status.FAILED, "/app/.env: dotenv file with 2 secrets"),
        "Dockerfile hygiene": (Status.FAILED, "does not exclude .env"),
    },
    "build-arg-token": {
        "Secrets managed externally": (Status.FAILED, "Build argument NPM_TOKEN holds a secret"),
    },
    "root-user": {"Non-root user": (Status.FAILED, "no USER is set")},
    "health-curl": {"Health checks": (Status.FAILED, "'curl' is not in the image")},
    "log-files": {"Logs to stdout/stderr": (Status.FAILED, "1 log file in /var/log/app")},
    "fat": {"Image size": (Status.FAILED, "The image is 366.2 MB")},
    "fat+waiver": {
        "Image size": (Status.WAIVED, "waived: The image is 366.2 MB"),
        "Policy exceptions": (Status.PASSED, "1 waiver(s), none expired"),
    },
    "caches": {"Image size": (Status.FAILED, "Apt package lists left in the image")},
    "wasted": {"Image size": (Status.FAILED, "32.3 MB (18.2% of 177.4 MB) of the image is wasted")},
    "article": {
        "Multi-stage build": (Status.FAILED, "The Dockerfile has a single stage (FROM gk-it/python)"),
        "Health checks": (Status.FAILED, "The image has no HEALTHCHECK"),
        "Non-root user": (Status.FAILED, "no USER is set"),
        "Secrets managed externally": (Status.PASSED, "no secrets in 3 ENV, 1 LABELs"),
        "Image size": (Status.PASSED, "uncompressed size 145.9 MB"),
        "Dockerfile hygiene": (Status.FAILED, "FROM gk-it/python (stage '0') has no tag"),
    },
    "runtime-bare": {
        "Health checks": (Status.FAILED, "has no liveness or readiness probe"),
        "Resource limits": (Status.FAILED, "compose service orders has no CPU or memory limit"),
    },
    "runtime-root": {
        "Non-root user": (Status.FAILED, "compose service orders: user root is root"),
        "Health checks": (Status.PASSED, "compose service orders healthcheck exec CMD python3"),
        "Resource limits": (Status.PASSED, "compose service orders: cpu 0.50, memory 256M"),
    },
    "runtime-partial": {
        "Health checks": (Status.FAILED, "compose service orders disables the health check"),
        "Logs to stdout/stderr": (Status.FAILED, "sets logging driver `none`"),
        "Resource limits": (Status.FAILED, "compose service orders has no CPU limit"),
    },
}


def test_the_tables_cover_every_scenario_and_rule() -> None:
    assert set(EXPECTED) == set(SCENARIOS) == set(FINDINGS) == set(CHECKLIST)
    assert set(MESSAGES) == {s for s, found in FINDINGS.items() if found}
    for scenario, found in FINDINGS.items():
        assert len(MESSAGES.get(scenario, [])) == len(found), scenario
    assert set(LAYER_LINES) == {s.image for s in SCENARIOS.values()}
    # a new rule needs a column (and an expectation for every scenario)
    assert sorted(r.name for r in all_rules()) == sorted(COLUMNS.values())


# ------------------------------------------------------------------ fixtures

CASES = [(name, builder) for name, scenario in SCENARIOS.items() for builder in scenario.builders]


@dataclasses.dataclass(frozen=True)
class Case:
    scenario: str
    builder: Builder
    report: Report


@pytest.fixture(scope="module")
def reports(shelf: Shelf) -> dict[tuple[str, Builder], Report]:
    """Every scenario checked with both builders, concurrently (checks wait mostly on the engine's
    `docker save`), each image built once per session."""
    shelf.prebuild(sorted({s.image for s in SCENARIOS.values()}))

    def run(case: tuple[str, Builder]) -> Report:
        scenario, builder = case
        spec = SCENARIOS[scenario]
        return shelf.check(spec.image, builder, spec.runtime, spec.policy)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(zip(CASES, pool.map(run, CASES), strict=True))


@pytest.fixture(params=CASES, ids=[f"{s}-{b}" for s, b in CASES])
def case(request: pytest.FixtureRequest, reports: dict[tuple[str, Builder], Report]) -> Case:
    scenario, builder = request.param
    return Case(scenario, builder, reports[(scenario, builder)])


# ------------------------------------------------------------------ the tests


def test_verdict_of_every_rule(case: Case) -> None:
    report = case.report
    actual = {r.rule.name: r.status for r in report.results}
    problems = {r.rule.name: r.reason for r in report.results if r.status is Status.ERROR}
    assert not problems, f"rules crashed: {problems}"
    assert actual == EXPECTED[case.scenario]
    for result in report.results:
        if result.status is Status.SKIPPED:
            assert SKIP_REASONS[result.rule.name] in result.reason
    assert report.passed is READY[case.scenario]
    if not READY[case.scenario]:
        assert report.blocking, "a failed gate names the findings that block it"
    # waived findings stay in the report but do not block
    assert all(f.waiver is not None for r in report.results if r.status is Status.WAIVED for f in r.findings)


def test_where_each_finding_points(case: Case) -> None:
    findings = sorted(case.report.findings, key=lambda f: (f.rule.name, str(f.location), f.message))
    assert [(f.rule.name, str(f.location)) for f in findings] == FINDINGS[case.scenario]
    for finding, phrase in zip(findings, MESSAGES.get(case.scenario, []), strict=True):
        assert phrase in finding.message, (finding.rule.name, finding.message)


def test_image_layers_map_to_dockerfile_lines(case: Case) -> None:
    spec = SCENARIOS[case.scenario]
    lines = tuple(layer.line for layer in case.report.layers)
    assert lines == LAYER_LINES[spec.image]
    assert case.report.dockerfile == f"{spec.image}/Dockerfile"


def test_checklist_summary(case: Case) -> None:
    expected = {**GOOD_CHECKLIST, **CHECKLIST[case.scenario]}
    actual = {item.name: item for item in case.report.checklist}
    assert set(actual) == set(expected)
    for name, (status, phrase) in expected.items():
        item = actual[name]
        assert (item.status, phrase in item.summary) == (status, True), (name, item.summary)
        # the item aggregates its rules' statuses: failed > waived > passed > skipped
        statuses = {EXPECTED[case.scenario][rule] for rule in item.rules}
        order = (Status.FAILED, Status.WAIVED, Status.PASSED, Status.SKIPPED)
        assert item.status is next(s for s in order if s in statuses)


def test_failed_items_are_summarised_by_their_first_blocking_finding(case: Case) -> None:
    results = {r.rule.name: r for r in case.report.results}
    for item in case.report.checklist:
        if item.status is Status.FAILED:
            first = next(f for rule in item.rules for f in results[rule].findings if f.blocking)
            assert item.summary == first.message


# ------------------------------------------------------------------ the images themselves


@pytest.mark.parametrize("builder", BUILDERS)
def test_build_argument_is_in_the_history(shelf: Shelf, docker_client: Any, builder: Builder) -> None:
    """The premise of build-arg-token: both builders record the --build-arg value of a RUN."""
    image = shelf.get("build-arg-token", builder)
    history = [entry["CreatedBy"] for entry in docker_client.api.history(image.built.tag)]
    assert any(SECRETS["NPM_TOKEN"] in line for line in history)
    assert not any(SECRETS["NPM_TOKEN"] in line for line in image.dockerfile.read_text().splitlines())


@dataclasses.dataclass(frozen=True)
class Running:
    uid: str
    health: int
    """Exit code of the image's HEALTHCHECK command, run in the container."""
    health_output: str
    logs: str
    log_file: str


def run_container(docker_client: Any, tag: str) -> Running:
    """Start the image (no network), wait until the app listens, and observe it."""
    container = docker_client.containers.run(tag, detach=True, network_mode="none")
    try:
        config = docker_client.api.inspect_image(tag)["Config"]
        test = config["Healthcheck"]["Test"]
        command = test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
        ready = ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8080), 1)"]
        for _ in range(50):
            if container.exec_run(ready).exit_code == 0:
                break
            time.sleep(0.1)
        health = container.exec_run(command)
        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        log_file = container.exec_run(["cat", "/var/log/app/app.log"]).output.decode()
        return Running(uid, health.exit_code, health.output.decode(), container.logs().decode(), log_file)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    ("image", "uid", "health", "logs_on_stdout"),
    [
        ("good", "10001", 0, True),
        ("root-user", "0", 0, True),
        ("health-curl", "10001", 1, True),  # sh: curl: not found, then `|| exit 1`
        ("log-files", "10001", 0, False),
    ],
)
def test_verdicts_match_the_running_container(
    shelf: Shelf, docker_client: Any, image: str, uid: str, health: int, logs_on_stdout: bool
) -> None:
    running = run_container(docker_client, shelf.get(image, "classic").built.tag)
    assert running.uid == uid
    assert running.health == health
    assert ("curl: not found" in running.health_output) is (image == "health-curl")
    assert ("listening on :8080" in running.logs) is logs_on_stdout
    assert ("listening on :8080" in running.log_file) is not logs_on_stdout
