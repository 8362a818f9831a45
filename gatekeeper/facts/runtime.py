"""What `--run` observed when it started the image on the local engine. Frozen values, no I/O.

`gatekeeper.runtime.runner` fills these in; the rules only read them. Every text here that came
out of the container (log lines, health-check output, the main process's command line) has been
redacted with `gatekeeper.secrets` before it was stored, so a rule may quote it as it is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gatekeeper.findings import Location

PLACEHOLDER = "gatekeeper-placeholder"
"""What a secret-looking environment value is replaced by when the container is started."""


class HealthStatus(enum.StrEnum):
    """The verdicts one health check can end with."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    """It never passed before its deadline (start period + retries x interval)."""
    UNDECIDED = "undecided"
    """Not healthy yet when the run's timeout ended the observation (the deadline lies beyond it)."""
    ERROR = "error"
    """It could not be run at all (no helper image, an unresolved named port, grpc)."""


@dataclass(frozen=True, slots=True)
class ProbeAttempt:
    """One execution of a health check."""

    at: float
    """Seconds after the container started."""
    exit_code: int
    """The check's exit code; -1 when it timed out."""
    output: str
    """Its output, redacted and shortened."""

    def __str__(self) -> str:
        code = "timed out" if self.exit_code == -1 else f"exit {self.exit_code}"
        return f"{self.at:.1f}s {code}" + (f": {self.output}" if self.output else "")


@dataclass(frozen=True, slots=True)
class HealthResult:
    """One health check (image HEALTHCHECK, compose healthcheck, Kubernetes probe) as it ran."""

    name: str
    """`image HEALTHCHECK`, `compose service web healthcheck`, `Deployment/api container app liveness
    probe`."""
    handler: str
    """`exec`, `cmd-shell`, `httpGet`, `tcpSocket` or `grpc`."""
    command: str
    """What was run, as a person would write it (redacted)."""
    status: HealthStatus
    deadline: float
    """start period + retries x interval, in seconds: healthy by then, or unhealthy."""
    rule_text: str
    """How the deadline was computed: `start period 5s + 3 x 30s`."""
    healthy_after: float | None = None
    """Seconds after start of the first passing check."""
    attempts: int = 0
    log: tuple[ProbeAttempt, ...] = ()
    """The last attempts (at most a few), oldest first."""
    reason: str = ""
    """Why it is ERROR, or what ended it early (`the container exited with code 1`)."""
    origin: Location | None = None
    """Where the check is defined (compose or manifest line); None for the image's HEALTHCHECK."""

    @property
    def log_text(self) -> str:
        return "\n".join(str(a) for a in self.log)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How the container was started: the workload's settings, else the policy's defaults."""

    image: str
    """The image reference as given."""
    image_id: str = ""
    workload: str = ""
    """`compose service web`, `Deployment/api container app`, or "" (the image's own defaults)."""
    origin: Location | None = None
    user: str = ""
    """The user it ran as when the workload set one; "" = the image's USER."""
    entrypoint: tuple[str, ...] | None = None
    """The workload's entrypoint override (redacted), or None."""
    command: tuple[str, ...] | None = None
    """The workload's command override (redacted), or None."""
    env_keys: tuple[str, ...] = ()
    """Environment variables set from the workload."""
    placeholders: tuple[str, ...] = ()
    """Of those, the ones whose secret-looking value was replaced by `PLACEHOLDER`."""
    memory: int | None = None
    """Memory limit in bytes (swap disabled), or None for none."""
    memory_from: str = ""
    """Where the memory limit came from: `compose.yaml:12`, `policy`, `default`."""
    cpus: float | None = None
    cpus_from: str = ""
    pids: int = 0
    network: str = "none"
    cap_drop: tuple[str, ...] = ("ALL",)
    security_opt: tuple[str, ...] = ("no-new-privileges",)
    job: bool = False
    """Run to completion (Kubernetes Job/CronJob, or `runtime.kind: job`)."""
    timeout: float = 0.0
    observe: float = 0.0

    def summary(self) -> str:
        """`memory 64 MiB (compose.yaml:9), 0.5 CPUs (policy), pids 256, network none, ...`."""
        parts = []
        if self.user:
            parts.append(f"user {self.user}")
        parts.append(
            f"memory {_mib(self.memory)}" + (f" ({self.memory_from})" if self.memory_from else "")
            if self.memory
            else "no memory limit"
        )
        parts.append(
            f"{self.cpus:g} CPUs" + (f" ({self.cpus_from})" if self.cpus_from else "")
            if self.cpus
            else "no CPU limit"
        )
        parts.append(f"pids {self.pids}" if self.pids else "no pids limit")
        parts.append(f"network {self.network}")
        parts.append("capabilities dropped: " + ",".join(self.cap_drop))
        parts += list(self.security_opt)
        if self.placeholders:
            parts.append("placeholders for " + ", ".join(self.placeholders))
        return ", ".join(parts)


def _mib(size: int | None) -> str:
    if size is None:
        return "none"
    return format_mib(size)


def format_mib(size: int) -> str:
    """`64 MiB`, `1.5 MiB`, `512 bytes`: how limits are written in evidence."""
    mib = size / (1 << 20)
    if mib < 1:
        return f"{size} bytes"
    return f"{mib:.0f} MiB" if mib == int(mib) else f"{mib:.1f} MiB"


@dataclass(frozen=True, slots=True)
class FileChange:
    """One line of `docker diff`."""

    kind: str
    """`A` added, `C` changed, `D` deleted."""
    path: str


@dataclass(frozen=True)
class RuntimeFacts:
    """Everything one `--run` saw."""

    settings: RunSettings
    started: bool
    """The engine started the container."""
    attempted: bool = True
    """False when the image could not be run here at all (it is not in the local engine)."""
    reason: str = ""
    """Why it was not started (the engine refused, not in the local engine), or "" when it was."""
    duration: float = 0.0
    """Seconds it was observed."""
    status: str = ""
    """The engine's state at the end: `running`, `exited`, ..."""
    exit_code: int | None = None
    """Set when it exited during the run."""
    exited_after: float | None = None
    """Seconds after start when it was first seen exited."""
    timed_out: bool = False
    """A job that was still running when the timeout ended the run."""
    oom_killed: bool = False
    restarts: int = 0
    main_uid: int | None = None
    """The UID of the container's main process, as the engine's process list shows it."""
    main_process: str = ""
    """`PID 4242, UID 10001: /app/app.sh` (redacted)."""
    uid_note: str = ""
    """Why the main process UID is unknown."""
    health: tuple[HealthResult, ...] = ()
    stdout_lines: int = 0
    stderr_lines: int = 0
    log_sample: tuple[str, ...] = ()
    """The last lines of output (`stdout: ...`, `stderr: ...`), redacted and shortened."""
    changes: tuple[FileChange, ...] = ()
    """`docker diff` at the end of the run."""
    memory_peak: int | None = None
    """Peak memory use in bytes, when the engine reported it."""
    notes: tuple[str, ...] = ()

    @property
    def job(self) -> bool:
        return self.settings.job

    @property
    def output_lines(self) -> int:
        return self.stdout_lines + self.stderr_lines

    @property
    def log_text(self) -> str:
        return "\n".join(self.log_sample)

    @property
    def output_evidence(self) -> str:
        """What the container printed, for evidence (already redacted when recorded)."""
        if not self.log_sample:
            return "no output on stdout or stderr"
        return f"last {len(self.log_sample)} line(s) of output:\n{self.log_text}"
