"""Development dependencies are installed in the image.

Test runners, linters, type checkers and bundlers are needed to build and check the app, not to
run it. In the final image they add size and attack surface (every one of them is a dependency
tree that scanners will flag), and in Node they often mean the app runs in development mode. The
rule reads the image filesystem: the apps' `package.json` files and what is in their
`node_modules`, and the Python packages installed in any `site-packages`.

Why: the article's checklist item "Multi-stage build implemented" and its pitfall "Building from
source in production. Don't: install dev tools in production images"; dev dependencies are the
language-level version of that.

How to fix: install only production dependencies in the final stage, or copy them from a build
stage that pruned them:

    # Node
    ENV NODE_ENV=production
    RUN npm ci --omit=dev            # yarn: --production, pnpm: --prod

    # Python: keep test and lint tools out of requirements.txt
    RUN pip install --no-cache-dir -r requirements.txt   # not requirements-dev.txt

Fails:
- `node-dev:<app>`: an app's `node_modules` holds packages its `package.json` lists only under
  `devDependencies`. With npm's lock files (`node_modules/.package-lock.json`, else
  `package-lock.json`) every installed dev-only package counts, transitive ones too; without
  them, the direct devDependencies present in `node_modules`.
- `node-env:<app>`: a Node app (a `package.json` outside `node_modules` and `node` on PATH) whose
  NODE_ENV is not `production` (unset counts), in the image or in the workload that runs it.
- `python:<layer>`: Python distributions matching `python_tools` (pytest, mypy, ruff, flake8,
  black, coverage, tox...) in a `site-packages` or `dist-packages`, one finding per layer that
  installed them.
Passes: none of these; the evidence names the apps and the number of Python distributions
checked. Vendored trees (`/usr/lib`, `/usr/share`, global `node_modules`) are not apps.

Options:
- `python_tools`: fnmatch patterns of Python distribution names (normalised: lower case, `-`).
- `node_env` (default true): require NODE_ENV=production in Node images.
- `allow` (default none): package names to accept anyway.
- `max_listed` (default 8): how many packages a message names.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, ImageFacts
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation
from gatekeeper.text import loads_json

DEFAULT_PYTHON_TOOLS = (
    # test runners and their plugins
    *("pytest", "pytest-*", "nose", "nose2", "tox", "nox", "hypothesis", "coverage"),
    # linters, formatters, type checkers
    *("mypy", "ruff", "flake8", "flake8-*", "pyflakes", "pycodestyle", "pylint", "black", "isort"),
    *("autopep8", "yapf", "bandit", "pyright", "pre-commit", "types-*"),
    # debuggers
    *("ipdb", "pdbpp"),
)
NODE_CONTENT = ContentWanted(
    patterns=("*/package.json", "*/package-lock.json", "*/node_modules/.package-lock.json"),
    max_size=16 << 20,
)
NOT_APPS = ("/usr/lib/*", "/usr/share/*", "/usr/local/lib/*", "/usr/local/share/*", "/opt/yarn*")
_DIST = re.compile(r"/(?:site|dist)-packages/([^/]+)\.(?:dist-info|egg-info)(?:/|$)")
_NORMALISE = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class Options:
    python_tools: tuple[str, ...] = DEFAULT_PYTHON_TOOLS
    node_env: bool = True
    allow: tuple[str, ...] = ()
    max_listed: int = 8


def normalise(name: str) -> str:
    """PEP 503: `Pytest_Cov` -> `pytest-cov`."""
    return _NORMALISE.sub("-", name).lower()


def _listing(names: Iterable[str], limit: int) -> str:
    ordered = sorted(dict.fromkeys(names))
    rest = len(ordered) - limit
    return ", ".join(ordered[:limit]) + (f" and {rest} more" if rest > 0 else "")


def _allowed(name: str, options: Options) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(normalise(name), p) for p in options.allow)


# --- Python ---------------------------------------------------------------------------------------


def python_distributions(files: FileIndex) -> dict[str, tuple[str, int]]:
    """Installed distributions: normalised name -> (the .dist-info / .egg-info path, its layer)."""
    found: dict[str, tuple[str, int]] = {}
    for path, entry in files.files.items():
        match = _DIST.search(path) if "-info" in path else None  # (a cheap no first)
        if match is None:
            continue
        name = normalise(match.group(1).split("-", 1)[0])
        where = path[: match.end(0)].rstrip("/")
        current = found.get(name)
        if current is None or entry.layer < current[1]:
            found[name] = (where, entry.layer)
    return found


def check_python(target: Target, files: FileIndex, options: Options) -> tuple[list[Violation], int]:
    distributions = python_distributions(files)
    patterns = [normalise(p) for p in options.python_tools]
    by_layer: dict[int, list[tuple[str, str]]] = {}
    for name, (path, layer) in distributions.items():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns) and not _allowed(name, options):
            by_layer.setdefault(layer, []).append((name, path))
    violations = []
    for layer, found in sorted(by_layer.items()):
        names = [name for name, _ in found]
        violations.append(
            Violation(
                f"{target.layer_label(layer).capitalize()} installs {len(names)} Python test or lint "
                f"tool{'s' if len(names) != 1 else ''}: {_listing(names, options.max_listed)}.",
                target.layer_location(layer, sorted(found)[0][1]),
                detail=f"python:{target.layer_command(layer)}",
                evidence="all: " + ", ".join(sorted(names)),
            )
        )
    return violations, len(distributions)


# --- Node -----------------------------------------------------------------------------------------


def _json(files: FileIndex, path: str) -> dict[str, object] | None:
    data = files.content(path)
    if data is None:
        return None
    try:
        value = loads_json(data.decode("utf-8-sig"))
    except ValueError:  # not UTF-8, not JSON, nested too deeply
        return None
    return value if isinstance(value, dict) else None


def _names(manifest: Mapping[str, object], key: str) -> set[str]:
    section = manifest.get(key)
    return {str(k) for k in section} if isinstance(section, dict) else set()


def node_apps(files: FileIndex) -> list[str]:
    """Directories holding an app's package.json (not a dependency's, not a vendored tree's)."""
    apps = []
    for path in files.files:
        if not path.endswith("/package.json") or "/node_modules/" in path:
            continue
        if any(fnmatch.fnmatchcase(path, p) for p in NOT_APPS) or "/." in path:
            continue
        apps.append(posixpath.dirname(path))
    return sorted(apps)


