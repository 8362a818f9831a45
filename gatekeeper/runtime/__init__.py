"""Runtime verification (`gatekeeper check IMAGE --run`): start the image the way production will.

The settings come from the compose service or Kubernetes container that runs the image (user,
entrypoint and command, environment with secret-looking values replaced by placeholders, CPU and
memory limits), else from the policy's `runtime:` section, else from the defaults here. The
container is always hardened: no network (`--network none`), every capability dropped,
`no-new-privileges`, a pids limit, swap off, no host mounts, no published ports, and the image is
never pulled. Whatever was started is removed at the end, also on timeout, error, Ctrl-C or
SIGTERM; every container carries the label `gatekeeper.run=<id>`, so a run killed outright
(SIGKILL) leaves containers that `docker ps -a --filter label=gatekeeper.run` finds.

`options` (this module) is pure; `plan` turns image + workload + options into what to start (pure);
`runner` does the I/O through the docker SDK and returns `facts.runtime.RuntimeFacts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gatekeeper.errors import PolicyError
from gatekeeper.sources import ImageRef
from gatekeeper.units import parse_duration, parse_size

MIB = 1 << 20
DEFAULT_TIMEOUT = 60.0
DEFAULT_OBSERVE = 10.0
DEFAULT_MEMORY = 512 * MIB
DEFAULT_CPUS = 1.0
DEFAULT_PIDS = 256
RunKind = Literal["auto", "service", "job"]
RUN_KINDS: tuple[RunKind, ...] = ("auto", "service", "job")
LOCAL_TRANSPORTS = ("docker-daemon",)


@dataclass(frozen=True)
class RunRequest:
    """What the command line asked for; None leaves the choice to the policy's `runtime:`."""

    enabled: bool | None = None
    """`--run` (True) or `--no-run` (False)."""
    timeout: float | None = None
    """`--run-timeout`, seconds."""
    probe_image: str | None = None
    """`--probe-image`: the local image whose wget/nc run httpGet and tcpSocket probes."""


@dataclass(frozen=True)
class RunOptions:
    """The effective runtime settings: command line over policy over defaults."""

    enabled: bool = False
    requested: bool = False
    """Asked for on the command line (an image that cannot run here is then a usage error)."""
    timeout: float = DEFAULT_TIMEOUT
    """The longest a run may take, seconds (a job must finish within it)."""
    observe: float = DEFAULT_OBSERVE
    """How long a service is watched at least (output, crashes, OOM kills), seconds."""
    memory: int | None = DEFAULT_MEMORY
    """Memory limit when the workload sets none, bytes."""
    cpus: float | None = DEFAULT_CPUS
    pids: int = DEFAULT_PIDS
    kind: RunKind = "auto"
    """`job`: run to completion; `service`: keep running; `auto`: a Kubernetes Job/CronJob is a job."""
    probe_image: str = ""
    """Local image for the httpGet/tcpSocket helper (needs `wget`, `nc`, `sleep`); "" = the image itself."""
    memory_from: str = "default"
    cpus_from: str = "default"


def not_local(ref: ImageRef) -> str:
    """Why an image read from a file or a registry cannot be run."""
    return (
        f"runtime verification needs the image in the local engine (docker-daemon: or a bare name); "
        f"{ref} is read from {ref.transport}: load it first (docker load -i FILE, or docker pull)"
    )


def _value(section: Mapping[str, Any], key: str, parse: Any, what: str) -> Any:
    try:
        return parse(section[key])
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"policy runtime.{key}: {exc} ({what})") from None


def run_options(policy_runtime: Mapping[str, Any], request: RunRequest | None = None) -> RunOptions:
    """Merge the policy's `runtime:` section (already schema-checked) and the command line."""
    section = dict(policy_runtime)
    request = request or RunRequest()
    values: dict[str, Any] = {}
    if "enabled" in section:
        values["enabled"] = bool(section["enabled"])
    if "timeout" in section:
        values["timeout"] = _value(section, "timeout", parse_duration, "a duration such as 60s")
    if "observe" in section:
        values["observe"] = _value(section, "observe", parse_duration, "a duration such as 10s")
    if "memory" in section:
        values["memory"] = _value(section, "memory", parse_size, "a size such as 512MiB") or None
        values["memory_from"] = "policy"
    if "cpus" in section:
        values["cpus"] = float(section["cpus"]) or None
        values["cpus_from"] = "policy"
    if "pids" in section:
        values["pids"] = int(section["pids"])
    if "kind" in section:
        values["kind"] = section["kind"]
    if "probe_image" in section:
        values["probe_image"] = str(section["probe_image"])
    if request.enabled is not None:
        values["enabled"] = request.enabled
        values["requested"] = request.enabled
    if request.timeout is not None:
        values["timeout"] = request.timeout
    if request.probe_image is not None:
        values["probe_image"] = request.probe_image
    options = RunOptions(**values)
    if options.timeout <= 0:
        raise PolicyError(f"runtime timeout must be positive, got {options.timeout:g}s")
    if options.kind not in RUN_KINDS:
        raise PolicyError(f"runtime kind must be one of {', '.join(RUN_KINDS)}, got {options.kind!r}")
    return options


__all__ = ["LOCAL_TRANSPORTS", "RunKind", "RunOptions", "RunRequest", "not_local", "run_options"]
