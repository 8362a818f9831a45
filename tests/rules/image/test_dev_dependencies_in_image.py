from __future__ import annotations

import json

import pytest

from gatekeeper.facts.needs import Need
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.image.dev_dependencies_in_image import RULE, normalise, python_distributions
from tests.factories import evidence, image, passes, run, target, target_violations, violations
from tests.imagegen import F, directory, exe, file

NODE = exe("/usr/local/bin/node", b"\x7fELF")
MANIFEST: dict[str, object] = {
    "name": "app",
    "dependencies": {"express": "^4.19.2", "debug": "^4"},
    "devDependencies": {"jest": "^29", "eslint": "^9", "debug": "^4", "@types/node": "^20"},
}


def package_json(path: str, manifest: dict[str, object]) -> F:
    return file(path, json.dumps(manifest))


def module(app: str, name: str) -> list[F]:
    return [
        directory(f"{app}/node_modules/{name}"),
        package_json(f"{app}/node_modules/{name}/package.json", {"name": name}),
    ]


def node_app(*installed: str, app: str = "/app", manifest: dict[str, object] = MANIFEST) -> list[F]:
    files = [NODE, package_json(f"{app}/package.json", manifest)]
    for name in installed:
        files += module(app, name)
    return files


def test_direct_dev_dependencies_in_node_modules() -> None:
    layers = [node_app("express", "debug", "jest", "@types/node")]
    [v] = violations(RULE, image(layers, Env=["NODE_ENV=production"]))
    assert v.message == (
        "/app/node_modules holds 2 packages that /app/package.json needs only for development: "
        "@types/node, jest."
    )
    assert v.detail == "node-dev:/app"
    assert v.evidence == "all: @types/node, jest"


def test_production_install_passes() -> None:
    facts = image([node_app("express", "debug")], Env=["NODE_ENV=production"])
    assert passes(RULE, facts)
    assert evidence(RULE, facts) == [
        "no development dependencies; checked 0 Python distributions; Node apps: /app"
    ]


def test_hidden_lock_file_counts_transitive_dev_packages() -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "node_modules/express": {"version": "4.19.2"},
            "node_modules/jest": {"version": "29.7.0", "dev": True},
            "node_modules/jest/node_modules/chalk": {"version": "4.1.2", "dev": True},
            "node_modules/pretty-format": {"version": "29.7.0", "dev": True},
        },
    }
    hidden = file("/app/node_modules/.package-lock.json", json.dumps(lock))
    layers = [[*node_app("express", "jest", "pretty-format"), hidden]]
    [v] = violations(RULE, image(layers, Env=["NODE_ENV=production"]))
    assert "holds 3 packages" in v.message
    assert v.evidence == "all: chalk, jest, pretty-format"


def test_package_lock_counts_only_what_is_installed() -> None:
    lock = {
        "packages": {
            "": {"name": "app"},
            "node_modules/jest": {"dev": True},
            "node_modules/eslint": {"dev": True},
        }
    }
    layers = [[*node_app("express", "eslint"), file("/app/package-lock.json", json.dumps(lock))]]
    [v] = violations(RULE, image(layers, Env=["NODE_ENV=production"]))
    assert v.evidence == "all: eslint"


@pytest.mark.parametrize(
    ("env", "shown"), [([], "is not set"), (["NODE_ENV=development"], "is 'development'")]
)
def test_node_env_must_be_production(env: list[str], shown: str) -> None:
    [v] = violations(RULE, image([node_app("express")], Env=env))
    assert v.message == (
        f"NODE_ENV {shown} (the image) in a Node image: frameworks run in development mode and npm installs "
        "devDependencies."
    )
    assert v.detail == "node-env:/app"
    assert v.location.pointer == "config.Env.NODE_ENV"
    assert violations(RULE, image([node_app("express")], Env=env), node_env=False) == []


def test_workload_node_env_wins() -> None:
    workload = Workload(
        "compose service web", "compose", Location("compose.yaml", 2), env=(("NODE_ENV", "production"),)
    )
    facts = image([node_app("express")], Env=["NODE_ENV=development"])
    assert target_violations(RULE, target(facts, image_workloads=[workload])) == []


