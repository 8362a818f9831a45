"""App writes logs to files instead of stdout/stderr.

A container's logs are what its main process writes to stdout and stderr: `docker logs`,
`kubectl logs` and every log collector read only those streams. Log files inside the container
are lost with it, fill its writable layer until the node's disk runs out, and are invisible to
monitoring. The rule looks for static evidence in the image and the files that run it.

Why: the article's checklist item "Logs sent to stdout/stderr".

How to fix: configure the app to log to stdout/stderr (`--access-logfile -`, `LOG_FILE=/dev/stdout`,
a console log handler). When a program insists on a file, link it to the streams as the official
nginx image does:

    RUN ln -sf /dev/stdout /var/log/nginx/access.log \\
     && ln -sf /dev/stderr /var/log/nginx/error.log

Fails, one finding per signal (the finding's detail names it):
- `log-file`: regular log files (`*.log`, `*.log.1`, any file under `/var/log/<dir>/`) in the
  image's own layers, grouped per directory. Package-manager and login-accounting logs
  (`/var/log/apt/`, `dpkg.log`, `wtmp`...) and vendored trees (`node_modules`, `site-packages`,
  `/usr/share`, `/usr/lib`) are not the app's and are ignored.
- `log-dir`: a log directory (`/var/log/...`, `.../log`, `.../logs`) made in the own layers that
  the runtime user owns or anyone may write, unless it only holds links to stdout/stderr.
- `env`: an ENV value that is a log file or log directory (`LOG_FILE=/var/log/app.log`), in the
  image or in a workload of it.
- `command`: an ENTRYPOINT or CMD argument that is one (`--log-file=/app/logs/x.log`,
  `--access-logfile /x.log`).
- `volume`: a VOLUME that is a log directory (`/var/log/app`, `/app/logs`).
- `redirect`: a shell-form ENTRYPOINT or CMD sending output to a file (`>> /var/log/app.log`,
  `2> err.txt`, `&> app.log`, `| tee app.log`).
- `logging-none`: a compose service running this image with logging driver `none`.
The image's own layers are those the Dockerfile made (from the history mapping); without a
Dockerfile, every layer but the first. `-`, `/dev/stdout`, `/dev/stderr`, `/proc/self/fd/1` and
`/proc/self/fd/2` are streams, not files.
Passes: no signal; the evidence says what was checked and names log files linked to
stdout/stderr (`/var/log/nginx/access.log -> /dev/stdout`).

With --run: what the container did while it ran with its production settings is judged too:
- `run:log-file`: `docker diff` shows log files (the names above) the container created or
  changed, grouped per directory (paths only; nothing is read from them);
- `run:silent`: nothing reached stdout or stderr during the run (unless `require_output` is off).
The evidence says how many lines reached each stream.

Options:
- `ignore`: fnmatch patterns of paths that are not the app's logs (the default list above;
  setting it replaces the list).
- `max_listed` (default 5): how many files a message names.
- `require_output` (default true): with --run, fail a container that printed nothing at all.
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.accounts import PASSWD, parse_passwd
from gatekeeper.facts.dockerfile import Instruction
from gatekeeper.facts.image import FileEntry, FileIndex, FileType, ImageFacts
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.facts.runtime import FileChange, RuntimeFacts
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location, Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Violation
from gatekeeper.units import is_uint

STDIO = frozenset(
    {
        *("-", "/dev/stdout", "/dev/stderr", "/proc/self/fd/1", "/proc/self/fd/2"),
        *("/dev/fd/1", "/dev/fd/2", "/proc/1/fd/1", "/proc/1/fd/2"),
    }
)
DEFAULT_IGNORE = (
    *("/var/log/apt/*", "/var/log/dpkg.log", "/var/log/alternatives.log", "/var/log/bootstrap.log"),
    *("/var/log/fontconfig.log", "/var/log/faillog", "/var/log/lastlog", "/var/log/btmp"),
    *("/var/log/wtmp", "/var/log/tallylog", "/var/log/yum.log", "/var/log/dnf*.log"),
    *("/var/log/hawkey.log", "/var/log/apk.log", "*/.npm/_logs/*", "*/node_modules/*"),
    *("*/site-packages/*", "*/dist-packages/*", "/usr/share/*", "/usr/lib/*", "/usr/include/*"),
)
LOG_DIR_NAMES = frozenset(("log", "logs"))
SHELLS = frozenset(("sh", "bash", "ash", "dash", "zsh"))
_LOG_NAME = re.compile(r"\.log(?:\.\d+)?$")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S*")
_SPLIT = re.compile(r"[\s=,:;]+")
_REDIRECT = re.compile(r"(?:^|[\s;&|(])(?P<fd>\d|&)?>>?\s*(?P<target>[^\s;&|<>()]+)")
_TEE = re.compile(r"\btee\s+(?:-{1,2}[a-z-]+\s+)*(?P<target>[^\s;&|<>()]+)")


@dataclass(frozen=True)
class Options:
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    max_listed: int = 5
    require_output: bool = True


def is_stream(token: str) -> bool:
    """stdout or stderr (`-` as programs' flags spell it)."""
    return token in STDIO


def is_file(token: str) -> bool:
    """Not a stream, not a device (`/dev/null`, `/dev/log`), not a process's fd."""
    return bool(token) and not is_stream(token) and not token.startswith(("/dev/", "/proc/"))


def is_log_dir(path: str) -> bool:
    """`/var/log`, `/var/log/app`, `/app/logs`, `/srv/log`."""
    path = path.rstrip("/")
    under_var_log = path == "/var/log" or path.startswith("/var/log/")
    return under_var_log or posixpath.basename(path) in LOG_DIR_NAMES


def is_log_path(token: str) -> bool:
    """A value that names a log file (`x.log`) or a path through a log directory."""
    token = token.strip("'\"")
    if not is_file(token) or token.startswith("//"):
        return False
    if _LOG_NAME.search(posixpath.basename(token)):
        return True
    return "/" in token and any(part in LOG_DIR_NAMES for part in token.split("/"))


def _is_log_file(path: str) -> bool:
    in_log_subdir = path.startswith("/var/log/") and path.count("/") >= 4
    # (".log" in path: a cheap no for almost every file before the regex runs on the name)
    return in_log_subdir or (".log" in path and bool(_LOG_NAME.search(path[path.rfind("/") + 1 :])))


def _ignored(path: str, options: Options) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in options.ignore)


