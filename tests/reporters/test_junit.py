from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from gatekeeper import api
from gatekeeper.reporters import RenderOptions, all_reporters
from gatekeeper.sources import SourceOptions
from tests.imagegen import BUSYBOX_READY, write_docker_archive
from tests.reporters.sample import sample_report
from tests.shared import shared_file


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(shared_file("schemas/junit/jenkins-xunit-junit-10.xsd")))


def render(report: object) -> str:
    return all_reporters()["junit"].render(report, RenderOptions())  # type: ignore[arg-type]


def test_sample_is_valid(schema: xmlschema.XMLSchema) -> None:
    schema.validate(render(sample_report()))


def test_one_case_per_rule_with_statuses() -> None:
    root = ET.fromstring(render(sample_report()))
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 6
    assert suite.get("tests") == "6" and suite.get("failures") == "1" and suite.get("errors") == "1"
    kinds = [next((c.tag for c in case if c.tag != "system-out"), "passed") for case in cases]
    assert kinds == ["failure", "passed", "passed", "error", "skipped", "passed"]
    assert cases[0].get("classname") == "gatekeeper.Non-root user"
    failure = cases[0].find("failure")
    assert failure is not None and failure.text is not None
    assert "at Dockerfile:12 (USER)" in failure.text and "Fix: " in failure.text
    advisory = cases[5].find("system-out")
    assert advisory is not None and "below the policy threshold" in (advisory.text or "")


def test_clean_run_counts_every_rule(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    write_docker_archive(tmp_path / "ok.tar", BUSYBOX_READY)
    report = api.check(f"docker-archive:{tmp_path / 'ok.tar'}", options=SourceOptions())
    text = render(report)
    schema.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) == len(report.results) > 5
    assert suite.get("failures") == "0"


def test_illegal_xml_characters_are_replaced(schema: xmlschema.XMLSchema) -> None:
    import dataclasses

    report = sample_report()
    bad = dataclasses.replace(
        report, subject=dataclasses.replace(report.subject, reference="app\x00\x1b:tag")
    )
    text = render(bad)
    schema.validate(text)
    assert "\x00" not in text and "\x1b" not in text
