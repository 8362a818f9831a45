"""Kubernetes manifests (multi-document YAML, `kind: List`) -> Workloads, one per container.

Workload kinds: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob. Other kinds
(Service, ConfigMap, ...) are ignored. Container securityContext wins over the pod's.
"""

from __future__ import annotations

from typing import Any

import yaml

from gatekeeper.errors import InputError
from gatekeeper.facts.workload import Limits, Probe, Workload
from gatekeeper.findings import Location
from gatekeeper.yamlpos import Located, load_all, yaml_error

POD_SPEC_PATH: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
JOBS = frozenset({"Job", "CronJob"})
PROBES = (
    ("livenessProbe", "liveness"),
    ("readinessProbe", "readiness"),
    ("startupProbe", "startup"),
)


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _list(value: Any, where: str) -> list[Any]:
    """A field the Kubernetes API defines as a list (absent or null: empty); else a clear error."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list (the API server would reject this manifest)")
    return value


def _at(doc: Located, file: str, path: list[Any]) -> str:
    return f"{file}:{doc.line(path)}: {'.'.join(map(str, path))}"


def _quantity(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


INT32_MAX = 2**31 - 1


def _number(value: Any) -> int | None:
    """A probe's int32 field (periodSeconds, failureThreshold, ...), or None for anything the
    Kubernetes API would refuse: not an integer, negative, or past int32."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    return None


def _port(value: Any, ports: dict[str, str]) -> str:
    """A probe's port as a number: named ports resolve through the container's `ports`."""
    if value is None or isinstance(value, bool):
        return ""
    text = str(value)
    return ports.get(text, text)


def _probe(kind: str, value: Any, where: Location, ports: dict[str, str] | None = None) -> Probe | None:
    if not isinstance(value, dict):
        return None
    for handler in ("exec", "httpGet", "tcpSocket", "grpc"):
        if handler in value:
            spec = value[handler]
            command: tuple[str, ...] = ()
            port = path = scheme = ""
            if handler == "exec" and isinstance(spec, dict):
                at = f"{where.artifact}:{where.line}: {where.pointer}.exec.command"
                command = tuple(str(c) for c in _list(spec.get("command"), at))
            elif isinstance(spec, dict):
                command = tuple(f"{k}={v}" for k, v in sorted(spec.items()) if k in ("path", "port"))
                port = _port(spec.get("port"), ports or {})
                path = str(spec.get("path") or "") if handler == "httpGet" else ""
                scheme = str(spec.get("scheme") or "") if handler == "httpGet" else ""
            period, timeout = _number(value.get("periodSeconds")), _number(value.get("timeoutSeconds"))
            delay = _number(value.get("initialDelaySeconds"))
            return Probe(
                kind,
                handler,
                command,
                where,
                interval=float(period) if period is not None else None,
                timeout=float(timeout) if timeout is not None else None,
                retries=_number(value.get("failureThreshold")),
                start_period=float(delay) if delay is not None else None,
                port=port,
                path=path,
                scheme=scheme,
            )
    return None


def _named_ports(container: dict[str, Any], where: str) -> dict[str, str]:
    """`ports: [{name: http, containerPort: 8080}]` -> {"http": "8080"}."""
    named = {}
    for item in _list(container.get("ports"), where):
        if isinstance(item, dict) and item.get("name") and item.get("containerPort") is not None:
            named[str(item["name"])] = str(item["containerPort"])
    return named


