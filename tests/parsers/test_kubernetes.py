"""Kubernetes parser: multi-document manifests in, one Workload per container out."""

from __future__ import annotations

import pytest

from gatekeeper.errors import InputError
from gatekeeper.facts.workload import Limits, Probe, Workload
from gatekeeper.findings import Location
from gatekeeper.parsers.kubernetes import parse

FILE = "k8s/deploy.yaml"
NOT_A_LIST = "must be a list (the API server would reject this manifest)"


def at(line: int | None, pointer: str) -> Location:
    return Location(FILE, line, pointer)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
      initContainers:
        - name: migrate
          image: registry.example.com/team/api:1.4.2
          command: ["./migrate"]
          securityContext:
            runAsNonRoot: false
      containers:
        - name: app
          image: registry.example.com/team/api:1.4.2
          securityContext:
            runAsUser: 10001
            allowPrivilegeEscalation: false
          env:
            - name: PORT
              value: "8080"
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: db
                  key: password
            - name: EMPTY
              value:
          resources:
            requests:
              cpu: 250m
            limits:
              cpu: "500m"
              memory: 256Mi
          livenessProbe:
            httpGet:
              path: /healthz
              port: 8080
            periodSeconds: 10
          readinessProbe:
            tcpSocket:
              port: 8080
          startupProbe:
            exec:
              command: ["cat", "/tmp/ready"]
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
          resources:
            limits:
              cpu: 1
              memory: 512Mi
          livenessProbe:
            grpc:
              port: 9901
"""

POD = "spec.template.spec"


def test_deployment() -> None:
    migrate, app, proxy = parse(DEPLOYMENT, FILE)
    assert migrate == Workload(
        name="Deployment/api init container migrate",
        kind="kubernetes",
        origin=at(21, f"{POD}.initContainers.0"),
        image="registry.example.com/team/api:1.4.2",
        user="1000",
        user_location=at(19, f"{POD}.securityContext.runAsUser"),
        run_as_non_root=False,  # the container's securityContext wins over the pod's
        init=True,
        entrypoint=("./migrate",),
    )
    assert app == Workload(
        name="Deployment/api container app",
        kind="kubernetes",
        origin=at(27, f"{POD}.containers.0"),
        image="registry.example.com/team/api:1.4.2",
        user="10001",
        user_location=at(30, f"{POD}.containers.0.securityContext.runAsUser"),
        run_as_non_root=True,
        limits=Limits(
            "500m",
            "256Mi",
            at(46, f"{POD}.containers.0.resources.limits.cpu"),
            at(47, f"{POD}.containers.0.resources.limits.memory"),
        ),
        probes=(
            Probe(
                "liveness",
                "httpGet",
                ("path=/healthz", "port=8080"),
                at(48, f"{POD}.containers.0.livenessProbe"),
                interval=10.0,
                port="8080",
                path="/healthz",
            ),
            Probe(
                "readiness",
                "tcpSocket",
                ("port=8080",),
                at(53, f"{POD}.containers.0.readinessProbe"),
                port="8080",
            ),
            Probe("startup", "exec", ("cat", "/tmp/ready"), at(56, f"{POD}.containers.0.startupProbe")),
        ),
        env=(("PORT", "8080"), ("DB_PASSWORD", ""), ("EMPTY", "")),
    )
    assert proxy == Workload(
        name="Deployment/api container proxy",
        kind="kubernetes",
        origin=at(59, f"{POD}.containers.1"),
        image="envoyproxy/envoy:v1.30.1",
        user="1000",
        user_location=at(19, f"{POD}.securityContext.runAsUser"),
        run_as_non_root=True,
        limits=Limits(
            "1",  # `cpu: 1` is a YAML number
            "512Mi",
            at(63, f"{POD}.containers.1.resources.limits.cpu"),
            at(64, f"{POD}.containers.1.resources.limits.memory"),
        ),
        probes=(
            Probe(
                "liveness", "grpc", ("port=9901",), at(65, f"{POD}.containers.1.livenessProbe"), port="9901"
            ),
        ),
    )


ALL_KINDS = """\
---
# Source: chart/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports:
    - port: 80
