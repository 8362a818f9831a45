from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.reporters import RenderOptions, all_reporters
from tests.reporters.sample import sample_report


def test_shape() -> None:
    doc = json.loads(all_reporters()["json"].render(sample_report(), RenderOptions()))
    assert doc["schema_version"] == 1
    assert doc["verdict"] == {"ready": False, "blocking": 2, "findings": 3, "waived": 0, "errors": 1}
    assert [r["status"] for r in doc["rules"]] == [
        "failed",
        "passed",
        "passed",
        "error",
        "skipped",
        "failed",
    ]
    first = doc["findings"][0]
    assert first["rule_id"] == "GK-TST-001"
    assert first["blocking"] is True
    assert first["location"] == {"artifact": "image", "line": None, "pointer": "config.User"}
    assert doc["findings"][2]["blocking"] is False
    assert doc["policy"]["sources"][0]["origin"] == "builtin:default"


def test_report_schema_is_valid_and_matches_outputs(tmp_path: Path) -> None:
    import jsonschema

    from gatekeeper import api
    from gatekeeper.reporters.json import schema
    from gatekeeper.sources import SourceOptions
    from tests.imagegen import BUSYBOX_LIKE, write_docker_archive

    validator = jsonschema.Draft7Validator(schema(), format_checker=jsonschema.FormatChecker())
    jsonschema.Draft7Validator.check_schema(schema())
    sample = json.loads(all_reporters()["json"].render(sample_report(), RenderOptions()))
    assert list(validator.iter_errors(sample)) == []
    write_docker_archive(tmp_path / "a.tar", BUSYBOX_LIKE)
    real = api.check(f"docker-archive:{tmp_path / 'a.tar'}", options=SourceOptions())
    doc = json.loads(all_reporters()["json"].render(real, RenderOptions()))
    assert list(validator.iter_errors(doc)) == []
    lint = json.loads(all_reporters()["json"].render(api.check(None), RenderOptions()))
    assert list(validator.iter_errors(lint)) == []


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    from gatekeeper import cli

    assert cli.main(["schema", "report"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("gatekeeper JSON report")
