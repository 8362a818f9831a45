"""Running Trivy or Grype when the policy asks for it (scanner: trivy|grype) and no report is given.

Neither scanner nor its vulnerability database can be installed offline, so the scanners here are
small executables on a temporary PATH that record their arguments and print a real-shaped report;
the parsing, the rule and the messages are the real ones.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gatekeeper import api
from gatekeeper.errors import ExitCode
from gatekeeper.scanners import run_scanner, scanner_args
from gatekeeper.sources import SourceOptions, parse_reference
from tests.imagegen import BUSYBOX_LIKE, Image, write_docker_archive

TRIVY_REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "app.tar",
    "Results": [
        {
            "Target": "app.tar (debian 12.5)",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2026-1111",
                    "PkgName": "openssl",
                    "InstalledVersion": "3.0.11",
                    "FixedVersion": "3.0.13",
                    "Severity": "CRITICAL",
                    "Title": "example",
                }
            ],
        }
    ],
}
GRYPE_REPORT = {"matches": [], "source": {"type": "image", "target": {"userInput": "app"}}}


def fake_scanner(bin_dir: Path, name: str, stdout: str, code: int = 0, stderr: str = "") -> Path:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / f"{name}.out").write_text(stdout)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{bin_dir}/{name}.args"\n'
        f'cat "{bin_dir}/{name}.out"\n'
        f'printf "%s" "{stderr}" >&2\n'
        f"exit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def environ(bin_dir: Path) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir)}


@pytest.mark.parametrize(
    ("reference", "trivy", "grype"),
    [
        ("app:prod", ["--image-src", "docker", "app:prod"], ["docker:app:prod"]),
        ("docker-archive:/x/app.tar", ["--input", "/x/app.tar"], ["docker-archive:/x/app.tar"]),
        ("oci:/x/layout", ["--input", "/x/layout"], ["oci-dir:/x/layout"]),
        (
            "docker://reg.example.com/a:1",
            ["--image-src", "remote", "reg.example.com/a:1"],
            ["registry:reg.example.com/a:1"],
        ),
    ],
)
def test_scanner_arguments(reference: str, trivy: list[str], grype: list[str]) -> None:
    ref = parse_reference(reference)
    assert scanner_args("trivy", ref)[-len(trivy) :] == trivy
    assert scanner_args("grype", ref)[-len(grype) :] == grype


def test_trivy_runs_and_its_report_is_judged(tmp_path: Path) -> None:
    bin_dir = fake_scanner(tmp_path / "bin", "trivy", json.dumps(TRIVY_REPORT))
    write_docker_archive(tmp_path / "app.tar", BUSYBOX_LIKE)
    (tmp_path / "p.yaml").write_text(
        "version: 1\nrules:\n  vulnerabilities: {options: {scanner: trivy, severity: high}}\n"
    )
    report = api.check(
        f"docker-archive:{tmp_path / 'app.tar'}",
        policies=[str(tmp_path / "p.yaml")],
        options=SourceOptions(environ=environ(bin_dir)),
    )
    [result] = [r for r in report.results if r.rule.name == "vulnerabilities"]
    assert [f.message for f in result.findings] == [
        "CVE-2026-1111 (critical) in openssl 3.0.11, fixed in 3.0.13: example"
    ]
    args = (bin_dir / "trivy.args").read_text().split()
    assert args[:2] == ["image", "--format"]
    assert args[-2:] == ["--input", str(tmp_path / "app.tar")]
    assert not report.passed


def test_missing_scanner_is_said_plainly(tmp_path: Path) -> None:
    write_docker_archive(tmp_path / "app.tar", BUSYBOX_LIKE)
    (tmp_path / "p.yaml").write_text(
        "version: 1\nrules:\n  vulnerabilities: {options: {scanner: grype, missing: fail}}\n"
    )
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    report = api.check(
        f"docker-archive:{tmp_path / 'app.tar'}",
        policies=[str(tmp_path / "p.yaml")],
        options=SourceOptions(environ={"PATH": str(empty)}),
    )
    [result] = [r for r in report.results if r.rule.name == "vulnerabilities"]
    assert result.findings[0].message == (
        "No vulnerability scan passed: scanner grype is not on PATH (install it or pass --scan-report)."
    )


def test_scanner_failure_and_bad_output(tmp_path: Path) -> None:
    ref = parse_reference(f"docker-archive:{tmp_path / 'app.tar'}")
    failing = fake_scanner(tmp_path / "bin1", "trivy", "", code=1, stderr="FATAL: db download failed")
    report, note = run_scanner("trivy", ref, environ(failing))
    assert report is None
    assert note == "trivy exited with 1: FATAL: db download failed"
    garbage = fake_scanner(tmp_path / "bin2", "grype", "not json")
    report, note = run_scanner("grype", ref, environ(garbage))
    assert report is None
    assert "is not valid JSON" in note
    ok = fake_scanner(tmp_path / "bin3", "grype", json.dumps(GRYPE_REPORT))
    report, note = run_scanner("grype", ref, environ(ok))
    assert report is not None
    assert (report.scanner, report.vulnerabilities, note) == ("grype", (), "")


def test_given_report_wins_over_the_scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekeeper import cli

    bin_dir = fake_scanner(tmp_path / "bin", "trivy", json.dumps(TRIVY_REPORT))
    write_docker_archive(tmp_path / "app.tar", Image(layers=BUSYBOX_LIKE.layers, config={"User": "10001"}))
    (tmp_path / "p.yaml").write_text("version: 1\nrules:\n  vulnerabilities: {options: {scanner: trivy}}\n")
    clean = dict(TRIVY_REPORT, Results=[])
    (tmp_path / "scan.json").write_text(json.dumps(clean))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        ["check", "docker-archive:app.tar", "--no-discover", "-p", "p.yaml", "--scan-report", "scan.json"]
    )
    assert code == ExitCode.OK
    assert not (bin_dir / "trivy.args").exists()  # the scanner did not run