---
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  template:
    spec:
      containers:
        - name: postgres
          image: postgres:16
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  template:
    spec:
      containers:
        - name: agent
          image: datadog/agent:7
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: api:1.4.2
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: report
              image: api:1.4.2
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
"""


def test_every_workload_kind_in_a_multi_document_file() -> None:
    workloads = parse(ALL_KINDS, FILE)
    assert [(w.name, w.image, w.origin, w.is_job, w.init) for w in workloads] == [
        ("StatefulSet/db container postgres", "postgres:16", at(28, f"{POD}.containers.0"), False, False),
        ("DaemonSet/agent container agent", "datadog/agent:7", at(39, f"{POD}.containers.0"), False, False),
        ("Job/migrate container migrate", "api:1.4.2", at(51, f"{POD}.containers.0"), True, False),
        (
            "CronJob/report container report",
            "api:1.4.2",
            at(65, "spec.jobTemplate.spec.template.spec.containers.0"),
            True,
            False,
        ),
        ("Pod/debug container shell", "busybox:1.36", at(74, "spec.containers.0"), False, False),
        ("ReplicaSet/rs container web", "nginx:1.27", at(85, f"{POD}.containers.0"), False, False),
    ]
    for workload in workloads:
        assert workload.kind == "kubernetes"
        assert workload.limits == Limits(None, None)
        assert workload.probes == ()
        assert (workload.user, workload.run_as_non_root) == (None, None)


KIND_LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: web
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
            - name: web
              image: nginx:1.27
              resources:
                limits:
                  memory: 1Gi
  - not-an-object
"""


def test_kind_list() -> None:
    [web] = parse(KIND_LIST, FILE)
    assert web.name == "Deployment/web container web"
    assert web.origin == at(16, "items.1.spec.template.spec.containers.0")
    assert web.limits == Limits(
        None, "1Gi", None, at(20, "items.1.spec.template.spec.containers.0.resources.limits.memory")
    )


def pod(container: str = "", pod_spec: str = "") -> str:
    """A Pod manifest; `container` and `pod_spec` are extra YAML lines (already indented)."""
    return (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: p\n"
        "spec:\n"
        f"{pod_spec}"
        "  containers:\n"
        "    - name: c\n"
        "      image: app:1\n"
        f"{container}"
    )


@pytest.mark.parametrize(
    ("pod_ctx", "container_ctx", "user", "user_line", "user_pointer", "non_root"),
    [
        pytest.param("", "", None, None, "", None, id="neither"),
        pytest.param("runAsUser: 1000", "", "1000", 7, "spec.securityContext.runAsUser", None, id="pod-user"),
        pytest.param(
            "",
            "runAsUser: 2000",
            "2000",
            10,
            "spec.containers.0.securityContext.runAsUser",
            None,
            id="container-user",
        ),
        pytest.param(
            "runAsUser: 1000",
            "runAsUser: 0",
            "0",
            12,
            "spec.containers.0.securityContext.runAsUser",
            None,
            id="container-root-wins",
        ),
        pytest.param("runAsNonRoot: true", "", None, None, "", True, id="pod-non-root"),
        pytest.param(
            "runAsNonRoot: true", "runAsNonRoot: false", None, None, "", False, id="container-false-wins"
        ),
        pytest.param(
            "runAsNonRoot: false", "runAsNonRoot: true", None, None, "", True, id="container-true-wins"
        ),
        pytest.param("runAsNonRoot: false", "", None, None, "", False, id="pod-false"),
        pytest.param(
            "runAsUser: 1000",
            "runAsNonRoot: true",
            "1000",
            7,
            "spec.securityContext.runAsUser",
            True,
            id="mixed-levels",
        ),
        pytest.param(
            "runAsGroup: 3000", "readOnlyRootFilesystem: true", None, None, "", None, id="other-fields"
        ),
    ],
)
def test_security_context_precedence(
    pod_ctx: str,
    container_ctx: str,
    user: str | None,
    user_line: int | None,
    user_pointer: str,
    non_root: bool | None,
) -> None:
    pod_spec = f"  securityContext:\n    {pod_ctx}\n" if pod_ctx else ""
    container = f"      securityContext:\n        {container_ctx}\n" if container_ctx else ""
    [workload] = parse(pod(container, pod_spec), FILE)
    assert workload.user == user
    assert workload.user_location == (at(user_line, user_pointer) if user_line else None)
    assert workload.run_as_non_root is non_root