def _tokens(text: str) -> list[str]:
    return [t for t in _SPLIT.split(_URL.sub(" ", text)) if t]


def own_layers(target: Target, image: ImageFacts) -> frozenset[int]:
    """The layers the Dockerfile made; without a history mapping, all but the base layer."""
    if target.layer_instructions or target.history_instructions:
        return frozenset(target.layer_instructions)
    return frozenset(range(1, len(image.layers)))


def runtime_uid(image: ImageFacts) -> int | None:
    user = image.config.user.partition(":")[0].strip()
    if user in ("", "root"):
        return 0
    if is_uint(user):
        return int(user)
    passwd = image.files.content(PASSWD) if image.files is not None else None
    account = parse_passwd(passwd).get(user) if passwd is not None else None
    return account.uid if account is not None else None


def _instruction(
    target: Target, keyword: str, wanted: Callable[[Instruction], bool], pointer: str
) -> Location:
    """The last final-stage instruction of a kind that `wanted` picks, else the config's place."""
    found = target.dockerfile.last_in_chain(keyword, wanted) if target.dockerfile is not None else None
    if found is not None and target.dockerfile is not None:
        return Location(target.dockerfile.path, found.line, pointer)
    return target.config_location(keyword, pointer)


def _env_location(target: Target, key: str) -> Location:
    def sets_key(instruction: Instruction) -> bool:
        return key in {word.partition("=")[0] for word in instruction.words}

    return _instruction(target, "ENV", sets_key, f"config.Env.{key}")


def _volume_location(target: Target, path: str) -> Location:
    return _instruction(target, "VOLUME", lambda i: path in i.args, "config.Volumes")


# --- the filesystem: log files, writable log directories, stdout links ---------------------------


def _log_files(files: FileIndex, own: frozenset[int], options: Options) -> dict[str, list[str]]:
    by_dir: dict[str, list[str]] = {}
    for entry in itertools.chain(files.of_type(FileType.FILE), files.of_type(FileType.HARDLINK)):
        path = entry.path
        # (the cheap test _is_log_file starts with, inline: this runs for every file)
        if (".log" not in path and not path.startswith("/var/log/")) or entry.layer not in own:
            continue
        if _is_log_file(path) and not _ignored(path, options):
            by_dir.setdefault(posixpath.dirname(entry.path), []).append(entry.path)
    return by_dir


def _streams_only(files: FileIndex, directory: str) -> bool:
    inside = [e for e in files.walk(directory) if e.path != directory]
    links = [e for e in inside if e.type is FileType.SYMLINK and is_stream(e.link_target)]
    return bool(links) and not any(e.type in (FileType.FILE, FileType.HARDLINK) for e in inside)


