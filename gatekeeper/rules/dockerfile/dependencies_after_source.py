"""Dependencies are installed after the source code is copied.

Docker rebuilds every layer after the first one that changed. When `COPY . .` comes before
`npm ci` or `pip install -r requirements.txt`, every code change reinstalls all dependencies.

Why: the article's layer caching strategy: "Copy package files first - install dependencies
before copying source code"; "Order matters - most stable layers first".

How to fix: copy only the dependency manifests, install, then copy the rest:

    COPY package*.json ./
    RUN npm ci --only=production
    COPY . .

Fails: in any stage, a `COPY .`/`ADD .` of the whole context comes before a RUN that installs
dependencies (npm, yarn, pnpm, pip with a requirements file or the project, poetry, pipenv, uv,
bundler, composer, go mod download, cargo fetch, Maven and Gradle dependency resolution).
Passes: every dependency install comes before the whole-context copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Instruction
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, NoOptions, Rule, Violation

INSTALL = re.compile(
    r"\b(?:npm\s+(?:ci|install|i)\b|yarn(?:\s+install)?(?:\s|$|&&|;)|pnpm\s+(?:install|i)\b"
    r"|(?:pip3?|python3?\s+-m\s+pip)(?:\s+--?[\w-]+(?:[=\s]\S+)?)*\s+install\s+(?:[^&;|]*\s)?"
    r"(?:(?:-r|--requirement)[=\s]*\S+|-e\s+\.|\.(?=\s|$|;|&|\|))"
    r"|poetry\s+install|pipenv\s+(?:install|sync)|uv\s+(?:sync|pip\s+install\s+-r)"
    r"|bundle\s+install|composer\s+install|go\s+mod\s+download|cargo\s+fetch"
    r"|mvn\b[^&;|]*dependency:|gradle\b[^&;|]*dependencies)"
)
WHOLE_CONTEXT = frozenset({".", "./", "*"})


def is_whole_context_copy(instruction: Instruction) -> bool:
    if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
        return False
    sources = instruction.words[:-1]
    return any(src in WHOLE_CONTEXT for src in sources)


def installs_dependencies(instruction: Instruction) -> str | None:
    if instruction.keyword != "RUN":
        return None
    text = " ".join((instruction.args, *instruction.heredocs))
    match = INSTALL.search(text)
    return " ".join(match.group(0).split()) if match else None


def check(target: Target, _: NoOptions) -> Iterator[Item]:
    dockerfile = target.require_dockerfile()
    checked = failed = 0
    for stage in dockerfile.stages:
        copy: Instruction | None = None
        for instruction in stage.instructions:
            if copy is None and is_whole_context_copy(instruction):
                copy = instruction
                continue
            install = installs_dependencies(instruction)
            if install is None:
                continue
            checked += 1
            if copy is not None:
                yield Violation(
                    f"Stage {stage.label()!r}: `{copy.keyword} {copy.args}` (line {copy.line}) "
                    f"comes before `{install}` (line {instruction.line}), so every source change "
                    "reinstalls the dependencies.",
                    target.instruction_location(copy),
                    detail=f"{stage.label()}:{install}",
                )
                failed += 1
                break
    if failed:
        return
    if checked:
        yield Evidence(f"{checked} dependency install(s), each before the source is copied")
    else:
        yield Evidence("no dependency install step found")


RULE = Rule(
    id="GK-DF-002",
    name="dependencies-after-source",
    title="Dependencies are installed after the source code is copied",
    checklist=Checklist.HYGIENE,
    severity=Severity.LOW,
    check=check,
    fix="Copy the dependency manifests and install them before `COPY . .`.",
    doc=__doc__ or "",
    options=NoOptions,
)
