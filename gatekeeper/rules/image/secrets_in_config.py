"""Secrets in the image config, history or Dockerfile.

Anyone who can pull the image can read its ENV, LABELs and history (`docker inspect`,
`docker history --no-trunc`): a token written there is published with every push, and build
arguments used by a RUN step are recorded in the history even when no ENV keeps them.

Why: the article's checklist item "Secrets managed externally" and its pitfall "Hardcoding
secrets: never put secrets in Dockerfiles or images". Dockle used to print the very values it
flagged (dockle PR #268); this rule never shows a value, only its name and a masked hint such as
`ghp_…(40 chars)`.

How to fix: pass secrets at run time (orchestrator secrets, files mounted from a secret store,
`docker run --env-file`) and at build time with BuildKit secret mounts, never as ENV, ARG, LABEL
or on a RUN command line:

    RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci

Then rotate every secret that was pushed: removing it from the Dockerfile does not remove it from
images already in a registry.

Fails:
- a known token format anywhere (AWS access key id, GitHub, GitLab, Slack, Stripe live, Google
  API, npm, PyPI, Docker Hub tokens, private key blocks, JWTs, URLs with a password, even
  `postgresql://postgres:password@db/app`) in ENV, LABELs or history;
- a secret-sounding name (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `API_KEY`, `NPM_AUTH`, `*_DSN`...)
  with a value that is not a placeholder, as ENV, LABEL, build argument (`|2 TOKEN=... /bin/sh
  -c ...` in classic builder history, `RUN |1 TOKEN=...` in BuildKit history) or ARG default;
- secrets on RUN command lines: `curl -u user:pass`, `--password=x`, `-H "Authorization: Bearer
  x"`, `export API_TOKEN=x`, npm `_authToken=x`;
- with a Dockerfile: ENV and LABEL values of the final stage's chain and ARG defaults of any stage
  (a default is committed with the Dockerfile even if no image records it).
Passes: names about a secret rather than holding it (`PASSWORD_FILE=/run/secrets/db`,
`*_PATH`, `*_URL` without credentials, `*_VERSION`, `*_SHA256`, `GPG_KEY=<fingerprint>` as the
official images set it), placeholders (`${TOKEN}`, `changeme`, `<token>`, `true`, numbers,
versions like `apk add libcrypto3=3.1.4-r1`, paths, secret-manager references like `arn:aws:...`).
The evidence says how many entries were read.

Options:
- `ignore_names` (default none): fnmatch patterns (case-insensitive) of names never reported,
  e.g. `SENTRY_DSN` if your DSNs are public.
- `extra_names` (default none): fnmatch patterns of more secret-sounding names, e.g. `*_PIN`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Dockerfile, Instruction
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.mapping import (
    KEYWORDS,
    nop_step,  # one reading of `#(nop)` steps
    split_build_args,
)
from gatekeeper.facts.needs import Request
from gatekeeper.findings import Location, Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Violation
from gatekeeper.secrets import Found, command_secrets, find, mask, redact, shell_words

_SHELLS = ("/bin/sh -c ", "cmd /S /C ")
_KEYED = ("ENV", "LABEL", "ARG")
_PULLERS = "anyone who can pull the image reads it"


@dataclass(frozen=True)
class Options:
    ignore_names: tuple[str, ...] = ()
    extra_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One history entry taken apart: build arguments, the instruction keyword, the rest."""

    build_args: tuple[tuple[str, str], ...]
    keyword: str
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A secret and where it was seen (the secret itself is only used for masking)."""

    place: str
    """`ENV GITHUB_TOKEN`, `Build argument TOKEN`, `The RUN command (--password)`."""
    name: str
    found: Found
    location: Location
    detail: str
    exposure: str


def parse_step(created_by: str) -> Step:
    """`RUN |2 A=1 B=2 /bin/sh -c make` -> Step((("A", "1"), ("B", "2")), "RUN", "make").

    Classic builder: `|2 A=1 /bin/sh -c cmd`, `/bin/sh -c #(nop)  ENV A=1` (or, after a
    SHELL instruction, `/bin/bash -o pipefail -c #(nop)  ENV A=1`); BuildKit:
    `RUN |1 A=1 /bin/sh -c cmd # buildkit`, `ENV A=1`, `ARG A=1`.
    """
    text = created_by.strip()
    build_args, text = split_build_args(text[4:].lstrip() if text.startswith("RUN |") else text)
    keyword, _, rest = text.partition(" ")
    nop = None if keyword in KEYWORDS else nop_step(text)  # BuildKit writes the keyword
    if nop is not None:
        return Step(build_args, *nop)
    if text.startswith(_SHELLS) or keyword.upper() == "RUN":
        command = text if text.startswith(_SHELLS) else rest.strip()
        for shell in _SHELLS:
            command = command.removeprefix(shell)
        return Step(build_args, "RUN", command.removesuffix("# buildkit").strip())
    if keyword.upper() not in KEYWORDS:
        return Step(build_args, "", text)
    return Step(build_args, keyword.upper(), rest.strip())


def pairs(keyword: str, args: str) -> list[tuple[str, str]]:
    """Name/value pairs of `ENV A=1 B="x y"`, legacy `ENV A some value`, `LABEL`, `ARG A=1`."""
    words = shell_words(args)
    if not words:
        return []
    if keyword != "ARG" and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    result = []
    for word in words:
        name, sep, value = word.partition("=")
        if sep and name:
            result.append((name, value))
    return result


def _at(target: Target, instruction: Instruction, pointer: str) -> Location:
    return Location(target.instruction_location(instruction).artifact, instruction.line, pointer)


def _history_location(target: Target, index: int, pointer: str = "history") -> Location:
    instruction = target.history_instructions.get(index)
    return _at(target, instruction, pointer) if instruction else image_location(pointer)


def _dockerfile_setting(dockerfile: Dockerfile | None, keyword: str, name: str) -> Instruction | None:
    if dockerfile is None:
        return None
    return dockerfile.last_in_chain(keyword, lambda i: any(k == name for k, _ in pairs(keyword, i.args)))


def _last_settings(steps: Sequence[Step]) -> dict[tuple[str, str], int]:
    """(`ENV`/`LABEL`, name) -> the index of the last history step that set it."""
    last: dict[tuple[str, str], int] = {}
    for index, step in enumerate(steps):
        if step.keyword in ("ENV", "LABEL"):
            for name, _ in pairs(step.keyword, step.text):
                last[(step.keyword, name)] = index
    return last


def _config_location(
    target: Target, last: Mapping[tuple[str, str], int], keyword: str, name: str
) -> Location:
    """The Dockerfile line that set a config ENV / LABEL, else the image config."""
    pointer = "config.Env" if keyword == "ENV" else "config.Labels"
    index = last.get((keyword, name))
    if index is not None and index in target.history_instructions:
        return _history_location(target, index, pointer)
    instruction = _dockerfile_setting(target.dockerfile, keyword, name)
    return _at(target, instruction, pointer) if instruction else image_location(pointer)


def _config_hits(
    target: Target, image: ImageFacts, steps: Sequence[Step], extra: Sequence[str]
) -> Iterator[Hit]:
    last: Mapping[tuple[str, str], int] | None = None  # which step set what: only for a hit
    for keyword, items, exposure in (
        ("ENV", image.config.env, _PULLERS + " with `docker inspect`, and every process inherits it"),
        ("LABEL", image.config.labels, _PULLERS + " with `docker inspect`"),
    ):
        for name, value in items:
            found = find(name, value, extra)
            if found is not None:
                last = _last_settings(steps) if last is None else last
                where = _config_location(target, last, keyword, name)
                detail = f"{keyword.lower()}:{name}"
                yield Hit(f"{keyword} {name}", name, found, where, detail, exposure)


def _step_hits(target: Target, index: int, step: Step, extra: Sequence[str]) -> Iterator[Hit]:
    where = _history_location(target, index)
    entry_name = f"entry {index}" + (f", {step.keyword}" if step.keyword else "")
    exposure = f"{_PULLERS} in the history ({entry_name}) with `docker history --no-trunc`"
    for name, value in step.build_args:
        found = find(name, value, extra)
        if found is not None:
            yield Hit(f"Build argument {name}", name, found, where, f"build-arg:{name}", exposure)
    if step.keyword in _KEYED:
        for name, value in pairs(step.keyword, step.text):
            found = find(name, value, extra)
            if found is not None:
                detail = f"history-{step.keyword.lower()}:{name}"
                yield Hit(f"{step.keyword} {name}", name, found, where, detail, exposure)
        return
    counts: dict[str, int] = {}
    for holder, found in command_secrets(step.text):
        key = holder or found.kind.name
        counts[key] = counts.get(key, 0) + 1
        detail = f"command:{key}" + (f"#{counts[key]}" if counts[key] > 1 else "")
        place = f"The {step.keyword or 'build'} command" + (f" ({holder})" if holder else "")
        yield Hit(place, holder, found, where, detail, exposure)


def _dockerfile_hits(target: Target, dockerfile: Dockerfile, extra: Sequence[str]) -> Iterator[Hit]:
    runtime = {stage.index for stage in dockerfile.runtime_chain()}
    for instruction in dockerfile.instructions:
        keyword = instruction.keyword
        if keyword != "ARG" and not (keyword in ("ENV", "LABEL") and instruction.stage in runtime):
            continue
        exposure = (
            "it is committed with the Dockerfile and copied into the image config"
            if keyword != "ARG"
            else "it is committed with the Dockerfile, and RUN steps that use it record it in "
            "the image history"
        )
        for name, value in pairs(keyword, instruction.args):
            found = find(name, value, extra)
            if found is not None:
                where = target.instruction_location(instruction)
                detail = f"dockerfile-{keyword.lower()}:{name}"
                yield Hit(f"{keyword} {name}", name, found, where, detail, exposure)


def collect(target: Target, extra: Sequence[str]) -> Iterator[Hit]:
    """Every secret seen, config first, then history, then the Dockerfile."""
    image = target.image
    if image is not None:
        steps = [parse_step(entry.created_by) for entry in image.history]
        yield from _config_hits(target, image, steps, extra)
        for index, step in enumerate(steps):
            yield from _step_hits(target, index, step, extra)
    if target.dockerfile is not None:
        yield from _dockerfile_hits(target, target.dockerfile, extra)


def _ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name.upper(), p.upper()) for p in patterns)


def _group(hits: Iterable[Hit]) -> list[list[Hit]]:
    """Hits grouped by secret value, in order of first appearance."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.found.secret, []).append(hit)
    return list(groups.values())


