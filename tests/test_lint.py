"""`gatekeeper lint`: Dockerfiles and runtime config judged without an image (pre-commit, early CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper import cli
from gatekeeper.errors import ExitCode
from gatekeeper.reporters import reporter, reporter_names

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
FROM local/python:3.11 AS builder
COPY requirements.txt .
RUN pip install --prefix=/install -r requirements.txt
FROM local/python:3.11-slim
COPY --from=builder /install/ /usr/local/
USER 10001:10001
HEALTHCHECK CMD ["python3", "/app/healthcheck.py"]
CMD ["python3", "/app/main.py"]
"""
ROOTED = 'FROM local/python:3.11\nCOPY . .\nCMD ["python3", "main.py"]\n'
COMPOSE = "services:\n  app:\n    image: app:1\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Dockerfile").write_text(GOOD)
    (tmp_path / ".dockerignore").write_text(".git\n.env\n*.pem\n*.key\nid_rsa\n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Dockerfile").write_text(ROOTED)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = cli.main(["lint", "--format", "json", *argv])
    out, err = capsys.readouterr()
    reports = [json.loads(out)] if out.strip() else []
    return code, reports, err


def failed(report: dict[str, Any]) -> set[str]:
    return {r["name"] for r in report["rules"] if r["status"] == "failed"}


def test_defaults_to_the_dockerfile_here(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, [report], _ = lint(capsys)
    assert code == ExitCode.OK
    assert failed(report) == set()


def test_one_run_per_dockerfile_worst_exit_wins(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lint", "Dockerfile", "bad/Dockerfile", "--color", "never"]) == ExitCode.GATE_FAILED
    out = capsys.readouterr().out
    assert out.count("✓ READY for production") == 1
    assert out.count("✗ NOT READY for production") == 1
    code, [good], _ = lint(capsys, "Dockerfile")
    assert code == ExitCode.OK
    assert failed(good) == set()
    code, [bad], _ = lint(capsys, "bad/Dockerfile")
    assert code == ExitCode.GATE_FAILED
    assert {"runs-as-root", "healthcheck-missing", "dockerignore"} <= failed(bad)


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "gitlab", "html"])
def test_one_document_formats_take_one_dockerfile(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Two reports concatenated on stdout would be invalid JSON, SARIF or XML: a usage error."""
    assert cli.main(["lint", "Dockerfile", "bad/Dockerfile", "--format", fmt]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert f"lint --format {fmt} judges one Dockerfile at a time (2 given)" in err


def test_compose_file_alone_judges_resource_limits(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, [report], _ = lint(capsys, "compose.yaml")
    assert code == ExitCode.GATE_FAILED
    assert "resource-limits-missing" in failed(report)


def test_other_paths_are_named_on_stderr(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, [report], err = lint(capsys, "bad", "README.md", "compose.yaml")
    assert code == ExitCode.GATE_FAILED
    assert [i["path"] for i in report["inputs"]] == ["compose.yaml"]
    assert "gatekeeper lint: ignoring bad: not named like a Dockerfile" in err
    assert "gatekeeper lint: ignoring README.md:" in err


def test_nothing_to_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lint"]) == ExitCode.OK
    assert "no Dockerfile, compose file or manifest to judge" in capsys.readouterr().out


def test_missing_dockerfile_is_an_input_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lint", "Dockerfile.prod"]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.strip() == "gatekeeper: error: Dockerfile.prod: Dockerfile not found"


def test_pre_commit_hook_passes_only_files_lint_judges() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "gatekeeper lint"
    files = re.compile(hook["files"])
    names = [
        "Dockerfile",
        "svc/Dockerfile.prod",
        "api.dockerfile",
        "Containerfile",
        "compose.yaml",
        "deploy/docker-compose.prod.yml",
    ]
    for name in names:
        assert files.search(name), name
        dockerfiles, composes, manifests, other = cli.classify([name])
        assert (dockerfiles or composes) and not (manifests or other), name
    for name in ["README.md", "values.yaml", "src/Dockerfile/notes.txt"]:
        assert not files.search(name), name


def test_repo_policy_found_and_policy_option_wins(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".gatekeeper.yaml").write_text(
        "version: 1\nextends: builtin:default\nrules:\n  dockerignore: false\n"
    )
    _, [report], _ = lint(capsys, "bad/Dockerfile")
    assert "dockerignore" not in failed(report)
    assert [s["origin"] for s in report["policy"]["sources"]] == ["builtin:default", ".gatekeeper.yaml"]
    _, [report], _ = lint(capsys, "-p", "builtin:default", "bad/Dockerfile")
    assert "dockerignore" in failed(report)


def test_the_formats_that_can_follow_one_another() -> None:
    streams = [name for name in reporter_names() if reporter(name).streams]
    assert streams == ["console", "github", "markdown"]  # text; the others are whole documents


@pytest.mark.parametrize("fmt", ["console", "github", "markdown"])
def test_text_formats_take_several_dockerfiles(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    assert cli.main(["lint", "Dockerfile", "bad/Dockerfile", "--format", fmt]) == ExitCode.GATE_FAILED
    both = capsys.readouterr().out
    alone = []
    for dockerfile in ("Dockerfile", "bad/Dockerfile"):
        cli.main(["lint", dockerfile, "--format", fmt])
        alone.append(capsys.readouterr().out)
    assert both == "".join(alone) and alone[0] and alone[1]  # one report per Dockerfile, in order
