"""SARIF reporter: schemas (OASIS and GitHub's upload-sarif copy), GitHub's rules, Microsoft's validator.

The schemas come from the repository's sibling `shared/schemas/` (see shared/schemas/SOURCES.md).
The SARIF Multitool is installed with npm into ~/.cache/gatekeeper-test-env/sarif-multitool on first
use. Without the schemas or the multitool the tests skip, and under CI (env CI set) they fail.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatekeeper.api import check
from gatekeeper.engine import checklist
from gatekeeper.findings import Finding, Location, RuleInfo, Severity, WaiverInfo, image_location
from gatekeeper.inputs import InputOptions
from gatekeeper.report import PolicyInfo, Report, RuleResult, Status
from gatekeeper.reporters import RenderOptions, all_reporters
from gatekeeper.reporters import sarif as sarif_module
from tests.conftest import unavailable
from tests.imagegen import BUSYBOX_LIKE, BUSYBOX_READY, Image, write_docker_archive
from tests.reporters.sample import sample_report

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SCHEMAS = SHARED / "schemas"
MULTITOOL_PACKAGE = "@microsoft/sarif-multitool-linux"
MULTITOOL_VERSION = "5.7.0"

ROOT_IMAGE = Image(
    layers=BUSYBOX_LIKE.layers,
    config={"User": "", "Env": ["PATH=/bin"]},
)
"""Runs as root, no HEALTHCHECK, no labels: image-level findings."""
CLEAN_IMAGE = BUSYBOX_READY
DOCKERFILE = 'FROM busybox:1.36\nCOPY . /app\nUSER root\nCMD ["/bin/sh"]\n'
"""Single stage, unpinned base, no .dockerignore, USER root: findings with Dockerfile lines."""
CLEAN_POLICY = "version: 1\nrules:\n  runs-as-root: true\n  healthcheck-missing: true\n"


# ------------------------------------------------------------------------------------------ helpers


def schema(relative: str) -> dict[str, Any]:
    path = SCHEMAS / relative
    if not path.is_file():
        unavailable(f"{path} is missing (the repository's sibling shared/ directory)")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def schema_errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def render(name: str, report: Report) -> str:
    return all_reporters()[name].render(report, RenderOptions())


def real_report(
    root: Path,
    *,
    image: Image = ROOT_IMAGE,
    dockerfile: str | None = DOCKERFILE,
    policy: str | None = None,
) -> Report:
    """A real `check` of a docker-archive under `root`, with a Dockerfile in a directory with a space.

    The archive path is part of the fingerprints (it is the image name), so calls with the same root
    compare like two CI runs of one image.
    """
    archive = root / "image.tar"
    write_docker_archive(archive, image, tags=("team/app:1.0",))
    options = InputOptions(discover=False, workdir=str(root))
    if dockerfile is not None:
        build = root / "build dir"
        build.mkdir(exist_ok=True)
        (build / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        options = InputOptions(dockerfile=str(build / "Dockerfile"), discover=False, workdir=str(root))
    policies: tuple[str, ...] = ()
    if policy is not None:
        (root / "gatekeeper.yaml").write_text(policy, encoding="utf-8")
        policies = (str(root / "gatekeeper.yaml"),)
    return check(f"docker-archive:{archive}", policies=policies, inputs=options)


def rule_info(i: int, checklist_item: str = "Image size", severity: Severity = Severity.MEDIUM) -> RuleInfo:
    return RuleInfo(
        id=f"GK-T-{i:03d}",
        name=f"rule-{i}",
        title=f"Rule {i}",
        checklist=checklist_item,
        severity=severity,
        fix=f"Fix rule {i}.",
        summary=f"Summary of rule {i}.",
        docs_url=f"https://example.invalid/docs#rule-{i}",
    )


def report_of(*results: RuleResult, inputs: Sequence[tuple[str, str, str]] | None = None) -> Report:
    base = sample_report()
    return dataclasses.replace(
        base,
        results=tuple(results),
        checklist=checklist(results),
        inputs=base.inputs if inputs is None else tuple(inputs),
    )


def failed(info: RuleInfo, *findings: Finding, severity: Severity | None = None) -> RuleResult:
    return RuleResult(info, Status.FAILED, severity or info.severity, findings=findings)


def finding(info: RuleInfo, message: str, location: Location, fp: str, **kw: Any) -> Finding:
    severity = kw.pop("severity", info.severity)
    blocking = kw.pop("blocking", kw.get("waiver") is None and severity >= Severity.MEDIUM)
    return Finding(info, severity, message, location, fp, blocking=blocking, **kw)


def passed_rules(report: Report) -> set[str]:
    return {r.rule.name for r in report.results if r.status is Status.PASSED}


def sarif_of(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render("sarif", report))
    return doc


def only_run(doc: dict[str, Any]) -> dict[str, Any]:
    assert len(doc["runs"]) == 1
    run: dict[str, Any] = doc["runs"][0]
    return run


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def validators() -> list[tuple[str, jsonschema.protocols.Validator]]:
    oasis = schema("sarif/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(oasis)
    # GitHub's copy has a misplaced `anyOf` that fails the meta-schema: do not check_schema it.
    github = schema("sarif/codeql-action-sarif-schema-2.1.0.json")
    return [
        ("OASIS sarif-schema-2.1.0 (draft-04)", jsonschema.Draft4Validator(oasis)),
        ("codeql-action upload-sarif schema (2020-12)", jsonschema.Draft202012Validator(github)),
    ]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return real_report(tmp_path_factory.mktemp("sarif-real"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Report:
    report = real_report(
        tmp_path_factory.mktemp("sarif-clean"), image=CLEAN_IMAGE, dockerfile=None, policy=CLEAN_POLICY
    )
    assert not report.findings, [f.message for f in report.findings]
    assert passed_rules(report) >= {"runs-as-root", "healthcheck-missing"}
    return report


def _multitool_binary(cache: Path) -> Path:
    return cache / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"


def _multitool_env(cache: Path) -> dict[str, str]:
    return dict(
        os.environ,
        DOTNET_CLI_TELEMETRY_OPTOUT="1",
        DOTNET_BUNDLE_EXTRACT_BASE_DIR=str(cache / "dotnet-bundle"),
    )


def _multitool_runs(binary: Path, env: dict[str, str]) -> bool:
    if not binary.is_file():
        return False
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=120, env=env, check=False
        )
    except OSError:
        return False
    return done.returncode == 0 and MULTITOOL_VERSION in done.stdout + done.stderr  # it prints to stderr


@pytest.fixture(scope="session")
def multitool() -> Iterator[tuple[Path, dict[str, str]]]:
    """Microsoft's SARIF Multitool (`Sarif.Multitool`), installed once with npm into the cache."""
    override = os.environ.get("GATEKEEPER_TEST_SARIF_MULTITOOL")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = cache / "gatekeeper-test-env" / "sarif-multitool"
    binary = Path(override) if override else _multitool_binary(cache)
    env = _multitool_env(cache)
    if override:
        if not _multitool_runs(binary, env):
            unavailable(f"GATEKEEPER_TEST_SARIF_MULTITOOL={override} does not run")
        yield binary, env
        return
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test sessions install once
        if not _multitool_runs(binary, env):
            npm = shutil.which("npm")
            if npm is None:
                unavailable(f"npm is missing, so {MULTITOOL_PACKAGE} cannot be installed")
            command = [
                npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--loglevel=error",
                f"{MULTITOOL_PACKAGE}@{MULTITOOL_VERSION}",
            ]  # fmt: skip
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                unavailable(f"npm install {MULTITOOL_PACKAGE} failed: {exc}")
            if done.returncode != 0:
                unavailable(f"npm install {MULTITOOL_PACKAGE} failed: {done.stderr.strip()[-500:]}")
            if binary.is_file():
                # npm >= 11 may skip the package's postinstall `chmod u+x Sarif.Multitool`.
                binary.chmod(binary.stat().st_mode | 0o100)
            if not _multitool_runs(binary, env):
                unavailable(f"{binary} was installed but does not run")
    yield binary, env


