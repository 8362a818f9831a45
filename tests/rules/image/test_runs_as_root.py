from __future__ import annotations

import pytest

from gatekeeper.rules.image.runs_as_root import RULE
from tests.factories import catches, evidence, image, passes, violations
from tests.imagegen import BUSYBOX_LIKE, file

PASSWD = file(
    "/etc/passwd",
    "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n"
    "toor:x:0:0::/root:/bin/sh\nsvc:x:999:999::/:/bin/false\n",
)
GROUP = file("/etc/group", "root:x:0:\napp:x:10001:\nweb:x:2000:app\n")


@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:app", "toor", "0:10001"])
def test_root_users_fail(user: str) -> None:
    assert catches(RULE, image([[PASSWD]], User=user))


@pytest.mark.parametrize("user", ["10001", "10001:10001", "app", "app:app", "svc"])
def test_non_root_users_pass(user: str) -> None:
    assert passes(RULE, image([[PASSWD, GROUP]], User=user))


@pytest.mark.parametrize("user", ["app:web", "10001:web", "app:2000", "10001:ghosts"])
def test_group_names_resolve_in_etc_group(user: str) -> None:
    if user.endswith("ghosts"):
        [v] = violations(RULE, image([[PASSWD, GROUP]], User=user))
        assert "'ghosts' is not in /etc/group" in v.message
        assert "unable to find group ghosts" in v.message
        assert v.detail == "unknown-group"
        assert v.location.pointer == "/etc/group"
    else:
        assert passes(RULE, image([[PASSWD, GROUP]], User=user))


def test_group_name_without_group_file() -> None:
    [v] = violations(RULE, image([[PASSWD]], User="app:app"))
    assert "the image has no /etc/group" in v.message


def test_group_not_checked_without_filesystem() -> None:
    assert passes(RULE, image([[PASSWD]], filesystem=False, User="10001:ghosts"))


def test_no_user_message_says_so() -> None:
    [v] = violations(RULE, image([[PASSWD]]))
    assert "no USER is set" in v.message
    assert v.location.pointer == "config.User"


def test_named_user_missing_from_passwd_is_its_own_finding() -> None:
    [v] = violations(RULE, image([[PASSWD]], User="ghost"))
    assert "'ghost' is not in /etc/passwd" in v.message
    assert v.detail == "unknown-user"


def test_named_user_without_passwd_file() -> None:
    [v] = violations(RULE, image([[file("/app/x", "x")]], User="app"))
    assert "has no /etc/passwd" in v.message


def test_numeric_user_needs_no_passwd() -> None:
    assert passes(RULE, image([[file("/app/x", "x")]], User="10001"))


def test_min_uid() -> None:
    assert catches(RULE, image([[PASSWD]], User="999"), min_uid=10000)
    assert catches(RULE, image([[PASSWD]], User="svc"), min_uid=10000)
    assert passes(RULE, image([[PASSWD]], User="app"), min_uid=10000)


def test_require_numeric() -> None:
    [v] = violations(RULE, image([[PASSWD]], User="app"), require_numeric=True)
    assert "runAsNonRoot" in v.message
    assert passes(RULE, image([[PASSWD]], User="10001"), require_numeric=True)


def test_passwd_lookup_follows_later_layer() -> None:
    later = file("/etc/passwd", "root:x:0:0::/root:/bin/sh\nlate:x:2000:2000::/:/bin/sh\n")
    assert passes(RULE, image([[PASSWD], [later]], User="late"))
    assert catches(RULE, image([[PASSWD], [later]], User="app"))


def test_config_only_does_not_resolve_names() -> None:
    facts = image([[PASSWD]], filesystem=False, User="ghost")
    assert passes(RULE, facts)
    assert "not resolved" in evidence(RULE, facts)[0]


def test_evidence_on_pass() -> None:
    assert evidence(RULE, image([[PASSWD]], User="app")) == ["USER app: 'app' is UID 10001 in /etc/passwd"]


def test_needs_filesystem_only_when_resolving() -> None:
    assert RULE.needs(RULE.build_options({})).filesystem
    assert not RULE.needs(RULE.build_options({"check_passwd": False})).filesystem


# ----------------------------------------------------------------- Dockerfile and runtime config

from gatekeeper.parsers import compose, kubernetes  # noqa: E402
from tests.factories import target, target_evidence, target_violations  # noqa: E402

DOCKERFILE = "FROM python:3.11-slim AS build\nUSER root\nRUN make\nFROM python:3.11-slim\nUSER 10001\n"


def test_dockerfile_final_stage_user_without_image() -> None:
    assert target_violations(RULE, target(dockerfile=DOCKERFILE)) == []
    assert target_evidence(RULE, target(dockerfile=DOCKERFILE)) == [
        "Dockerfile USER 10001: numeric non-root UID 10001"
    ]


