"""action.yml: valid, and its steps run in bash the way the runner runs a composite action."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.imagegen import BUSYBOX_READY, BUSYBOX_ROOT, Image, write_docker_archive
from tests.integrations.tools import npm_tool
from tests.shared import shared_file

REPO = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def test_action_schema() -> None:
    schema = json.loads(shared_file("schemas/github/github-action.json").read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(ACTION))
    assert errors == []


def test_action_validator_cli(tmp_path: Path) -> None:
    validator = npm_tool("@action-validator/cli", "0.6.0", "action-validator")
    ok = subprocess.run(
        [str(validator), str(REPO / "action.yml")], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "action.yml"
    broken.write_text((REPO / "action.yml").read_text().replace("using: composite", "using: compost"))
    bad = subprocess.run([str(validator), str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode != 0  # the validator really validates


def test_inputs_reach_run_only_through_env() -> None:
    """No `${{ inputs.* }}` inside a run script: that is the template-injection pattern."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


@dataclass
class Runner:
    """Just enough of the Actions runner: expressions, env files, bash -eo pipefail."""

    workspace: Path
    temp: Path
    inputs: dict[str, str]
    install: bool = False
    """Run the install step (done once per module; later runs reuse its venv in RUNNER_TEMP)."""

    def expression(self, text: str, outputs: Mapping[str, Mapping[str, str]]) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("inputs."):
                name = expr[len("inputs.") :]
                default = str(ACTION["inputs"][name].get("default", ""))
                return self.inputs.get(name, default)
            if expr == "github.action_path":
                return str(REPO)
            if expr == "runner.temp":
                return str(self.temp)
            step, _, key = expr.removeprefix("steps.").partition(".outputs.")
            return outputs.get(step, {}).get(key, "")

        return _EXPR.sub(value, text)

    def condition(self, text: str) -> bool:
        left, _, right = text.partition("!=")
        return self.expression("${{ " + left.strip() + " }}", {}) != right.strip().strip("'")

    def run(self) -> tuple[int, str, dict[str, str], str]:
        outputs: dict[str, dict[str, str]] = {}
        env_files = {"GITHUB_OUTPUT": self.temp / "output", "GITHUB_STEP_SUMMARY": self.temp / "summary"}
        for path in env_files.values():
            path.write_text("")
        log = []
        code = 0
        for step in ACTION["runs"]["steps"]:
            if "if" in step and not self.condition(step["if"]):
                continue
            if "uses" in step:
                continue  # actions/setup-python: the machine's Python is used
            if step["name"] == "Install gatekeeper" and not self.install:
                continue
            env = {k: self.expression(str(v), outputs) for k, v in step.get("env", {}).items()}
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.workspace,
                env={
                    **os.environ,
                    **{k: str(v) for k, v in env_files.items()},
                    "GITHUB_ACTIONS": "true",
                    "RUNNER_TEMP": str(self.temp),
                    "GITHUB_WORKSPACE": str(self.workspace),
                    **env,
                },
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            log.append(proc.stdout + proc.stderr)
            step_outputs = dict(
                line.split("=", 1)
                for line in env_files["GITHUB_OUTPUT"].read_text().splitlines()
                if "=" in line
            )
            outputs[step.get("id", "")] = step_outputs
            if proc.returncode != 0:
                code = proc.returncode
                break
        action_outputs = {k: self.expression(v["value"], outputs) for k, v in ACTION["outputs"].items()}
        return code, "".join(log), action_outputs, env_files["GITHUB_STEP_SUMMARY"].read_text()