def multitool_problems(tool: tuple[Path, dict[str, str]], text: str, where: Path) -> list[str]:
    """Errors and warnings of `validate --rule-kind "Sarif;Gh"` (SARIF rules plus GitHub ingestion)."""
    binary, env = tool
    target = where / "gatekeeper.sarif"
    log = where / "multitool.sarif"
    target.write_text(text, encoding="utf-8")
    command = [
        str(binary), "validate", str(target), "--rule-kind", "Sarif;Gh", "--level", "Error;Warning",
        "--output", str(log), "--log", "ForceOverwrite", "--quiet",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run(json.loads(log.read_text(encoding="utf-8-sig")))
    problems = []
    for result in run.get("results", []):
        level = result.get("level", "warning")  # SARIF's default level
        if level in ("error", "warning"):
            problems.append(f"{level} {result.get('ruleId')}: {json.dumps(result.get('message'))}")
    for invocation in run.get("invocations", []):
        if invocation.get("executionSuccessful") is False:
            problems.append(f"the multitool did not run successfully: {json.dumps(invocation)[:2000]}")
        notes = invocation.get("toolExecutionNotifications", []) + invocation.get(
            "toolConfigurationNotifications", []
        )
        problems.extend(
            f"notification: {json.dumps(n)[:500]}" for n in notes if n.get("level", "warning") == "error"
        )
    return problems


def check_github_rules(doc: dict[str, Any]) -> None:
    """What code scanning needs beyond the schema (shared/research/formats.md, section 1)."""
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    run = only_run(doc)
    driver = run["tool"]["driver"]
    assert driver["name"] == "gatekeeper"
    rules = driver["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for rule in rules:
        assert rule["id"]
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"]
        assert rule["help"]["markdown"]
        assert len(rule.get("name", "")) <= 255
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        props = rule["properties"]
        assert len(props["tags"]) <= sarif_module.MAX_TAGS
        assert props["precision"] in ("very-high", "high", "medium", "low")
        if "security-severity" in props:
            assert isinstance(props["security-severity"], str)
            assert 0.0 < float(props["security-severity"]) <= 10.0
            assert "security" in props["tags"]
    assert isinstance(run["results"], list)
    assert len(run["results"]) <= sarif_module.MAX_RESULTS
    assert run["automationDetails"]["id"].startswith("gatekeeper/")
    assert run["automationDetails"]["id"].endswith("/")
    for invocation in run["invocations"]:
        assert not {"startTimeUtc", "endTimeUtc"} & set(invocation)
    for result in run["results"]:
        index = result["ruleIndex"]
        assert rules[index]["id"] == result["ruleId"]
        assert result["level"] in ("note", "warning", "error")
        assert result["message"]["text"].strip()
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri
        assert " " not in uri
        assert isinstance(physical["region"]["startLine"], int)
        assert physical["region"]["startLine"] >= 1
        line_hash = result["partialFingerprints"]["primaryLocationLineHash"]
        assert line_hash.rsplit(":", 1)[1].isdigit()
        assert result["fingerprints"]["gatekeeper/v1"]
    keys = [r["fingerprints"]["gatekeeper/v1"] for r in run["results"]]
    assert len(set(keys)) == len(keys)
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    assert len(set(hashes)) == len(hashes)


def check_sarif(report: Report, validators: list[tuple[str, jsonschema.protocols.Validator]]) -> str:
    text = render("sarif", report)
    assert text.endswith("}\n")
    text.encode("utf-8")  # writable as UTF-8 (no lone surrogates)
    doc = json.loads(text)
    for name, validator in validators:
        assert schema_errors(validator, doc) == [], name
    check_github_rules(doc)
    return text


# --------------------------------------------------------------------------------------------- tests


def test_sample_is_valid(validators: list[tuple[str, jsonschema.protocols.Validator]]) -> None:
    check_sarif(sample_report(), validators)


def test_real_run_is_valid(
    real: Report, validators: list[tuple[str, jsonschema.protocols.Validator]]
) -> None:
    assert real.findings
    # With a Dockerfile, image findings point at its lines (image-level anchoring is covered by
    # the sample report, whose findings include `image` locations).
    assert all(f.location.artifact != "image" for f in real.findings)
    check_sarif(real, validators)


def test_clean_run_has_empty_results(
    clean: Report, validators: list[tuple[str, jsonschema.protocols.Validator]]
) -> None:
    check_sarif(clean, validators)
    run = only_run(sarif_of(clean))
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.rule.id for r in clean.results]


def test_rules_follow_the_report(real: Report) -> None:
    run = only_run(sarif_of(real))
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.rule.id for r in real.results]
    for rule, result in zip(rules, real.results, strict=True):
        assert rule["name"] == result.rule.name
        assert rule["shortDescription"]["text"] == result.rule.title
        assert rule["fullDescription"]["text"] == result.rule.summary
        assert rule["helpUri"] == result.rule.docs_url
        for text in (rule["help"]["text"], rule["help"]["markdown"]):
            assert result.rule.fix in text
            assert result.rule.docs_url in text
            assert result.rule.checklist in text
    assert len(run["results"]) == len(real.findings)
    for item, f in zip(run["results"], real.findings, strict=True):
        assert item["ruleId"] == f.rule.id
        assert item["message"]["text"] == f.message


