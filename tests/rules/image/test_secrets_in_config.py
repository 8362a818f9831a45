from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.mapping import match_history
from gatekeeper.parsers.dockerfile import parse
from gatekeeper.rule import Evidence, Violation
from gatekeeper.rules.image.secrets_in_config import RULE, pairs, parse_step
from tests.factories import catches, evidence, image, passes, violations
from tests.test_secrets import AWS_KEY_ID, GITHUB_PAT, JWT, NPM, filler

PASSWORD = "s3cr3t-" + filler(12)
BASE = {"created_by": "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007 in / "}


def with_history(*entries: dict[str, Any], **config: Any) -> ImageFacts:
    history = [BASE, *entries]
    layers = sum(1 for e in history if not e.get("empty_layer"))
    return image([[] for _ in range(layers)], history=history, **config)


def nop(text: str) -> dict[str, Any]:
    return {"created_by": f"/bin/sh -c #(nop)  {text}", "empty_layer": True}


def check(target: Target, **options: Any) -> list[Violation | Evidence]:
    return list(RULE.check(target, RULE.build_options(options)))


@pytest.mark.parametrize(
    "config",
    [
        {"Env": [f"GITHUB_TOKEN={GITHUB_PAT}"]},
        {"Env": [f"AWS_ACCESS_KEY_ID={AWS_KEY_ID}"]},
        {"Env": [f"POSTGRES_PASSWORD={PASSWORD}"]},
        {"Env": ["DATABASE_URL=postgresql://postgres:password@db:5432/myapp"]},
        {"Env": [f"NPM_CONFIG_TOKEN={NPM}"]},
        {"Labels": {"com.example.token": JWT}},
        {"Labels": {"build.deploy-key": GITHUB_PAT}},
    ],
)
def test_secrets_in_config_fail(config: dict[str, Any]) -> None:
    assert catches(RULE, image([[]], **config))


@pytest.mark.parametrize(
    "env",
    [
        "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
        "PYTHON_VERSION=3.11.8",
        "PYTHON_SHA256=" + "0123456789abcdef" * 4,
        "NODE_VERSION=20.11.0",
        "YARN_VERSION=1.22.19",
        "PASSWORD_FILE=/run/secrets/db",
        "TOKEN=${TOKEN}",
        "DB_PASSWORD=changeme",
        "AUTH_ENABLED=true",
        "API_URL=https://api.example.com/v1",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
    ],
)
def test_ordinary_config_passes(env: str) -> None:
    facts = image([[]], Env=[env], Labels={"org.opencontainers.image.source": "https://github.com/a/b"})
    assert passes(RULE, facts)


def test_env_github_token_message_names_key_and_mask_only() -> None:
    [v] = violations(RULE, image([[]], Env=[f"GITHUB_TOKEN={GITHUB_PAT}", "NODE_ENV=production"]))
    assert v.message.startswith("ENV GITHUB_TOKEN holds a secret (GitHub token, ghp_…(40 chars))")
    assert v.location.pointer == "config.Env"
    assert v.detail == "env:GITHUB_TOKEN"


def test_label_with_jwt() -> None:
    [v] = violations(RULE, image([[]], Labels={"com.example.session": JWT}))
    assert "LABEL com.example.session" in v.message
    assert "JSON Web Token" in v.message
    assert v.location.pointer == "config.Labels"


def test_database_url_from_the_article_is_flagged_with_a_masked_hint() -> None:
    url = "postgresql://postgres:password@db:5432/myapp"
    [v] = violations(RULE, image([[]], Env=[f"DATABASE_URL={url}"]))
    assert "password in a URL, …(8 chars)" in v.message
    assert url not in repr(v)


def test_classic_builder_build_args_in_history() -> None:
    facts = with_history(
        nop("ARG API_TOKEN"),
        {"created_by": f"|2 API_TOKEN={GITHUB_PAT} NODE_ENV=prod /bin/sh -c npm ci"},
    )
    [v] = violations(RULE, facts)
    assert v.message.startswith("Build argument API_TOKEN holds a secret (GitHub token")
    assert "history (entry 2, RUN)" in v.message
    assert v.detail == "build-arg:API_TOKEN"