@pytest.mark.parametrize(
    "security_context",
    ["  securityContext:\n", "  securityContext: []\n", "  securityContext: root\n"],
)
def test_security_context_that_is_not_a_mapping(security_context: str) -> None:
    [workload] = parse(pod(security_context.replace("  ", "      ", 1), security_context), FILE)
    assert (workload.user, workload.run_as_non_root) == (None, None)


@pytest.mark.parametrize(
    ("limits", "cpu", "memory"),
    [
        ('cpu: "500m"\n          memory: "256Mi"', "500m", "256Mi"),
        ("cpu: 1\n          memory: 512Mi", "1", "512Mi"),
        ("cpu: 0.5\n          memory: 1073741824", "0.5", "1073741824"),
        ("cpu: 2000m\n          memory: 1e3", "2000m", "1e3"),
        ("memory: 1Gi", None, "1Gi"),
        ("cpu: 250m", "250m", None),
        ('cpu: ""\n          memory: true', None, None),
        ("{}", None, None),
    ],
)
def test_resource_limits_strings_and_numbers(limits: str, cpu: str | None, memory: str | None) -> None:
    [workload] = parse(pod(f"      resources:\n        limits:\n          {limits}\n"), FILE)
    assert (workload.limits.cpu, workload.limits.memory) == (cpu, memory)
    assert workload.limits.cpu_location == (at(11, "spec.containers.0.resources.limits.cpu") if cpu else None)
    if memory:
        line = 11 if cpu is None else 12
        assert workload.limits.memory_location == at(line, "spec.containers.0.resources.limits.memory")
    else:
        assert workload.limits.memory_location is None


@pytest.mark.parametrize(
    "resources",
    [
        "      resources:\n        requests:\n          cpu: 100m\n          memory: 64Mi\n",
        "      resources:\n        limits:\n",
        "      resources:\n        limits: [1]\n",
        "      resources: {}\n",
    ],
)
def test_no_limits(resources: str) -> None:
    [workload] = parse(pod(resources), FILE)
    assert workload.limits == Limits(None, None)


@pytest.mark.parametrize(
    ("probe", "handler", "command"),
    [
        (
            "exec:\n          command: [/bin/grpc_health_probe, -addr=:8080]",
            "exec",
            ("/bin/grpc_health_probe", "-addr=:8080"),
        ),
        ("exec:\n          command: [test, 1]", "exec", ("test", "1")),
        ("exec: {}", "exec", ()),
        (
            "httpGet:\n          path: /ready\n          port: http\n          scheme: HTTPS\n"
            "          httpHeaders:\n            - name: X\n              value: y",
            "httpGet",
            ("path=/ready", "port=http"),
        ),
        ("httpGet:\n          port: 8080", "httpGet", ("port=8080",)),
        ("tcpSocket:\n          port: 5432\n          host: db", "tcpSocket", ("port=5432",)),
        ("grpc:\n          port: 9090\n          service: health", "grpc", ("port=9090",)),
        ("grpc: null", "grpc", ()),
    ],
)
@pytest.mark.parametrize(
    ("key", "kind"),
    [("livenessProbe", "liveness"), ("readinessProbe", "readiness"), ("startupProbe", "startup")],
)
def test_probe_handlers(key: str, kind: str, probe: str, handler: str, command: tuple[str, ...]) -> None:
    [workload] = parse(pod(f"      {key}:\n        {probe}\n        periodSeconds: 5\n"), FILE)
    [found] = workload.probes
    assert (found.kind, found.handler, found.command) == (kind, handler, command)
    assert found.location == at(9, f"spec.containers.0.{key}")
    assert found.interval == 5.0