def test_physical_locations_and_anchor(real: Report) -> None:
    run = only_run(sarif_of(real))
    assert real.dockerfile == "build dir/Dockerfile"
    for item, f in zip(run["results"], real.findings, strict=True):
        physical = item["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "build%20dir/Dockerfile"
        assert f.location.artifact != "image"  # image anchoring: test_anchor_fallback_chain
        assert physical["region"]["startLine"] == (f.location.line or 1)
        assert "anchored" not in item["properties"]
        if f.location.pointer:
            assert item["locations"][0]["logicalLocations"][0]["name"] == f.location.pointer
            assert item["properties"]["pointer"] == f.location.pointer


def test_anchor_fallback_chain() -> None:
    info = rule_info(1)
    image_finding = finding(info, "about the image", image_location("config.User"), "f" * 32)
    result = failed(info, image_finding)

    def anchored(report: Report) -> str:
        item = only_run(sarif_of(report))["results"][0]
        assert item["properties"]["anchored"] is True
        assert item["properties"]["image"] == report.subject.reference
        physical = item["locations"][0]["physicalLocation"]
        assert physical["region"] == {"startLine": 1}
        uri: str = physical["artifactLocation"]["uri"]
        return uri

    both = [("compose", "deploy/compose.yaml", "given"), ("dockerfile", "docker/Dockerfile", "given")]
    assert anchored(report_of(result, inputs=both)) == "docker/Dockerfile"
    k8s = [("scan-report", "trivy.json", "given"), ("kubernetes", "k8s/app.yaml", "discovered")]
    assert anchored(report_of(result, inputs=k8s)) == "k8s/app.yaml"
    no_files = report_of(result, inputs=())
    assert anchored(no_files) == "Dockerfile"  # builtin policy only
    own = dataclasses.replace(
        no_files,
        policy=PolicyInfo("x", Severity.MEDIUM, (("builtin:default", "d1"), ("ci/gatekeeper.yaml", "d2"))),
    )
    assert anchored(own) == "ci/gatekeeper.yaml"


def test_level_mapping_for_every_severity() -> None:
    expected = {
        Severity.INFO: "note",
        Severity.LOW: "warning",
        Severity.MEDIUM: "warning",
        Severity.HIGH: "error",
        Severity.CRITICAL: "error",
    }
    scores = {Severity.LOW: "3.0", Severity.MEDIUM: "5.5", Severity.HIGH: "8.0", Severity.CRITICAL: "9.5"}
    results = []
    for i, severity in enumerate(Severity):
        security = rule_info(2 * i, "Non-root user", severity)
        other = rule_info(2 * i + 1, "Image size", severity)
        results.append(failed(security, finding(security, "x", image_location(), f"{2 * i:032x}")))
        results.append(failed(other, finding(other, "y", Location("Dockerfile", 3), f"{2 * i + 1:032x}")))
    run = only_run(sarif_of(report_of(*results)))
    assert len(run["results"]) == 2 * len(Severity)
    for i, severity in enumerate(Severity):
        for k in (2 * i, 2 * i + 1):
            assert run["results"][k]["level"] == expected[severity], severity
            rule = run["tool"]["driver"]["rules"][k]
            assert rule["defaultConfiguration"]["level"] == expected[severity], severity
        security_props = run["tool"]["driver"]["rules"][2 * i]["properties"]
        other_props = run["tool"]["driver"]["rules"][2 * i + 1]["properties"]
        assert security_props["tags"] == ["non-root-user", "security"]
        assert security_props.get("security-severity") == scores.get(severity), severity
        assert other_props["tags"] == ["image-size"]
        assert "security-severity" not in other_props


def test_result_level_follows_the_finding_not_the_rule() -> None:
    info = rule_info(1, severity=Severity.LOW)
    loud = finding(info, "loud", image_location(), "1" * 32, severity=Severity.CRITICAL)
    run = only_run(sarif_of(report_of(failed(info, loud))))
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == "warning"
    assert run["results"][0]["level"] == "error"
    assert run["results"][0]["properties"]["severity"] == "critical"


def test_security_tags(real: Report) -> None:
    run = only_run(sarif_of(real))
    for rule, result in zip(run["tool"]["driver"]["rules"], real.results, strict=True):
        security = result.rule.checklist in sarif_module.SECURITY_CHECKLIST
        assert ("security" in rule["properties"]["tags"]) is security, result.rule.name
        assert ("security-severity" in rule["properties"]) is (security and result.severity > Severity.INFO)


def test_fingerprints_stable_across_runs_and_line_moves(tmp_path: Path) -> None:
    first = only_run(sarif_of(real_report(tmp_path)))["results"]
    # A rebuild with a new digest and every Dockerfile line moved down by two.
    moved = "# syntax=docker/dockerfile:1\n# comment\n" + DOCKERFILE
    rebuilt = Image(layers=ROOT_IMAGE.layers, config=dict(ROOT_IMAGE.config, Env=["PATH=/bin", "X=1"]))
    second_report = real_report(tmp_path, image=rebuilt, dockerfile=moved)
    second = only_run(sarif_of(second_report))["results"]

    def keys(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [
            (
                r["ruleId"],
                r["fingerprints"]["gatekeeper/v1"],
                r["partialFingerprints"]["primaryLocationLineHash"],
            )
            for r in results
        ]

    assert keys(first) == keys(second)
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in first]
    moved_lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second]
    assert lines != moved_lines  # the same alerts, at new lines
    assert len({k for _, k, _ in keys(first)}) == len(first)


