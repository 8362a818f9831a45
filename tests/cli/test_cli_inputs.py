"""Bad input through the command line: the documented exit code and one line on stderr, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.errors import ExitCode
from tests.cli import one_error, run

DEEP = "[" * 3000 + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "version: 1\nrules: {image-size: {on: true}}\n",
            ":2:22: rules.image-size.on: unknown key 'on'",
            id="on-key",
        ),
        pytest.param("version: 1\nrules: {1: true}\n", ":2:9: rules.1: unknown rule '1'", id="number-key"),
        pytest.param(
            "version: 1\n? [a]\n: 1\n",
            ":2:3: invalid YAML: a mapping key must be a plain value, not a list or a mapping",
            id="list-key",
        ),
        pytest.param("version: 1\nx: " + DEEP, ":2:", id="nested-too-deeply"),
    ],
)
def test_policy_yaml_keys_and_depth_exit_2(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(text)
    assert run("policy", "validate", str(policy)) == ExitCode.USAGE
    error = one_error(capsys)
    assert error.startswith(f"{policy}{message}")
    if "[[[" in text:
        assert error.endswith(": invalid YAML: the YAML is nested too deeply")


@pytest.mark.parametrize("name", ["compose.yaml", "deploy.yaml"])
def test_deeply_nested_compose_or_manifest_exit_3(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text("services:\n  app: " + DEEP)
    assert run("lint", str(path)) == ExitCode.INPUT
    error = one_error(capsys)
    assert error.startswith(f"{path}:2:")
    assert error.endswith(": invalid YAML: the YAML is nested too deeply")


@pytest.mark.parametrize("value", ["-1", "0", "-0.0", "nan", "inf", "-inf", "1e400", "soon"])
def test_timeout_must_be_a_positive_finite_number(
    good: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", good, f"--timeout={value}") == ExitCode.USAGE
    error = one_error(capsys)
    assert error.startswith(f"argument --timeout: {value!r} is not a")
    assert "number of seconds" in error


def test_timeout_accepts_positive_seconds(good: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", good, "--timeout", "0.5") == ExitCode.OK
    assert run("check", good, "--timeout", "30") == ExitCode.OK
    assert "READY for production" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(".inf", "size inf is too large", id="inf"),
        pytest.param("-1", "size -1 is negative", id="negative"),
        pytest.param("9" * 400, "size 9" + "9" * 35 + "... is too large", id="400-digits"),
    ],
)
def test_implausible_size_in_a_policy_exit_2(
    tmp_path: Path, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f"version: 1\nrules:\n  image-size:\n    options: {{max: {value}}}\n")
    assert run("policy", "validate", str(policy)) == ExitCode.USAGE
    error = one_error(capsys)
    assert error.startswith(f"{policy}:4:14: rules.image-size.options: rule image-size: option 'max': ")
    assert error.endswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '{"matches": [{"vulnerability": {"fix": {"state": "fixed", "versions": 5}}}]}',
            "broken scan report: matches[].vulnerability.fix.versions is a number, not a list",
            id="grype-fix-versions",
        ),
        pytest.param("[" * 100_000, "scan report is not valid JSON (nested too deeply)", id="deep"),
    ],
)
def test_broken_scan_report_exit_3(
    good: str, tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "scan.json"
    report.write_text(text)
    assert run("check", good, "--scan-report", str(report)) == ExitCode.INPUT
    assert one_error(capsys) == f"{report}: {message}"


def test_endless_policy_file_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "validate", "/dev/zero") == ExitCode.USAGE
    assert one_error(capsys) == "/dev/zero: a policy file larger than 4 MiB is not plausible"


def test_runtime_timeout_zero_is_rejected_by_validate_and_check_alike(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nruntime:\n  enabled: true\n  timeout: 0s\n")
    expected = f"{policy}:4:12: runtime.timeout: must be positive, got '0s' (write e.g. 60s)"
    assert run("policy", "validate", str(policy)) == ExitCode.USAGE
    assert one_error(capsys) == expected
    assert run("check", good, "--policy", str(policy)) == ExitCode.USAGE
    assert one_error(capsys) == expected


def test_scan_report_with_lone_surrogates(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by fuzzing: "\udfff" in a Trivy report crashed the vulnerabilities rule (exit 4)
    report = tmp_path / "trivy.json"
    report.write_text(
        '{"SchemaVersion": 2, "Results": [{"Target": "\\ud800", "Vulnerabilities": '
        '[{"VulnerabilityID": "CVE-\\udfff", "PkgName": "p", "Severity": "HIGH", "Title": "\\ud800"}]}]}'
    )
    out = tmp_path / "report.json"
    assert run("check", good, "--scan-report", str(report), "--json", str(out)) == ExitCode.GATE_FAILED
    doc = json.loads(out.read_text("utf-8"))
    (result,) = [r for r in doc["rules"] if r["name"] == "vulnerabilities"]
    assert result["status"] == "failed"
    (finding,) = [f for f in doc["findings"] if f["rule"] == "vulnerabilities"]
    assert "CVE-\ufffd" in finding["message"]