def _writable_why(entry: FileEntry, uid: int | None) -> str:
    if entry.mode & 0o002:
        return f"mode {entry.mode:o}, writable by anyone"
    if uid and entry.uid == uid:
        return f"owned by the runtime user, UID {uid}"
    return ""


def stream_links(files: FileIndex) -> list[str]:
    """`/var/log/nginx/access.log -> /dev/stdout`: the pattern to follow."""
    return sorted(
        f"{e.path} -> {e.link_target}"
        for e in files.of_type(FileType.SYMLINK)
        if is_stream(e.link_target) and _is_log_file(e.path)
    )


def _listing(paths: list[str], limit: int) -> str:
    rest = len(paths) - limit
    return ", ".join(sorted(paths)[:limit]) + (f" and {rest} more" if rest > 0 else "")


def check_files(target: Target, image: ImageFacts, files: FileIndex, options: Options) -> Iterator[Violation]:
    own = own_layers(target, image)
    for directory, paths in sorted(_log_files(files, own, options).items()):
        layer = max(files.files[p].layer for p in paths)
        yield Violation(
            f"{len(paths)} log file{'s' if len(paths) != 1 else ''} in {directory}, written "
            f"in {target.layer_label(layer)}: {_listing(paths, options.max_listed)}. The app "
            "logs to files, which `docker logs` and log collectors never see.",
            target.layer_location(layer, directory),
            detail=f"log-file:{directory}",
        )
    uid = runtime_uid(image)
    log_dirs = (e for e in files.of_type(FileType.DIR) if e.layer in own and is_log_dir(e.path))
    for entry in sorted(log_dirs, key=lambda e: e.path):
        if _ignored(entry.path, options):
            continue
        why = _writable_why(entry, uid)
        if why and not _streams_only(files, entry.path):
            yield Violation(
                f"Log directory {entry.path} is prepared for the app to write logs into "
                f"({why}), in {target.layer_label(entry.layer)}.",
                target.layer_location(entry.layer, entry.path),
                detail=f"log-dir:{entry.path}",
            )


# --- the config: ENV, ENTRYPOINT / CMD, VOLUME ---------------------------------------------------


def check_env(target: Target, env: Iterable[tuple[str, str]]) -> Iterator[Violation]:
    for key, value in env:
        found = next((t for t in _tokens(value) if is_log_path(t)), None) if key != "PATH" else None
        if found is None:
            continue
        yield Violation(
            f"ENV {key} points the app at a log file or directory: {found}.",
            _env_location(target, key),
            detail=f"env:{key}",
        )


def shell_script(words: tuple[str, ...]) -> str | None:
    """The script of `sh -c "..."` (how a shell-form CMD is stored), else None."""
    if len(words) >= 3 and posixpath.basename(words[0]) in SHELLS and "-c" in words[1:-1]:
        return words[words.index("-c", 1) + 1]
    return None


def redirects(script: str) -> list[str]:
    """Files a shell script sends output to (`>> x.log`, `2> err`, `| tee x.log`)."""
    targets = [
        m.group("target")
        for m in _REDIRECT.finditer(script)
        if is_log_path(m.group("target")) or (m.group("fd") in ("2", "&") and is_file(m.group("target")))
    ]
    targets += [m.group("target") for m in _TEE.finditer(script) if is_file(m.group("target"))]
    return list(dict.fromkeys(targets))


def check_command(target: Target, keyword: str, words: tuple[str, ...]) -> Iterator[Violation]:
    pointer = "config.Entrypoint" if keyword == "ENTRYPOINT" else "config.Cmd"
    where = target.config_location(keyword, pointer)
    script = shell_script(words)
    sent = redirects(script) if script is not None else []
    for path in sent:
        yield Violation(
            f"{keyword} redirects the app's output to the file {path}.",
            where,
            detail=f"redirect:{path}",
        )
    text = script if script is not None else " ".join(words)
    for token in dict.fromkeys(_tokens(text)):
        if is_log_path(token) and token.lstrip("&>0123456789") not in sent:
            yield Violation(
                f"{keyword} passes a log file or directory to the app: {token}.",
                where,
                detail=f"command:{token}",
            )


def check_volumes(target: Target, volumes: Iterable[str]) -> Iterator[Violation]:
    for path in volumes:
        if is_log_dir(path):
            yield Violation(
                f"VOLUME {path} is a log directory: logs written there bypass `docker logs`.",
                _volume_location(target, path),
                detail=f"volume:{path}",
            )


