"""Image has no working HEALTHCHECK.

Without a health check the engine, the load balancer and the orchestrator only know whether the
process exists, not whether it serves. A health check whose command is not in the image is worse
than none: the container is reported unhealthy forever (the classic `curl -f` in a slim image).

Why: the article's checklist item "Health checks configured": health checks enable automatic
restarts, load balancer integration, monitoring and alerting.

How to fix: add a HEALTHCHECK to the final stage whose command exists in the image, e.g.

    HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
      CMD ["/app/healthcheck"]

or install the tool it calls (`curl`, `wget`) in the final stage, or use the runtime's own check
(compose `healthcheck:`, Kubernetes liveness and readiness probes).

Fails: no HEALTHCHECK; `HEALTHCHECK NONE`; a `CMD` whose executable is not in the image; a
`CMD-SHELL` check when the image has no `/bin/sh`, or whose first command is not found on PATH.
Passes: a HEALTHCHECK whose executable exists (the evidence names where it was found).

Options:
- `verify_command` (default true): look the health command up in the image filesystem.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileIndex, Healthcheck
from gatekeeper.facts.needs import Need, Request
from gatekeeper.findings import Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SHELL = "/bin/sh"
# Shell builtins and keywords that need nothing but the shell itself.
BUILTINS = frozenset(
    ("exit", "true", "false", "test", "[", "[[", "echo", "printf", "cd", "set", "export")
    + ("exec", "if", "for", "while", "case", "!", "{", "(", ":", ".", "eval")
)


@dataclass(frozen=True)
class Options:
    verify_command: bool = True


def health_executable(test: Healthcheck) -> tuple[str, bool]:
    """(the program the check runs first, whether it runs through /bin/sh)."""
    kind = test.test[0].upper()
    if kind == "CMD":
        return (test.test[1] if len(test.test) > 1 else ""), False
    line = " ".join(test.test[1:])
    try:
        words = shlex.split(line, comments=False)
    except ValueError:
        words = line.split()
    while words and "=" in words[0] and not words[0].startswith("="):
        words.pop(0)  # leading VAR=value assignments
    return (words[0] if words else ""), True


def check(target: Target, options: Options) -> Iterator[Item]:
    image = target.require_image()
    health = image.config.healthcheck
    where = image_location("config.Healthcheck")
    if health is None or not health.test:
        yield Violation("The image has no HEALTHCHECK.", where, detail="missing")
        return
    if health.disabled:
        yield Violation("HEALTHCHECK NONE disables the health check.", where, detail="disabled")
        return
    shown = f"HEALTHCHECK {health.test[0].upper()} {health.command_text}"
    if not options.verify_command or image.files is None:
        yield Evidence(f"{shown} (command not verified)")
        return
    yield from _verify(image.files, health, shown, image.config.env_value("PATH") or DEFAULT_PATH)


def _verify(files: FileIndex, health: Healthcheck, shown: str, path: str) -> Iterator[Item]:
    where = image_location("config.Healthcheck")
    program, via_shell = health_executable(health)
    if via_shell and files.find_executable(SHELL, path) is None:
        yield Violation(
            f"{shown} runs through /bin/sh, which is not in the image.", where, detail="no-shell"
        )
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
