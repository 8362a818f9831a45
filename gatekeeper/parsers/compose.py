"""docker-compose / compose.yaml text -> Workloads (one per service). Pure: text in, facts out."""

from __future__ import annotations

from typing import Any

import yaml

from gatekeeper.errors import InputError
from gatekeeper.facts.workload import Limits, Probe, Workload
from gatekeeper.findings import Location
from gatekeeper.secrets import shell_words
from gatekeeper.units import is_uint, parse_duration
from gatekeeper.yamlpos import Located, load_all, yaml_error


def _env(value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, dict):
        return tuple((str(k), "" if v is None else str(v)) for k, v in value.items())
    if isinstance(value, list):
        pairs = []
        for item in value:
            key, _, val = str(item).partition("=")
            pairs.append((key, val))
        return tuple(pairs)
    return ()


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _seconds(value: Any) -> float | None:
    """A compose duration (`30s`, `1m30s`, `500ms`); None when absent or not a duration."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return parse_duration(value if isinstance(value, str | int | float) else str(value))
    except ValueError:
        return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and is_uint(value.strip()) else None


def _words(value: Any) -> tuple[str, ...] | None:
    """`command:` / `entrypoint:` as a list, or a string split like compose splits it (no shell)."""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        return tuple(shell_words(value))
    return None


def _healthcheck(doc: Located, path: list[Any], value: Any, where: Location) -> tuple[Probe, ...]:
    if not isinstance(value, dict):
        return ()
    if value.get("disable") in (True, "true"):
        return (Probe("healthcheck", "none", (), where),)
    test = value.get("test")
    if isinstance(test, str):
        command: tuple[str, ...] = ("CMD-SHELL", test) if test else ()
    elif isinstance(test, list):
        command = tuple(str(t) for t in test)
    else:
        return ()
    if not command:
        return ()  # an empty test inherits the image's HEALTHCHECK, like no test at all
    handler = {"NONE": "none", "CMD": "exec", "CMD-SHELL": "cmd-shell"}.get(
        command[0].upper() if command else "", "exec"
    )
    return (
        Probe(
            "healthcheck",
            handler,
            command,
            where,
            interval=_seconds(value.get("interval")),
            timeout=_seconds(value.get("timeout")),
            retries=_count(value.get("retries")),
            start_period=_seconds(value.get("start_period")),
        ),
    )


def _limits(doc: Located, path: list[Any], service: dict[str, Any], file: str) -> Limits:
    deploy = service.get("deploy") if isinstance(service.get("deploy"), dict) else {}
    resources = deploy.get("resources") if isinstance(deploy, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    limits = limits if isinstance(limits, dict) else {}
    cpu_path = [*path, "deploy", "resources", "limits", "cpus"]
    mem_path = [*path, "deploy", "resources", "limits", "memory"]
    cpu, memory = _text(limits.get("cpus")), _text(limits.get("memory"))
    if cpu is None and _text(service.get("cpus")) is not None:
        cpu, cpu_path = _text(service.get("cpus")), [*path, "cpus"]
    if memory is None and _text(service.get("mem_limit")) is not None:
        memory, mem_path = _text(service.get("mem_limit")), [*path, "mem_limit"]
    return Limits(
        cpu,
        memory,
        Location(file, doc.line(cpu_path), ".".join(map(str, cpu_path))) if cpu else None,
        Location(file, doc.line(mem_path), ".".join(map(str, mem_path))) if memory else None,
    )


def parse(text: str, path: str) -> tuple[Workload, ...]:
    try:
        docs = load_all(text)
    except yaml.YAMLError as exc:
        raise InputError(yaml_error(path, exc)) from None
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise InputError(f"{path}: not a compose file (expected one YAML mapping)")
    doc = docs[0]
    services = doc.data.get("services")
    if not isinstance(services, dict) or not services:
        raise InputError(f"{path}: no `services:` mapping (is this a compose file?)")
    workloads = []
    for name, service in services.items():
        spath: list[Any] = ["services", name]
        if not isinstance(service, dict):
            raise InputError(f"{path}:{doc.line(spath)}: services.{name} must be a mapping")
        where = Location(path, doc.line(spath, at_key=True), f"services.{name}")
        user = _text(service.get("user"))
        hc_where = Location(path, doc.line([*spath, "healthcheck"]), f"services.{name}.healthcheck")
        probes = _healthcheck(doc, spath, service.get("healthcheck"), hc_where)
        logging = service.get("logging")
        driver = _text(logging.get("driver")) if isinstance(logging, dict) else None
        workloads.append(
            Workload(
                name=f"compose service {name}",
                kind="compose",
                origin=where,
                image=str(service.get("image") or ""),
                user=user,
                user_location=Location(path, doc.line([*spath, "user"]), f"services.{name}.user")
                if user
                else None,
                limits=_limits(doc, spath, service, path),
                probes=probes,
                healthcheck_disabled=any(p.handler == "none" for p in probes),
                logging_driver=driver,
                logging_location=Location(
                    path, doc.line([*spath, "logging", "driver"]), f"services.{name}.logging.driver"
                )
                if driver
                else None,
                env=_env(service.get("environment")),
                entrypoint=_words(service.get("entrypoint")),
                command=_words(service.get("command")),
            )
        )
    return tuple(workloads)