def stream_settings(env: Iterable[tuple[str, str]]) -> list[str]:
    """`LOG_FILE=/dev/stdout`: log settings that already point at the streams."""
    return [f"{key}={value}" for key, value in env if "LOG" in key.upper() and is_stream(value)]


def check_config(target: Target, image: ImageFacts) -> Iterator[Violation]:
    config = image.config
    yield from check_env(target, config.env)
    yield from check_command(target, "ENTRYPOINT", config.entrypoint or ())
    yield from check_command(target, "CMD", config.cmd or ())
    yield from check_volumes(target, config.volumes)


# --- the runtime: compose logging driver, workload environment -----------------------------------


def check_workload(target: Target, workload: Workload) -> Iterator[Violation]:
    if (workload.logging_driver or "").lower() == "none":
        yield Violation(
            f"{workload.name} sets logging driver `none`: `docker logs` and log collectors get nothing.",
            workload.logging_location or workload.origin,
            detail=f"logging-none:{workload.name}",
        )
    for violation in check_env(target, workload.env):
        key = violation.detail.removeprefix("env:")
        yield Violation(
            f"{workload.name}: {violation.message}",
            workload.origin,
            detail=f"env:{workload.name}:{key}",
        )


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.image
    if image is None and not target.image_workloads:
        raise NotApplicable("no image given")
    found: list[Violation] = []
    checked: list[str] = []
    if image is not None:
        found += check_config(target, image)
        checked.append("ENV, ENTRYPOINT, CMD and VOLUME")
        settings = stream_settings(image.config.env)
        if settings:
            yield Evidence("log settings point at the streams: " + ", ".join(settings))
        if image.files is not None:
            found += check_files(target, image, image.files, options)
            checked.insert(0, _own_files(own_layers(target, image)))
            links = stream_links(image.files)
            if links:
                yield Evidence("logs linked to the streams: " + _listing(links, 5))
    for workload in target.image_workloads:
        found += check_workload(target, workload)
    if target.image_workloads:
        checked.append(f"logging of {len(target.image_workloads)} workload(s)")
    if target.runtime is not None and target.runtime.attempted and target.runtime.started:
        run_found, run_evidence = check_runtime(target.runtime, options)
        found += run_found
        yield Evidence(run_evidence)
    yield from found
    if not found:
        yield Evidence("no log files or log redirection; checked " + "; ".join(checked))


# --- the run: docker diff and the output streams --------------------------------------------------


def written_log_files(changes: Iterable[FileChange], options: Options) -> dict[str, list[str]]:
    """Log files among the paths `docker diff` added or changed, per directory. A path that is the
    parent of another changed path is a directory, not a file."""
    paths = [c.path for c in changes if c.kind in ("A", "C")]
    parents = {posixpath.dirname(p) for p in paths}
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        if path not in parents and _is_log_file(path) and not _ignored(path, options):
            by_dir.setdefault(posixpath.dirname(path), []).append(path)
    return by_dir


def check_runtime(runtime: RuntimeFacts, options: Options) -> tuple[list[Violation], str]:
    """(violations, evidence) from what the container did during --run."""
    found = [
        Violation(
            f"--run: the container wrote {len(paths)} log file{'s' if len(paths) != 1 else ''} in "
            f"{directory} (docker diff): {_listing(paths, options.max_listed)}.",
            image_location(directory),
            detail=f"run:log-file:{directory}",
        )
        for directory, paths in sorted(written_log_files(runtime.changes, options).items())
    ]
    seconds = f"{runtime.duration:g}s"
    if options.require_output and runtime.output_lines == 0:
        found.append(
            Violation(
                f"--run: nothing reached stdout or stderr in {seconds}: its logs go elsewhere, or nowhere.",
                image_location("runtime"),
                detail="run:silent",
            )
        )
    evidence = (
        f"--run: {runtime.stdout_lines} line(s) on stdout, {runtime.stderr_lines} on stderr in {seconds}; "
        f"docker diff: {len(runtime.changes)} path(s) changed"
    )
    return found, evidence


def _own_files(layers: frozenset[int]) -> str:
    if not layers:
        return "no own layers to look for log files in"
    return "files of own layer" + ("s " if len(layers) > 1 else " ") + ", ".join(map(str, sorted(layers)))


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM, ContentWanted(frozenset({PASSWD})))


RULE = Rule(
    id="GK-IMG-007",
    name="logs-to-files",
    title="App writes logs to files instead of stdout/stderr",
    checklist=Checklist.LOGS,
    severity=Severity.MEDIUM,
    check=check,
    fix="Log to stdout/stderr, or link the log files to /dev/stdout and /dev/stderr.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
