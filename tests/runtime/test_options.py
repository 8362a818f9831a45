"""The `runtime:` policy section and the --run command-line flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy.loader import load_policy
from gatekeeper.policy.merge import merge
from gatekeeper.policy.show import render
from gatekeeper.rules import all_rules
from gatekeeper.runtime import DEFAULT_MEMORY, RunOptions, RunRequest, run_options

RULES = all_rules()
BASE = "version: 1\nextends: [builtin:default]\nruntime:\n  enabled: true\n  timeout: 30s\n  memory: 256MiB\n"
TOP = "version: 1\nextends: [base.yaml]\nruntime:\n  timeout: 2m\n  cpus: 0.5\n  kind: job\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults() -> None:
    options = run_options({})
    assert options == RunOptions()
    assert (options.enabled, options.timeout, options.memory, options.cpus, options.pids) == (
        False,
        60.0,
        DEFAULT_MEMORY,
        1.0,
        256,
    )


def test_policy_sections_merge_key_by_key(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    policy = load_policy([write(tmp_path, "top.yaml", TOP)], RULES)
    assert policy.runtime == {
        "enabled": True,
        "timeout": "2m",
        "memory": "256MiB",
        "cpus": 0.5,
        "kind": "job",
    }
    options = run_options(policy.runtime)
    assert (options.enabled, options.requested, options.timeout, options.kind) == (True, False, 120.0, "job")
    assert (options.memory, options.memory_from, options.cpus, options.cpus_from) == (
        256 << 20,
        "policy",
        0.5,
        "policy",
    )
    shown = render(policy, RULES, with_origin=True)
    assert "runtime:\n  cpus: 0.5  # " in shown
    assert "  timeout: 2m  # " + str(tmp_path / "top.yaml") + ":4" in shown


def test_command_line_wins() -> None:
    section = {"enabled": True, "timeout": "30s", "probe_image": "busybox:1.36"}
    options = run_options(section, RunRequest(enabled=False, timeout=5.0, probe_image="local/probe"))
    assert (options.enabled, options.timeout, options.probe_image) == (False, 5.0, "local/probe")
    options = run_options({}, RunRequest(enabled=True))
    assert options.enabled and options.requested


def test_zero_turns_a_limit_off() -> None:
    options = run_options({"memory": 0, "cpus": 0})
    assert (options.memory, options.cpus) == (None, None)


def test_merge_only_adds_runtime_when_present() -> None:
    assert "runtime" not in merge({}, {"rules": {}})
    assert merge({"runtime": {"timeout": "1s", "pids": 5}}, {"runtime": {"timeout": "2s"}})["runtime"] == {
        "timeout": "2s",
        "pids": 5,
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  timeout: soon\n", "runtime.timeout: 'soon' is not a duration"),
        ("  memory: lots\n", "runtime.memory: 'lots' is not a size"),
        ("  kind: daemon\n", "runtime.kind: 'daemon' is not one of"),
        ("  pids: 0\n", "runtime.pids: 0 is less than the minimum of 1"),
        ("  networks: host\n", "unknown key 'networks'"),
    ],
)
def test_invalid_sections_name_file_and_line(tmp_path: Path, section: str, message: str) -> None:
    path = write(tmp_path, "bad.yaml", "version: 1\nruntime:\n" + section)
    with pytest.raises(PolicyError) as info:
        load_policy([path], RULES)
    assert f"{path}:3:" in str(info.value)
    assert message in str(info.value)


def test_run_options_rejects_nonsense() -> None:
    with pytest.raises(PolicyError, match="timeout must be positive"):
        run_options({"timeout": 0})
    with pytest.raises(PolicyError, match=r"runtime\.timeout"):
        run_options({"timeout": "soon"})