def test_dockerfile_builder_root_is_not_flagged_but_final_missing_is() -> None:
    text = "FROM a:1 AS build\nUSER 10001\nFROM b:1\nRUN true\n"
    [v] = target_violations(RULE, target(dockerfile=text))
    assert "no USER is set" in v.message
    assert (v.location.line, v.location.pointer) == (3, "FROM")


def test_image_finding_points_at_dockerfile_user_line() -> None:
    facts = image([[PASSWD]], User="root", history=[{"created_by": "USER root", "empty_layer": True}])
    [v] = target_violations(RULE, target(facts, dockerfile="FROM x:1\nRUN true\nUSER root\n"))
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 3)


def test_compose_user_overrides_root_image() -> None:
    services = compose.parse('services:\n  web:\n    image: app\n    user: "10001"\n', "compose.yaml")
    tgt = target(image([[PASSWD]]), workloads=services)
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt)[0] == "the image's default user (root) is overridden by the runtime"


def test_compose_root_user_fails_at_its_line() -> None:
    services = compose.parse("services:\n  web:\n    image: app\n    user: root\n", "compose.yaml")
    [v] = target_violations(RULE, target(image([[PASSWD]], User="10001"), workloads=services))
    assert v.message == "The image runs as root: compose service web: user root is root."
    assert (v.location.artifact, v.location.line) == ("compose.yaml", 4)


def test_k8s_run_as_non_root_with_named_image_user() -> None:
    manifest = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n"
        "  containers:\n    - name: app\n      image: app\n"
    )
    workloads = kubernetes.parse(manifest, "pod.yaml")
    [v] = target_violations(RULE, target(image([[PASSWD]], User="app"), workloads=workloads))
    assert "kubelet refuses to start it" in v.message
    assert target_violations(RULE, target(image([[PASSWD]], User="10001"), workloads=workloads)) == []


def test_k8s_run_as_user_zero_fails() -> None:
    manifest = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: app\n      image: app\n"
        "      securityContext: {runAsUser: 0}\n"
    )
    [v] = target_violations(
        RULE, target(image([[PASSWD]], User="10001"), workloads=kubernetes.parse(manifest, "p.yaml"))
    )
    assert v.location.line == 7


# --- with --run: the main process's UID as the engine saw it ----------------------------------------


def test_run_root_process_fails_even_when_the_image_says_otherwise() -> None:
    from tests.factories import target, target_violations
    from tests.rules.runtime.sample import facts

    runtime = facts(main_uid=0, main_process="PID 7, UID 0: /entrypoint.sh")
    [v] = target_violations(RULE, target(image([[PASSWD]], User="10001"), runtime=runtime))
    assert v.message == "--run: the main process ran as root (UID 0): PID 7, UID 0: /entrypoint.sh."
    assert (v.detail, v.location.pointer) == ("run:root", "config.User")


def test_run_uid_below_minimum_and_workload_location() -> None:
    from gatekeeper.facts.workload import Workload
    from gatekeeper.findings import Location
    from tests.factories import target, target_violations
    from tests.rules.runtime.sample import COMPOSE, facts, settings

    user_at = Location("compose.yaml", 4, "services.app.user")
    workload = Workload("compose service app", "compose", COMPOSE, user="999", user_location=user_at)
    runtime = facts(settings=settings(workload="compose service app"), main_uid=999, main_process="PID 1")
    tgt = target(image([[PASSWD]], User="10001"), image_workloads=[workload], runtime=runtime)
    violations_ = target_violations(RULE, tgt, min_uid=10000)
    assert [v.detail for v in violations_] == ["compose service appmin-uid", "run:min-uid"]
    assert violations_[-1].location == user_at


def test_run_non_root_and_unknown_are_evidence() -> None:
    from tests.factories import target, target_evidence, target_violations
    from tests.rules.runtime.sample import facts

    tgt = target(image([[PASSWD]], User="10001"), runtime=facts())
    assert target_violations(RULE, tgt) == []
    assert (
        target_evidence(RULE, tgt)[-1]
        == "--run: the main process ran as UID 10001 (PID 4242, UID 10001: /app/app.sh)"
    )
    unknown = facts(
        main_uid=None, main_process="", uid_note="the main process exited before the engine could list it"
    )
    assert target_evidence(RULE, target(image([[PASSWD]], User="10001"), runtime=unknown))[-1] == (
        "--run: the main process UID is unknown: the main process exited before the engine could list it"
    )
    not_run = facts(attempted=False, started=False)
    assert all(
        "--run" not in e
        for e in target_evidence(RULE, target(image([[PASSWD]], User="10001"), runtime=not_run))
    )


@pytest.mark.parametrize("user", ["²", "¹000", "١٢"])
def test_unicode_digits_are_a_name_not_a_uid(user: str) -> None:
    """Docker reads `USER ١٢` as a user name (strconv.Atoi takes ASCII digits only): it must be in
    /etc/passwd. int() would crash on `²` and read `١٢` as UID 12."""
    [v] = violations(RULE, image(BUSYBOX_LIKE.layers, User=user))
    assert v.detail == "unknown-user"
    assert f"'{user}' is not in /etc/passwd" in v.message
