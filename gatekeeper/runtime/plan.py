"""What `--run` starts: image + workload + options -> a `ContainerPlan`. Pure, no I/O.

Health checks come from the Kubernetes probes when a Kubernetes container runs the image (it
ignores the image HEALTHCHECK), else from the compose `healthcheck:`, else from the image
HEALTHCHECK. Missing timings take the runtime's defaults: Docker's 30s interval, 30s timeout,
3 retries, no start period; Kubernetes' 10s period, 1s timeout, failure threshold 3, no initial
delay. Exec checks run inside the container; httpGet and tcpSocket probes run `wget` / `nc` in a
helper container that shares the container's network namespace (the only way to reach a container
without a network).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gatekeeper.facts.image import NS_PER_SECOND, Healthcheck, ImageFacts
from gatekeeper.facts.runtime import PLACEHOLDER, RunSettings
from gatekeeper.facts.workload import Probe, Workload
from gatekeeper.findings import Location
from gatekeeper.runtime import RunOptions
from gatekeeper.secrets import command_secrets, find, redact, redact_secrets
from gatekeeper.units import is_uint

DOCKER_DEFAULTS = (30.0, 30.0, 3, 0.0)
"""interval, timeout, retries, start period of a Docker HEALTHCHECK that sets none."""
KUBERNETES_DEFAULTS = (10.0, 1.0, 3, 0.0)
"""periodSeconds, timeoutSeconds, failureThreshold, initialDelaySeconds."""
PROBE_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ProbePlan:
    """One health check to run during the observation."""

    name: str
    handler: str
    argv: tuple[str, ...]
    """What to execute: inside the container, or inside the helper when `in_helper`."""
    shown: str
    """The check as a person would write it (redacted)."""
    interval: float
    timeout: float
    retries: int
    start_period: float
    origin: Location | None = None
    in_helper: bool = False
    error: str = ""
    """Why it cannot be run (grpc, a named port the container does not declare)."""

    @property
    def deadline(self) -> float:
        """Healthy by now, or unhealthy: start period + retries x interval."""
        return self.start_period + self.retries * self.interval

    @property
    def rule_text(self) -> str:
        start = f"start period {self.start_period:g}s + " if self.start_period else ""
        return f"{start}{self.retries} x {self.interval:g}s"

    @property
    def poll(self) -> float:
        """How often gatekeeper tries it: at most once a second, never more often than 5 times a second."""
        return max(0.2, min(self.interval, 1.0))


@dataclass(frozen=True)
class ContainerPlan:
    settings: RunSettings
    user: str | None
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...] | None
    env: tuple[str, ...]
    """`KEY=value` from the workload, secret-looking values replaced by the placeholder."""
    probes: tuple[ProbePlan, ...]
    secrets: tuple[str, ...] = ()
    """Secret values the image or workload holds: redacted from anything the container prints."""
    notes: tuple[str, ...] = ()

    def redact(self, text: str) -> str:
        return masked(text, self.secrets)


def masked(text: str, secrets: Sequence[str]) -> str:
    """Mask known secret values, then any secret `redact_secrets` recognises."""
    return redact_secrets(redact(text, secrets))


# ---------------------------------------------------------------- quantities

_K8S_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$")
_K8S_FACTORS: dict[str | None, int] = {
    None: 1,
    **{s: 1024 ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: 1000 ** (i + 1) for i, s in enumerate(("k", "M", "G", "T", "P", "E"))},
    "K": 1000,
}
_DOCKER_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s?([kKmMgGtTpP])?[iI]?[bB]?$")
_DOCKER_FACTORS: dict[str | None, int] = {
    None: 1,
    "k": 1 << 10,
    "m": 1 << 20,
    "g": 1 << 30,
    "t": 1 << 40,
    "p": 1 << 50,
}


def memory_bytes(text: str, kind: str) -> int:
    """`256Mi`, `1G` (Kubernetes: binary and decimal suffixes); `512m`, `1g` (compose: binary)."""
    value = text.strip()
    if kind == "kubernetes":
        match = _K8S_MEMORY.match(value)
        if match:
            return int(float(match.group(1)) * _K8S_FACTORS[match.group(2)])
    else:
        match = _DOCKER_MEMORY.match(value)
        if match:
            unit = match.group(2).lower() if match.group(2) else None
            return int(float(match.group(1)) * _DOCKER_FACTORS[unit])
    raise ValueError(f"{text!r} is not a memory size")


def cpu_count(text: str) -> float:
    """`500m` -> 0.5, `1` -> 1.0, `0.50` -> 0.5."""
    value = text.strip()
    try:
        cpus = float(value[:-1]) / 1000 if value.endswith("m") else float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a CPU count") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise ValueError(f"{text!r} is not a positive CPU count")
    return cpus


def _where(location: Location | None) -> str:
    if location is None:
        return ""
    return f"{location.artifact}:{location.line}" if location.line else location.artifact


# ---------------------------------------------------------------- health checks


def _timing(
    probe: Probe | None, defaults: tuple[float, float, int, float], image: Healthcheck | None = None
) -> tuple[float, float, int, float]:
    """Each value from the probe, else the image HEALTHCHECK (compose inherits it), else defaults."""
    interval, timeout, retries, start = defaults
    if image is not None:
        interval = image.interval_ns / NS_PER_SECOND or interval
        timeout = image.timeout_ns / NS_PER_SECOND or timeout
        retries = image.retries or retries
        start = image.start_period_ns / NS_PER_SECOND or start
    if probe is not None:
        interval = probe.interval if probe.interval else interval
        timeout = probe.timeout if probe.timeout else timeout
        retries = probe.retries if probe.retries else retries
        start = probe.start_period if probe.start_period is not None else start
    return interval, timeout, retries, start


def _test_argv(test: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """(argv, shown) of a Docker test: `CMD x y` runs x directly, `CMD-SHELL line` via /bin/sh."""
    kind = test[0].upper() if test else ""
    if kind == "CMD-SHELL":
        line = " ".join(test[1:])
        return ("/bin/sh", "-c", line), line
    words = test[1:] if kind == "CMD" else test
    return tuple(words), " ".join(words)


def _image_probe(image: ImageFacts | None) -> tuple[ProbePlan, ...]:
    health = image.config.healthcheck if image is not None else None
    if health is None or health.disabled or not health.test:
        return ()
    argv, shown = _test_argv(health.test)
    interval, timeout, retries, start = _timing(None, DOCKER_DEFAULTS, health)
    return (
        ProbePlan(
            "image HEALTHCHECK",
            health.test[0].lower() if health.test[0].upper() == "CMD-SHELL" else "exec",
            argv,
            redact_secrets(shown),
            interval,
            timeout,
            retries,
            start,
        ),
    )


def _compose_probe(workload: Workload, image: ImageFacts | None) -> tuple[ProbePlan, ...] | None:
    """The compose healthcheck; None when the service has none (the image's applies)."""
    probe = next((p for p in workload.probes if p.kind == "healthcheck"), None)
    if probe is None:
        return None
    if probe.handler == "none":
        return ()
    image_health = image.config.healthcheck if image is not None else None
    argv, shown = _test_argv(probe.command)
    interval, timeout, retries, start = _timing(probe, DOCKER_DEFAULTS, image_health)
    return (
        ProbePlan(
            f"{workload.name} healthcheck",
            probe.handler,
            argv,
            redact_secrets(shown),
            interval,
            timeout,
            retries,
            start,
            probe.location,
        ),
    )


def _kubernetes_probes(workload: Workload) -> tuple[ProbePlan, ...]:
    plans: list[ProbePlan] = []
    startup = 0.0
    ordered = sorted(workload.probes, key=lambda p: p.kind != "startup")
    for probe in ordered:
        interval, timeout, retries, start = _timing(probe, KUBERNETES_DEFAULTS)
        if probe.kind != "startup":
            start += startup  # liveness and readiness begin once the startup probe passed
        name = f"{workload.name} {probe.kind} probe"
        base = ProbePlan(name, probe.handler, (), "", interval, timeout, retries, start, probe.location)
        plan = _kubernetes_handler(base, probe, timeout)
        plans.append(plan)
        if probe.kind == "startup":
            startup = plan.deadline
    return tuple(plans)


def _kubernetes_handler(base: ProbePlan, probe: Probe, timeout: float) -> ProbePlan:
    if probe.handler == "exec":
        return replace(base, argv=probe.command, shown=redact_secrets(" ".join(probe.command)))
    port = probe.port
    if probe.handler in ("httpGet", "tcpSocket") and not is_uint(port):
        return replace(
            base,
            shown=f"{probe.handler} port {port or '(none)'}",
            error=f"port {port or '(none)'} is not a number the container declares",
        )
    if probe.handler == "httpGet":
        scheme = (probe.scheme or "HTTP").lower()
        path = probe.path or "/"
        url = f"{scheme}://{PROBE_HOST}:{port}{path if path.startswith('/') else '/' + path}"
        argv = (
            "wget",
            "-q",
            "-O",
            "/dev/null",
            *(("--no-check-certificate",) if scheme == "https" else ()),
            url,
        )
        return replace(base, argv=argv, shown=f"GET {redact_secrets(url)}", in_helper=True)
    if probe.handler == "tcpSocket":
        wait = str(max(1, math.ceil(timeout)))
        argv = ("nc", "-w", wait, PROBE_HOST, port)
        return replace(base, argv=argv, shown=f"TCP {PROBE_HOST}:{port}", in_helper=True)
    return replace(
        base, shown=f"{probe.handler} port {port}", error=f"{probe.handler} probes are not run by gatekeeper"
    )


def health_plans(image: ImageFacts | None, workload: Workload | None) -> tuple[ProbePlan, ...]:
    """The health checks the runtime that runs this workload would run."""
    if workload is not None and workload.kind == "kubernetes":
        return _kubernetes_probes(workload)
    if workload is not None:
        compose = _compose_probe(workload, image)
        if compose is not None:
            return compose
    return _image_probe(image)


# ---------------------------------------------------------------- the container


def _env(workload: Workload | None) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(KEY=value entries, keys given placeholders, the secret values replaced)."""
    if workload is None:
        return (), (), ()
    entries, placeholders, secrets = [], [], []
    for key, value in workload.env:
        found = find(key, value) if value else None
        if found is not None:
            entries.append(f"{key}={PLACEHOLDER}")
            placeholders.append(key)
            secrets += [value, found.secret]
        else:
            entries.append(f"{key}={value}")
    return tuple(entries), tuple(dict.fromkeys(placeholders)), tuple(secrets)


def _image_secrets(image: ImageFacts | None) -> list[str]:
    if image is None:
        return []
    secrets = []
    for key, value in image.config.env:
        found = find(key, value) if value else None
        if found is not None:
            secrets.append(found.secret)
    return secrets


def _limit(
    text: str | None,
    location: Location | None,
    kind: str,
    parse: str,
    default: float | None,
    default_from: str,
) -> tuple[float | None, str, str]:
    """(value, where it came from, a note when the workload's value could not be used)."""
    if text is None:
        return default, default_from if default else "", ""
    try:
        value: float = memory_bytes(text, kind) if parse == "memory" else cpu_count(text)
    except ValueError as exc:
        return default, default_from if default else "", f"{exc}; using the {default_from} limit instead"
    return value, _where(location) or kind, ""


def plan_run(
    image: ImageFacts | None, workload: Workload | None, options: RunOptions, reference: str
) -> ContainerPlan:
    """Everything needed to start the container and judge it, decided before anything runs."""
    env, placeholders, env_secrets = _env(workload)
    limits = workload.limits if workload is not None else None
    kind = workload.kind if workload is not None else ""
    memory, memory_from, memory_note = _limit(
        limits.memory if limits else None,
        limits.memory_location if limits else None,
        kind,
        "memory",
        options.memory,
        options.memory_from,
    )
    cpus, cpus_from, cpus_note = _limit(
        limits.cpu if limits else None,
        limits.cpu_location if limits else None,
        kind,
        "cpu",
        options.cpus,
        options.cpus_from,
    )
    job = options.kind == "job" or (options.kind == "auto" and workload is not None and workload.is_job)
    entrypoint = workload.entrypoint if workload is not None else None
    command = workload.command if workload is not None else None
    secrets = [*env_secrets, *_image_secrets(image)]
    for words in (entrypoint, command):
        if words:
            secrets += [found.secret for _, found in command_secrets(" ".join(words))]
    secrets_t = tuple(dict.fromkeys(s for s in secrets if s))

    def shown(words: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if words is None else tuple(masked(w, secrets_t) for w in words)

    settings = RunSettings(
        image=reference,
        image_id=image.config_digest if image is not None else "",
        workload=workload.name if workload is not None else "",
        origin=workload.origin if workload is not None else None,
        user=workload.user or "" if workload is not None else "",
        entrypoint=shown(entrypoint),
        command=shown(command),
        env_keys=tuple(e.partition("=")[0] for e in env),
        placeholders=placeholders,
        memory=int(memory) if memory else None,
        memory_from=memory_from,
        cpus=float(cpus) if cpus else None,
        cpus_from=cpus_from,
        pids=options.pids,
        job=job,
        timeout=options.timeout,
        observe=min(options.observe, options.timeout),
    )
    probes = () if job else health_plans(image, workload)
    return ContainerPlan(
        settings=settings,
        user=workload.user if workload is not None and workload.user else None,
        entrypoint=entrypoint,
        command=command,
        env=env,
        # A health check's text reaches the reports: mask the values known to be secret too,
        # not only what looks like a token.
        probes=tuple(replace(p, shown=masked(p.shown, secrets_t)) for p in probes),
        secrets=secrets_t,
        notes=tuple(n for n in (memory_note, cpus_note) if n),
    )


__all__ = ["ContainerPlan", "ProbePlan", "cpu_count", "health_plans", "masked", "memory_bytes", "plan_run"]
