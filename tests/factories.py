"""Build ImageFacts in memory for rule and engine tests: real layer scans, no files, no engine."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from gatekeeper.facts import Target
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.needs import ContentWanted
from gatekeeper.rule import Evidence, Rule, Violation
from gatekeeper.sources._oci import assemble, parse_config
from gatekeeper.sources.layers import IndexBuilder, scan_blob
from tests.imagegen import F, Image, layer_tar

EVERYTHING = ContentWanted(patterns=("*",))


def image(
    layers: Sequence[Sequence[F]] = (),
    *,
    filesystem: bool = True,
    source: str = "docker-archive",
    history: list[dict[str, Any]] | None = None,
    **config: Any,
) -> ImageFacts:
    """An image whose config holds `config` (Docker keys: User, Env, Healthcheck, ...)."""
    spec = Image(layers=[list(la) for la in layers], config=config, history=history)
    tars = spec.layer_tars()
    scans = [scan_blob(io.BytesIO(t), EVERYTHING) for t in tars]
    raw = spec.config_json([s.diff_id for s in scans])
    parsed = parse_config(raw)
    builder = IndexBuilder()
    for scan in scans:
        builder.add(scan)
    return assemble(
        reference=f"{source}:test",
        source=source,
        digest="sha256:" + "0" * 64,
        config_digest="sha256:" + "1" * 64,
        parsed=parsed,
        scans=scans,
        files=builder.build() if filesystem else None,
    )


def run(rule: Rule[Any], facts: ImageFacts, **options: Any) -> list[Violation | Evidence]:
    return list(rule.check(Target(image=facts), rule.build_options(options)))


def violations(rule: Rule[Any], facts: ImageFacts, **options: Any) -> list[Violation]:
    return [v for v in run(rule, facts, **options) if isinstance(v, Violation)]


def evidence(rule: Rule[Any], facts: ImageFacts, **options: Any) -> list[str]:
    return [e.text for e in run(rule, facts, **options) if isinstance(e, Evidence)]


def catches(rule: Rule[Any], facts: ImageFacts, **options: Any) -> bool:
    return bool(violations(rule, facts, **options))


def passes(rule: Rule[Any], facts: ImageFacts, **options: Any) -> bool:
    items = run(rule, facts, **options)
    return not any(isinstance(i, Violation) for i in items) and any(isinstance(i, Evidence) for i in items)


def messages(items: Iterable[Violation]) -> list[str]:
    return [v.message for v in items]


_ = layer_tar  # re-exported for tests that build raw layers


def target(
    facts: ImageFacts | None = None,
    *,
    dockerfile: str | None = None,
    workloads: Sequence[Any] = (),
    image_workloads: Sequence[Any] | None = None,
    **extra: Any,
) -> Target:
    """A Target with a parsed Dockerfile (and its history mapping when an image is given)."""
    from gatekeeper.facts.mapping import layer_instructions, match_history
    from gatekeeper.parsers.dockerfile import parse

    parsed = parse(dockerfile) if dockerfile is not None else None
    matched = match_history(parsed, facts.history) if parsed is not None and facts is not None else {}
    return Target(
        image=facts,
        dockerfile=parsed,
        workloads=tuple(workloads),
        image_workloads=tuple(workloads if image_workloads is None else image_workloads),
        history_instructions=matched,
        layer_instructions=layer_instructions(facts.history, matched) if facts is not None else {},
        **extra,
    )


def check_target(rule: Rule[Any], tgt: Target, **options: Any) -> list[Violation | Evidence]:
    return list(rule.check(tgt, rule.build_options(options)))


def target_violations(rule: Rule[Any], tgt: Target, **options: Any) -> list[Violation]:
    return [v for v in check_target(rule, tgt, **options) if isinstance(v, Violation)]


def target_evidence(rule: Rule[Any], tgt: Target, **options: Any) -> list[str]:
    return [e.text for e in check_target(rule, tgt, **options) if isinstance(e, Evidence)]
