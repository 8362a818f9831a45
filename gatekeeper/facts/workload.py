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