def test_buildkit_build_args_in_history() -> None:
    facts = with_history(
        {"created_by": "ARG TOKEN", "empty_layer": True},
        {"created_by": f"RUN |1 TOKEN={PASSWORD} /bin/sh -c make # buildkit"},
    )
    [v] = violations(RULE, facts)
    assert "Build argument TOKEN" in v.message


def test_build_arg_repeated_in_every_run_is_one_finding() -> None:
    step = {"created_by": f"RUN |1 TOKEN={PASSWORD} /bin/sh -c make # buildkit"}
    [v] = violations(RULE, with_history(step, step, step))
    assert v.evidence == ""


@pytest.mark.parametrize(
    "entry",
    [
        {"created_by": f"ARG NPM_TOKEN={NPM}", "empty_layer": True},
        nop(f"ENV OLD_TOKEN={GITHUB_PAT}"),
        {"created_by": f"RUN /bin/sh -c curl -u deploy:{PASSWORD} https://repo/x # buildkit"},
        {"created_by": f"/bin/sh -c git clone https://bot:{PASSWORD}@git.example.com/a/b.git"},
        {"created_by": f"RUN /bin/sh -c mvn deploy --password={PASSWORD} # buildkit"},
        {"created_by": f"RUN /bin/sh -c curl -H 'Authorization: Bearer {PASSWORD}' https://x # buildkit"},
        {"created_by": f"/bin/sh -c echo //registry.npmjs.org/:_authToken={filler(36)} > .npmrc"},
        nop(f"LABEL ci.token={JWT}"),
    ],
)
def test_secrets_in_history_fail(entry: dict[str, Any]) -> None:
    assert catches(RULE, with_history(entry))


@pytest.mark.parametrize(
    "entry",
    [
        {"created_by": "RUN /bin/sh -c apk add --no-cache libcrypto3=3.1.4-r1 # buildkit"},
        {"created_by": "|1 NODE_ENV=production /bin/sh -c npm ci --omit=dev"},
        {"created_by": "ARG TOKEN", "empty_layer": True},
        {"created_by": 'RUN /bin/sh -c echo "$TOKEN" | docker login --password-stdin -u bot r # buildkit'},
        {"created_by": "RUN /bin/sh -c --mount=type=secret,id=npm,env=NPM_TOKEN npm ci # buildkit"},
        nop("ENV PASSWORD_FILE=/run/secrets/db"),
        nop('CMD ["python" "-m" "app"]'),
        {"created_by": "COPY --chown=app:app . /app # buildkit"},
    ],
)
def test_ordinary_history_passes(entry: dict[str, Any]) -> None:
    assert passes(RULE, with_history(entry))


def test_same_secret_in_env_and_history_is_one_finding_with_evidence() -> None:
    facts = with_history(
        {"created_by": f"ENV GITHUB_TOKEN={GITHUB_PAT}", "empty_layer": True},
        Env=[f"GITHUB_TOKEN={GITHUB_PAT}"],
    )
    [v] = violations(RULE, facts)
    assert v.message.startswith("ENV GITHUB_TOKEN")
    assert v.evidence == "also in: image history (ENV GITHUB_TOKEN)"


DOCKERFILE = f"""\
ARG BASE=python:3.11-slim
FROM $BASE AS build
ARG PIP_PASSWORD={PASSWORD}
RUN pip wheel -w /wheels .

FROM $BASE
ARG API_TOKEN
ENV GITHUB_TOKEN={GITHUB_PAT} \\
    APP_ENV=production
LABEL org.opencontainers.image.source=https://github.com/acme/app
RUN make
"""


def dockerfile_target() -> Target:
    dockerfile = parse(DOCKERFILE)
    facts = with_history(
        {"created_by": "ARG API_TOKEN", "empty_layer": True},
        {"created_by": f"ENV GITHUB_TOKEN={GITHUB_PAT} APP_ENV=production", "empty_layer": True},
        {
            "created_by": "LABEL org.opencontainers.image.source=https://github.com/acme/app",
            "empty_layer": True,
        },
        {"created_by": f"RUN |1 API_TOKEN={PASSWORD}x /bin/sh -c make # buildkit"},
        Env=[f"GITHUB_TOKEN={GITHUB_PAT}", "APP_ENV=production"],
    )
    return Target(
        image=facts, dockerfile=dockerfile, history_instructions=match_history(dockerfile, facts.history)
    )