def _installed(files: FileIndex, modules: str, name: str) -> bool:
    root = f"{modules}/{name}"
    return files.get(root) is not None or files.get(f"{root}/package.json") is not None


def _lock_dev_packages(files: FileIndex, app: str) -> list[str] | None:
    """Installed dev-only packages per npm's lock files (None: no usable lock file)."""
    modules = posixpath.join(app, "node_modules")
    for lock_path, check_present in (
        (f"{modules}/.package-lock.json", False),
        (f"{app}/package-lock.json", True),
    ):
        lock = _json(files, lock_path)
        packages = lock.get("packages") if lock is not None else None
        if not isinstance(packages, dict):
            continue
        dev = []
        for key, meta in packages.items():
            if not (isinstance(meta, dict) and meta.get("dev") is True and "node_modules/" in str(key)):
                continue
            if check_present and files.get(posixpath.join(app, str(key))) is None:
                continue
            dev.append(str(key).rpartition("node_modules/")[2])
        return dev
    return None


def _dev_packages(files: FileIndex, app: str, manifest: Mapping[str, object]) -> list[str]:
    modules = posixpath.join(app, "node_modules")
    locked = _lock_dev_packages(files, app)
    if locked is not None:
        return locked
    runtime = set().union(
        *(_names(manifest, k) for k in ("dependencies", "optionalDependencies", "peerDependencies"))
    )
    return [n for n in sorted(_names(manifest, "devDependencies") - runtime) if _installed(files, modules, n)]


def _node_env(target: Target, image: ImageFacts) -> tuple[str | None, str]:
    """(NODE_ENV, who set it) where the image runs: the workload's value wins over the image's."""
    for workload in target.image_workloads:
        for key, value in workload.env:
            if key == "NODE_ENV":
                return value, workload.name
    return image.config.env_value("NODE_ENV"), "the image"


def check_node(
    target: Target, image: ImageFacts, files: FileIndex, options: Options
) -> tuple[list[Violation], list[str]]:
    violations: list[Violation] = []
    apps = []
    for app in node_apps(files):
        manifest = _json(files, posixpath.join(app, "package.json"))
        if manifest is None:
            continue
        apps.append(app)
        dev = [n for n in _dev_packages(files, app, manifest) if not _allowed(n, options)]
        if dev:
            modules = posixpath.join(app, "node_modules")
            layer = _layer(files, modules, dev)
            violations.append(
                Violation(
                    f"{modules} holds {len(dev)} package{'s' if len(dev) != 1 else ''} that "
                    f"{posixpath.join(app, 'package.json')} needs only for development: "
                    f"{_listing(dev, options.max_listed)}.",
                    target.layer_location(layer, modules),
                    detail=f"node-dev:{app}",
                    evidence="all: " + ", ".join(sorted(dev)),
                )
            )
    search_path = image.config.search_path
    if apps and options.node_env and files.find_executable("node", search_path) is not None:
        value, who = _node_env(target, image)
        if value != "production":
            shown = "is not set" if value is None else f"is {value!r}"
            violations.append(
                Violation(
                    f"NODE_ENV {shown} ({who}) in a Node image: frameworks run in development mode "
                    "and npm installs devDependencies.",
                    target.config_location("ENV", "config.Env.NODE_ENV"),
                    detail=f"node-env:{apps[0]}",
                )
            )
    return violations, apps


def _layer(files: FileIndex, modules: str, names: list[str]) -> int | None:
    layers = [entry.layer for n in names if (entry := files.get(f"{modules}/{n}")) is not None]
    return max(layers) if layers else None


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    files = target.require_files()
    node, apps = check_node(target, image, files, options)
    python, count = check_python(target, files, options)
    yield from node
    yield from python
    if not node and not python:
        checked = [f"{count} Python distribution{'s' if count != 1 else ''}"]
        checked.append(f"Node apps: {', '.join(apps)}" if apps else "no Node app")
        yield Evidence("no development dependencies; checked " + "; ".join(checked))


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM, NODE_CONTENT)


RULE = Rule(
    id="GK-IMG-012",
    name="dev-dependencies-in-image",
    title="Development dependencies are installed in the image",
    checklist=Checklist.MULTI_STAGE,
    severity=Severity.MEDIUM,
    check=check,
    fix="Install production dependencies only (`npm ci --omit=dev`, no test/lint tools in requirements.txt).",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
