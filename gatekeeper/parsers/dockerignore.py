"""`.dockerignore` text -> DockerIgnore, with moby/patternmatcher's matching rules.

Lines starting with `#` (in the first column) and blank lines are ignored, others are trimmed;
`!` marks an exception; patterns are cleaned like Go's filepath.Clean and a leading `/` is dropped.
`*` and `?` do not cross `/`, `**` matches any number of directories, and a pattern that matches
a directory excludes everything under it. The last matching pattern wins.
"""

from __future__ import annotations

import posixpath
import re

from gatekeeper.errors import InputError
from gatekeeper.facts.context import DockerIgnore, IgnorePattern


def _regex(pattern: str) -> re.Pattern[str]:
    """moby/patternmatcher's Pattern.compile as one regex, with its exact, prefix and suffix shortcuts.

    `**/` (or `**` at the end) matches any number of directories; a `**` inside a name does too
    (`a**b` matches `ab` and `a/x/b`, not `axb`), except that a pattern that starts with `**` and has
    no other wildcard is a plain suffix test. Character classes are Go's: `[^a]` negates, `[!a]` does not.
    """
    out: list[str] = []
    kind = "exact"
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                at_start = i == 0
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                if i == len(pattern):
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        out.append(".*")
                        kind = "regexp"
                else:
                    out.append("(?:.*/)?")
                    kind = "regexp"
                if at_start:
                    kind = "suffix"
                continue
            out.append("[^/]*")
            kind = "regexp"
        elif char == "?":
            out.append("[^/]")
            kind = "regexp"
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                for literal in "[&~|":  # literal in Go's classes; Python reserves them for set operations
                    body = body.replace(literal, "\\" + literal)
                body = body.replace("--", "-\\-")  # `!--`: a range ending at `-`, not a set difference
                out.append("[" + body + "]")
                kind = "regexp"
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
            kind = "regexp"
        else:
            out.append(re.escape(char))
        i += 1
    if kind == "prefix":
        return re.compile(re.escape(pattern[:-2]) + ".*")
    if kind == "suffix":
        suffix = pattern[2:]
        if suffix.startswith("/"):
            return re.compile(f"(?:.*/)?{re.escape(suffix[1:])}")
        return re.compile(".*" + re.escape(suffix))
    return re.compile("".join(out))


def parse(text: str, path: str = ".dockerignore") -> DockerIgnore:
    patterns: list[IgnorePattern] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if raw.startswith("#"):
            continue  # only a `#` in the first column starts a comment (moby/patternmatcher/ignorefile)
        line = raw.strip()
        if not line:
            continue
        exclude = not line.startswith("!")
        if not exclude:
            line = line[1:].strip()
        cleaned = posixpath.normpath(line).lstrip("/")
        if cleaned in ("", "."):
            continue
        try:
            regex = _regex(cleaned)
        except re.error as exc:  # `[z-a]`: docker build rejects the file too
            raise InputError(f"{path}:{number}: invalid pattern {line!r} ({exc.msg})") from None
        patterns.append(IgnorePattern(cleaned, exclude, number, regex))
    return DockerIgnore(path, tuple(patterns))
