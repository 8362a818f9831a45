"""The repository files around the image: Dockerfile, .dockerignore, compose, Kubernetes, scans.

Given explicitly or discovered in the working directory; read here (the only I/O), parsed by the
pure parsers. Paths in findings are shown relative to the working directory when they are inside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.errors import InputError, UsageError
from gatekeeper.facts import InputFile
from gatekeeper.facts.context import BuildContext
from gatekeeper.facts.dockerfile import Dockerfile
from gatekeeper.facts.scan import ScanReport
from gatekeeper.facts.workload import Workload
from gatekeeper.imagenames import familiar
from gatekeeper.parsers import compose, dockerfile, dockerignore, kubernetes, scan

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
K8S_DIRS = ("k8s", "deploy", "kubernetes", "manifests")
MAX_INPUT = 16 << 20


@dataclass(frozen=True)
class InputOptions:
    dockerfile: str | None = None
    context: str | None = None
    compose: tuple[str, ...] = ()
    service: str | None = None
    k8s: tuple[str, ...] = ()
    scan_reports: tuple[str, ...] = ()
    discover: bool = True
    """Look for Dockerfile, .dockerignore, compose and k8s/ in `workdir` when not given."""
    workdir: str = "."


@dataclass(frozen=True)
class Inputs:
    dockerfile: Dockerfile | None
    context: BuildContext | None
    workloads: tuple[Workload, ...]
    scans: tuple[ScanReport, ...]
    files: tuple[InputFile, ...]
    service: str | None


def display_path(path: Path, workdir: Path) -> str:
    """Repo-relative when inside the working directory (what SARIF and GitLab need)."""
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_text(path: Path, what: str) -> str:
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, expected a {what}")
        with path.open("rb") as handle:
            raw = handle.read(MAX_INPUT + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(raw) > MAX_INPUT:
        raise InputError(f"{path}: {what} is larger than {MAX_INPUT >> 20} MiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: {what} is not UTF-8 text") from None


def _yaml_files(path: Path, skip_charts: bool = False) -> list[Path]:
    """The YAML files of a directory; with `skip_charts`, not those of Helm charts (templates are
    not manifests until rendered, `{{ ... }}` is not YAML)."""
    if not path.is_dir():
        return [path]
    charts = {chart.parent for chart in path.rglob("Chart.yaml")} if skip_charts else set()
    return sorted(
        p
        for p in path.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.is_file() and not charts.intersection(p.parents)
    )


def gather(options: InputOptions) -> Inputs:
    workdir = Path(options.workdir)
    files: list[InputFile] = []

    def found(kind: str, path: Path, given: bool) -> str:
        shown = display_path(path, workdir)
        files.append(InputFile(kind, shown, "given" if given else "discovered"))
        return shown

    df = None
    df_path = Path(options.dockerfile) if options.dockerfile else None
    if df_path is None and options.discover and (workdir / "Dockerfile").is_file():
        df_path = workdir / "Dockerfile"
    if df_path is not None:
        shown = found("dockerfile", df_path, options.dockerfile is not None)
        df = dockerfile.parse(read_text(df_path, "Dockerfile"), shown)

    context = _context(options, workdir, df_path, found)

    workloads: list[Workload] = []
    compose_paths = [Path(p) for p in options.compose]
    if not compose_paths and options.discover:
        compose_paths = [workdir / n for n in COMPOSE_NAMES if (workdir / n).is_file()][:1]
    for path in compose_paths:
        shown = found("compose", path, bool(options.compose))
        workloads.extend(compose.parse(read_text(path, "compose file"), shown))
    k8s_paths = [Path(p) for p in options.k8s]
    if not k8s_paths and options.discover:
        k8s_paths = [workdir / d for d in K8S_DIRS if (workdir / d).is_dir()]
    for root in k8s_paths:
        if not root.exists():
            raise InputError(f"{root}: Kubernetes manifest file or directory not found")
        for path in _yaml_files(root, skip_charts=not options.k8s):
            shown = found("kubernetes", path, bool(options.k8s))
            workloads.extend(kubernetes.parse(read_text(path, "Kubernetes manifest"), shown))
    if options.service and not any(w.name == f"compose service {options.service}" for w in workloads):
        names = ", ".join(w.name.removeprefix("compose service ") for w in workloads if w.kind == "compose")
        raise UsageError(
            f"--service {options.service}: no such compose service (services: {names or 'none'})"
        )

    scans = []
    for report in options.scan_reports:
        path = Path(report)
        shown = found("scan-report", path, True)
        scans.append(scan.parse(read_text(path, "scan report"), shown))
    return Inputs(df, context, tuple(workloads), tuple(scans), tuple(files), options.service)


def _context(
    options: InputOptions, workdir: Path, df_path: Path | None, found: object
) -> BuildContext | None:
    root = Path(options.context) if options.context else None
    if root is None and df_path is not None:
        root = df_path.parent
    if root is None:
        return None
    if not root.is_dir():
        raise InputError(f"{root}: build context is not a directory")
    ignore_path = root / ".dockerignore"
    ignore = None
    if ignore_path.is_file():
        shown = found("dockerignore", ignore_path, options.context is not None)  # type: ignore[operator]
        ignore = dockerignore.parse(read_text(ignore_path, ".dockerignore"), shown)
    try:
        entries = tuple(sorted(os.listdir(root)))
    except OSError as exc:
        raise InputError(f"{root}: cannot list build context: {exc.strerror or exc}") from None
    return BuildContext(display_path(root, workdir) or ".", ignore, entries)


def repository(name: str) -> str:
    """The repository a reference names: no tag, no digest, no registry for Docker Hub."""
    name = name.split("@", 1)[0]
    for prefix in ("docker://", "docker-daemon:"):
        name = name.removeprefix(prefix)
    # The tag starts at the first `:` of the last path element (so `app:${TAG:-latest}` is `app`
    # and `localhost:5000/app` keeps its port).
    head, slash, last = name.rpartition("/")
    return familiar(head + slash + last.split(":", 1)[0])


def select_workloads(
    workloads: Sequence[Workload], image_names: Iterable[str], service: str | None
) -> tuple[Workload, ...]:
    """The workloads that run the checked image (known by any of `image_names`)."""
    if service:
        return tuple(w for w in workloads if w.name == f"compose service {service}")
    names = {r for r in map(repository, image_names) if r}
    short = {n.rsplit("/", 1)[-1] for n in names}
    chosen = []
    for workload in workloads:
        repo = repository(workload.image)
        if repo and (repo in names or repo.rsplit("/", 1)[-1] in short):
            chosen.append(workload)
    return tuple(chosen)
