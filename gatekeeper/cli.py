"""Command line: argv -> request -> api -> reporters -> files; exceptions -> exit codes. No logic.

This is the only module that maps exceptions to exit codes, reads the environment and writes files.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import os
import re
import stat
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from gatekeeper import __version__, api
from gatekeeper.errors import ExitCode, GatekeeperError, OutputError, UsageError
from gatekeeper.facts.image import Platform
from gatekeeper.findings import Severity
from gatekeeper.inputs import InputOptions
from gatekeeper.policy import show
from gatekeeper.policy.loader import builtin_names, load_policy, schema
from gatekeeper.report import Report
from gatekeeper.reporters import RenderOptions, reporter, reporter_names
from gatekeeper.rules import all_rules, find_rule, unknown_rule
from gatekeeper.runtime import RunRequest
from gatekeeper.sources import SourceOptions, parse_reference
from gatekeeper.text import one_line
from gatekeeper.units import parse_duration

log = logging.getLogger("gatekeeper")
REPO_POLICY = ".gatekeeper.yaml"
FILE_REPORTS = {
    "json": "the JSON report",
    "junit": "JUnit XML",
    "sarif": "SARIF 2.1.0 (GitHub code scanning)",
    "gitlab": "GitLab Code Quality JSON",
    "markdown": "a Markdown summary",
    "html": "a self-contained HTML report",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gatekeeper",
        description="Is this container image ready for production?",
    )
    parser.add_argument("--version", action="version", version=f"gatekeeper {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="judge an image against the policy")
    check.add_argument("image", help="app:prod, docker-archive:x.tar, oci:dir[:tag], docker://host/repo:tag")
    check.add_argument(
        "-p",
        "--policy",
        action="append",
        default=[],
        type=_file_name,
        help=f"policy file or builtin:NAME (repeatable; default ./{REPO_POLICY} or builtin:default)",
    )
    check.add_argument("--format", default="console", choices=reporter_names(), help="stdout format")
    check.add_argument(
        "-o", "--output", type=_file_name, help="write the --format report to this file instead of stdout"
    )
    reports = check.add_argument_group("report files (any number, written atomically after the run)")
    for name, what in FILE_REPORTS.items():
        reports.add_argument(f"--{name}", type=_file_name, metavar="FILE", help=f"write {what} to FILE")
    check.add_argument(
        "--github",
        choices=("auto", "on", "off"),
        default="auto",
        help="GitHub annotations, job summary and step outputs (auto: when GITHUB_ACTIONS=true)",
    )
    check.add_argument("--fail-on", type=_severity, help="override the policy's fail_on threshold")
    check.add_argument(
        "--profile", help="use this policy profile (default: the first whose match fits the image)"
    )
    check.add_argument(
        "--policy-cache", metavar="DIR", help="cache for remote policies (default ~/.cache/gatekeeper)"
    )
    check.add_argument("--warn-only", action="store_true", help="report, but exit 0 when the gate fails")
    check.add_argument(
        "--platform",
        type=_platform,
        default=None,
        help="os/arch[/variant]: the image to pick from a multi-platform index (default "
        "linux/amd64); when given, an image for another platform is an error",
    )
    check.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="allow plain HTTP to HOST",
    )
    check.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=60.0,
        help="network timeout in seconds (registry, Docker engine, remote policies)",
    )
    run = check.add_argument_group(
        "runtime verification (starts the image on the local engine: it runs the image's code)"
    )
    run.add_argument(
        "--run",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start the image with its production settings (hardened: no network, no capabilities) "
        "and judge health, user, logs, limits and jobs (default: the policy's runtime.enabled)",
    )
    run.add_argument(
        "--run-timeout",
        type=_duration,
        metavar="DURATION",
        help="the longest the run may take, e.g. 60s (default: the policy's runtime.timeout, else 60s)",
    )
    run.add_argument(
        "--probe-image",
        metavar="IMAGE",
        help="a local image with wget and nc (busybox) for httpGet/tcpSocket probes (default: the image)",
    )
    files = check.add_argument_group("repository files (discovered in the working directory unless given)")
    files.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from")
    files.add_argument("--context", metavar="DIR", help="the build context (for .dockerignore)")
    files.add_argument("--compose", action="append", default=[], metavar="FILE", help="compose file")
    files.add_argument("--service", metavar="NAME", help="the compose service that runs this image")
    files.add_argument("--k8s", action="append", default=[], metavar="FILE|DIR", help="Kubernetes manifests")
    files.add_argument(
        "--scan-report",
        action="append",
        default=[],
        metavar="FILE",
        help="Trivy/Grype JSON or SARIF",
    )
    files.add_argument("--no-discover", action="store_true", help="use only the files given")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    lint = sub.add_parser(
        "lint", help="judge Dockerfiles and runtime config without an image (pre-commit, early CI)"
    )
    lint.add_argument("files", nargs="*", help="Dockerfiles, compose files and Kubernetes manifests")
    lint.add_argument(
        "-p", "--policy", action="append", default=[], type=_file_name, help="policy file or builtin:NAME"
    )
    lint.add_argument("--k8s", action="append", default=[], metavar="FILE|DIR", help="Kubernetes manifests")
    lint.add_argument("--fail-on", type=_severity, help="override the policy's fail_on threshold")
    lint.add_argument("--format", default="console", choices=reporter_names(), help="stdout format")
    lint.add_argument("--policy-cache", metavar="DIR", help="cache for remote policies")
    lint.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    rules = sub.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("--format", choices=("table", "json"), default="table")

    explain = sub.add_parser("explain", help="show a rule's documentation")
    explain.add_argument("rule", help="rule name or id")

    policy = sub.add_parser("policy", help="policy tools")
    psub = policy.add_subparsers(dest="policy_command", required=True, parser_class=_Parser)
    validate = psub.add_parser("validate", help="validate policy files (each with everything it extends)")
    validate.add_argument("files", nargs="+", type=_file_name)
    validate.add_argument("--policy-cache", metavar="DIR", help="cache for remote policies")
    show = psub.add_parser("show", help="print the effective policy")
    show.add_argument(
        "-p", "--policy", action="append", default=[], type=_file_name, help="policy file or builtin:NAME"
    )
    show.add_argument("--origin", action="store_true", help="say which file and line set each value")
    show.add_argument("--image", help="pick the profile this image reference matches")
    show.add_argument("--profile", help="apply this profile")
    show.add_argument("--policy-cache", metavar="DIR", help="cache for remote policies")
    init = psub.add_parser("init", help=f"write a commented {REPO_POLICY} extending a built-in policy")
    init.add_argument("--extends", default="builtin:default", help="the policy to build on")
    init.add_argument("--output", default=REPO_POLICY, help=f"where to write it (default {REPO_POLICY})")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    psub.add_parser("schema", help="print the policy JSON Schema")

    schemas = sub.add_parser("schema", help="print a JSON Schema: the policy file or the JSON report")
    schemas.add_argument("which", choices=("policy", "report"))
    return parser


def _policy_specs(args: argparse.Namespace) -> list[str]:
    """The --policy options; else ./.gatekeeper.yaml when there is one (else builtin:default)."""
    # lexists: a dangling link or a directory named so is an error the loader reports, not a
    # reason to fall back to the built-in policy without a word
    return list(args.policy) or ([REPO_POLICY] if os.path.lexists(REPO_POLICY) else [])


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive duration")
    return seconds


def _file_name(text: str) -> str:
    """A file's name on the command line: `--json "$OUT"` with OUT unset must not silently write
    nothing, nor `-p "$POLICY"` read the working directory."""
    if not text:
        raise argparse.ArgumentTypeError("an empty file name (is the variable that names it set?)")
    return text


def _positive_seconds(text: str) -> float:
    """A number of seconds for a network timeout: finite and above zero."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < float("inf"):  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def _platform(text: str) -> Platform:
    try:
        return Platform.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _use_color(choice: str, stream: object) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(\d+))/fd)/(\d+)")