def test_not_node_apps() -> None:
    vendored = [
        NODE,
        package_json("/usr/local/lib/node_modules/npm/package.json", {"devDependencies": {"tap": "1"}}),
        package_json("/usr/share/nodejs/acorn/package.json", {"devDependencies": {"tap": "1"}}),
        package_json("/root/.npm/_cacache/package.json", {}),
    ]
    assert evidence(RULE, image([vendored])) == [
        "no development dependencies; checked 0 Python distributions; no Node app"
    ]
    # package.json without node on PATH: dev packages still count, NODE_ENV does not
    no_node = [package_json("/srv/app/package.json", MANIFEST), *module("/srv/app", "eslint")]
    [v] = violations(RULE, image([no_node]))
    assert v.detail == "node-dev:/srv/app"


def test_allow() -> None:
    facts = image([node_app("express", "jest")], Env=["NODE_ENV=production"])
    assert violations(RULE, facts, allow=["jest"]) == []


SITE = "/usr/local/lib/python3.11/site-packages"


def dist(name: str, version: str = "1.0", site: str = SITE, kind: str = "dist-info") -> list[F]:
    return [file(f"{site}/{name}-{version}.{kind}/METADATA", f"Name: {name}\n")]


def test_python_test_and_lint_tools_per_layer() -> None:
    base = dist("pip", "24.0") + dist("setuptools", "69.0")
    app = dist("flask", "3.0.0") + dist("gunicorn", "22.0.0")
    dev = (
        dist("pytest", "8.2.0") + dist("pytest_cov", "5.0.0") + dist("Ruff", "0.4.4") + dist("mypy", "1.10.0")
    )
    dev += dist("types_requests", "2.31.0", site="/opt/venv/lib/python3.11/site-packages")
    dev += dist("coverage", "7.5", site="/usr/lib/python3/dist-packages", kind="egg-info")
    facts = image([base, app, dev])
    [v] = violations(RULE, facts)
    assert v.message.startswith("Layer 2")  # the layer's label: its Dockerfile line or history command
    assert v.message.endswith(
        "installs 6 Python test or lint tools: coverage, mypy, pytest, pytest-cov, ruff, types-requests."
    )
    assert v.detail.startswith("python:")
    assert v.location.artifact == "image"


def test_python_clean_and_options() -> None:
    facts = image([dist("flask") + dist("mypy_extensions") + dist("hypothesis", "6.0")])
    [v] = violations(RULE, facts)
    assert "hypothesis" in v.message and "mypy-extensions" not in v.message
    assert violations(RULE, facts, python_tools=["pytest"]) == []
    assert evidence(RULE, facts, python_tools=["pytest"]) == [
        "no development dependencies; checked 3 Python distributions; no Node app"
    ]


def test_distribution_names() -> None:
    assert normalise("Pytest_Cov") == "pytest-cov"
    facts = image([dist("zope.interface", "6.0"), dist("foo", "1.0", kind="egg-info")])
    assert facts.files is not None
    assert sorted(python_distributions(facts.files)) == ["foo", "zope-interface"]


def test_needs_the_filesystem_and_the_manifests() -> None:
    request = RULE.needs(RULE.options())
    assert request.need & Need.FILESYSTEM
    assert request.wanted("/app/package.json", 1000)
    assert request.wanted("/app/node_modules/.package-lock.json", 1000)
    assert not request.wanted("/app/index.js", 10)


def test_needs_the_image_and_its_files() -> None:
    with pytest.raises(NotApplicable):
        run(RULE, image([node_app()], filesystem=False))
    with pytest.raises(NotApplicable):
        list(RULE.check(target(), RULE.options()))


def test_package_json_nested_too_deep_is_unreadable() -> None:
    facts = image([[NODE, file("/app/package.json", "[" * 5000)]], Env=["NODE_ENV=production"])
    assert run(RULE, facts) == run(RULE, image([[NODE]], Env=["NODE_ENV=production"]))
    assert evidence(RULE, facts) == [
        "no development dependencies; checked 0 Python distributions; no Node app"
    ]


def test_lock_file_nested_too_deep_falls_back_to_the_manifest() -> None:
    deep = file("/app/node_modules/.package-lock.json", '{"packages": ' + "[" * 5000)
    [v] = violations(RULE, image([[*node_app("express", "jest"), deep]], Env=["NODE_ENV=production"]))
    assert v.evidence == "all: jest"
