"""detect / classify / mask / redact: true positives for every format, and the false positives
other tools are known for (versions, checksums, fingerprints, paths, placeholders).

Token fixtures are assembled at run time (prefix + deterministic filler) so no token-shaped
literal sits in the repository for secret scanners to trip on.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.secrets import (
    PUBLIC_PREFIXES,
    SHLEX_LIMIT,
    SecretKind,
    classify,
    command_secrets,
    detect,
    is_placeholder,
    mask,
    redact,
    redact_secrets,
    scan,
    shell_words,
    suspicious_name,
    text_secrets,
)

ALNUM = string.ascii_letters + string.digits


def filler(n: int, alphabet: str = ALNUM, seed: int = 7) -> str:
    rng = random.Random(f"{seed}-{n}-{alphabet}")
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


AWS_KEY_ID = "AK" + "IA" + filler(16, string.ascii_uppercase + string.digits)
AWS_STS_ID = "AS" + "IA" + filler(16, string.ascii_uppercase + string.digits, seed=2)
AWS_SECRET = filler(40, ALNUM + "/+")
GITHUB_PAT = "ghp" + "_" + filler(36)
GITHUB_OAUTH = "gho" + "_" + filler(36, seed=3)
GITHUB_APP = "ghs" + "_" + filler(36, seed=4)
GITHUB_FINE = "github" + "_pat_" + filler(22) + "_" + filler(59, seed=5)
GITLAB = "glpat" + "-" + filler(20)
SLACK_BOT = "xox" + "b-" + "1234567890-1234567890123-" + filler(24)
SLACK_HOOK = "https://hooks.slack.com/services/" + "T0ABCDEFG/B0ABCDEFG/" + filler(24)
STRIPE = "sk" + "_live_" + filler(24)
STRIPE_RESTRICTED = "rk" + "_live_" + filler(24, seed=6)
GOOGLE = "AI" + "za" + filler(35, ALNUM + "_-")
NPM = "npm" + "_" + filler(36)
PYPI = "pypi" + "-AgEIcHlwaS5vcmc" + filler(70, ALNUM + "_-")
DOCKER_HUB = "dckr" + "_pat_" + filler(27, ALNUM + "_-")
PEM_BODY = "\n".join(filler(64, ALNUM + "+/", seed=i) for i in range(4))
RSA_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"
OPENSSH_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----"
PKCS8_ESCAPED = "-----BEGIN PRIVATE KEY-----\\n" + PEM_BODY.replace("\n", "\\n") + "\\n-----END"
JWT = ".".join(
    (b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": "1234567890"}), filler(43, ALNUM + "_-"))
)
URL_WITH_PASSWORD = "https://deploy:" + filler(16) + "@git.example.com/org/repo.git"

KNOWN = [
    (AWS_KEY_ID, SecretKind.AWS_ACCESS_KEY_ID),
    (AWS_STS_ID, SecretKind.AWS_ACCESS_KEY_ID),
    (GITHUB_PAT, SecretKind.GITHUB_TOKEN),
    (GITHUB_OAUTH, SecretKind.GITHUB_TOKEN),
    (GITHUB_APP, SecretKind.GITHUB_TOKEN),
    (GITHUB_FINE, SecretKind.GITHUB_TOKEN),
    (GITLAB, SecretKind.GITLAB_TOKEN),
    (SLACK_BOT, SecretKind.SLACK_TOKEN),
    (SLACK_HOOK, SecretKind.SLACK_WEBHOOK),
    (STRIPE, SecretKind.STRIPE_KEY),
    (STRIPE_RESTRICTED, SecretKind.STRIPE_KEY),
    (GOOGLE, SecretKind.GOOGLE_API_KEY),
    (NPM, SecretKind.NPM_TOKEN),
    (PYPI, SecretKind.PYPI_TOKEN),
    (DOCKER_HUB, SecretKind.DOCKER_HUB_TOKEN),
    (RSA_KEY, SecretKind.PRIVATE_KEY),
    (OPENSSH_KEY, SecretKind.PRIVATE_KEY),
    (PKCS8_ESCAPED, SecretKind.PRIVATE_KEY),
    (JWT, SecretKind.JWT),
    (URL_WITH_PASSWORD, SecretKind.URL_PASSWORD),
    ("postgresql://postgres:password@db:5432/myapp", SecretKind.URL_PASSWORD),
    ("redis://:" + filler(12) + "@cache:6379/0", SecretKind.URL_PASSWORD),
]


@pytest.mark.parametrize(("value", "kind"), KNOWN)
def test_known_formats_are_detected(value: str, kind: SecretKind) -> None:
    assert detect(value) is kind


@pytest.mark.parametrize(("value", "kind"), KNOWN)
def test_known_formats_are_found_inside_text(value: str, kind: SecretKind) -> None:
    assert detect(f"export X='{value}' && run") is kind


@pytest.mark.parametrize(
    "value",
    [
        "1.2.3",
        "3.1.4-r1",
        "sha256:" + "0123456789abcdef" * 4,
        "0123456789abcdef" * 4,
        "7169605F62C751356D054A26A821E680E5FA6305",
        "/run/secrets/db",
        "https://example.com/path?x=1",
        "https://user@example.com/",
        "https://user:@example.com/",
        "https://${GIT_USER}:${GIT_TOKEN}@github.com/org/repo",
        "https://x-access-token:<token>@github.com/org/repo",
        "https://user:****@example.com/",
        "http://localhost:8080/path@v1",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "x" * 36,
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "eyJub3RhbGciOiJ4In0.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + filler(43),
        "xoxb-not-a-token",
        "apk add --no-cache libcrypto3=3.1.4-r1",
    ],
)
def test_non_secrets_are_not_detected(value: str) -> None:
    assert detect(value) is None


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("GITHUB_TOKEN", GITHUB_PAT, SecretKind.GITHUB_TOKEN),
        ("ANYTHING", AWS_KEY_ID, SecretKind.AWS_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET, SecretKind.AWS_SECRET_ACCESS_KEY),
        ("aws_secret_access_key", AWS_SECRET, SecretKind.AWS_SECRET_ACCESS_KEY),
        ("POSTGRES_PASSWORD", "s3cr3t-Passw0rd", SecretKind.PASSWORD),
        ("DB_PASS", "hunter2hunter2", SecretKind.PASSWORD),
        ("dbPassword", "hunter2hunter2", SecretKind.PASSWORD),
        ("API_KEY", "k-" + filler(20), SecretKind.NAMED_SECRET),
        ("APIKEY", "k-" + filler(20), SecretKind.NAMED_SECRET),
        ("CLIENT_SECRET", filler(24), SecretKind.NAMED_SECRET),
        ("SECRET_KEY", "0123456789abcdef" * 4, SecretKind.NAMED_SECRET),
        ("SECRET_KEY_BASE", filler(64), SecretKind.NAMED_SECRET),
        ("NPM_AUTH", base64.b64encode(b"user:pass1234").decode(), SecretKind.NAMED_SECRET),
        ("SENTRY_DSN", "https://" + filler(32) + "@o1.ingest.sentry.io/1", SecretKind.NAMED_SECRET),
        ("_authToken", filler(36), SecretKind.NAMED_SECRET),
        ("APP_KEY", "base64:" + filler(43), SecretKind.NAMED_SECRET),
        ("SESSION_KEY", filler(32), SecretKind.HIGH_ENTROPY),
        ("DATABASE_URL", "postgresql://postgres:password@db:5432/myapp", SecretKind.URL_PASSWORD),
        ("LABEL_WITH_JWT", JWT, SecretKind.JWT),
    ],
)
def test_classify_secrets(name: str, value: str, kind: SecretKind) -> None:
    assert classify(name, value) is kind


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GPG_KEY", "7169605F62C751356D054A26A821E680E5FA6305"),
        ("GPG_KEYS", "4ED778F539E3634C779C87C6D7062848A1AB005C 141F07595B7B3FFE74309A937405533BE57C7D57"),
        ("NODE_VERSION", "20.11.0"),
        ("PYTHON_VERSION", "3.11.8"),
        ("PYTHON_SHA256", "0123456789abcdef" * 4),
        ("YARN_CHECKSUM", "sha512:" + "ab" * 32),
        ("PASSWORD_FILE", "/run/secrets/db"),
        ("POSTGRES_PASSWORD_FILE", "/run/secrets/postgres"),
        ("TOKEN_PATH", "/var/run/secrets/kubernetes.io/serviceaccount/token"),
        ("TOKEN", "${TOKEN}"),
        ("TOKEN", "$TOKEN"),
        ("API_KEY", "{{ .Values.apiKey }}"),
        ("API_KEY", "<your-api-key>"),
        ("DB_PASSWORD", "changeme"),
        ("DB_PASSWORD", "password"),
        ("DB_PASSWORD", "xxxxxxxx"),
        ("DB_PASSWORD", "your_password_here"),
        ("SECRET", "secret"),
        ("AUTH_ENABLED", "true"),
        ("USE_TOKEN", "false"),
        ("TOKEN_TTL", "3600"),
        ("MAX_TOKENS", "4096"),
        ("TOKEN_URL", "https://auth.example.com/oauth/token"),
        ("OAUTH_TOKEN_ENDPOINT", "https://auth.example.com/token"),
        ("AUTH_PROVIDER", "github-oauth"),
        ("PUBLIC_KEY", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + filler(40)),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_" + filler(24)),
        ("AWS_ACCESS_KEY_ID_FILE", "/run/secrets/aws"),
        ("KMS_KEY_ID", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("DB_PASSWORD", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"),
        ("DB_PASSWORD", "vault:secret/data/db#password"),
        ("PWD", "/app"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("libcrypto3", "3.1.4-r1"),
        ("API_URL", "https://api.example.com/v1"),
        ("CACHE_KEY", "v1-build"),
        ("PIN", "123456"),
        ("DB_PASSWORD", ""),
    ],
)
def test_classify_non_secrets(name: str, value: str) -> None:
    assert classify(name, value) is None


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "PASSWD", "MYSQL_ROOT_PASSWORD", "GITHUB_TOKEN", "api_key", "apiKey", "ACCESS_KEY",
     "AWS_SECRET_ACCESS_KEY", "PRIVATE_KEY", "CREDENTIALS", "NPM_AUTH", "SENTRY_DSN", "DBPASSWORD",
     "client-key-data", "//registry.npmjs.org/:_authToken", "GPG_PASSPHRASE", "SECRET_KEY_BASE"],
)  # fmt: skip
def test_suspicious_names(name: str) -> None:
    assert suspicious_name(name)


@pytest.mark.parametrize(
    "name",
    ["GPG_KEY", "PUBLIC_KEY", "NODE_VERSION", "PASSWORD_FILE", "TOKEN_URL", "AWS_ACCESS_KEY_ID",
     "SSH_KEY_PATH", "PYTHON_SHA256", "AUTH_PROVIDER", "PWD", "OLDPWD", "TOKENIZERS_PARALLELISM",
     "KEY", "PATH", "HOME", "PASSWORD_HASH", "SECRET_NAME", "docker-password-stdin", "credsStore",
     "credHelpers", "credential_process", "credential_source", "web_identity_token_file"],
)  # fmt: skip
def test_not_suspicious_names(name: str) -> None:
    assert not suspicious_name(name)


def test_extra_names() -> None:
    assert not suspicious_name("DEPLOY_PIN")
    assert suspicious_name("DEPLOY_PIN", ["*_pin"])
    assert classify("DEPLOY_PIN", "83719264x", ["*_PIN"]) is SecretKind.NAMED_SECRET


@pytest.mark.parametrize(
    "value",
    ["", "abc", "changeme", "CHANGEME", "'changeme'", "<token>", "${A}", "$(cat /run/secrets/x)",
     "%(password)s", "#{secret}", "42", "1.2.3", "v2.0.0-rc1", "/run/secrets/x", "./certs/key.pem",
     "~/.ssh/id_rsa", "null", "None", "true", "sha256:" + "ab" * 32, "op://vault/item/field"],
)  # fmt: skip
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["hunter2hunter2", "0123456789abcdef" * 4, "/" + filler(39, ALNUM + "/+")])
def test_real_looking_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


@pytest.mark.parametrize(
    ("command", "holder"),
    [
        ("curl -fsSL -u deploy:" + filler(12) + " https://repo.example.com/x", "-u"),
        ("mvn deploy --password=" + filler(12), "--password"),
        ("tool login --token " + filler(20), "--token"),
        ("export API_TOKEN=" + filler(20) + " && ./deploy", "API_TOKEN"),
        ("curl -H 'Authorization: Bearer " + filler(30) + "' https://api", "-H Authorization"),
        ("curl -H 'PRIVATE-TOKEN: " + filler(20) + "' https://gitlab", "-H PRIVATE-TOKEN"),
        ("echo //registry.npmjs.org/:_authToken=" + filler(36) + " > .npmrc", "_authToken"),
        ("git clone " + URL_WITH_PASSWORD, ""),
    ],
)
def test_command_secrets(command: str, holder: str) -> None:
    [(found_holder, _)] = command_secrets(command)
    assert found_holder == holder


@pytest.mark.parametrize(
    "command",
    [
        "apk add --no-cache libcrypto3=3.1.4-r1 openssl=3.1.4-r1",
        "apt-get install -y ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*",
        "echo $PASSWORD | docker login --password-stdin -u bot registry.example.com",
        "curl -u $USER:$PASS https://x",
        "docker run -u 1000:1000 app",
        "pip install --index-url https://pypi.org/simple requests==2.31.0",
        "export NODE_ENV=production PORT=8080",
        "npm config set //registry.npmjs.org/:_authToken=${NPM_TOKEN}",
        "useradd -u 10001 app",
    ],
)
def test_commands_without_secrets(command: str) -> None:
    assert command_secrets(command) == []


def test_text_secrets_reads_dotenv_yaml_json_and_ini() -> None:
    dotenv = "# comment\nexport DB_PASSWORD='s3cr3t-Passw0rd' # inline\nPORT=8080\n"
    assert [h for h, _ in text_secrets(dotenv)] == ["DB_PASSWORD"]
    yaml = "users:\n- name: ci\n  user:\n    token: " + filler(40) + "\n"
    assert [h for h, _ in text_secrets(yaml)] == ["token"]
    doc = json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(b"u:" + filler(20).encode()).decode()}}})
    assert [h for h, _ in text_secrets(doc)] == ["auth"]
    ini = "[default]\naws_access_key_id = " + AWS_KEY_ID + "\naws_secret_access_key = " + AWS_SECRET + "\n"
    kinds = [f.kind for _, f in text_secrets(ini)]
    assert kinds == [SecretKind.AWS_ACCESS_KEY_ID, SecretKind.AWS_SECRET_ACCESS_KEY]


def test_scan_does_not_overlap() -> None:
    text = f"https://bot:{GITHUB_PAT}@github.com/org/repo"
    assert [f.kind for f in scan(text)] == [SecretKind.GITHUB_TOKEN]


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (GITHUB_PAT, "ghp_…(40 chars)"),
        (AWS_KEY_ID, "AKIA…(20 chars)"),
        (GITHUB_FINE, "gith…(93 chars)"),
        (STRIPE, "sk_l…(32 chars)"),
        ("hunter2hunter2", "…(14 chars)"),
        ("ghp_short", "…(9 chars)"),
        ("", "…(0 chars)"),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_redact_replaces_every_occurrence_in_one_pass() -> None:
    text = f"a {GITHUB_PAT} b {NPM} c {GITHUB_PAT}"
    out = redact(text, [GITHUB_PAT, NPM, ""])
    assert out == "a ghp_…(40 chars) b npm_…(40 chars) c ghp_…(40 chars)"
    assert redact("nothing here", []) == "nothing here"


def test_redact_prefers_the_longest_value() -> None:
    inner = GITHUB_PAT[4:20]
    assert redact(GITHUB_PAT, [inner, GITHUB_PAT]) == "ghp_…(40 chars)"


TOKEN_CHARS = ALNUM + "_-+/=.:@"


def _six_grams(text: str) -> set[str]:
    return {text[i : i + 6] for i in range(len(text) - 5)}


@given(
    prefix=st.sampled_from(("", *PUBLIC_PREFIXES)),
    body=st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=120),
)
def test_mask_never_reveals_the_body(prefix: str, body: str) -> None:
    secret = prefix + body
    masked = mask(secret)
    shown, _, rest = masked.partition("…")
    assert len(shown) <= 4
    assert secret.startswith(shown)
    assert any(p.startswith(shown) for p in PUBLIC_PREFIXES) or not shown
    assert rest == f"({len(secret)} chars)"
    assert not any(gram in masked for gram in _six_grams(secret[len(shown) :]))


@given(
    secret=st.text(alphabet=TOKEN_CHARS, min_size=8, max_size=60),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_redact_removes_the_secret(secret: str, before: str, after: str) -> None:
    text = f"{before} {secret} {after} {secret}"
    assert secret not in redact(text, [secret])


def test_redact_secrets_in_a_history_command() -> None:
    password = filler(14)
    command = f"|1 NPM_TOKEN={NPM} /bin/sh -c curl -u bob:{password} https://x -o /app/big"
    out = redact_secrets(command)
    assert out == "|1 NPM_TOKEN=npm_…(40 chars) /bin/sh -c curl -u bob:…(14 chars) https://x -o /app/big"
    assert redact_secrets("apk add libcrypto3=3.1.4-r1") == "apk add libcrypto3=3.1.4-r1"


KNOWN_FORMATS = [GITHUB_PAT, GITLAB, SLACK_BOT, AWS_KEY_ID, NPM]
SEPARATORS = st.text(alphabet=" \n\t;,&|=()", min_size=1, max_size=4)
FILLER = st.text(alphabet=string.ascii_lowercase + " ", max_size=20)


@given(
    secrets=st.lists(st.sampled_from(KNOWN_FORMATS), min_size=1, max_size=4),
    fillers=st.lists(FILLER, min_size=5, max_size=5),
    separators=st.lists(SEPARATORS, min_size=10, max_size=10),
)
def test_scan_returns_substrings_in_order(
    secrets: list[str], fillers: list[str], separators: list[str]
) -> None:
    """Known-format secrets between arbitrary words: found, each once, in the order they appear."""
    pieces = []
    for i, secret in enumerate(secrets):
        pieces += [fillers[i], separators[2 * i], secret, separators[2 * i + 1]]
    text = "".join(pieces) + fillers[-1]
    found = scan(text)
    assert [item.secret for item in found] == secrets


@given(
    name=st.sampled_from(["DB_PASSWORD", "API_TOKEN", "SECRET", "NODE_VERSION", "libcrypto3", "APP_KEY"]),
    version=st.from_regex(r"v?[0-9]{1,3}(\.[0-9]{1,3}){1,3}(-r[0-9]{1,2}|-alpine|-slim)?", fullmatch=True),
)
def test_versions_are_never_secrets(name: str, version: str) -> None:
    assert classify(name, version) is None


def test_a_jwt_with_a_header_nested_thousands_deep_is_no_crash() -> None:
    """The header is decoded to tell a JWT from other base64: json.loads would recurse too deep."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","a":' + b"[" * 5000 + b"]" * 5000 + b"}")
    body = base64.urlsafe_b64encode(b'{"sub":"1"}')
    token = f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}.c2lnbmF0dXJl"
    assert redact_secrets(f"echo {token}") == f"echo {token}"  # not a JWT: its header is no object


