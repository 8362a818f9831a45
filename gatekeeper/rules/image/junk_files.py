"""Development junk in the image.

Version-control metadata, IDE settings, CI configuration, test output and tool caches have no
use at run time. They make the image bigger, and `.git` can hold the whole history of the code
(and credentials in `.git/config`).

Why: the article's checklist items "Image size optimized" and ".dockerignore configured"; Dockle's
DKL-LI-0003 "Only put necessary files".

How to fix: list them in `.dockerignore` (`.git`, `.vscode`, `.idea`, `.github`, `coverage`,
`**/.DS_Store`...), copy only what the application needs (`COPY src/ ./src/` rather than
`COPY . .`), and clean tool caches in the RUN that creates them.

Fails: one finding per top-level junk directory in the final filesystem, with its file count and
size: `.git`, `.svn`, `.hg`, `.vscode`, `.idea`, `.github`, `.gitlab`, `.circleci`, `coverage`,
`.nyc_output`, `htmlcov`, `__tests__`, `.pytest_cache`, `.mypy_cache`, `.ruff_cache`, `.tox`,
`.nox`, `node_modules/.cache`; and one finding per junk file pattern (`.DS_Store`, `Thumbs.db`,
`.gitlab-ci.yml`, `.travis.yml`, `.coverage`, `*.swp`) with the count and an example path.
Passes: none of these in the final filesystem outside `ignore_paths` (files deleted by a later
layer are gone from the final filesystem; their bytes count toward the image size).

Options:
- `patterns`: what counts as junk. A pattern matches path components (fnmatch); a trailing `/`
  means directories only; `node_modules/.cache/` matches those two components in a row.
- `ignore_paths` (fnmatch on the junk directory or file path): the default skips system and
  third-party package trees, whose junk is not yours to fix (`/usr/lib/*`, `/usr/share/*`,
  `*/site-packages/*`, `*/dist-packages/*`, inside packages under `node_modules` and `vendor`,
  `/usr/local/go/*`, `/go/pkg/mod/*`). Setting it replaces the default list.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileEntry, FileIndex, FileType
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation
from gatekeeper.text import plural
from gatekeeper.units import format_size

LABELS = {
    ".git": "version-control metadata",
    ".svn": "version-control metadata",
    ".hg": "version-control metadata",
    ".vscode": "IDE settings",
    ".idea": "IDE settings",
    ".github": "CI configuration",
    ".gitlab": "CI configuration",
    ".circleci": "CI configuration",
    ".gitlab-ci.yml": "CI configuration",
    ".travis.yml": "CI configuration",
    "coverage": "test coverage output",
    ".nyc_output": "test coverage output",
    "htmlcov": "test coverage output",
    ".coverage": "test coverage output",
    "__tests__": "tests",
    ".pytest_cache": "tool cache",
    ".mypy_cache": "tool cache",
    ".ruff_cache": "tool cache",
    ".tox": "tool cache",
    ".nox": "tool cache",
    "node_modules/.cache": "tool cache",
    ".DS_Store": "desktop metadata",
    "Thumbs.db": "desktop metadata",
    "*.swp": "editor swap file",
}
DEFAULT_PATTERNS = (
    ".git/", ".svn/", ".hg/", ".vscode/", ".idea/", ".github/", ".gitlab/", ".circleci/",
    "coverage/", ".nyc_output/", "htmlcov/", "__tests__/", ".pytest_cache/", ".mypy_cache/",
    ".ruff_cache/", ".tox/", ".nox/", "node_modules/.cache/",
    ".DS_Store", "Thumbs.db", ".gitlab-ci.yml", ".travis.yml", ".coverage", "*.swp",
)  # fmt: skip
DEFAULT_IGNORE = (
    "/usr/lib/*",
    "/usr/share/*",
    "/usr/local/go/*",
    "/go/pkg/mod/*",
    "*/site-packages/*",
    "*/dist-packages/*",
    "*/node_modules/*/*",
    "*/vendor/*/*",
)


@dataclass(frozen=True)
class Options:
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    ignore_paths: tuple[str, ...] = DEFAULT_IGNORE


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    parts: tuple[str, ...]
    directory: bool

    @classmethod
    def parse(cls, text: str) -> Pattern:
        return cls(text, tuple(p for p in text.strip("/").split("/") if p), text.endswith("/"))

    @property
    def label(self) -> str:
        return LABELS.get(self.text.strip("/"), f"matches `{self.text}`")

    def matches(self, path: str) -> bool:
        """Do the last components of `path` match the pattern's components?"""
        comps = path.strip("/").split("/")
        if len(comps) < len(self.parts):
            return False
        tail = comps[len(comps) - len(self.parts) :]
        return all(fnmatch.fnmatchcase(c, p) for c, p in zip(tail, self.parts, strict=True))


@dataclass
class Group:
    """The entries of one junk directory, or of one junk file pattern."""

    root: str
    pattern: Pattern
    entries: list[FileEntry] = field(default_factory=list)

    @property
    def files(self) -> list[FileEntry]:
        return [e for e in self.entries if e.type is FileType.FILE]


