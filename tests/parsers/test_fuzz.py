"""Property tests: whatever text a parser gets, it returns facts or raises InputError, never crashes.

The strategies build inputs from the pieces real files are made of (keywords, flags, continuations,
JSON/YAML values of every type) so the examples reach deep into each parser.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.parsers import compose, dockerfile, dockerignore, kubernetes, scan

KEYWORDS = ["FROM", "RUN", "COPY", "ADD", "USER", "HEALTHCHECK", "ENV", "ARG", "LABEL", "CMD", "ENTRYPOINT"]
KEYWORDS += ["EXPOSE", "SHELL", "ONBUILD", "# escape=`", "# syntax=docker/dockerfile:1", "#", "\\", "`", ""]
WORDS = ["a", "b:1", "--from=x", "AS", "$X", "${X:-y}", "k=v", '"q', "'", '["a",', '["a"]', "--chown=1:1"]
WORDS += ["NONE", "--interval=5s", "--timeout=x", "<<EOF", "EOF", "<<-X", "\\", "`", "\t", "&&", "="]
WORDS += ["scratch", "--mount=type=cache,target=/x", "--platform=$BUILDPLATFORM", "root", "0:0"]

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False), st.text(max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=12,
)
K8S_KEYS = ["containers", "initContainers", "ports", "env", "name", "image", "securityContext", "runAsUser"]
K8S_KEYS += ["livenessProbe", "exec", "command", "httpGet", "port", "resources", "limits", "memory", "args"]
COMPOSE_KEYS = ["image", "user", "deploy", "resources", "limits", "memory", "cpus", "healthcheck", "test"]
COMPOSE_KEYS += ["logging", "environment", "command", "entrypoint", "mem_limit", "build", "profiles"]
SCAN_KEYS = ["SchemaVersion", "Results", "Vulnerabilities", "Severity", "matches", "vulnerability", "fix"]
SCAN_KEYS += ["versions", "state", "runs", "results", "tool", "driver", "rules", "ruleId", "version"]


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON values whose mapping keys are mostly the ones the parser looks for."""
    key = st.sampled_from(keys) | st.text(max_size=6)
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=4),
        max_leaves=16,
    )


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    lines = draw(
        st.lists(
            st.tuples(st.sampled_from(KEYWORDS), st.lists(st.sampled_from(WORDS), max_size=6)),
            max_size=12,
        )
    )
    text = "\n".join(f"{keyword} {' '.join(words)}" for keyword, words in lines)
    return text + draw(st.sampled_from(["", "\n", "\\\n", "\r\n"]))


def parses_or_input_error(parse: Any, text: str, *args: Any) -> None:
    """Facts, or an InputError naming the file: anything else (TypeError, IndexError, ...) fails."""
    try:
        parse(text, *args)
    except InputError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(args[0])  # (the CLI prints any message on one line)


@settings(max_examples=300, deadline=None)
@given(dockerfiles())
def test_dockerfile(text: str) -> None:
    parses_or_input_error(dockerfile.parse, text, "Dockerfile")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*WORDS, "!", "**", "/", "#", " ", "[", "\\"]), max_size=20).map("".join))
def test_dockerignore(text: str) -> None:
    parses_or_input_error(dockerignore.parse, text, ".dockerignore")


CONTAINERS = st.lists(
    shaped(K8S_KEYS)
    | st.fixed_dictionaries(
        {"name": SCALARS},
        optional=dict.fromkeys(
            [
                "image",
                "ports",
                "env",
                "securityContext",
                "livenessProbe",
                "readinessProbe",
                "resources",
                "command",
            ],
            shaped(K8S_KEYS),
        ),
    ),
    max_size=3,
)
POD_SPECS = st.fixed_dictionaries(
    {"containers": CONTAINERS}, optional={"initContainers": CONTAINERS, "securityContext": shaped(K8S_KEYS)}
)


def at_pod_spec(kind: str, pod: Any) -> dict[str, Any]:
    """A manifest of `kind` with `pod` where that kind keeps its pod spec."""
    spec: Any = {
        "Pod": pod,
        "Deployment": {"template": {"spec": pod}},
        "CronJob": {"jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }[kind]
    return {"kind": kind, "metadata": {"name": "x"}, "spec": spec}


@settings(max_examples=300, deadline=None)
@given(POD_SPECS, st.sampled_from(["Pod", "Deployment", "CronJob", "List"]))
def test_kubernetes(pod: Any, kind: str) -> None:
    """Every example reaches the container parser: pod specs sit where each kind keeps them."""
    if kind == "List":
        doc = {"kind": "List", "items": [at_pod_spec("Pod", pod), at_pod_spec("Deployment", pod)]}
    else:
        doc = at_pod_spec(kind, pod)
    parses_or_input_error(kubernetes.parse, yaml.safe_dump(doc), "k.yaml")


@settings(max_examples=100, deadline=None)
@given(shaped(K8S_KEYS), st.sampled_from(["Pod", "Deployment", "CronJob", "List", "Service"]))
def test_kubernetes_any_spec(spec: Any, kind: str) -> None:
    doc = {"kind": kind, "metadata": {"name": "x"}, "spec": spec, "items": [{"kind": "Pod", "spec": spec}]}
    parses_or_input_error(kubernetes.parse, yaml.safe_dump(doc), "k.yaml")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["app", "db"]), shaped(COMPOSE_KEYS), max_size=2) | JSON)
def test_compose(services: Any) -> None:
    parses_or_input_error(compose.parse, yaml.safe_dump({"services": services}), "compose.yaml")


SARIF_RESULTS = st.lists(
    shaped(["ruleId", "level", "message", "text", "locations", "properties", "tags"])
    | st.fixed_dictionaries({"ruleId": SCALARS, "level": SCALARS, "message": shaped(["text"])}),
    max_size=3,
)
SARIF_RUNS = st.lists(
    st.fixed_dictionaries(
        {"results": SARIF_RESULTS},
        optional={"tool": shaped(["driver", "name", "rules", "id", "properties", "security-severity"])},
    )
    | shaped(["results", "tool", "driver"]),
    min_size=1,
    max_size=2,
)
TRIVY = st.fixed_dictionaries({"SchemaVersion": SCALARS, "Results": st.lists(shaped(SCAN_KEYS), max_size=3)})
GRYPE = st.fixed_dictionaries({"matches": st.lists(shaped(SCAN_KEYS), max_size=3)})
SARIF = st.fixed_dictionaries({"version": st.sampled_from(["2.1.0", "2.0"]), "runs": SARIF_RUNS})


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["trivy", "grype", "sarif"]).flatmap(
        lambda k: {"trivy": TRIVY, "grype": GRYPE, "sarif": SARIF}[k]
    )
)
def test_scan_report(doc: dict[str, Any]) -> None:
    """Each example is shaped like one of the three formats, so it reaches that format's reader."""
    parses_or_input_error(scan.parse, json.dumps(doc), "r.json")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(SCAN_KEYS), shaped(SCAN_KEYS), max_size=4))
def test_scan_report_any_keys(doc: dict[str, Any]) -> None:
    parses_or_input_error(scan.parse, json.dumps(doc), "r.json")
