"""Dockerfile text -> Dockerfile facts. Pure: text in, facts out.

Handles parser directives (`# escape=`), comments, line continuations (also across comments and
blank lines, as BuildKit does), BuildKit heredocs (`RUN <<EOF`), exec (JSON) form, flags
(`--from=`, `--chown=`, `--mount=`), `FROM ... AS name` stages and ARG defaults in FROM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from gatekeeper.errors import InputError
from gatekeeper.facts.dockerfile import Dockerfile, Instruction, Stage

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")
_FLAG_KEYWORDS = frozenset({"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"})


@dataclass
class _Logical:
    text: str
    line: int
    end_line: int
    heredocs: list[str]


def _directives(lines: list[str]) -> tuple[str, int]:
    escape = "\\"
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - index is used after the loop
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise InputError(f"invalid escape directive {match.group(2)!r}")
            escape = match.group(2)
    else:
        index = len(lines)
    return escape, index


def _logical_lines(text: str, escape: str) -> list[_Logical]:
    lines = text.splitlines()
    _, start = _directives(lines)
    result: list[_Logical] = []
    i = start
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        first = i
        parts: list[str] = []
        current = raw.rstrip()
        while current.endswith(escape) and i + 1 < len(lines):
            parts.append(current[: -len(escape)])
            i += 1
            # Comment and blank lines inside a continuation are dropped.
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                i += 1
            current = lines[i].rstrip() if i < len(lines) else ""
        if current.endswith(escape):
            current = current[: -len(escape)]
        parts.append(current)
        joined = " ".join(p.strip() for p in parts if p.strip())
        heredocs: list[str] = []
        for match in _HEREDOC.finditer(joined):
            strip_tabs, word = match.group(1) == "-", match.group(3)
            body: list[str] = []
            i += 1
            while i < len(lines):
                candidate = lines[i].lstrip("\t") if strip_tabs else lines[i]
                if candidate.strip() == word:
                    break
                body.append(candidate)
                i += 1
            heredocs.append("\n".join(body))
        result.append(_Logical(joined, first + 1, i + 1, heredocs))
        i += 1
    return result


def _split_flags(args: str) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    rest = args
    while rest.startswith("--"):
        token, _, remainder = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags.append((name.lower(), value))
        rest = remainder.lstrip()
    return tuple(flags), rest


def _json_form(args: str) -> tuple[str, ...] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def substitute(text: str, values: dict[str, str]) -> str:
    """`${VAR}`, `$VAR`, `${VAR:-default}` with known ARG defaults; unknown ones stay as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in values:
            return values[name]
        default = re.match(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", match.group(0))
        return default.group(1) if default else match.group(0)

    return _VAR.sub(one, text)


def _arg_defaults(instruction: Instruction) -> dict[str, str]:
    values: dict[str, str] = {}
    for word in instruction.args.split():
        name, sep, value = word.partition("=")
        if sep:
            values[name] = value.strip("\"'")
    return values


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; raises InputError for text that is not one."""
    escape, _ = _directives(text.splitlines())
    stages: list[Stage] = []
    current: list[Instruction] = []
    global_args: list[Instruction] = []
    arg_values: dict[str, str] = {}
    for logical in _logical_lines(text, escape):
        keyword, _, rest = logical.text.partition(" ")
        keyword = keyword.upper()
        if not re.fullmatch(r"[A-Z]+", keyword):
            raise InputError(f"{path}:{logical.line}: not a Dockerfile instruction: {keyword[:40]!r}")
        flags, args = _split_flags(rest.strip()) if keyword in _FLAG_KEYWORDS else ((), rest.strip())
        instruction = Instruction(
            keyword=keyword,
            args=args,
            line=logical.line,
            end_line=logical.end_line,
            stage=len(stages),
            flags=flags,
            json_args=_json_form(args),
            heredocs=tuple(logical.heredocs),
            original=logical.text,
        )
        if keyword == "FROM":
            if current:
                stages.append(_close(stages, current))
            current = [replace(instruction, stage=len(stages))]
            continue
        if not current:
            if keyword != "ARG":
                raise InputError(f"{path}:{logical.line}: {keyword} before the first FROM")
            global_args.append(replace(instruction, stage=-1))
            arg_values.update(_arg_defaults(instruction))
            continue
        current.append(replace(instruction, stage=len(stages)))
    if current:
        stages.append(_close(stages, current))
    if not stages:
        raise InputError(f"{path}: no FROM instruction (is this a Dockerfile?)")
    stages = [_resolve_base(s, stages, arg_values) for s in stages]
    return Dockerfile(
        path=path, stages=tuple(stages), global_args=tuple(global_args), escape=escape, text=text
    )


def _close(stages: list[Stage], instructions: list[Instruction]) -> Stage:
    head = instructions[0]
    words = head.args.split()
    base = words[0] if words else ""
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
    return Stage(
        index=len(stages),
        base=base,
        name=name,
        line=head.line,
        platform=head.flag("platform") or "",
        instructions=tuple(instructions),
    )


def _resolve_base(stage: Stage, stages: list[Stage], args: dict[str, str]) -> Stage:
    base = substitute(stage.base, args)
    base_stage = None
    for earlier in stages[: stage.index]:
        if base.lower() == earlier.name or (not earlier.name and base == str(earlier.index)):
            base_stage = earlier.index
    return replace(stage, base=base, base_stage=base_stage)