def _descriptor(path: str) -> int | None:
    """The open file descriptor of this process that `path` names, through its links:
    `/dev/stdout` -> `/proc/self/fd/1` -> 1. None for any other path."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        match = _FD_PATH.fullmatch(current)
        if match:
            pid = match.group(1)
            return int(match.group(2)) if pid is None or int(pid) == os.getpid() else None
        try:
            link = os.readlink(current)
        except OSError:  # not a link (or gone): not a descriptor
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def _write_descriptor(fd: int, text: str) -> None:
    """`text` to an open descriptor, where it stands: `-o /dev/stdout >> log` appends to the log,
    as the shell opened it (opening the path again would truncate it; a rename would replace it)."""
    streams = [s for s in (sys.stdout, sys.stderr) if _fileno(s) == fd]
    for stream in streams:
        stream.flush()  # what was printed before goes first
    data = text.encode("utf-8")
    try:
        while data:
            data = data[os.write(fd, data) :]
    except BrokenPipeError:  # `-o /dev/stdout | head`: the reader left; the verdict still stands
        if fd == 1:
            _silence_stdout()


def _fileno(stream: object) -> int | None:
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # replaced streams (tests, embedding) have none
        return None


def write_atomic(path: str, text: str, what: str = "report") -> None:
    """Write the whole file or nothing: a temp file in the same directory, then rename.

    A path that names one of this process's descriptors (`/dev/stdout`, `/dev/fd/3`) is written
    through the descriptor. A path that is (or links to) something other than a regular file
    (`/dev/null`, a FIFO) is written to as it is: renaming over it would replace the device, as
    root even /dev/null itself. A symlink to a file keeps the link; the file it names is replaced.
    """
    target = Path(path)
    try:
        fd = _descriptor(path)
        if fd is not None:
            _write_descriptor(fd, text)
            return
        try:
            mode = target.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        if mode is not None and not stat.S_ISREG(mode):
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
        if target.is_symlink():
            target = target.resolve()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # mkdir's word when a parent is a file
            raise NotADirectoryError(errno.ENOTDIR, "a parent directory is a file") from None
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for everyone
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot write {what}: {exc.strerror or exc}") from exc


def _cmd_check(args: argparse.Namespace) -> int:
    policies = _policy_specs(args)
    options = SourceOptions(
        platform=args.platform or Platform(),
        platform_requested=args.platform is not None,
        insecure_registries=tuple(args.insecure_registry),
        timeout=args.timeout,
        environ=dict(os.environ),
    )
    inputs = InputOptions(
        dockerfile=args.dockerfile,
        context=args.context,
        compose=tuple(args.compose),
        service=args.service,
        k8s=tuple(args.k8s),
        scan_reports=tuple(args.scan_report),
        discover=not args.no_discover,
    )
    report = api.check(
        args.image,
        policies=policies,
        fail_on=args.fail_on,
        options=options,
        inputs=inputs,
        profile=args.profile,
        policy_cache=args.policy_cache,
        run=RunRequest(enabled=args.run, timeout=args.run_timeout, probe_image=args.probe_image),
        notify=_notice,
    )
    stdout_is_file = args.output is not None
    color = not stdout_is_file and _use_color(args.color, sys.stdout)
    main_text = reporter(args.format).render(report, RenderOptions(color=color))
    outputs = [
        (getattr(args, name), reporter(name).render(report, RenderOptions()))
        for name in FILE_REPORTS
        if getattr(args, name)
    ]
    if stdout_is_file:
        outputs.append((args.output, main_text))
    for path, text in outputs:
        write_atomic(path, text)
    github = args.github == "on" or (args.github == "auto" and os.environ.get("GITHUB_ACTIONS") == "true")
    if not stdout_is_file:
        _to_stdout(main_text)
    if github:
        # Workflow commands work on stdout and stderr alike; keep a machine-readable stdout clean.
        annotations = reporter("github").render(report, RenderOptions())
        if args.format == "console" and not stdout_is_file:
            _to_stdout(annotations)
        else:
            sys.stderr.write(annotations)
        _github_files(report, args)
    return _exit_code(report, args.warn_only)


def _to_stdout(text: str) -> None:
    """Write to stdout. A reader that went away (`gatekeeper check … | head`) loses the rest of
    the text but must not change the exit code: the gate's verdict still decides it."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _notice(message: str) -> None:
    """Said on stderr before gatekeeper does something the user should know about (--run)."""
    sys.stderr.write(f"gatekeeper: {message}\n")
    sys.stderr.flush()


