"""compose parser: text in, Workloads out. Every fixture is first validated against compose-spec.json."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import pytest

from gatekeeper.errors import InputError
from gatekeeper.facts.workload import Limits, Probe, Workload
from gatekeeper.findings import Location
from gatekeeper.parsers.compose import parse
from gatekeeper.yamlpos import load_all
from tests.shared import shared_file


@cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(shared_file("schemas/compose/compose-spec.json").read_text())
    return jsonschema.Draft7Validator(schema)


def valid(text: str) -> str:
    """The text, after checking it is a real compose file (as Compose reads YAML: `33:33` is a string)."""
    [doc] = load_all(text)
    errors = sorted(
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc.data)
    )
    assert errors == []
    return text


def by_name(workloads: tuple[Workload, ...]) -> dict[str, Workload]:
    return {w.name.removeprefix("compose service "): w for w in workloads}


def at(line: int | None, pointer: str) -> Location:
    return Location("compose.yaml", line, pointer)


ARTICLE = """\
version: '3.8'
services:
  app:
    build: .
    ports:
      - "3000:3000"
    environment:
      - DATABASE_URL=postgresql://postgres:password@db:5432/myapp
    depends_on:
      - db
    volumes:
      - ./src:/app/src # Hot reload
  db:
    image: postgres:15-alpine
    environment:
      POSTGRES_PASSWORD: password
      POSTGRES_DB: myapp
    volumes:
      - postgres_data:/var/lib/postgresql/data
volumes:
  postgres_data:
"""


def test_article_compose_file() -> None:
    workloads = parse(valid(ARTICLE), "docker-compose.yml")
    assert workloads == (
        Workload(
            name="compose service app",
            kind="compose",
            origin=Location("docker-compose.yml", 3, "services.app"),
            image="",
            env=(("DATABASE_URL", "postgresql://postgres:password@db:5432/myapp"),),
        ),
        Workload(
            name="compose service db",
            kind="compose",
            origin=Location("docker-compose.yml", 13, "services.db"),
            image="postgres:15-alpine",
            env=(("POSTGRES_PASSWORD", "password"), ("POSTGRES_DB", "myapp")),
        ),
    )
    for workload in workloads:
        assert workload.limits == Limits(None, None)
        assert workload.probes == ()
        assert workload.user is None
        assert workload.logging_driver is None
        assert not workload.healthcheck_disabled
        assert not workload.is_job
        assert not workload.init
        assert workload.run_as_non_root is None


FULL = """\
name: shop
services:
  api:
    image: registry.example.com/team/api:1.4.2
    user: "10001:10001"
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: 0.5
          memory: 512M
        reservations:
          memory: 256M
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/health"]
      interval: 30s
      timeout: 3s
      retries: 3
    logging:
      driver: json-file
      options:
        max-size: 10m
  worker:
    image: registry.example.com/team/worker:1.4.2
    user: "1000"
    cpus: "1.5"
    mem_limit: 1g
    healthcheck:
      test: curl -f http://localhost:8080/health || exit 1
  batch:
    image: batch:${TAG:-latest}
    user: 33:33
    cpus: ${BATCH_CPUS:-1}
    mem_limit: ${BATCH_MEM:-256m}
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
    logging:
      driver: none
  legacy:
    image: legacy
    cpus: 2
    mem_limit: 134217728
    healthcheck:
      test: ["NONE"]
  mixed:
    image: mixed
    cpus: 0.25
    deploy:
      resources:
        limits:
          memory: 128M
  maint:
    image: maint
    user: root
    healthcheck:
      disable: true
  bare:
    image: bare
    healthcheck:
      interval: 10s
