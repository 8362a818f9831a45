from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy import loader
from gatekeeper.policy.loader import builtin_dir, builtin_names, load_policy, schema
from gatekeeper.rules import all_rules

RULES = all_rules()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def load(*specs: str) -> object:
    return load_policy(list(specs), RULES)


def error_of(*specs: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(list(specs), RULES)
    return str(info.value)


def test_default_is_builtin_default() -> None:
    policy = load_policy([], RULES)
    assert policy.fail_on is Severity.MEDIUM
    assert {"GK-IMG-001", "GK-IMG-002", "GK-IMG-003"} <= set(policy.rules)
    assert policy.sources[0].origin == "builtin:default"
    assert policy.sources[0].digest.startswith("sha256:")


@pytest.mark.parametrize("name", ["default", "strict", "minimal"])
def test_builtins_load(name: str) -> None:
    assert name in builtin_names()
    load_policy([f"builtin:{name}"], RULES)


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_pass_the_schema(name: str) -> None:
    # The loader trusts what ships with gatekeeper and skips the schema for built-ins: this is
    # where they are checked.
    data = yaml.safe_load((builtin_dir() / f"{name}.yaml").read_text("utf-8"))
    assert [e.message for e in jsonschema.Draft7Validator(schema()).iter_errors(data)] == []


def test_builtins_are_not_validated_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    validated: list[str] = []
    real = loader._validate

    def counted(doc: Any) -> None:
        validated.append(doc.origin)
        real(doc)

    monkeypatch.setattr(loader, "_validate", counted)
    load_policy(["builtin:strict"], RULES)
    assert validated == []
    own = write(tmp_path, "gk.yaml", "version: 1\nextends: builtin:strict\n")
    load_policy([str(own)], RULES)
    assert validated == [str(own)]


def test_strict_extends_default_and_tightens() -> None:
    policy = load_policy(["builtin:strict"], RULES)
    assert policy.fail_on is Severity.LOW
    assert [s.origin for s in policy.sources] == ["builtin:default", "builtin:strict"]
    root = policy.rules["GK-IMG-001"]
    assert root.severity is Severity.CRITICAL
    assert root.options == {"min_uid": 10000, "require_numeric": True}
    assert policy.rules["GK-IMG-003"].options == {"max": "150MB"}


def test_repo_policy_extends_and_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "gk.yaml",
        "version: 1\nextends: builtin:default\nfail_on: high\nrules:\n"
        "  image-size: {options: {max: 1GB}}\n  GK-IMG-002: false\n",
    )
    policy = load_policy([path], RULES)
    assert policy.fail_on is Severity.HIGH
    assert policy.rules["GK-IMG-003"].options == {"max": "1GB"}
    assert policy.rules["GK-IMG-003"].severity is Severity.MEDIUM
    assert policy.rules["GK-IMG-002"].enabled is False


def test_relative_extends(tmp_path: Path) -> None:
    write(tmp_path, "org/base.yaml", "version: 1\nfail_on: critical\nrules: {runs-as-root: true}\n")
    team = write(tmp_path, "team/gk.yaml", "version: 1\nextends: [../org/base.yaml]\n")
    policy = load_policy([team], RULES)
    assert policy.fail_on is Severity.CRITICAL
    assert list(policy.rules) == ["GK-IMG-001"]


def test_unknown_key_names_file_line_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nfail_onn: high\n")
    assert error_of(path) == f"{path}:2:1: fail_onn: unknown key 'fail_onn' (did you mean 'fail_on'?)"


def test_unknown_rule_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules:\n  runs-as-rot: {}\n")
    message = error_of(path)
    assert message.startswith(f"{path}:3:3: rules.runs-as-rot: unknown rule")
    assert "did you mean 'runs-as-root'?" in message