GOOD = BUSYBOX_READY
ROOT = BUSYBOX_ROOT


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RUNNER_TEMP for the module; the install step runs once here, for real."""
    temp = tmp_path_factory.mktemp("runner")
    work = tmp_path_factory.mktemp("install-work")
    code, log, _, _ = Runner(work, temp, {"image": "docker-archive:none.tar"}, install=True).run()
    assert code == 3, log  # installed, then the check ran and could not read the (missing) image
    assert "gatekeeper 0.1.0" in log
    return temp


def workspace(tmp_path: Path, image: Image) -> Path:
    work = tmp_path / "workspace"
    work.mkdir()
    write_docker_archive(work / "app.tar", image, tags=("example/app:prod",))
    (work / "compose.yaml").write_text(
        "services:\n  app:\n    image: example/app:prod\n    deploy:\n      resources:\n"
        "        limits: {cpus: '0.5', memory: 256M}\n"
    )
    return work


def test_gate_passes(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, GOOD)
    runner = Runner(work, runner_temp, {"image": "docker-archive:app.tar", "junit-file": "reports/junit.xml"})
    code, log, outputs, summary = runner.run()
    assert code == 0, log
    assert outputs["result"] == "passed"
    assert outputs["sarif-file"] == "gatekeeper.sarif" and (work / "gatekeeper.sarif").is_file()
    assert outputs["junit-file"] == "reports/junit.xml" and (work / "reports" / "junit.xml").is_file()
    assert "::notice title=gatekeeper::docker-archive:app.tar: ready for production" in log
    assert summary.strip(), "the job summary is empty"


def test_gate_fails_with_annotations_and_summary(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, ROOT)
    runner = Runner(work, runner_temp, {"image": "docker-archive:app.tar", "compose": "compose.yaml\n"})
    code, log, outputs, summary = runner.run()
    assert code == 1
    assert outputs["result"] == "failed" and int(outputs["findings"]) >= 1
    assert "::error title=GK-IMG-001 runs-as-root" in log
    assert "::error title=gatekeeper::the image is not ready for production" in log
    assert "runs-as-root" in summary


def test_warn_only_and_fail_on(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, ROOT)
    assert Runner(work, runner_temp, {"image": "docker-archive:app.tar", "warn-only": "true"}).run()[0] == 0
    assert Runner(work, runner_temp, {"image": "docker-archive:app.tar", "fail-on": "critical"}).run()[0] == 0


def test_multiline_inputs_and_injection_safety(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, GOOD)
    (work / "p.yaml").write_text("version: 1\nextends: builtin:default\n")
    marker = work / "pwned"
    inputs = {
        "image": "docker-archive:app.tar",
        "policy": "  p.yaml  \n\nbuiltin:minimal\n",
        "dockerfile": f"Dockerfile$(touch {marker})",
    }
    code, log, _, _ = Runner(work, runner_temp, inputs).run()
    assert code == 3  # the odd Dockerfile name is just a missing file
    assert not marker.exists()
    assert "not found" in log


def test_args_input(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, GOOD)
    (work / "Dockerfile").write_text("FROM scratch\n")  # would be discovered without --no-discover
    inputs = {"image": "docker-archive:app.tar", "args": "--no-discover\n  --platform linux/amd64  \n"}
    code, log, outputs, _ = Runner(work, runner_temp, inputs).run()
    assert code == 0, log
    assert outputs["result"] == "passed"
    bad = {"image": "docker-archive:app.tar", "args": "rm -rf /"}
    code, log, _, _ = Runner(work, runner_temp, bad).run()
    assert code == 2
    assert "is not a flag" in log


def test_bad_input_exit_codes(tmp_path: Path, runner_temp: Path) -> None:
    work = workspace(tmp_path, GOOD)
    code, log, _, _ = Runner(work, runner_temp, {"image": "docker-archive:missing.tar"}).run()
    assert code == 3 and "an input could not be read (exit 3)" in log
    code, log, _, _ = Runner(
        work, runner_temp, {"image": "docker-archive:app.tar", "fail-on": "severe"}
    ).run()
    assert code == 2 and "usage error or invalid policy (exit 2)" in log


def test_python_too_old_is_reported(tmp_path: Path) -> None:
    """The install step stops with a clear message on a runner Python older than 3.11."""
    script = ACTION["runs"]["steps"][1]["run"]
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"  # `python3 -c CODE` on a Python that says it is 3.10
        f'exec "{sys.executable}" -c "import sys; sys.version_info = (3, 10, 14); exec(sys.argv[1])" "$2"\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "GK_VENV": str(tmp_path / "venv")}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "gatekeeper needs Python >= 3.11; set the python-version input" in proc.stderr
    assert not (tmp_path / "venv").exists()
