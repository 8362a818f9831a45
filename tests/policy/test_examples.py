"""examples/org-policy and examples/service-repo work as documented, through a real git repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy.loader import load_policy
from gatekeeper.policy.remote import Fetcher
from gatekeeper.rules import all_rules
from tests.policy.conftest import git

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULES = all_rules()


@pytest.fixture(scope="module")
def org_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("org") / "work"
    shutil.copytree(EXAMPLES / "org-policy", work)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "policy v3", cwd=work)
    git("tag", "v3", cwd=work)
    bare = work.parent / "gatekeeper-policies.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=work.parent)
    return bare


def service_policy(tmp_path: Path, org_repo: Path, extra: str = "") -> str:
    text = (EXAMPLES / "service-repo" / ".gatekeeper.yaml").read_text()
    text = text.replace(
        "git+https://git.example.com/platform/gatekeeper-policies.git", f"git+file://{org_repo}"
    )
    path = tmp_path / ".gatekeeper.yaml"
    path.write_text(text + extra)
    return str(path)


def fetcher(tmp_path: Path) -> Fetcher:
    return Fetcher(tmp_path / "cache", {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})


def test_service_extends_org_by_git_url(tmp_path: Path, org_repo: Path) -> None:
    policy = load_policy(
        [service_policy(tmp_path, org_repo)],
        RULES,
        image_names=["registry.example.com/checkout/api:v1.4.2"],
        fetcher=fetcher(tmp_path),
    )
    assert policy.profile == "prod"
    assert [s.origin.rsplit("#", 1)[-1] for s in policy.sources][:2] == [
        "builtin:default",
        "policies/base.yaml",
    ]
    assert policy.rules["GK-IMG-001"].locked_by.endswith("#policies/base.yaml:9")
    assert policy.rules["GK-IMG-003"].options == {"max": "150MB"}
    assert policy.allow_inline_waivers is False
    [waiver] = policy.waivers
    assert (waiver.rule, waiver.ticket) == ("GK-IMG-002", "CHK-118")


def test_org_locks_hold(tmp_path: Path, org_repo: Path) -> None:
    weaken = "  runs-as-root: {severity: low}\n"
    path = service_policy(tmp_path, org_repo)
    text = Path(path).read_text().replace("rules:\n", "rules:\n" + weaken)
    Path(path).write_text(text)
    with pytest.raises(
        PolicyError, match=r"rule runs-as-root is locked by git\+file://.*policies/base\.yaml:9"
    ):
        load_policy([path], RULES, fetcher=fetcher(tmp_path))


@pytest.mark.parametrize(
    ("name", "fail_on"), [("envs/prod.yaml", Severity.LOW), ("envs/dev.yaml", Severity.CRITICAL)]
)
def test_environment_files(name: str, fail_on: Severity) -> None:
    policy = load_policy([str(EXAMPLES / "org-policy" / "policies" / name)], RULES)
    assert policy.fail_on is fail_on