@pytest.mark.parametrize("depth", [995, 5000])
def test_json_nested_deeper_than_the_walk_is_read_as_text(depth: int) -> None:
    nested = '{"a":' * depth + f'"{GITHUB_PAT}"' + "}" * depth
    assert [(key, f.secret) for key, f in text_secrets(nested)] == [("", GITHUB_PAT)]


def test_shell_words_past_the_limit_are_split_at_whitespace() -> None:
    padding = "y" * (SHLEX_LIMIT + 1)
    assert shell_words(f"a 'b c' {padding[:10]}") == ["a", "b c", padding[:10]]  # shlex
    assert shell_words(f"a 'b c' {padding}") == ["a", "'b", "c'", padding]  # plain split


def test_long_command_lines_are_split_at_whitespace() -> None:
    # shlex is quadratic in a word's length: past SHLEX_LIMIT the split is plain whitespace,
    # and the flags are still found (a 1 MB history line took over 30 s)
    padding = "y" * (SHLEX_LIMIT + 1)
    found = command_secrets(f"curl -u admin:S3cr3tPassw0rd --data {padding} https://example.invalid")
    assert [(flag, f.kind, f.secret) for flag, f in found] == [("-u", SecretKind.PASSWORD, "S3cr3tPassw0rd")]
    assert "S3cr3tPassw0rd" not in redact_secrets(f"RUN curl -u admin:S3cr3tPassw0rd {padding}")
