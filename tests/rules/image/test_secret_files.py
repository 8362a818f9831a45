from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.dockerfile import Instruction
from gatekeeper.facts.image import ImageFacts
from gatekeeper.rules.image.secret_files import RULE, der_private_key, kind_of
from tests.factories import catches, evidence, image, passes, run, violations
from tests.imagegen import F, file, symlink, whiteout
from tests.test_secrets import AWS_KEY_ID, AWS_SECRET, GITHUB_PAT, JWT, NPM, OPENSSH_KEY, RSA_KEY, filler

PASSWORD = "s3cr3t-" + filler(12)
CERT = "-----BEGIN CERTIFICATE-----\n" + filler(64) + "\n-----END CERTIFICATE-----\n"
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "acme",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": RSA_KEY,
        "client_email": "ci@acme.iam.gserviceaccount.com",
    }
)
DOCKER_AUTH = base64.b64encode(f"bot:{PASSWORD}".encode()).decode()
AWS_CREDENTIALS = f"[default]\naws_access_key_id={AWS_KEY_ID}\naws_secret_access_key={AWS_SECRET}\n"
AWS_CREDENTIAL_PROCESS = "[profile ci]\ncredential_process = /usr/local/bin/aws-vault exec ci --json\n"
GCLOUD_ADC = json.dumps({"type": "authorized_user", "refresh_token": filler(60)})
MAVEN_SETTINGS = f"<settings><servers><server><password>{PASSWORD}</password></server></servers></settings>"
SSH_PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + filler(40)
DER_KEY = bytes.fromhex("308204a40201000282010100") + bytes(range(200))
DER_CERT = bytes.fromhex("308203") + bytes.fromhex("30820288a003020102") + bytes(200)


def one(entry: F) -> ImageFacts:
    return image([[entry]])


@pytest.mark.parametrize(
    "entry",
    [
        file("/app/.env", f"DB_PASSWORD={PASSWORD}\nPORT=8080\n"),
        file("/app/.env.production", f"GITHUB_TOKEN={GITHUB_PAT}\n"),
        file("/srv/prod.env", f"export STRIPE_SECRET={filler(30)}\n"),
        file("/root/.ssh/id_rsa", RSA_KEY),
        file("/home/app/.ssh/id_ed25519", OPENSSH_KEY),
        file("/home/app/.ssh/deploy_key", OPENSSH_KEY),
        file("/app/certs/server.pem", CERT + RSA_KEY),
        file("/app/tls.key", RSA_KEY),
        file("/app/tls.key", DER_KEY),
        file("/app/client.p12", b"\x30\x82\x09\x00binary pkcs12"),
        file("/root/.npmrc", f"//registry.npmjs.org/:_authToken={filler(36)}\n"),
        file("/root/.npmrc", f"_auth={DOCKER_AUTH}\nalways-auth=true\n"),
        file("/app/.yarnrc.yml", f"npmAuthToken: {NPM}\n"),
        file("/root/.pypirc", f"[pypi]\nusername = __token__\npassword = {filler(40)}\n"),
        file("/root/.netrc", f"machine github.com login bot password {PASSWORD}\n"),
        file("/root/.pgpass", f"db:5432:*:app:{PASSWORD}\n"),
        file("/root/.my.cnf", f"[client]\nuser=root\npassword={PASSWORD}\n"),
        file("/root/.aws/credentials", AWS_CREDENTIALS),
        file("/root/.config/gcloud/application_default_credentials.json", GCLOUD_ADC),
        file("/app/gcp-service-account.json", SERVICE_ACCOUNT),
        file("/app/key.json", SERVICE_ACCOUNT),
        file("/root/.azure/msal_token_cache.json", json.dumps({"AccessToken": {"x": {"secret": JWT}}})),
        file("/root/.docker/config.json", json.dumps({"auths": {"ghcr.io": {"auth": DOCKER_AUTH}}})),
        file("/root/.git-credentials", f"https://bot:{GITHUB_PAT}@github.com\n"),
        file("/app/.git/config", f'[remote "origin"]\n\turl = https://bot:{PASSWORD}@git.example.com/a/b.git\n'),
        file("/root/.kube/config", f"users:\n- name: ci\n  user:\n    token: {filler(40)}\n"),
        file("/root/.kube/config", f"users:\n- name: ci\n  user:\n    client-key-data: {filler(80)}\n"),
        file("/infra/terraform.tfstate", json.dumps({"resources": [{"attributes": {"password": PASSWORD}}]})),
        file("/root/.m2/settings.xml", MAVEN_SETTINGS),
        file("/root/.vault-token", filler(26) + "\n"),
        file("/root/.cargo/credentials.toml", f'[registry]\ntoken = "{filler(32)}"\n'),
        file("/root/.s3cfg", f"[default]\naccess_key = {AWS_KEY_ID}\nsecret_key = {AWS_SECRET}\n"),
    ],
)  # fmt: skip
def test_secret_files_fail(entry: F) -> None:
    assert catches(RULE, one(entry))