"""


@pytest.fixture(scope="module")
def full() -> dict[str, Workload]:
    return by_name(parse(valid(FULL), "compose.yaml"))


def test_services_in_file_order() -> None:
    assert [w.name for w in parse(FULL, "compose.yaml")] == [
        "compose service api",
        "compose service worker",
        "compose service batch",
        "compose service legacy",
        "compose service mixed",
        "compose service maint",
        "compose service bare",
    ]


def test_deploy_resources_limits(full: dict[str, Workload]) -> None:
    api = full["api"]
    assert api.origin == at(3, "services.api")
    assert api.image == "registry.example.com/team/api:1.4.2"
    # `cpus: 0.5` is a YAML number; limits are kept as text. Reservations are not limits.
    assert api.limits == Limits(
        "0.5",
        "512M",
        at(10, "services.api.deploy.resources.limits.cpus"),
        at(11, "services.api.deploy.resources.limits.memory"),
    )


@pytest.mark.parametrize(
    ("service", "limits"),
    [
        ("worker", Limits("1.5", "1g", at(26, "services.worker.cpus"), at(27, "services.worker.mem_limit"))),
        (
            "batch",
            Limits(
                "${BATCH_CPUS:-1}",
                "${BATCH_MEM:-256m}",
                at(33, "services.batch.cpus"),
                at(34, "services.batch.mem_limit"),
            ),
        ),
        (
            "legacy",
            Limits("2", "134217728", at(41, "services.legacy.cpus"), at(42, "services.legacy.mem_limit")),
        ),
        (
            "mixed",
            Limits(
                "0.25",
                "128M",
                at(47, "services.mixed.cpus"),
                at(51, "services.mixed.deploy.resources.limits.memory"),
            ),
        ),
        ("maint", Limits(None, None)),
        ("bare", Limits(None, None)),
    ],
)
def test_legacy_and_interpolated_limits(full: dict[str, Workload], service: str, limits: Limits) -> None:
    assert full[service].limits == limits


@pytest.mark.parametrize(
    ("service", "probes", "disabled"),
    [
        (
            "api",
            (
                Probe(
                    "healthcheck",
                    "exec",
                    ("CMD", "curl", "-f", "http://localhost:8080/health"),
                    at(15, "services.api.healthcheck"),
                    interval=30.0,
                    timeout=3.0,
                    retries=3,
                ),
            ),
            False,
        ),
        (
            "worker",
            (
                Probe(
                    "healthcheck",
                    "cmd-shell",
                    ("CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"),
                    at(29, "services.worker.healthcheck"),
                ),
            ),
            False,
        ),
        (
            "batch",
            (
                Probe(
                    "healthcheck",
                    "cmd-shell",
                    ("CMD-SHELL", "pg_isready -U postgres"),
                    at(36, "services.batch.healthcheck"),
                ),
            ),
            False,
        ),
        ("legacy", (Probe("healthcheck", "none", ("NONE",), at(44, "services.legacy.healthcheck")),), True),
        ("maint", (Probe("healthcheck", "none", (), at(56, "services.maint.healthcheck")),), True),
        ("bare", (), False),  # no test: the image's HEALTHCHECK applies
        ("mixed", (), False),
    ],
)
def test_healthchecks(
    full: dict[str, Workload], service: str, probes: tuple[Probe, ...], disabled: bool
) -> None:
    assert full[service].probes == probes
    assert full[service].healthcheck_disabled is disabled


@pytest.mark.parametrize(
    ("service", "user", "location"),
    [
        ("api", "10001:10001", at(5, "services.api.user")),
        ("worker", "1000", at(25, "services.worker.user")),
        ("batch", "33:33", at(32, "services.batch.user")),  # YAML 1.2 (Compose): not the number 2013
        ("maint", "root", at(54, "services.maint.user")),
        ("bare", None, None),
    ],
)
def test_user(full: dict[str, Workload], service: str, user: str | None, location: Location | None) -> None:
    assert (full[service].user, full[service].user_location) == (user, location)


@pytest.mark.parametrize(
    ("service", "driver", "location"),
    [
        ("api", "json-file", at(20, "services.api.logging.driver")),
        ("batch", "none", at(38, "services.batch.logging.driver")),
        ("worker", None, None),
    ],
)
def test_logging_driver(
    full: dict[str, Workload], service: str, driver: str | None, location: Location | None
) -> None:
    assert (full[service].logging_driver, full[service].logging_location) == (driver, location)


def test_interpolated_image_is_kept_as_written(full: dict[str, Workload]) -> None:
    assert full["batch"].image == "batch:${TAG:-latest}"


@pytest.mark.parametrize(
    ("environment", "env"),
    [
        (
            "      - A=1\n      - B=x=y\n      - EMPTY=\n      - UNSET\n",
            (("A", "1"), ("B", "x=y"), ("EMPTY", ""), ("UNSET", "")),
        ),
        (
            "      A: 1\n      B: 'two'\n      C: true\n      D:\n",
            (("A", "1"), ("B", "two"), ("C", "True"), ("D", "")),
        ),
    ],
)
def test_environment_list_and_mapping(environment: str, env: tuple[tuple[str, str], ...]) -> None:
    text = valid(f"services:\n  web:\n    image: web\n    environment:\n{environment}")
    [workload] = parse(text, "compose.yaml")
    assert workload.env == env


@pytest.mark.parametrize(
    ("healthcheck", "handler", "command"),
    [
        ('test: ["CMD", "/bin/healthcheck"]', "exec", ("CMD", "/bin/healthcheck")),
        ('test: ["CMD-SHELL", "curl -f localhost"]', "cmd-shell", ("CMD-SHELL", "curl -f localhost")),
        ("test: curl -f localhost", "cmd-shell", ("CMD-SHELL", "curl -f localhost")),
        ('test: ["NONE"]', "none", ("NONE",)),
        ("disable: true", "none", ()),
        ('disable: "true"', "none", ()),
        ('test: ["CMD", "x"]\n      disable: true', "none", ()),
    ],
)
def test_healthcheck_forms(healthcheck: str, handler: str, command: tuple[str, ...]) -> None:
    text = valid(f"services:\n  web:\n    image: web\n    healthcheck:\n      {healthcheck}\n")
    [workload] = parse(text, "compose.yaml")
    assert [(p.kind, p.handler, p.command) for p in workload.probes] == [("healthcheck", handler, command)]
    assert workload.probes[0].location == at(5, "services.web.healthcheck")
    assert workload.healthcheck_disabled is (handler == "none")


@pytest.mark.parametrize(
    "healthcheck",
    ["test: []", 'test: ""', "disable: false", "interval: 5s"],
)
def test_healthcheck_that_inherits_the_image(healthcheck: str) -> None:
    text = valid(f"services:\n  web:\n    image: web\n    healthcheck:\n      {healthcheck}\n")
    [workload] = parse(text, "compose.yaml")
    assert workload.probes == ()
    assert not workload.healthcheck_disabled


def test_extension_fields_and_anchors() -> None:
    text = valid(
        "x-defaults: &defaults\n"
        "  logging:\n"
        "    driver: syslog\n"
        "services:\n"
        "  web:\n"
        "    <<: *defaults\n"
        "    image: web\n"
        "    user: app\n"
    )
    [workload] = parse(text, "compose.yaml")
    assert workload.logging_driver == "syslog"
    # The merged key has no line of its own in the service: the service's line stands in.
    assert workload.logging_location == at(6, "services.web.logging.driver")
    assert workload.user_location == at(8, "services.web.user")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "services:\n  app:\n    image: [unclosed\n",
            "compose.yaml:4:1: invalid YAML: expected ',' or ']', but got '<stream end>'",
            id="unclosed-flow",
        ),
        pytest.param(
            "services:\n  app:\n    image: x\n   user: y\n",
            "compose.yaml:4:4: invalid YAML: expected <block end>, but found '<block mapping start>'",
            id="bad-indent",
        ),
        pytest.param(
            "services:\n\tapp: {}\n",
            "compose.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token",
            id="tab",
        ),
        pytest.param("", "compose.yaml: not a compose file (expected one YAML mapping)", id="empty"),
        pytest.param(
            "# nothing\n", "compose.yaml: not a compose file (expected one YAML mapping)", id="comment"
        ),
        pytest.param(
            "- app\n- db\n", "compose.yaml: not a compose file (expected one YAML mapping)", id="list"
        ),
        pytest.param(
            "just text\n", "compose.yaml: not a compose file (expected one YAML mapping)", id="scalar"
        ),
        pytest.param(
            "services: {}\n---\nservices: {}\n",
            "compose.yaml: not a compose file (expected one YAML mapping)",
            id="two-documents",
        ),
        pytest.param(
            "version: '3.8'\n", "compose.yaml: no `services:` mapping (is this a compose file?)", id="none"
        ),
        pytest.param(
            "services: {}\n", "compose.yaml: no `services:` mapping (is this a compose file?)", id="empty-map"
        ),
        pytest.param(
            "services:\n  - app\n",
            "compose.yaml: no `services:` mapping (is this a compose file?)",
            id="services-list",
        ),
        pytest.param(
            "services:\n  app:\n    image: x\n  db: postgres\n",
            "compose.yaml:4: services.db must be a mapping",
            id="service-scalar",
        ),
        pytest.param(
            "services:\n  app:\n    - image: x\n",
            "compose.yaml:3: services.app must be a mapping",
            id="service-list",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, "compose.yaml")
    assert str(info.value) == message


def test_error_fixtures_are_rejected_by_the_schema_too() -> None:
    for text in ("services:\n  app:\n    image: x\n  db: postgres\n", "services:\n  - app\n"):
        [doc] = load_all(text)
        data: Any = doc.data
        assert list(_validator().iter_errors(data)) != []


def test_service_names_that_yaml_1_1_reads_as_booleans_stay_names() -> None:
    text = valid("services:\n  on:\n    image: a\n  yes:\n    image: b\n  no:\n    image: c\n")
    assert [(w.name, w.image, w.origin.line) for w in parse(text, "compose.yaml")] == [
        ("compose service on", "a", 2),
        ("compose service yes", "b", 4),
        ("compose service no", "c", 6),
    ]


def test_anchors_and_merge_keys() -> None:
    text = valid(
        "x-common: &common\n"
        "  image: app:1\n"
        "  user: '1000'\n"
        "services:\n"
        "  api:\n"
        "    <<: *common\n"
        "    user: '2000'\n"
        "  worker:\n"
        "    <<: *common\n"
    )
    api, worker = parse(text, "compose.yaml")
    assert (api.image, api.user, api.user_location) == ("app:1", "2000", at(7, "services.api.user"))
    assert (worker.image, worker.user) == ("app:1", "1000")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "services:\n  app:\n    image: a\n  app:\n    image: b\n",
            "compose.yaml:4:3: invalid YAML: duplicate key 'app'",
            id="duplicate-service",
        ),
        pytest.param(
            "services:\n  ? [app]\n  : {image: a}\n",
            "compose.yaml:2:5: invalid YAML: a mapping key must be a plain value, not a list or a mapping",
            id="list-key",
        ),
        pytest.param(
            "services: " + "[" * 3000 + "\n",
            "compose.yaml:1:",
            id="nested-too-deeply",
        ),
    ],
)
def test_yaml_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, "compose.yaml")
    assert str(info.value).startswith(message)
    if "[[[" in text:
        assert str(info.value).endswith(": invalid YAML: the YAML is nested too deeply")


@pytest.mark.usefixtures("short_shlex")
def test_a_huge_command_string_is_split_without_shlex() -> None:
    from gatekeeper.secrets import SHLEX_LIMIT

    long = "x" * (SHLEX_LIMIT + 10)
    [service] = parse(f"services:\n  app:\n    image: a\n    command: serve {long}\n", "compose.yaml")
    assert service.command == ("serve", long)
