from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import cli
from gatekeeper.errors import ExitCode
from tests.cli import CHECKOUT, GOOD, ROOT, one_error, run
from tests.imagegen import Image, file, write_docker_archive


def test_pass_exit_0(good: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", good) == ExitCode.OK
    out = capsys.readouterr().out
    assert "✓ READY for production" in out
    assert "\x1b[" not in out  # not a TTY: no colour


def test_gate_failure_exit_1(root: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", root) == ExitCode.GATE_FAILED
    assert "✗ NOT READY for production: 1 blocking finding" in capsys.readouterr().out


def test_warn_only_and_fail_on(root: str) -> None:
    assert run("check", root, "--warn-only") == ExitCode.OK
    assert run("check", root, "--fail-on", "critical") == ExitCode.OK
    assert run("check", root, "--fail-on", "info") == ExitCode.GATE_FAILED


def test_usage_errors_exit_2(good: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check") == ExitCode.USAGE
    assert run("check", good, "--fail-on", "severe") == ExitCode.USAGE
    assert run("check", good, "--platform", "linux") == ExitCode.USAGE
    assert run("explain", "runs-as-rot") == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "did you mean 'runs-as-root'?" in err
    assert "Traceback" not in err


def test_invalid_policy_exit_2(good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules: {nope: {}}\n")
    assert run("check", good, "--policy", str(bad)) == ExitCode.USAGE
    assert f"gatekeeper: error: {bad}:2:9: rules.nope: unknown rule" in capsys.readouterr().err


def test_yaml_scalars_their_tag_cannot_read(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `!!int abc` made PyYAML raise a bare ValueError: exit 4 with a traceback
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  image-size: {options: {max: !!int abc}}\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: app\n    init: !!bool maybe\n")
    assert run("check", good, "--policy", str(policy)) == ExitCode.USAGE
    assert run("check", good, "--compose", str(compose)) == ExitCode.INPUT
    assert capsys.readouterr().err.splitlines() == [
        f"gatekeeper: error: {policy}:3:31: invalid YAML: 'abc' is not a valid int",
        f"gatekeeper: error: {compose}:4:11: invalid YAML: 'maybe' is not a valid bool",
    ]


def test_billion_laughs_is_an_error_not_a_hang(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    levels = ['a0: &a0 ["lol"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)
    ]
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nx-anchors:\n" + "".join(f"  {line}\n" for line in levels) + "waivers: *a9\n"
    )
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "x-anchors:\n"
        + "".join(f"  {line}\n" for line in levels)
        + "services: {web: {image: app, command: *a9}}\n"
    )
    assert run("check", good, "--policy", str(policy)) == ExitCode.USAGE
    assert run("check", good, "--compose", str(compose)) == ExitCode.INPUT
    message = "invalid YAML: the document expands to more than 100,000 values through its aliases"
    assert capsys.readouterr().err.splitlines() == [
        f"gatekeeper: error: {policy}:8:7: {message}",
        f"gatekeeper: error: {compose}:7:7: {message}",
    ]


def test_empty_image_reference_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # `gatekeeper check "$IMAGE"` with IMAGE unset judged no image at all, and could pass
    assert run("check", "") == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "gatekeeper: error: the image reference is empty (is the variable that names it set?)\n"
    )


@pytest.mark.parametrize("flag", ["--json", "--sarif", "-o"])
def test_empty_report_file_name_is_a_usage_error(
    good: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--json ""` wrote nothing and said nothing; `-o ""` failed late with "Device or resource busy"
    assert run("check", good, flag, "") == ExitCode.USAGE
    assert "an empty file name (is the variable that names it set?)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "IMAGE", "-p", ""],
        ["lint", "-p", ""],
        ["policy", "validate", ""],
        ["policy", "show", "-p", ""],
    ],
)
def test_empty_policy_file_name_is_a_usage_error(
    good: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # `-p ""` read the working directory: ".: is a directory, not a policy file"
    assert run(*[good if a == "IMAGE" else a for a in argv]) == ExitCode.USAGE
    assert "an empty file name (is the variable that names it set?)" in capsys.readouterr().err


def test_error_quoting_a_huge_value_is_cut(capsys: pytest.CaptureFixture[str]) -> None:
    # a 100 kB rule name came back whole in a 100 kB "line" (found by fuzzing)
    assert run("explain", "x" * 100_000) == ExitCode.USAGE
    err = one_error(capsys)
    assert len(err) < 1100
    assert err.startswith("unknown rule 'xxx")
    assert " [...] xxx" in err and err.endswith("'; see `gatekeeper rules`")


def test_builtin_policy_names_are_not_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # builtin:../x read any YAML file relative to the packaged policies as a built-in
    assert run("policy", "validate", "builtin:../policies/default") == ExitCode.USAGE
    assert "unknown built-in policy 'builtin:../policies/default'" in capsys.readouterr().err


def test_input_errors_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"not a tar at all" * 100)
    assert run("check", f"docker-archive:{tmp_path / 'missing.tar'}") == ExitCode.INPUT
    assert run("check", f"docker-archive:{corrupt}") == ExitCode.INPUT
    assert run("check", f"oci:{tmp_path / 'nolayout'}") == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.count("gatekeeper: error:") == 3
    assert "Traceback" not in err
    assert all(len(line) < 300 for line in err.splitlines())


def test_explicit_platform_of_another_image_is_an_input_error(
    good: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", good, "--platform", "linux/arm64/v8") == ExitCode.INPUT
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"gatekeeper: error: {good}: the image is for linux/amd64, not linux/arm64/v8 (--platform)"
    assert run("check", good, "--platform", "linux/amd64") == ExitCode.OK
    assert run("check", good) == ExitCode.OK


def test_no_report_left_on_input_error(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert run("check", f"docker-archive:{tmp_path / 'x.tar'}", "--json", str(out)) == ExitCode.INPUT
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_layer_hash_mismatch_is_an_input_error_not_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The diff_id hashes finish while the rules run: a mismatch must still win over the gate."""
    image = Image(layers=[*ROOT.layers, [file("/srv/data.txt", "untouched-0123456789")]], config=ROOT.config)
    archive = tmp_path / "tampered.tar"
    write_docker_archive(archive, image)
    raw = archive.read_bytes()
    assert raw.count(b"untouched-") == 1
    archive.write_bytes(raw.replace(b"untouched-", b"tampered!-"))  # same length: a valid tar
    out = tmp_path / "out.json"
    code = run("check", f"docker-archive:{archive}", "--json", str(out), "--format", "json")
    assert code == ExitCode.INPUT  # not 1: the root user would fail the gate
    captured = capsys.readouterr()
    assert captured.out == ""
    assert not out.exists()
    (line,) = captured.err.splitlines()
    assert line.startswith("gatekeeper: error: docker-archive:")
    assert "uncompressed layer hashes to sha256:" in line
    assert "config says sha256:" in line


@pytest.mark.parametrize("fmt", ["console", "github", "gitlab", "html", "json", "junit", "markdown", "sarif"])
def test_file_names_that_are_not_utf8_reach_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A log file named with a Latin-1 byte (tar keeps raw bytes): a finding and a largest file."""
    image = Image(
        layers=[*ROOT.layers, [file("/var/log/app/caf\udce9.log", "x" * 5000)]],
        config=GOOD.config,
    )
    archive = tmp_path / "latin1.tar"
    write_docker_archive(archive, image)
    assert b"caf\xe9.log" in archive.read_bytes()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code = run("check", f"docker-archive:{archive}", "--format", fmt, "--github", "on")
    captured = capsys.readouterr()
    assert code == ExitCode.GATE_FAILED, captured.err
    assert "Traceback" not in captured.err
    text = captured.out + summary.read_text(encoding="utf-8")
    assert "caf\ufffd.log" in text
    assert "\udce9" not in text


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_reader_that_goes_away_does_not_change_the_verdict(root: str, tmp_path: Path, fmt: str) -> None:
    """`gatekeeper check img | head`: stdout is closed early; the gate failed, so exit 1, not 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "check", root, "--format", fmt, "--github", "on"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path / "work",
        env=CHECKOUT,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.GATE_FAILED, err.decode()
    assert b"Traceback" not in err


@pytest.mark.parametrize("kind", ["dangling-link", "directory"])
def test_a_broken_repo_policy_is_an_error_not_the_builtin_one(
    good: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """./.gatekeeper.yaml that cannot be read must not silently become builtin:default."""
    here = tmp_path / "work" / ".gatekeeper.yaml"
    if kind == "dangling-link":
        here.symlink_to(tmp_path / "missing.yaml")
    else:
        here.mkdir()
    assert run("check", good) == ExitCode.USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("gatekeeper: error: .gatekeeper.yaml: ")


def test_reports_written_also_when_gate_fails(root: str, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "gk.json"
    txt = tmp_path / "console.txt"
    code = run("check", root, "--json", str(out), "-o", str(txt))
    assert code == ExitCode.GATE_FAILED
    doc = json.loads(out.read_text())
    assert doc["verdict"]["ready"] is False
    assert "NOT READY" in txt.read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["gk.json"]  # no temp files left


def test_json_format_on_stdout(good: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", good, "--format", "json") == ExitCode.OK
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert doc["verdict"]["ready"] is True
    assert {r["name"] for r in doc["rules"]} >= {"runs-as-root", "healthcheck-missing", "image-size"}


def test_unwritable_output_exit_3(good: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run("check", good, "--json", str(blocker / "sub" / "x.json")) == ExitCode.INPUT


def test_reports_to_devices_fifos_and_symlinks(
    good: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temp-file-and-rename write replaced whatever the path was: a symlink to /dev/null
    # became a file, and `--json /dev/null` as root would have replaced /dev/null itself.
    real_replace = os.replace

    def replace_inside(src: Any, dst: Any) -> None:  # a broken write_atomic must not hit /dev
        assert Path(dst).resolve().is_relative_to(tmp_path), f"would replace {dst}"
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_inside)
    null_link = tmp_path / "null.json"
    null_link.symlink_to("/dev/null")
    assert run("check", good, "--json", str(null_link)) == ExitCode.OK
    assert null_link.is_symlink() and null_link.resolve() == Path("/dev/null")
    assert Path("/dev/null").is_char_device()
    # a FIFO is written through (a reader takes the report)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text("utf-8")), daemon=True)
    reader.start()
    assert run("check", good, "--sarif", str(fifo)) == ExitCode.OK
    reader.join(10)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(received[0])["version"] == "2.1.0"
    # a symlink to a report file keeps the link; the file it names gets the report
    real = tmp_path / "reports" / "gk.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert run("check", good, "--json", str(link)) == ExitCode.OK
    assert link.is_symlink()
    assert json.loads(real.read_text())["verdict"]["ready"] is True
    assert sorted(p.name for p in real.parent.iterdir()) == ["gk.json"]
    # a directory is still an error (exit 3), as before
    assert run("check", good, "--json", str(tmp_path)) == ExitCode.INPUT


def test_report_to_dev_stdout_appends_where_the_shell_points_it(tmp_path: Path) -> None:
    # /dev/stdout -> /proc/self/fd/1 -> the log: the rename replaced the log file (earlier lines
    # gone, a new inode) for `-o /dev/stdout >> log`, a common way to add to a job summary.
    write_docker_archive(tmp_path / "good.tar", GOOD)
    log = tmp_path / "log.txt"
    log.write_text("earlier step\n")
    inode = log.stat().st_ino
    script = (
        f"{sys.executable} -m gatekeeper check docker-archive:good.tar --no-discover "
        "--format json -o /dev/stdout >> log.txt"
    )
    done = subprocess.run(
        ["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False, env=CHECKOUT
    )
    assert done.returncode == ExitCode.OK, done.stderr
    assert log.stat().st_ino == inode
    first, _, rest = log.read_text().partition("\n")
    assert first == "earlier step"
    assert json.loads(rest)["verdict"]["ready"] is True


def test_descriptor_paths(tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to("/dev/stdout")
    assert cli._descriptor("/dev/stdout") == 1
    assert cli._descriptor("/dev/stderr") == 2
    assert cli._descriptor(str(link)) == 1
    assert cli._descriptor("/dev/fd/7") == 7
    assert cli._descriptor(f"/proc/{os.getpid()}/fd/3") == 3
    assert cli._descriptor("/proc/1/fd/1") is None  # another process's
    assert cli._descriptor(str(tmp_path / "report.json")) is None
    assert cli._descriptor("/dev/null") is None


def test_crashing_rule_exit_4(
    good: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from gatekeeper import api
    from gatekeeper.rules import all_rules

    def boom(*_: object) -> Any:
        raise RuntimeError("kaput")

    rules = tuple(dataclasses.replace(r, check=boom) if r.name == "runs-as-root" else r for r in all_rules())
    monkeypatch.setattr(api, "all_rules", lambda: rules)
    assert run("check", good) == ExitCode.INTERNAL
    captured = capsys.readouterr()
    assert "NO VERDICT" in captured.out
    assert "rule runs-as-root crashed: RuntimeError: kaput" in captured.err


def test_unexpected_exception_exit_4(
    good: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_: object, **__: object) -> Any:
        raise ZeroDivisionError("bug")

    from gatekeeper import api

    monkeypatch.setattr(api, "check", boom)
    assert run("check", good) == ExitCode.INTERNAL
    assert "this is a bug in gatekeeper" in capsys.readouterr().err


def test_repo_policy_discovered(good: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gatekeeper.yaml").write_text(
        "version: 1\nextends: builtin:default\nrules:\n  image-size: {options: {max: 10B}}\n"
    )
    assert run("check", good) == ExitCode.GATE_FAILED


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("rules") == ExitCode.OK
    table = capsys.readouterr().out
    assert "GK-IMG-001  runs-as-root" in table
    assert run("rules", "--format", "json") == ExitCode.OK
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} >= {"image-size"}
    assert run("explain", "GK-IMG-002") == ExitCode.OK
    text = capsys.readouterr().out
    assert text.startswith("GK-IMG-002 healthcheck-missing [medium, checklist: Health checks]")
    assert "How to fix:" in text


def test_policy_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "schema") == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["title"] == "gatekeeper policy file"
    good = tmp_path / "p.yaml"
    good.write_text("version: 1\nextends: builtin:strict\n")
    assert run("policy", "validate", str(good)) == ExitCode.OK
    good.write_text("version: 1\nfail_on: never\n")
    assert run("policy", "validate", str(good)) == ExitCode.USAGE


def test_python_dash_m(good: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gatekeeper", "check", good, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=CHECKOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("--version")
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("gatekeeper ")


def test_many_reports_in_one_run(root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["check", root, "--json", str(out / "gk.json"), "--junit", str(out / "junit.xml")]
    assert run(*args) == ExitCode.GATE_FAILED
    assert json.loads((out / "gk.json").read_text())["verdict"]["ready"] is False
    assert (out / "junit.xml").read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "NOT READY" in capsys.readouterr().out


def test_github_mode(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert run("check", root, "--sarif", str(tmp_path / "gk.sarif")) == ExitCode.GATE_FAILED
    out = capsys.readouterr().out
    assert "::error title=GK-IMG-001 runs-as-root::" in out
    lines = outputs.read_text().splitlines()
    assert "result=failed" in lines and "blocking=1" in lines
    assert f"sarif-file={tmp_path / 'gk.sarif'}" in lines
    assert run("check", root, "--github", "off") == ExitCode.GATE_FAILED
    assert "::error" not in capsys.readouterr().out


def test_reports_readable_by_others(good: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    old = os.umask(0o022)
    try:
        assert run("check", good, "--json", str(out)) == ExitCode.OK
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_github_mode_keeps_json_stdout_clean(
    root: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert run("check", root, "--format", "json") == ExitCode.GATE_FAILED
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"]["ready"] is False
    assert "::error title=GK-IMG-001 runs-as-root" in captured.err


def test_errors_print_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text('services:\n  "web\\nworker": 5\n')  # a service name holding a newline
    assert run("lint", str(compose)) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("gatekeeper: error: ") and "must be a mapping" in err


def test_lint_keeps_its_exit_code_when_the_reader_goes_away(tmp_path: Path) -> None:
    # `gatekeeper lint ... | head`: the BrokenPipeError reached main's handler for listings,
    # which answers 0, so a failing Dockerfile passed the gate (found reviewing the change)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nCMD python app.py\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper", "lint", str(dockerfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=CHECKOUT,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.GATE_FAILED, err.decode()


def test_the_command_sets_up_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr("gc.freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr("gc.set_threshold", lambda *t: calls.append(t))

    def main() -> int:
        calls.append("main")
        return 0

    monkeypatch.setattr(cli, "main", main)
    assert cli.run() == 0
    assert calls == ["freeze", (1_000_000, 10, 10), "main"]  # before main(): the check runs with it


def test_python_m_gatekeeper_is_the_command() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, runpy, sys; sys.argv = ['gatekeeper', '--version']; "
            "import gatekeeper.cli as c; c.main = lambda: print(gc.get_threshold()) or 0; "
            "runpy.run_module('gatekeeper', run_name='__main__')",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=CHECKOUT,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "(1000000, 10, 10)")


def test_an_error_message_drives_no_terminal(good: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Only line breaks were folded: an escape sequence in a path reached stderr as it was.
    assert run("check", good, "--no-discover", "--dockerfile", "x\x1b]0;pwned\x07\x1b[2J") == ExitCode.INPUT
    assert not any(ord(c) < 32 for c in one_error(capsys))