def test_duplicate_fingerprints_are_made_unique() -> None:
    info = rule_info(1)
    same = "9" * 32
    twins = (
        finding(info, "one", Location("Dockerfile", 2), same),
        finding(info, "two", Location("Dockerfile", 5), same),
        finding(info, "three", Location("Dockerfile", 9), same),
    )
    run = only_run(sarif_of(report_of(failed(info, *twins))))
    keys = [r["fingerprints"]["gatekeeper/v1"] for r in run["results"]]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    assert keys[0] == same
    assert len(set(keys)) == 3
    assert hashes == [f"{same}:1", f"{same}:2", f"{same}:3"]


def test_crashed_and_skipped_rules_are_notifications() -> None:
    run = only_run(sarif_of(sample_report()))
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    by_level = {n["level"]: n for n in notes}
    assert set(by_level) == {"error", "note"}
    rules = run["tool"]["driver"]["rules"]
    crashed = by_level["error"]
    assert rules[crashed["associatedRule"]["index"]]["id"] == crashed["associatedRule"]["id"] == "GK-TST-004"
    assert "ValueError: boom <here>" in crashed["message"]["text"]
    assert "no runtime config given" in by_level["note"]["message"]["text"]


def test_escaping_of_awkward_text() -> None:
    awkward = "quotes \" ' back\\slash\nnew\tline </script> ${{ x }} %0A ünïcode 🐳 \x00\x1b[31m"
    info = dataclasses.replace(rule_info(1), title='Title "quoted" <b>', fix="Use `x`\\n.")
    item = finding(
        info,
        awkward + " \udcff",
        Location("dir with space/Dockerfile#1", 4, "RUN ${HOME}"),
        "2" * 32,
        evidence=awkward,
    )
    text = render("sarif", report_of(failed(info, item)))
    text.encode("utf-8")
    assert "\udcff" not in text
    run = only_run(json.loads(text))
    result = run["results"][0]
    assert result["message"]["text"] == awkward + " \ufffd"
    assert result["properties"]["evidence"] == awkward
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == 'Title "quoted" <b>'
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%20with%20space/Dockerfile%231"


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("Dockerfile", "Dockerfile"),
        ("./deploy/k8s/app.yaml", "deploy/k8s/app.yaml"),
        ("build dir/Dockerfile", "build%20dir/Dockerfile"),
        ("/abs/path/Dockerfile", "file:///abs/path/Dockerfile"),
        ("C:\\repo\\Dockerfile", "file:///C:/repo/Dockerfile"),
        ("a:b/Dockerfile", "a%3Ab/Dockerfile"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert sarif_module.artifact_uri(path) == uri


@pytest.mark.parametrize(
    ("reference", "category_id"),
    [
        ("docker://registry.example.com/team/app:1.4.2", "gatekeeper/registry.example.com/team/app/"),
        ("docker://127.0.0.1:5000/app@sha256:" + "a" * 64, "gatekeeper/127.0.0.1-5000/app/"),
        ("docker-daemon:app:latest", "gatekeeper/app/"),
        ("nginx", "gatekeeper/nginx/"),
        ("docker-archive:/tmp/out/image.tar", "gatekeeper/image.tar/"),
        ("oci:./layout:v1", "gatekeeper/layout/"),
        ("docker://ghcr.io/o/n a*m?e:1", "gatekeeper/ghcr.io/o/n-a-m-e/"),
        ("", "gatekeeper/"),
    ],
)
def test_automation_id(reference: str, category_id: str) -> None:
    base = sample_report()
    report = dataclasses.replace(base, subject=dataclasses.replace(base.subject, reference=reference))
    assert only_run(sarif_of(report))["automationDetails"]["id"] == category_id


def test_result_cap_keeps_the_most_severe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif_module, "MAX_RESULTS", 3)
    info = rule_info(1, severity=Severity.LOW)
    severities = [Severity.INFO, Severity.HIGH, Severity.LOW, Severity.CRITICAL, Severity.HIGH]
    findings = [
        finding(info, f"n{k}", Location("Dockerfile", k + 1), f"{k:032x}", severity=s)
        for k, s in enumerate(severities)
    ]
    run = only_run(sarif_of(report_of(failed(info, *findings))))
    assert [r["message"]["text"] for r in run["results"]] == ["n1", "n3", "n4"]
    warning = [n for n in run["invocations"][0]["toolExecutionNotifications"] if n["level"] == "warning"]
    assert len(warning) == 1
    assert "2 of the least severe findings" in warning[0]["message"]["text"]


