from __future__ import annotations

import json

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
