"""One container as it will run, normalised from a compose service or a Kubernetes container.

Each runtime rule is written once against this type, not once per format.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.findings import Location


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str
    """`healthcheck` (compose), `liveness`, `readiness`, `startup` (Kubernetes)."""
    handler: str
    """`exec`, `cmd-shell`, `httpGet`, `tcpSocket`, `grpc`, `none` (disabled)."""
    command: tuple[str, ...]
    location: Location
    interval: float | None = None
    """Seconds between checks as written (compose `interval`, Kubernetes `periodSeconds`)."""
    timeout: float | None = None
    """Seconds one check may take (compose `timeout`, Kubernetes `timeoutSeconds`)."""
    retries: int | None = None
    """Failures in a row that make it unhealthy (compose `retries`, Kubernetes `failureThreshold`)."""
    start_period: float | None = None
    """Grace time after start (compose `start_period`, Kubernetes `initialDelaySeconds`)."""
    port: str = ""
    """httpGet / tcpSocket / grpc: the port number (a named port resolved when the container names it)."""
    path: str = ""
    """httpGet: the request path."""
    scheme: str = ""
    """httpGet: `HTTP` or `HTTPS` as written (empty: HTTP)."""


@dataclass(frozen=True, slots=True)
class Limits:
    cpu: str | None
    memory: str | None
    cpu_location: Location | None = None
    memory_location: Location | None = None


@dataclass(frozen=True)
class Workload:
    name: str
    """`compose service web`, `Deployment/api container app`."""
    kind: str
    """`compose` or `kubernetes`."""
    origin: Location
    image: str = ""
    user: str | None = None
    """The user the runtime sets (compose `user:`, Kubernetes runAsUser as text)."""
    user_location: Location | None = None
    run_as_non_root: bool | None = None
    limits: Limits = Limits(None, None)
    probes: tuple[Probe, ...] = ()
    healthcheck_disabled: bool = False
    logging_driver: str | None = None
    logging_location: Location | None = None
    env: tuple[tuple[str, str], ...] = ()
    is_job: bool = False
    init: bool = False
    """A Kubernetes init container."""
    entrypoint: tuple[str, ...] | None = None
    """What replaces the image ENTRYPOINT (compose `entrypoint`, Kubernetes `command`)."""
    command: tuple[str, ...] | None = None
    """What replaces the image CMD (compose `command`, Kubernetes `args`)."""
