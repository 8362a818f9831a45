"""The wheel carries the built-in policies and the policy schema."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_policies(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    [wheel] = tmp_path.glob("gatekeeper-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for policy in ("default", "strict", "minimal"):
        assert f"gatekeeper/_policies/{policy}.yaml" in names
    assert "gatekeeper/policy/schema.json" in names
    assert "gatekeeper/reporters/report.schema.json" in names
    assert "gatekeeper/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gatekeeper = gatekeeper.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