def test_waived_findings_are_suppressed() -> None:
    info = rule_info(1, "Non-root user", Severity.HIGH)
    external = WaiverInfo(info.id, "Legacy base image", "2030-01-01", "gatekeeper.yaml:12", "team-a", "OPS-1")
    inline = WaiverInfo(info.id, "Needs root for port 80", "2030-06-30", "build/Dockerfile:3")
    findings = (
        finding(info, "image", image_location("config.User"), "1" * 32, waiver=external),
        finding(info, "inline", Location("build/Dockerfile", 4, "USER"), "2" * 32, waiver=inline),
        finding(info, "active", Location("build/Dockerfile", 4, "USER"), "3" * 32),
    )
    report = report_of(RuleResult(info, Status.FAILED, Severity.HIGH, findings=findings))
    run = only_run(sarif_of(report))
    first, second, third = run["results"]
    assert first["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Legacy base image",
            "properties": {
                "expires": "2030-01-01",
                "origin": "gatekeeper.yaml:12",
                "rule": info.id,
                "owner": "team-a",
                "ticket": "OPS-1",
            },
        }
    ]
    assert second["suppressions"][0]["kind"] == "inSource"
    assert "owner" not in second["suppressions"][0]["properties"]
    assert "suppressions" not in third
    assert [r["properties"]["blocking"] for r in run["results"]] == [False, False, True]


