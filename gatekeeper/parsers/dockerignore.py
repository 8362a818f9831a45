"""`.dockerignore` text -> DockerIgnore, with moby/patternmatcher's matching rules.

Lines are trimmed; `#` lines and blank lines are ignored; `!` marks an exception; patterns are
cleaned like Go's filepath.Clean and a leading `/` is dropped. `*` and `?` do not cross `/`, `**`
matches any number of directories, and a pattern that matches a directory excludes everything
under it. The last matching pattern wins.
"""

from __future__ import annotations

import posixpath
import re

from gatekeeper.facts.context import DockerIgnore, IgnorePattern


def _regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def parse(text: str, path: str = ".dockerignore") -> DockerIgnore:
    patterns: list[IgnorePattern] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        if not exclude:
            line = line[1:].strip()
        cleaned = posixpath.normpath(line).lstrip("/")
        if cleaned in ("", "."):
            continue
        patterns.append(IgnorePattern(cleaned, exclude, number, _regex(cleaned)))
    return DockerIgnore(path, tuple(patterns))