def _words(value: Any) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def _container(
    doc: Located, file: str, owner: str, kind: str, pod: dict[str, Any], base: list[Any], init: bool
) -> Workload:
    container: dict[str, Any] = _get_at(doc.data, base)
    cname = str(container.get("name") or "?")
    pod_ctx = pod.get("securityContext") if isinstance(pod.get("securityContext"), dict) else {}
    ctx = container.get("securityContext") if isinstance(container.get("securityContext"), dict) else {}
    user_path: list[Any] | None = None
    run_as_user = None
    for source, prefix in (
        (ctx, [*base, "securityContext"]),
        (pod_ctx, [*base[:-2], "securityContext"]),
    ):
        if isinstance(source, dict) and source.get("runAsUser") is not None:
            run_as_user, user_path = source["runAsUser"], [*prefix, "runAsUser"]
            break
    non_root = ctx.get("runAsNonRoot") if isinstance(ctx, dict) else None
    if non_root is None and isinstance(pod_ctx, dict):
        non_root = pod_ctx.get("runAsNonRoot")
    limits = _get(container, ("resources", "limits")) or {}
    limits = limits if isinstance(limits, dict) else {}
    lpath = [*base, "resources", "limits"]
    cpu, memory = _quantity(limits.get("cpu")), _quantity(limits.get("memory"))
    probes = []
    ports = _named_ports(container, _at(doc, file, [*base, "ports"]))
    for key, pkind in PROBES:
        where = Location(file, doc.line([*base, key], at_key=True), ".".join(map(str, [*base, key])))
        probe = _probe(pkind, container.get(key), where, ports)
        if probe is not None:
            probes.append(probe)
    env = tuple(
        (str(e.get("name")), "" if e.get("value") is None else str(e["value"]))
        for e in _list(container.get("env"), _at(doc, file, [*base, "env"]))
        if isinstance(e, dict) and "name" in e
    )
    return Workload(
        name=f"{kind}/{owner} {'init container' if init else 'container'} {cname}",
        kind="kubernetes",
        origin=Location(file, doc.line([*base, "name"]), ".".join(map(str, base))),
        image=str(container.get("image") or ""),
        user=str(run_as_user) if run_as_user is not None else None,
        user_location=Location(file, doc.line(user_path), ".".join(map(str, user_path)))
        if user_path
        else None,
        run_as_non_root=bool(non_root) if non_root is not None else None,
        limits=Limits(
            cpu,
            memory,
            Location(file, doc.line([*lpath, "cpu"]), ".".join(map(str, [*lpath, "cpu"]))) if cpu else None,
            Location(file, doc.line([*lpath, "memory"]), ".".join(map(str, [*lpath, "memory"])))
            if memory
            else None,
        ),
        probes=tuple(probes),
        env=env,
        is_job=kind in JOBS,
        init=init,
        entrypoint=_words(container.get("command")),
        command=_words(container.get("args")),
    )


def _get_at(data: Any, path: list[Any]) -> Any:
    for part in path:
        data = data[part]
    return data


def _objects(doc: Located) -> list[tuple[Located, list[Any], dict[str, Any]]]:
    data = doc.data
    if not isinstance(data, dict):
        return []
    if data.get("kind") == "List" and isinstance(data.get("items"), list):
        return [(doc, ["items", i], item) for i, item in enumerate(data["items"]) if isinstance(item, dict)]
    return [(doc, [], data)]


def parse(text: str, path: str) -> tuple[Workload, ...]:
    try:
        docs = load_all(text)
    except yaml.YAMLError as exc:
        raise InputError(yaml_error(path, exc)) from None
    workloads: list[Workload] = []
    for doc in docs:
        if doc.data is None:
            continue  # empty documents (Helm output)
        if not isinstance(doc.data, dict):
            raise InputError(f"{path}: a YAML document is not a mapping (is this a manifest?)")
        for located, prefix, obj in _objects(doc):
            kind = str(obj.get("kind") or "")
            spec_path = POD_SPEC_PATH.get(kind)
            if spec_path is None:
                continue
            pod = _get(obj, spec_path)
            if not isinstance(pod, dict):
                raise InputError(f"{path}: {kind} without {'.'.join(spec_path)}")
            owner = str(_get(obj, ("metadata", "name")) or "?")
            for key, init in (("initContainers", True), ("containers", False)):
                containers = _list(pod.get(key), _at(located, path, [*prefix, *spec_path, key]))
                for i, container in enumerate(containers):
                    if not isinstance(container, dict):
                        continue
                    base = [*prefix, *spec_path, key, i]
                    workloads.append(_container(located, path, owner, kind, pod, base, init))
    return tuple(workloads)