def _where(location: Location) -> str:
    if location.line is not None:
        return f"{location.artifact}:{location.line}"
    return str(location)


def _violation(group: Sequence[Hit], secrets: Sequence[str]) -> Violation:
    first = group[0]
    found = first.found
    # Names never hold the value by construction; redacting them guards against the odd key
    # that contains its own secret. The label and the mask are ours.
    place = redact(first.place, secrets)
    message = f"{place} holds a secret ({found.kind.label}, {mask(found.secret)}): {first.exposure}."
    also = dict.fromkeys(
        f"{_where(hit.location)} ({hit.place})"
        for hit in group[1:]
        if _where(hit.location) != _where(first.location) or hit.place != first.place
    )
    evidence = ("also in: " + "; ".join(also)) if also else ""
    return Violation(
        message,
        first.location,
        detail=redact(first.detail, secrets),
        evidence=redact(evidence, secrets),
    )


def _summary(target: Target, ignored: Sequence[str]) -> str:
    parts = []
    if target.image is not None:
        config = target.image.config
        parts.append(
            f"{len(config.env)} ENV, {len(config.labels)} LABELs, {len(target.image.history)} history entries"
        )
    if target.dockerfile is not None:
        parts.append(f"ENV/ARG/LABEL of {target.dockerfile.path}")
    text = "no secrets in " + " and ".join(parts)
    if ignored:
        text += f"; ignored by name: {', '.join(sorted(set(ignored)))}"
    return text


def check(target: Target, options: Options) -> Iterator[Item]:
    if target.image is None and target.dockerfile is None:
        raise NotApplicable("no image or Dockerfile given")
    hits = list(collect(target, options.extra_names))
    kept = [h for h in hits if not _ignored(h.name, options.ignore_names)]
    ignored = [h.name for h in hits if _ignored(h.name, options.ignore_names)]
    secrets = [h.found.secret for h in hits]
    groups = _group(kept)
    for group in groups:
        yield _violation(group, secrets)
    if not groups:
        yield Evidence(_summary(target, ignored))


def needs(_: Options) -> Request:
    return Request()


RULE = Rule(
    id="GK-IMG-008",
    name="secrets-in-config",
    title="Secrets in the image config, history or Dockerfile",
    checklist=Checklist.SECRETS,
    severity=Severity.CRITICAL,
    check=check,
    fix="Pass secrets at run time or with `RUN --mount=type=secret`, never in ENV, ARG, LABEL or "
    "a RUN command line; rotate any secret that was pushed.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
