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
    return not any(isinstance(i, Violation) for i in items) and any(
        isinstance(i, Evidence) for i in items
    )


def messages(items: Iterable[Violation]) -> list[str]:
    return [v.message for v in items]


_ = layer_tar  # re-exported for tests that build raw layers