@pytest.mark.parametrize(
    "probe",
    [
        "      livenessProbe:\n        periodSeconds: 5\n",
        "      livenessProbe:\n",
        "      livenessProbe: yes\n",
    ],
)
def test_probe_without_handler(probe: str) -> None:
    [workload] = parse(pod(probe), FILE)
    assert workload.probes == ()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("---\n---\n", [], id="empty-documents"),
        pytest.param("# only a comment\n", [], id="comment"),
        pytest.param("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", [], id="service"),
        pytest.param("apiVersion: v1\nmetadata:\n  name: s\n", [], id="no-kind"),
        pytest.param("kind: Deployment\nspec:\n  template:\n    spec: {}\n", [], id="no-containers"),
        pytest.param(
            "kind: Pod\nspec:\n  containers:\n    - just-a-string\n    - image: x\n",
            ["Pod/? container ?"],
            id="no-names",
        ),
        pytest.param("kind: List\nitems: []\n", [], id="empty-list"),
        pytest.param("kind: List\n", [], id="list-without-items"),
    ],
)
def test_documents_without_containers(text: str, names: list[str]) -> None:
    assert [w.name for w in parse(text, FILE)] == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "kind: Pod\nspec:\n  containers:\n    - name: [x\n",
            "k8s/deploy.yaml:5:1: invalid YAML: expected ',' or ']', but got '<stream end>'",
            id="invalid-yaml",
        ),
        pytest.param(
            "kind: Service\n---\nkind: Pod\n  spec: {}\n",
            "k8s/deploy.yaml:4:7: invalid YAML: mapping values are not allowed here",
            id="invalid-second-document",
        ),
        pytest.param(
            "- kind: Pod\n",
            "k8s/deploy.yaml: a YAML document is not a mapping (is this a manifest?)",
            id="list-document",
        ),
        pytest.param(
            "kind: Service\n---\nplain text\n",
            "k8s/deploy.yaml: a YAML document is not a mapping (is this a manifest?)",
            id="text-document",
        ),
        pytest.param(
            "kind: Deployment\nmetadata:\n  name: d\n",
            "k8s/deploy.yaml: Deployment without spec.template.spec",
            id="no-spec",
        ),
        pytest.param(
            "kind: CronJob\nspec:\n  jobTemplate: {}\n",
            "k8s/deploy.yaml: CronJob without spec.jobTemplate.spec.template.spec",
            id="cronjob-no-template",
        ),
        pytest.param("kind: Pod\nspec: []\n", "k8s/deploy.yaml: Pod without spec", id="pod-spec-list"),
        # Fields the API defines as lists: anything else is a clear error, not a crash.
        pytest.param(
            "kind: Pod\nspec:\n  containers: 5\n",
            f"k8s/deploy.yaml:3: spec.containers {NOT_A_LIST}",
            id="containers-number",
        ),
        pytest.param(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: {a: 1}\n",
            f"k8s/deploy.yaml:5: spec.template.spec.initContainers {NOT_A_LIST}",
            id="init-containers-mapping",
        ),
        pytest.param(
            "kind: List\nitems:\n  - kind: Pod\n    spec:\n      containers: x\n",
            f"k8s/deploy.yaml:5: items.0.spec.containers {NOT_A_LIST}",
            id="list-item-containers-string",
        ),
        pytest.param(
            pod("      ports: 8080\n"),
            f"k8s/deploy.yaml:9: spec.containers.0.ports {NOT_A_LIST}",
            id="ports",
        ),
        pytest.param(
            pod("      env: {A: b}\n"), f"k8s/deploy.yaml:9: spec.containers.0.env {NOT_A_LIST}", id="env"
        ),
        pytest.param(
            pod("      livenessProbe:\n        exec:\n          command: /bin/true\n"),
            f"k8s/deploy.yaml:9: spec.containers.0.livenessProbe.exec.command {NOT_A_LIST}",
            id="exec-command",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, FILE)
    assert str(info.value) == message


def test_sexagesimal_looking_values_stay_strings() -> None:
    [workload] = parse(pod("      env:\n        - name: T\n          value: 12:30\n"), FILE)
    assert workload.env == (("T", "12:30"),)


def test_nested_too_deeply_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        parse(pod() + "x: " + "[" * 3000 + "\n", FILE)
    assert str(info.value).startswith(f"{FILE}:")
    assert str(info.value).endswith(": invalid YAML: the YAML is nested too deeply")


@pytest.mark.parametrize("value", [2**31, 10**400, -1, 1.5, "'ten'", "'10'"])
def test_probe_numbers_kubernetes_would_refuse_are_ignored(value: object) -> None:
    # int32 fields: float(10**400) raised OverflowError (exit 4)
    fields = "".join(
        f"        {key}: {value}\n"
        for key in ("periodSeconds", "timeoutSeconds", "initialDelaySeconds", "failureThreshold")
    )
    [workload] = parse(pod(f"      livenessProbe:\n        exec: {{command: [true]}}\n{fields}"), FILE)
    [probe] = workload.probes
    assert (probe.interval, probe.timeout, probe.start_period, probe.retries) == (None, None, None, None)