def test_dockerfile_lines_are_named() -> None:
    found = {v.detail: v for v in check(dockerfile_target()) if isinstance(v, Violation)}
    assert set(found) == {"env:GITHUB_TOKEN", "build-arg:API_TOKEN", "dockerfile-arg:PIP_PASSWORD"}
    env = found["env:GITHUB_TOKEN"]
    assert (env.location.artifact, env.location.line, env.location.pointer) == ("Dockerfile", 8, "config.Env")
    build_arg = found["build-arg:API_TOKEN"]
    assert (build_arg.location.line, build_arg.location.pointer) == (11, "history")
    arg = found["dockerfile-arg:PIP_PASSWORD"]
    assert (arg.location.line, arg.location.pointer) == (3, "ARG")
    assert "committed with the Dockerfile" in arg.message


def test_dockerfile_alone_is_enough() -> None:
    items = check(Target(dockerfile=parse(DOCKERFILE)))
    details = sorted(v.detail for v in items if isinstance(v, Violation))
    assert details == ["dockerfile-arg:PIP_PASSWORD", "dockerfile-env:GITHUB_TOKEN"]


def test_builder_stage_env_is_not_judged_but_its_arg_default_is() -> None:
    text = f"FROM a AS build\nENV X_TOKEN={GITHUB_PAT}\nARG Y_TOKEN={NPM}\nFROM b\nRUN true\n"
    items = check(Target(dockerfile=parse(text)))
    assert [v.detail for v in items if isinstance(v, Violation)] == ["dockerfile-arg:Y_TOKEN"]


def test_no_input_is_not_applicable() -> None:
    from gatekeeper.rule import NotApplicable

    with pytest.raises(NotApplicable):
        check(Target())


def test_secret_values_never_leave_the_rule() -> None:
    secrets = [GITHUB_PAT, PASSWORD, PASSWORD + "x", JWT, NPM, AWS_KEY_ID]
    facts = with_history(
        {"created_by": f"RUN |2 NPM_TOKEN={NPM} PASS={PASSWORD} /bin/sh -c make # buildkit"},
        {"created_by": f"RUN /bin/sh -c curl -u u:{PASSWORD}x https://x # buildkit"},
        Env=[f"GITHUB_TOKEN={GITHUB_PAT}", f"AWS_KEY={AWS_KEY_ID}"],
        Labels={"jwt": JWT},
    )
    items = check(Target(image=facts)) + check(dockerfile_target())
    assert len([i for i in items if isinstance(i, Violation)]) >= 8
    text = repr(items)
    for secret in secrets:
        assert secret not in text


def test_ignore_names() -> None:
    facts = image([[]], Env=[f"SENTRY_DSN=https://{filler(32)}@o1.ingest.sentry.io/1"])
    assert catches(RULE, facts)
    assert passes(RULE, facts, ignore_names=["sentry_*"])
    assert "ignored by name: SENTRY_DSN" in evidence(RULE, facts, ignore_names=["SENTRY_*"])[0]


def test_extra_names() -> None:
    facts = image([[]], Env=["DEPLOY_PIN=83719264x"])
    assert passes(RULE, facts)
    assert catches(RULE, facts, extra_names=["*_PIN"])


def test_evidence_on_pass() -> None:
    facts = with_history(nop("ENV A=1"), Env=["A=1", "B=2"], Labels={"x": "y"})
    assert evidence(RULE, facts) == ["no secrets in 2 ENV, 1 LABELs, 2 history entries"]


def test_needs_config_only() -> None:
    request = RULE.needs(RULE.options())
    assert not request.filesystem
    assert not request.sizes


