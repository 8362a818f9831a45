from __future__ import annotations

import pytest

from gatekeeper.rules.image.runs_as_root import RULE
from tests.factories import catches, evidence, image, passes, violations
from tests.imagegen import file

PASSWD = file(
    "/etc/passwd",
    "root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n"
    "toor:x:0:0::/root:/bin/sh\nsvc:x:999:999::/:/bin/false\n",
)


@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:app", "toor", "0:10001"])
def test_root_users_fail(user: str) -> None:
    assert catches(RULE, image([[PASSWD]], User=user))


@pytest.mark.parametrize("user", ["10001", "10001:10001", "app", "app:app", "svc"])
def test_non_root_users_pass(user: str) -> None:
    assert passes(RULE, image([[PASSWD]], User=user))


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
    assert evidence(RULE, image([[PASSWD]], User="app")) == [
        "USER app: 'app' is UID 10001 in /etc/passwd"
    ]


def test_needs_filesystem_only_when_resolving() -> None:
    assert RULE.needs(RULE.build_options({})).filesystem
    assert not RULE.needs(RULE.build_options({"check_passwd": False})).filesystem
