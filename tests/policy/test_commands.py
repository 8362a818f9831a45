from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import cli
from gatekeeper.errors import ExitCode


def test_policy_show_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text(
        "version: 1\nextends: builtin:strict\nrules:\n  image-size: {options: {max: 1GB}}\n"
    )
    assert cli.main(["policy", "show", "--origin", "-p", "p.yaml"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "# sources: builtin:default, builtin:strict, p.yaml" in out
    assert "fail_on: low  # builtin:strict:" in out
    assert "      max: 1GB  # p.yaml:4" in out
    assert "  GK-IMG-001:  # runs-as-root" in out


def test_policy_show_profile_by_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".gatekeeper.yaml").write_text(
        "version: 1\nprofiles:\n  prod: {match: ['*:prod'], fail_on: critical}\n"
    )
    assert cli.main(["policy", "show", "--image", "app:prod"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "# profile: prod" in out and "fail_on: critical" in out


def test_policy_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["policy", "init"]) == ExitCode.OK
    assert cli.main(["policy", "validate", ".gatekeeper.yaml"]) == ExitCode.OK
    assert "extends: [builtin:default]" in Path(".gatekeeper.yaml").read_text()
    assert cli.main(["policy", "init"]) == ExitCode.USAGE
    assert "exists; use --force" in capsys.readouterr().err
    assert cli.main(["policy", "init", "--extends", "builtin:strict", "--force"]) == ExitCode.OK
    assert cli.main(["policy", "init", "--extends", "builtin:nope", "--force"]) == ExitCode.USAGE


def test_policy_init_where_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # it said "cannot write report: File exists" (found by fuzzing)
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "p.yaml"
    assert cli.main(["policy", "init", "--output", str(target)]) == ExitCode.INPUT
    assert capsys.readouterr().err == (
        f"gatekeeper: error: {target}: cannot write the policy: a parent directory is a file\n"
    )


def test_policy_schema_is_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import jsonschema

    assert cli.main(["policy", "schema"]) == ExitCode.OK
    jsonschema.Draft7Validator.check_schema(json.loads(capsys.readouterr().out))