def _append(path: str, text: str, what: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the {what}: {exc.strerror or exc}") from exc


def _github_files(report: Report, args: argparse.Namespace) -> None:
    """Job summary ($GITHUB_STEP_SUMMARY) and step outputs ($GITHUB_OUTPUT)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(summary, reporter("markdown").render(report, RenderOptions()), "job summary")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        values = {
            "result": "passed" if report.passed else "failed",
            "findings": str(len(report.findings)),
            "blocking": str(len(report.blocking)),
            "sarif-file": args.sarif or "",
            "junit-file": args.junit or "",
        }
        _append(output, "".join(f"{k}={v}\n" for k, v in values.items()), "step outputs")


def _exit_code(report: Report, warn_only: bool) -> int:
    if report.errors:
        for result in report.errors:
            sys.stderr.write(
                f"gatekeeper: error: rule {result.rule.name} crashed: {result.reason} "
                "(this is a bug in gatekeeper)\n"
            )
        return ExitCode.INTERNAL
    if report.passed or warn_only:
        return ExitCode.OK
    return ExitCode.GATE_FAILED


def _cmd_rules(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.format == "json":
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "checklist": r.checklist.value,
                "severity": r.severity.label,
                "fix": r.fix,
            }
            for r in rules
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return ExitCode.OK
    width = max(len(r.name) for r in rules)
    for r in rules:
        sys.stdout.write(f"{r.id}  {r.name:<{width}}  {r.severity.label:<8}  {r.title}\n")
    return ExitCode.OK


def _cmd_explain(args: argparse.Namespace) -> int:
    rules = all_rules()
    rule = find_rule(rules, args.rule)
    if rule is None:
        raise UsageError(unknown_rule(rules, args.rule))
    header = f"{rule.id} {rule.name} [{rule.severity.label}, checklist: {rule.checklist.value}]"
    sys.stdout.write(f"{header}\n\n{rule.doc.strip()}\n\nFix: {rule.fix}\nDocs: {rule.info.docs_url}\n")
    return ExitCode.OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from gatekeeper.reporters import json as json_reporter

    value = schema() if args.which == "policy" else json_reporter.schema()
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
    return ExitCode.OK


def _cmd_policy(args: argparse.Namespace) -> int:
    if args.policy_command == "schema":
        sys.stdout.write(json.dumps(schema(), indent=2) + "\n")
        return ExitCode.OK
    if args.policy_command == "init":
        return _policy_init(args)
    rules = all_rules()
    fetcher = api.policy_fetcher(dict(os.environ), args.policy_cache)
    if args.policy_command == "show":
        specs = _policy_specs(args)
        names = api.reference_names(parse_reference(args.image)) if args.image else ()
        policy = load_policy(specs, rules, image_names=names, profile=args.profile, fetcher=fetcher)
        sys.stdout.write(show.render(policy, rules, args.origin))
        return ExitCode.OK
    for path in args.files:
        policy = load_policy([path], rules, fetcher=fetcher)
        files = ", ".join(s.origin for s in policy.sources)
        sys.stdout.write(f"{path}: valid ({len(policy.sources)} file(s): {files})\n")
    return ExitCode.OK


def _policy_init(args: argparse.Namespace) -> int:
    target = Path(args.output)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    text = show.INIT_TEMPLATE.format(base=args.extends)
    load_policy([args.extends], all_rules())  # the base must exist and be valid
    write_atomic(str(target), text, "the policy")
    sys.stdout.write(
        f"wrote {target} (extends {args.extends}); check it with `gatekeeper policy show --origin`\n"
    )
    return ExitCode.OK


def classify(files: Sequence[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(Dockerfiles, compose files, Kubernetes manifests, the rest) by file name."""
    dockerfiles, composes, manifests, other = [], [], [], []
    for path in files:
        name = Path(path).name.lower()
        if name.startswith(("dockerfile", "containerfile")) or name.endswith(".dockerfile"):
            dockerfiles.append(path)
        elif name.startswith(("compose", "docker-compose")) and name.endswith((".yml", ".yaml")):
            composes.append(path)
        elif name.endswith((".yml", ".yaml")):
            manifests.append(path)
        else:
            other.append(path)
    return dockerfiles, composes, manifests, other


def _cmd_lint(args: argparse.Namespace) -> int:
    """One run per Dockerfile (with every runtime file), or one run for runtime files alone."""
    dockerfiles, composes, manifests, other = classify(args.files)
    for path in other:
        sys.stderr.write(
            f"gatekeeper lint: ignoring {path}: not named like a Dockerfile, compose file or manifest "
            "(Kubernetes manifests in other files: --k8s)\n"
        )
    manifests += args.k8s
    if not args.files and not args.k8s:
        dockerfiles = ["Dockerfile"] if Path("Dockerfile").is_file() else []
    if not (dockerfiles or composes or manifests):
        sys.stdout.write("gatekeeper lint: no Dockerfile, compose file or manifest to judge\n")
        return ExitCode.OK
    if len(dockerfiles) > 1 and not reporter(args.format).streams:
        # one document per Dockerfile: concatenated JSON, SARIF, XML or HTML would be invalid
        raise UsageError(
            f"lint --format {args.format} judges one Dockerfile at a time ({len(dockerfiles)} given); "
            "run it once per Dockerfile, or use --format console"
        )
    policies = _policy_specs(args)
    worst = int(ExitCode.OK)
    runs: list[str | None] = list(dockerfiles) or [None]
    for dockerfile in runs:
        inputs = InputOptions(
            dockerfile=dockerfile,
            context=str(Path(dockerfile).parent) if dockerfile else None,
            compose=tuple(composes),
            k8s=tuple(manifests),
            discover=False,
        )
        report = api.check(
            None,
            policies=policies,
            fail_on=args.fail_on,
            options=SourceOptions(environ=dict(os.environ)),
            inputs=inputs,
            policy_cache=args.policy_cache,
        )
        color = _use_color(args.color, sys.stdout)
        _to_stdout(reporter(args.format).render(report, RenderOptions(color=color)))
        worst = max(worst, _exit_code(report, warn_only=False))
    return worst


COMMANDS = {
    "check": _cmd_check,
    "lint": _cmd_lint,
    "schema": _cmd_schema,
    "rules": _cmd_rules,
    "explain": _cmd_explain,
    "policy": _cmd_policy,
}


MAX_ERROR = 1000
"""Characters of an error message shown; a longer one keeps its start (where) and end (why)."""


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(format="gatekeeper: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except GatekeeperError as exc:
        message = one_line(exc)
        if len(message) > MAX_ERROR:  # a message quoting a 100 kB value: keep both ends
            message = f"{message[: MAX_ERROR - 300]} [...] {message[-280:]}"
        sys.stderr.write(f"gatekeeper: error: {message}\n")  # one line, whatever the input held
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("gatekeeper: interrupted\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # listings piped into `head`; `check` handles its own stdout
        _silence_stdout()
        return ExitCode.OK
    except Exception:
        traceback.print_exc()
        sys.stderr.write(
            "gatekeeper: internal error: this is a bug in gatekeeper, please report it "
            f"(version {__version__})\n"
        )
        return ExitCode.INTERNAL


def run() -> int:
    """The `gatekeeper` command (the console script, `python -m gatekeeper`): main() in a
    process of its own, with the cyclic garbage collector set for it.

    A check makes hundreds of thousands of small objects that never form cycles: a tuple for
    every path of every layer, then the index's entries. With Python's default thresholds the
    collector went through them 268 times, 85 ms of a 0.8 s check of the benchmark image (70,000
    paths); after 20,000 allocations instead of 700, 32 times and 23 ms. The modules imported by
    now are frozen out of its reach, and it runs after a million allocations (mypy, which builds
    large trees of objects too, waits for 200,000): not once in that check, and still a bound on
    what cycles in a larger one could hold. main() itself, called in-process (tests, embedding),
    leaves the collector alone.
    """
    gc.freeze()
    gc.set_threshold(1_000_000, 10, 10)
    return main()


__all__ = ["builtin_names", "main", "run", "write_atomic"]
