"""A container has no CPU or memory limit.

Without limits one container can take the node: a memory leak becomes an OOM kill of its
neighbours, a busy loop starves them. Limits also let the scheduler place containers sensibly.

Why: the article's checklist item "Resource limits defined (CPU, memory)".

How to fix: set both limits where the container runs:

    # compose
    services:
      app:
        deploy:
          resources:
            limits: {cpus: "0.50", memory: 256M}

    # Kubernetes
    resources:
      limits: {cpu: 500m, memory: 256Mi}

Fails: a compose service without `deploy.resources.limits.cpus` (or `cpus`) or without
`deploy.resources.limits.memory` (or `mem_limit`); a Kubernetes container (init containers
included) without `resources.limits.cpu` or `resources.limits.memory`.
Passes: every container of every given compose and Kubernetes file has both limits (the evidence
says where they are set).
Skipped: no compose or Kubernetes file was given or found, unless `require_runtime_config`.

With --run: the limits the run applied, and where they came from (the workload's file and line,
else the policy's `runtime:` section, else gatekeeper's defaults), are added as evidence; whether
the app fits inside them is judged by container-crashed.

Options:
- `require_runtime_config` (default false): fail when no runtime config is given at all.
- `cpu` / `memory` (default true): which limits are required.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.findings import Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, NotApplicable, Rule, Violation


@dataclass(frozen=True)
class Options:
    require_runtime_config: bool = False
    cpu: bool = True
    memory: bool = True


def check(target: Target, options: Options) -> Iterator[Item]:
    items = list(_static(target, options))  # raises NotApplicable before anything is yielded
    yield from items
    runtime = target.runtime
    if runtime is not None and runtime.attempted and runtime.started:
        yield Evidence(f"--run applied {runtime.settings.summary()}")


def _static(target: Target, options: Options) -> Iterator[Item]:
    if not target.workloads:
        if options.require_runtime_config:
            yield Violation(
                "No compose or Kubernetes file was given, so no CPU or memory limits are defined "
                "(use --compose or --k8s).",
                image_location("runtime"),
                detail="no-runtime-config",
            )
            return
        raise NotApplicable("no compose or Kubernetes file given or found (--compose, --k8s)")
    for workload in target.workloads:
        missing = []
        if options.cpu and workload.limits.cpu is None:
            missing.append("CPU")
        if options.memory and workload.limits.memory is None:
            missing.append("memory")
        if missing:
            yield Violation(
                f"{workload.name} has no {' or '.join(missing)} limit.",
                workload.origin,
                detail=f"{workload.name}:{','.join(missing)}",
            )
            continue
        where = workload.limits.memory_location or workload.limits.cpu_location or workload.origin
        line = f":{where.line}" if where.line else ""
        yield Evidence(
            f"{workload.name}: cpu {workload.limits.cpu}, memory {workload.limits.memory} "
            f"({where.artifact}{line})"
        )


RULE = Rule(
    id="GK-RUN-001",
    name="resource-limits-missing",
    title="A container has no CPU or memory limit",
    checklist=Checklist.LIMITS,
    severity=Severity.MEDIUM,
    check=check,
    fix="Set CPU and memory limits: compose `deploy.resources.limits`, Kubernetes `resources.limits`.",
    doc=__doc__ or "",
    options=Options,
)