def test_waived_output_is_valid(validators: list[tuple[str, jsonschema.protocols.Validator]]) -> None:
    info = rule_info(1)
    waiver = WaiverInfo(info.id, "reason", "2030-01-01", "")
    waived = finding(info, "w", image_location(), "4" * 32, waiver=waiver)
    report = report_of(RuleResult(info, Status.WAIVED, info.severity, findings=(waived,)))
    check_sarif(report, validators)
    assert only_run(sarif_of(report))["results"][0]["suppressions"][0]["kind"] == "external"


def test_default_limits() -> None:
    assert sarif_module.MAX_RESULTS == 25_000
    assert sarif_module.MAX_TAGS == 20
    info = dataclasses.replace(rule_info(1), name="n" * 300, title="t" * 2000, summary="s" * 2000)
    rule = only_run(sarif_of(report_of(RuleResult(info, Status.PASSED, info.severity))))["tool"]["driver"]
    described = rule["rules"][0]
    assert len(described["name"]) == 255
    assert len(described["shortDescription"]["text"]) == 1024
    assert len(described["fullDescription"]["text"]) == 1024


def test_output_is_deterministic_and_sorted(real: Report) -> None:
    text = render("sarif", real)
    assert text == render("sarif", real)
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    later = dataclasses.replace(real, started_at=real.started_at.replace(year=2030), duration_s=99.0)
    assert render("sarif", later) == text  # no clock in the output


def test_multitool_validates(
    multitool: tuple[Path, dict[str, str]], real: Report, clean: Report, tmp_path: Path
) -> None:
    info = rule_info(1)
    waiver = WaiverInfo(info.id, "reason", "2030-01-01", "gatekeeper.yaml:3", "me", "T-1")
    waived = report_of(
        failed(
            info,
            finding(info, "w", image_location("x"), "5" * 32, waiver=waiver),
            finding(info, "a", Location("Dockerfile", 2), "6" * 32),
        )
    )
    cases = (("sample", sample_report()), ("real", real), ("clean", clean), ("waived", waived))
    for name, report in cases:
        where = tmp_path / name
        where.mkdir()
        assert multitool_problems(multitool, render("sarif", report), where) == [], name


def test_multitool_catches_a_missing_location(multitool: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The validator run is real: a result without a location is an error (GH1015/GH1017)."""
    doc = sarif_of(sample_report())
    del doc["runs"][0]["results"][0]["locations"]
    problems = multitool_problems(multitool, json.dumps(doc), tmp_path)
    assert any(p.startswith("error GH") for p in problems), problems
