"""Image has no working HEALTHCHECK.

Without a health check the engine, the load balancer and the orchestrator only know whether the
process exists, not whether it serves. A health check whose command is not in the image is worse
than none: the container is reported unhealthy forever (the classic `curl -f` in a slim image).

Why: the article's checklist item "Health checks configured": health checks enable automatic
restarts, load balancer integration, monitoring and alerting.

How to fix: add a HEALTHCHECK to the final stage whose command exists in the image, e.g.

    HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \\
      CMD ["/app/healthcheck"]

or install the tool it calls (`curl`, `wget`) in the final stage, or use the runtime's own check
(compose `healthcheck:`, Kubernetes liveness and readiness probes).

Fails: no HEALTHCHECK; `HEALTHCHECK NONE`; a `CMD` whose executable is not in the image; a
`CMD-SHELL` check when the image has no `/bin/sh`, or whose first command is not found on PATH.
Passes: a HEALTHCHECK whose executable exists (the evidence names where it was found).

The runtime config counts too, for the workloads that run this image: a compose `healthcheck:`
satisfies the item (and `disable: true` fails it); a Kubernetes container needs both a liveness
and a readiness probe, because Kubernetes ignores the image HEALTHCHECK (jobs and init containers
are exempt). Exec probes and compose commands are looked up in the image like a HEALTHCHECK.
Without an image, the Dockerfile's final stage is judged.

With --run: the checks that ran are added as evidence (`--run: image HEALTHCHECK healthy after
0.4s`); whether they passed is judged by container-unhealthy, so this rule keeps answering only
whether a working health check is configured.

Options:
- `verify_command` (default true): look the health command up in the image filesystem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, Healthcheck
from gatekeeper.facts.needs import Need, Request
from gatekeeper.facts.workload import Probe, Workload
from gatekeeper.findings import Location, Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation
from gatekeeper.secrets import shell_words

SHELL = "/bin/sh"
# Shell builtins and keywords that need nothing but the shell itself.
BUILTINS = frozenset(
    {"exit", "true", "false", "test", "[", "[[", "echo", "printf", "cd", "set", "export"}
    | {"exec", "if", "for", "while", "case", "!", "{", "(", ":", ".", "eval"}
)


@dataclass(frozen=True)
class Options:
    verify_command: bool = True


def health_executable(test: Healthcheck) -> tuple[str, bool]:
    """(the program the check runs first, whether it runs through /bin/sh)."""
    kind = test.test[0].upper()
    if kind == "CMD":
        return (test.test[1] if len(test.test) > 1 else ""), False
    words = shell_words(" ".join(test.test[1:]))
    while words and "=" in words[0] and not words[0].startswith("="):
        words.pop(0)  # leading VAR=value assignments
    return (words[0] if words else ""), True


def check(target: Target, options: Options) -> Iterator[Item]:
    yield from _static(target, options)
    runtime = target.runtime
    if runtime is not None and runtime.attempted and runtime.started:
        for result in runtime.health:
            verdict = (
                f"healthy after {result.healthy_after:g}s"
                if result.healthy_after is not None
                else f"{result.status.value}: {result.reason}"
            )
            yield Evidence(f"--run: {result.name} {verdict}")


def _static(target: Target, options: Options) -> Iterator[Item]:
    target.require_image_or_dockerfile()
    workloads = [w for w in target.image_workloads if not w.init and not w.is_job]
    if not workloads:
        yield from _image(target, options, "")
        return
    for workload in workloads:
        if workload.kind == "kubernetes":
            yield from _kubernetes(target, workload, options)
        else:
            yield from _compose(target, workload, options)


def _image(target: Target, options: Options, prefix: str) -> Iterator[Item]:
    """The image's own HEALTHCHECK (or the Dockerfile's, when no image is given)."""
    if target.image is None:
        yield from _dockerfile(target, prefix)
        return
    image = target.image
    health = image.config.healthcheck
    where = target.config_location("HEALTHCHECK", "config.Healthcheck")
    if health is None or not health.test:
        yield Violation(f"{prefix}The image has no HEALTHCHECK.", where, detail=f"{prefix}missing")
        return
    if health.disabled:
        yield Violation(
            f"{prefix}HEALTHCHECK NONE disables the health check.", where, detail=f"{prefix}disabled"
        )
        return
    shown = f"HEALTHCHECK {health.test[0].upper()} {health.command_text}"
    if not options.verify_command or image.files is None:
        yield Evidence(f"{prefix}{shown} (command not verified)")
        return
    path = image.config.search_path
    yield from _verify(image.files, health, prefix + shown, path, where)


def _dockerfile(target: Target, prefix: str) -> Iterator[Item]:
    dockerfile = target.require_dockerfile()
    found = dockerfile.last_in_chain("HEALTHCHECK")
    if found is not None:
        where = target.instruction_location(found)
        if found.args.strip().upper() == "NONE":
            yield Violation(f"{prefix}HEALTHCHECK NONE disables the health check.", where, detail="disabled")
        else:
            yield Evidence(f"{prefix}HEALTHCHECK {found.args} (line {found.line}; no image to verify)")
        return
    final = dockerfile.stages[-1]
    yield Violation(
        f"{prefix}The final stage has no HEALTHCHECK.",
        Location(dockerfile.path, final.line, "FROM"),
        detail=f"{prefix}missing",
    )


def _compose(target: Target, workload: Workload, options: Options) -> Iterator[Item]:
    probe = next((p for p in workload.probes if p.kind == "healthcheck"), None)
    if probe is None:
        yield from _image(target, options, f"{workload.name} has no healthcheck: ")
        return
    if probe.handler == "none":
        yield Violation(
            f"{workload.name} disables the health check.", probe.location, detail=f"{workload.name}:off"
        )
        return
    yield from _probe(target, workload, probe, options, Healthcheck(test=probe.command))


def _kubernetes(target: Target, workload: Workload, options: Options) -> Iterator[Item]:
    kinds = {p.kind for p in workload.probes}
    missing = [k for k in ("liveness", "readiness") if k not in kinds]
    if missing:
        yield Violation(
            f"{workload.name} has no {' or '.join(missing)} probe (Kubernetes ignores the "
            "image HEALTHCHECK).",
            workload.origin,
            detail=f"{workload.name}:{','.join(missing)}",
        )
        return
    for probe in workload.probes:
        test = Healthcheck(test=("CMD", *probe.command)) if probe.handler == "exec" else None
        yield from _probe(target, workload, probe, options, test)


def _probe(
    target: Target, workload: Workload, probe: Probe, options: Options, test: Healthcheck | None
) -> Iterator[Item]:
    where = probe.location
    line = f":{where.line}" if where.line else ""
    shown = f"{workload.name} {probe.kind} {probe.handler} {' '.join(probe.command)}".rstrip()
    image = target.image
    if test is None or not options.verify_command or image is None or image.files is None:
        yield Evidence(f"{shown} ({where.artifact}{line})")
        return
    path = image.config.search_path
    yield from _verify(image.files, test, f"{shown} ({where.artifact}{line})", path, where)


def _verify(files: FileIndex, health: Healthcheck, shown: str, path: str, where: Location) -> Iterator[Item]:
    program, via_shell = health_executable(health)
    if via_shell and files.find_executable(SHELL, path) is None:
        yield Violation(f"{shown} runs through /bin/sh, which is not in the image.", where, detail="no-shell")
        return
    if not program:
        yield Violation(f"{shown} has no command.", where, detail="empty")
        return
    if via_shell and program in BUILTINS:
        yield Evidence(f"{shown}: shell builtin {program!r} via /bin/sh")
        return
    found = files.find_executable(program, path)
    if found is None:
        yield Violation(
            f"{shown}: {program!r} is not in the image"
            + ("" if "/" in program else " (searched PATH)")
            + ", so the check can never pass.",
            where,
            detail=f"not-found:{program}",
        )
        return
    yield Evidence(f"{shown}: {program} found at {found.path}")


def needs(options: Options) -> Request:
    return Request(Need.CONFIG | Need.FILESYSTEM) if options.verify_command else Request()


RULE = Rule(
    id="GK-IMG-002",
    name="healthcheck-missing",
    title="Image has no working HEALTHCHECK",
    checklist=Checklist.HEALTH,
    severity=Severity.MEDIUM,
    check=check,
    fix="Add `HEALTHCHECK CMD [...]` to the final stage with a command that exists in the image.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
