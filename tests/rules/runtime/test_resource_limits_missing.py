from __future__ import annotations

import pytest

from gatekeeper.parsers import compose, kubernetes
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.runtime.resource_limits_missing import RULE
from tests.factories import target, target_evidence, target_violations

COMPOSE = """services:
  app:
    image: app:prod
    deploy:
      resources:
        limits: {cpus: "0.50", memory: 256M}
  worker:
    image: app:prod
    cpus: 1
    mem_limit: 512m
  db:
    image: postgres:15-alpine
    mem_limit: 1g
"""
K8S = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: app:prod
      containers:
        - name: app
          image: app:prod
          resources:
            limits: {cpu: 500m, memory: 256Mi}
"""


def test_compose() -> None:
    tgt = target(workloads=compose.parse(COMPOSE, "compose.yaml"))
    [v] = target_violations(RULE, tgt)
    assert v.message == "compose service db has no CPU limit."
    assert (v.location.artifact, v.location.line) == ("compose.yaml", 11)
    assert target_evidence(RULE, tgt) == [
        "compose service app: cpu 0.50, memory 256M (compose.yaml:6)",
        "compose service worker: cpu 1, memory 512m (compose.yaml:10)",
    ]


def test_kubernetes_init_containers_count() -> None:
    [v] = target_violations(RULE, target(workloads=kubernetes.parse(K8S, "k8s/deploy.yaml")))
    assert v.message == "Deployment/api init container migrate has no CPU or memory limit."
    assert v.location.line == 8


def test_only_memory_required() -> None:
    tgt = target(workloads=compose.parse(COMPOSE, "compose.yaml"))
    assert target_violations(RULE, tgt, cpu=False) == []


def test_no_runtime_config() -> None:
    with pytest.raises(NotApplicable, match="no compose or Kubernetes file"):
        target_violations(RULE, target())
    [v] = target_violations(RULE, target(), require_runtime_config=True)
    assert "No compose or Kubernetes file was given" in v.message


def test_with_run_the_applied_limits_are_evidence() -> None:
    from tests.rules.runtime.sample import facts, settings

    run = settings(memory=256 << 20, memory_from="compose.yaml:6", cpus=0.5, cpus_from="compose.yaml:6")
    tgt = target(workloads=compose.parse(COMPOSE, "compose.yaml"), runtime=facts(settings=run))
    assert target_evidence(RULE, tgt)[-1] == (
        "--run applied memory 256 MiB (compose.yaml:6), 0.5 CPUs (compose.yaml:6), pids 256, network none, "
        "capabilities dropped: ALL, no-new-privileges"
    )
    with pytest.raises(NotApplicable):
        list(RULE.check(target(runtime=facts()), RULE.options()))