@dataclass
class Matcher:
    """Finds the outermost junk directory of a path; remembers directories already seen."""

    dirs: Sequence[Pattern]
    files: Sequence[Pattern]
    memo: dict[str, tuple[str, Pattern] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lasts = [fnmatch.translate(p.parts[-1]) for p in (*self.dirs, *self.files) if p.parts]
        self._quick = re.compile("|".join(lasts)) if lasts else None

    def _first(self, path: str, patterns: Sequence[Pattern]) -> Pattern | None:
        # The quick test runs on the last component only (match from just after the last `/`).
        if self._quick is None or not self._quick.match(path, path.rfind("/") + 1):
            return None
        return next((p for p in patterns if p.matches(path)), None)

    def directory(self, path: str) -> tuple[str, Pattern] | None:
        """The outermost junk directory at or above `path`. Iterative: a layer may hold paths
        thousands of directories deep (recursion ended in RecursionError at about 1,000)."""
        memo = self.memo
        pending: list[str] = []
        while path not in ("/", "") and path not in memo:
            pending.append(path)
            path = path[: path.rfind("/")] or "/"
        outer = memo.get(path)  # None for "/" (no junk at the root)
        for current in reversed(pending):  # from the outermost down
            own = self._first(current, self.dirs)
            outer = memo[current] = outer or ((current, own) if own else None)
        return outer

    def entries(self, entries: Iterable[FileEntry]) -> Iterator[tuple[FileEntry, str, Pattern, bool]]:
        """(entry, junk root, pattern, whether a directory pattern matched) for each junk entry.
        One loop with the common case inline: it runs for every path of the image."""
        memo, directory, quick = self.memo, self.directory, self._quick
        directory_type = FileType.DIR
        for entry in entries:
            path = entry.path
            if entry.type is directory_type:
                hit = directory(path)
                if hit:
                    yield entry, hit[0], hit[1], True
                continue
            cut = path.rfind("/")
            parent = path[:cut] or "/"
            hit = memo[parent] if parent in memo else directory(parent)
            if hit:
                yield entry, hit[0], hit[1], True
            elif quick is not None and quick.match(path, cut + 1):
                own = next((p for p in self.files if p.matches(path)), None)
                if own:
                    yield entry, path, own, False


def _groups(files: FileIndex, options: Options) -> tuple[list[Group], int]:
    patterns = [Pattern.parse(p) for p in options.patterns]
    matcher = Matcher([p for p in patterns if p.directory], [p for p in patterns if not p.directory])
    groups: dict[str, Group] = {}
    ignored: set[str] = set()
    kept: set[str] = set()  # the verdict is the root's: not tested again for each file under it
    for entry, root, pattern, is_dir in matcher.entries(files.files.values()):
        if root not in kept:
            if root in ignored or any(fnmatch.fnmatchcase(root, p) for p in options.ignore_paths):
                ignored.add(root)
                continue
            kept.add(root)
        key = root if is_dir else f"files:{pattern.text}"
        groups.setdefault(key, Group(root, pattern)).entries.append(entry)
    return sorted(groups.values(), key=lambda g: g.root), len(ignored)


def _violation(target: Target, files: FileIndex, group: Group) -> Violation:
    size = format_size(sum(e.size for e in group.files))
    count = len(group.files)
    root_entry = files.files.get(group.root)
    layer = root_entry.layer if root_entry else min(e.layer for e in group.entries)
    where = target.layer_location(layer, pointer=group.root)
    if group.pattern.directory:
        return Violation(
            f"{group.root}: {group.pattern.label} ({plural(count, 'file')}, {size}) in the image.",
            where,
            detail=group.root,
        )
    paths = sorted(e.path for e in group.entries)
    return Violation(
        f"{plural(len(paths), group.pattern.text + ' file')} ({group.pattern.label}, {size}) "
        f"in the image, e.g. {paths[0]}.",
        target.layer_location(min(e.layer for e in group.entries), pointer=paths[0]),
        detail=f"files:{group.pattern.text}",
        evidence=", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else ""),
    )


def check(target: Target, options: Options) -> Iterator[Item]:
    files = target.require_files()
    groups, ignored = _groups(files, options)
    for group in groups:
        yield _violation(target, files, group)
    if not groups:
        text = f"no junk among {len(files.files)} paths"
        if ignored:
            text += f" ({plural(ignored, 'junk path')} skipped by ignore_paths)"
        yield Evidence(text)


def needs(_: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM)


RULE = Rule(
    id="GK-IMG-010",
    name="junk-files",
    title="Development junk in the image",
    checklist=Checklist.HYGIENE,
    severity=Severity.LOW,
    check=check,
    fix="Exclude it in .dockerignore (`.git`, `.vscode`, `.idea`, `coverage`, `**/.DS_Store`) "
    "and copy only what the application needs.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