@pytest.mark.parametrize(
    ("created_by", "args", "keyword", "text"),
    [
        ("|2 A=1 B=2 /bin/sh -c make", (("A", "1"), ("B", "2")), "RUN", "make"),
        ("RUN |1 T=x /bin/sh -c make # buildkit", (("T", "x"),), "RUN", "make"),
        ("RUN /bin/sh -c make # buildkit", (), "RUN", "make"),
        ("/bin/sh -c make", (), "RUN", "make"),
        ("/bin/sh -c #(nop)  ENV A=1", (), "ENV", "A=1"),
        ("/bin/bash -o pipefail -c #(nop)  ARG B", (), "ARG", "B"),
        ("/bin/sh -c echo '#(nop) ENV A=1' > /x", (), "RUN", "echo '#(nop) ENV A=1' > /x"),
        ("/bin/sh -c echo #(nop) ENV A=1", (), "RUN", "echo #(nop) ENV A=1"),
        ("ENV A=1 B=2", (), "ENV", "A=1 B=2"),
        ("COPY . /app # buildkit", (), "COPY", ". /app # buildkit"),
        ("something else", (), "", "something else"),
    ],
)
def test_parse_step(created_by: str, args: tuple[tuple[str, str], ...], keyword: str, text: str) -> None:
    step = parse_step(created_by)
    assert (step.build_args, step.keyword, step.text) == (args, keyword, text)


@pytest.mark.parametrize(
    ("keyword", "args", "expected"),
    [
        ("ENV", 'A=1 B="two words"', [("A", "1"), ("B", "two words")]),
        ("ENV", "LEGACY some value", [("LEGACY", "some value")]),
        ("ARG", "A B=2", [("B", "2")]),
        ("LABEL", "a.b=c", [("a.b", "c")]),
        ("ENV", "", []),
    ],
)
def test_pairs(keyword: str, args: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(keyword, args) == expected


@pytest.mark.parametrize("shell", ["/bin/sh -c", "/bin/bash -o pipefail -c"])
def test_legacy_env_in_history_under_a_custom_shell(shell: str) -> None:
    # After `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` the classic builder prefixes metadata
    # steps with that shell; the config only keeps the later, harmless value.
    facts = with_history(
        {"created_by": f"{shell} #(nop)  ENV DB_PASSWORD Xk2pQ9wLm4Rz", "empty_layer": True},
        {"created_by": f"{shell} #(nop)  ENV DB_PASSWORD changeme", "empty_layer": True},
        Env=["DB_PASSWORD=changeme"],
    )
    [v] = violations(RULE, facts)
    assert v.detail == "history-env:DB_PASSWORD"
    assert v.message.startswith("ENV DB_PASSWORD holds a secret (")
    assert "in the history (entry 1, ENV)" in v.message
    assert "Xk2pQ9wLm4Rz" not in v.message


@pytest.mark.parametrize(
    ("created_by", "keyword", "text"),
    [
        ("/bin/bash -o pipefail -c #(nop)  ENV A 1", "ENV", "A 1"),
        ("/bin/bash -c #(nop)  LABEL a=b", "LABEL", "a=b"),
        ("cmd /S /C #(nop)  ENV A=1", "ENV", "A=1"),
    ],
)
def test_parse_step_under_a_custom_shell(created_by: str, keyword: str, text: str) -> None:
    step = parse_step(created_by)
    assert (step.build_args, step.keyword, step.text) == ((), keyword, text)


def test_history_is_parsed_once_per_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekeeper.rules.image import secrets_in_config

    calls: list[str] = []

    def spy(created_by: str) -> Any:
        calls.append(created_by)
        return parse_step(created_by)

    monkeypatch.setattr(secrets_in_config, "parse_step", spy)
    names = [f"SERVICE_{n}_PASSWORD" for n in range(20)]
    entries = [nop(f"ENV {name}={PASSWORD}{n}") for n, name in enumerate(names)]
    entries += [nop(f"LABEL n{n}=v") for n in range(80)]
    facts = with_history(*entries, Env=[f"{name}={PASSWORD}{n}" for n, name in enumerate(names)])
    assert len(facts.history) == 101
    found = violations(RULE, facts)
    assert len(found) == 20
    assert len(calls) == 101