@pytest.mark.parametrize(
    "entry",
    [
        file("/app/.env", "NODE_ENV=production\nPORT=8080\nDATABASE_URL=postgres://db/app\n"),
        file("/app/.env.example", "DB_PASSWORD=changeme\nAPI_KEY=<your-api-key>\n"),
        file("/app/.env", "DB_PASSWORD_FILE=/run/secrets/db\nTOKEN=${TOKEN}\n"),
        file("/app/.env", ""),
        file("/root/.ssh/id_rsa.pub", SSH_PUBLIC + " me@host\n"),
        file("/root/.ssh/known_hosts", "github.com " + SSH_PUBLIC + "\n"),
        file("/app/certs/ca.pem", CERT),
        file("/app/tls.key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + filler(64) + "\n"),
        file("/app/cert.key", DER_CERT),
        file("/app/empty.p12", b""),
        file("/root/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nregistry=https://registry.npmjs.org/\n"),
        file("/root/.pypirc", "[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n"),
        file("/root/.docker/config.json", json.dumps({"auths": {"ghcr.io": {}}, "credsStore": "desktop"})),
        file("/root/.aws/config", "[default]\nregion = eu-west-1\noutput = json\n"),
        file("/root/.aws/config", AWS_CREDENTIAL_PROCESS),
        file("/root/.kube/config", "users:\n- name: ci\n  user:\n    exec:\n      command: aws\n"),
        file("/app/.git/config", '[remote "origin"]\n\turl = https://github.com/acme/app.git\n'),
        file("/etc/ssl/certs/ca-certificates.crt", CERT),
        file("/etc/ssl/private/ssl-cert-snakeoil.key", RSA_KEY),
        file("/usr/local/lib/python3.11/site-packages/requests/tests/keycert.pem", RSA_KEY),
        file("/usr/local/lib/python3.11/test/keycert.pem", RSA_KEY),
        file("/app/node_modules/agent-base/test/ssl-cert-snakeoil.key", RSA_KEY),
        file("/go/pkg/mod/golang.org/x/crypto/testdata/key.pem", RSA_KEY),
        file("/app/main.py", f"TOKEN = '{GITHUB_PAT}'\n"),
    ],
)  # fmt: skip
def test_harmless_files_pass(entry: F) -> None:
    assert passes(RULE, one(entry))


def test_env_deleted_in_a_later_layer_is_still_caught() -> None:
    facts = image([[file("/app/.env", f"DB_PASSWORD={PASSWORD}\n")], [whiteout("/app/.env")]])
    assert facts.files is not None
    assert facts.files.get("/app/.env") is None
    [v] = violations(RULE, facts)
    assert v.message == (
        "/app/.env: dotenv file with 1 secret: DB_PASSWORD (password, …(19 chars)); "
        "deleted in layer 1, but still shipped in layer 0."
    )
    assert v.location.pointer == "/app/.env"
    assert v.detail == "/app/.env:deleted"


def test_key_overwritten_later_is_still_caught() -> None:
    facts = image([[file("/root/.ssh/id_rsa", RSA_KEY)], [file("/root/.ssh/id_rsa", "")]])
    [v] = violations(RULE, facts)
    assert "overwritten in layer 1, but still shipped in layer 0" in v.message
    assert "private key ----…" in v.message


def test_live_file_says_where_it_was_added() -> None:
    [v] = violations(RULE, image([[file("/a", "x")], [file("/app/.env", f"TOKEN={GITHUB_PAT}\n")]]))
    assert v.message.endswith("; added in layer 1.")
    assert "TOKEN (GitHub token, ghp_…(40 chars))" in v.message


def test_many_secrets_are_summarised() -> None:
    env = "".join(f"S{i}_PASSWORD={PASSWORD}{i}\n" for i in range(5))
    [v] = violations(RULE, one(file("/app/.env", env)))
    assert "with 5 secrets" in v.message
    assert "and 2 more" in v.message


def test_strict_env() -> None:
    harmless = file("/app/.env", "PORT=8080\n")
    assert passes(RULE, one(harmless))
    [v] = violations(RULE, one(harmless), strict_env=True)
    assert "strict_env" in v.message
    assert passes(RULE, one(file("/app/.env.example", "PORT=8080\n")), strict_env=True)
    assert passes(RULE, one(file("/app/.env", "# nothing\n")), strict_env=True)


def test_ignore_paths_option_replaces_the_default() -> None:
    snakeoil = one(file("/etc/ssl/private/ssl-cert-snakeoil.key", RSA_KEY))
    assert passes(RULE, snakeoil)
    assert catches(RULE, snakeoil, ignore_paths=[])
    mine = one(file("/app/fixtures/test.key", RSA_KEY))
    assert catches(RULE, mine)
    assert passes(RULE, mine, ignore_paths=["/app/fixtures/*"])
    assert "1 skipped by ignore_paths" in evidence(RULE, mine, ignore_paths=["/app/fixtures/*"])[0]


def without_contents(facts: ImageFacts) -> ImageFacts:
    assert facts.files is not None
    return dataclasses.replace(facts, files=dataclasses.replace(facts.files, contents={}))


def test_too_large_files_are_judged_by_name_when_the_name_is_conclusive() -> None:
    big = b"x" * 2048
    [v] = violations(RULE, without_contents(one(file("/app/client.p12", big))), max_size=1024)
    assert "too large to read: judged by name only" in v.message
    pem = without_contents(one(file("/app/bundle.pem", big)))
    assert passes(RULE, pem, max_size=1024)
    assert "1 too large to read" in evidence(RULE, pem, max_size=1024)[0]


def test_evidence_on_pass_counts_hidden_versions() -> None:
    facts = image([[file("/app/.env", "PORT=1\n")], [file("/app/.env", "PORT=2\n")]])
    assert evidence(RULE, facts) == [
        "no secrets in 2 candidate file(s) (1 deleted or overwritten by a later layer)"
    ]


def test_symlinks_are_not_read() -> None:
    assert passes(RULE, image([[file("/app/x", "x"), symlink("/app/.env", "/run/secrets/env")]]))


def test_secret_bytes_never_leave_the_rule() -> None:
    secrets = [PASSWORD, GITHUB_PAT, AWS_SECRET, RSA_KEY.splitlines()[1], DOCKER_AUTH]
    facts = image(
        [
            [
                file("/app/.env", f"DB_PASSWORD={PASSWORD}\nGITHUB_TOKEN={GITHUB_PAT}\n"),
                file("/root/.aws/credentials", f"[default]\naws_secret_access_key={AWS_SECRET}\n"),
                file("/root/.ssh/id_rsa", RSA_KEY),
                file("/root/.docker/config.json", json.dumps({"auths": {"r": {"auth": DOCKER_AUTH}}})),
            ],
            [whiteout("/app/.env")],
        ]
    )
    items = run(RULE, facts)
    assert len(items) == 4
    text = repr(items)
    for secret in secrets:
        assert secret not in text


def test_location_is_the_copy_line_when_known() -> None:
    facts = image([[file("/a", "x")], [file("/app/.env", f"TOKEN={GITHUB_PAT}\n")]])
    copy = Instruction("COPY", ". /app", line=7, end_line=7, stage=1)
    target = Target(image=facts, layer_instructions={1: copy})
    [v] = [i for i in RULE.check(target, RULE.options()) if not hasattr(i, "text")]
    assert (v.location.artifact, v.location.line, v.location.pointer) == ("Dockerfile", 7, "/app/.env")


def test_needs_captures_candidates_only() -> None:
    request = RULE.needs(RULE.options())
    assert request.filesystem
    wanted = request.wanted
    for path in (
        "/app/.env",
        "/app/.env.local",
        "/root/.ssh/id_rsa",
        "/x/tls.pem",
        "/x/tls.key",
        "/root/.npmrc",
        "/root/.docker/config.json",
        "/root/.aws/credentials",
        "/x/a.p12",
    ):
        assert wanted(path, 100), path
    for path in ("/app/main.py", "/usr/lib/libc.so.6", "/etc/passwd", "/app/environment.py"):
        assert not wanted(path, 100), path
    assert not wanted("/app/.env", 2 << 20)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/app/.env", "dotenv file"),
        ("/root/.ssh/id_ecdsa", "SSH private key"),
        ("/a/b.pfx", "PKCS#12 key bundle"),
        ("/root/.gem/credentials", "credentials file"),
        ("/app/main.py", None),
    ],
)
def test_kind_of(path: str, label: str | None) -> None:
    kind = kind_of(path)
    assert (kind.label if kind else None) == label


def test_der_private_key() -> None:
    assert der_private_key(DER_KEY)
    assert der_private_key(bytes.fromhex("307702010104") + bytes(60))
    assert not der_private_key(DER_CERT)
    assert not der_private_key(b"\x30\x03")
