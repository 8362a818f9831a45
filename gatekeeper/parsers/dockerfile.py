"""Dockerfile text -> Dockerfile facts. Pure: text in, facts out.

Handles parser directives (`# escape=`), comments, line continuations (also across comments and
blank lines, as BuildKit does), BuildKit heredocs (`RUN <<EOF`), exec (JSON) form, flags
(`--from=`, `--chown=`, `--mount=`), `FROM ... AS name` stages and ARG defaults in FROM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gatekeeper.errors import InputError
from gatekeeper.facts.dockerfile import Dockerfile, Instruction, Stage
from gatekeeper.text import loads_json

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
# A heredoc is a whole shell word `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF` (BuildKit's reHeredoc).
_HEREDOC = re.compile(r"(?:^|(?<=\s))\d*<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2(?=\s|$)")
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")
_FLAG_KEYWORDS = frozenset({"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"})
_WHITESPACE = re.compile(r"[ \t\v\f\r]+")
KEYWORDS = frozenset(
    {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL"}
    | {"MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)


@dataclass
class _Logical:
    text: str
    line: int
    end_line: int
    heredocs: list[str]


def _lines(text: str) -> list[str]:
    """Lines as BuildKit's scanner sees them: split on newlines only, CRLF's `\\r` and a BOM dropped."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _split_keyword(text: str) -> tuple[str, str]:
    parts = _WHITESPACE.split(text.strip(), maxsplit=1)
    return parts[0].upper(), parts[1] if len(parts) > 1 else ""


def _heredoc_words(text: str) -> list[re.Match[str]]:
    """`<<EOF` words of RUN, COPY, ADD (also after ONBUILD) in shell form: where BuildKit reads heredocs."""
    keyword, rest = _split_keyword(text)
    if keyword == "ONBUILD":
        keyword, rest = _split_keyword(rest)
    if keyword not in _HEREDOC_KEYWORDS:
        return []
    _, args = _split_flags(rest)
    if _json_form(args) is not None:
        return []
    return list(_HEREDOC.finditer(args))


def _directives(lines: list[str], path: str) -> tuple[str, int]:
    escape = "\\"
    index = 0
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise InputError(f"{path}:{index + 1}: invalid escape directive {match.group(2)!r}")
            escape = match.group(2)
    else:
        index = len(lines)
    return escape, index


def _logical_lines(lines: list[str], escape: str, start: int, path: str) -> list[_Logical]:
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
            # Comment and blank lines inside a continuation are dropped (but belong to it).
            nxt = i + 1
            while nxt < len(lines) and (not lines[nxt].strip() or lines[nxt].strip().startswith("#")):
                nxt += 1
            if nxt == len(lines):
                i, current = len(lines) - 1, ""
                break
            i, current = nxt, lines[nxt].rstrip()
        if current.endswith(escape):
            current = current[: -len(escape)]
        parts.append(current)
        joined = " ".join(p.strip() for p in parts if p.strip())
        if not joined:  # only line continuations: no instruction
            i += 1
            continue
        heredocs: list[str] = []
        for match in _heredoc_words(joined):
            strip_tabs, word = match.group(1) == "-", match.group(3)
            body: list[str] = []
            i += 1
            while i < len(lines):
                candidate = lines[i].lstrip("\t") if strip_tabs else lines[i]
                if candidate == word:
                    break
                body.append(candidate)
                i += 1
            else:
                raise InputError(f"{path}:{first + 1}: unterminated heredoc <<{word}")
            heredocs.append("\n".join(body))
        result.append(_Logical(joined, first + 1, i + 1, heredocs))
        i += 1
    return result


def _split_flags(args: str) -> tuple[tuple[tuple[str, str], ...], str]:
    flags: list[tuple[str, str]] = []
    rest = args
    while rest.startswith("--"):
        token, *remainder = _WHITESPACE.split(rest, maxsplit=1)
        name, _, value = token[2:].partition("=")
        flags.append((name.lower(), value))
        rest = remainder[0] if remainder else ""
    return tuple(flags), rest


def _json_form(args: str) -> tuple[str, ...] | None:
    if not args.startswith("["):
        return None
    try:
        value = loads_json(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def substitute(text: str, values: dict[str, str]) -> str:
    """`${VAR}`, `$VAR`, `${VAR:-default}` with known ARG defaults; unknown ones stay as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        operator = re.match(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-+])([^}]*)\}", match.group(0))
        if name in values:
            if operator and operator.group(1).endswith("+"):
                return operator.group(2)  # ${VAR:+alt}: alt when VAR is set
            return values[name]
        if operator and operator.group(1).endswith("-"):
            return operator.group(2)
        return match.group(0)

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
    lines = _lines(text)
    escape, start = _directives(lines, path)
    stages: list[Stage] = []
    current: list[Instruction] = []
    global_args: list[Instruction] = []
    arg_values: dict[str, str] = {}
    for logical in _logical_lines(lines, escape, start, path):
        keyword, rest = _split_keyword(logical.text)
        if keyword not in KEYWORDS:
            word = logical.text.split()[0][:40]
            raise InputError(f"{path}:{logical.line}: unknown instruction {word!r} (is this a Dockerfile?)")
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