def test_bad_option_type(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules:\n  runs-as-root:\n    options: {min_uid: lots}\n")
    message = error_of(path)
    assert message.startswith(f"{path}:4:14: rules.runs-as-root.options:")
    assert "option 'min_uid': expected an integer" in message


def test_unknown_option_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules:\n  image-size: {options: {maxx: 1MB}}\n")
    assert "unknown option 'maxx' (did you mean 'max'?)" in error_of(path)


def test_bad_size(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules:\n  image-size: {options: {max: huge}}\n")
    assert "'huge' is not a size" in error_of(path)


def test_bad_severity(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nfail_on: urgent\n")
    assert error_of(path).startswith(f"{path}:2:10: fail_on: 'urgent' is not one of")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules: [\n")
    assert error_of(path).startswith(f"{path}:3:1: invalid YAML:")


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nfail_on: low\nfail_on: high\n")
    assert "duplicate key 'fail_on'" in error_of(path)


def test_wrong_version(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 2\n")
    assert "unsupported policy version 2" in error_of(path)


def test_missing_version(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "fail_on: high\n")
    assert "'version' is required" in error_of(path)


def test_empty_and_non_mapping(tmp_path: Path) -> None:
    assert "is empty" in error_of(write(tmp_path, "e.yaml", ""))
    assert "must be a mapping" in error_of(write(tmp_path, "l.yaml", "- 1\n"))


def test_cycle_shows_chain(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "version: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "version: 1\nextends: a.yaml\n")
    message = error_of(a)
    assert message.startswith("policy extends itself: ")
    assert message.count("a.yaml") == 2 and "b.yaml" in message


def test_missing_file_and_unknown_builtin(tmp_path: Path) -> None:
    assert error_of(str(tmp_path / "nope.yaml")).endswith("nope.yaml: policy file not found")
    assert "unknown built-in policy 'builtin:nope'" in error_of("builtin:nope")


def test_same_rule_by_name_and_id(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nrules:\n  runs-as-root: {}\n  GK-IMG-001: {}\n")
    assert "is set twice" in error_of(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"version: 1\n\xff\xfe\n")
    assert "not UTF-8" in error_of(str(path))


def test_policy_file_larger_than_4_mib(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: 4 MiB + 1 of NUL bytes
        handle.truncate((4 << 20) + 1)
    assert error_of(str(big)) == f"{big}: a policy file larger than 4 MiB is not plausible"
    with big.open("r+b") as handle:  # exactly 4 MiB is read (and then is not YAML)
        handle.truncate(4 << 20)
    assert error_of(str(big)).startswith(f"{big}: invalid YAML: unacceptable character #x0000")


def test_policy_from_dev_zero_is_refused() -> None:
    assert error_of("/dev/zero") == "/dev/zero: a policy file larger than 4 MiB is not plausible"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "runtime.timeout: must be positive, got 0 (write e.g. 60s)"),
        ("0s", "runtime.timeout: must be positive, got '0s' (write e.g. 60s)"),
        ("0.0", "runtime.timeout: must be positive, got 0.0 (write e.g. 60s)"),
        ("-5", "runtime.timeout: duration -5 is negative"),
        ("-1s", "runtime.timeout: '-1s' is not a duration (examples: 30s, 1m30s, 250ms)"),
        (".inf", "runtime.timeout: duration inf is too large"),
    ],
)
def test_runtime_timeout_must_be_positive(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, "p.yaml", f"version: 1\nruntime:\n  enabled: false\n  timeout: {value}\n")
    assert error_of(path) == f"{path}:4:12: {message}"


def test_runtime_zero_observe_and_memory_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nruntime:\n  timeout: 1ms\n  observe: 0\n  memory: 0\n")
    assert load_policy([path], RULES).runtime == {"timeout": "1ms", "observe": 0, "memory": 0}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # float(10**400) overflowed in run_options: exit 4
        (f"cpus: {10**400}", "runtime.cpus: " + "1" + "0" * 39 + "... is greater than the maximum of 1024"),
        ("cpus: 2048", "runtime.cpus: 2048 is greater than the maximum of 1024"),
        ("pids: 99999999", "runtime.pids: 99999999 is greater than the maximum of 4194304"),
    ],
)
def test_runtime_limits_have_a_maximum(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "p.yaml", f"version: 1\nruntime:\n  {line}\n")
    assert error_of(path) == f"{path}:3:9: {message}"


def test_runtime_memory_past_docker_s_limit(tmp_path: Path) -> None:
    # It passed validation; `check --run` then failed the image (container-crashed, exit 1).
    path = write(tmp_path, "p.yaml", "version: 1\nruntime:\n  memory: 9999999TiB\n")
    assert error_of(path) == f"{path}:3:11: runtime.memory: '9999999TiB' is more than Docker can set (8 EiB)"
    assert load_policy([write(tmp_path, "ok.yaml", "version: 1\nruntime:\n  memory: 8000000TiB\n")], RULES)


def test_long_values_are_cut_in_schema_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\nfail_on: [" + ", ".join(["low"] * 50) + "]\n")
    assert error_of(path) == (
        f"{path}:2:10: fail_on: ['low', 'low', 'low', 'low', 'low', 'low... is not one of "
        "['info', 'low', 'medium', 'high', 'critical']"
    )


@pytest.mark.parametrize(
    "spec",
    [
        "a\\0b.yaml",
        "git+file:///tmp/x\\0y.git#p.yaml",
        "git+file:///tmp/x.git#p\\0.yaml",
        "git+file:///tmp/x.git@ma\\0ster#p.yaml",
        "https://example.com/p.yaml#\\e]0;pwned\\a",
    ],
)
def test_extends_with_a_control_character(tmp_path: Path, spec: str) -> None:
    # A NUL reached open() or git (a ValueError: exit 4); an escape reached the terminal.
    path = write(tmp_path, "p.yaml", f'version: 1\nextends: ["{spec}"]\n')
    error = error_of(path)
    assert error.endswith(
        f": not a valid policy reference (it holds a control character) (extended by {path})"
    )
    assert not any(ord(c) < 32 for c in error)


def test_extends_with_a_broken_url(tmp_path: Path) -> None:
    url = write(tmp_path, "url.yaml", 'version: 1\nextends: ["https://[::1/org.yaml"]\n')
    assert error_of(url) == "https://[::1/org.yaml: not a valid URL (Invalid IPv6 URL)"


@pytest.mark.parametrize("option", ["grace_days", "max_report_age_days"])
@pytest.mark.parametrize("days", [-1, 36_501, 10**12])
def test_vulnerability_days_are_bounded(tmp_path: Path, option: str, days: int) -> None:
    # 10**12 days overflowed timedelta inside the rule (status error); -1 failed every report
    text = f"version: 1\nrules:\n  vulnerabilities:\n    options: {{{option}: {days}}}\n"
    path = write(tmp_path, "p.yaml", text)
    assert error_of(path) == (
        f"{path}:4:14: rules.vulnerabilities.options: rule vulnerabilities: option {option!r}: "
        f"{days} days is not between 0 and 36500"
    )
