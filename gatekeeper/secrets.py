"""Secret detection shared by the secret rules: known token formats, names, placeholders, masks.

Two ways to call something a secret, each tuned for few false positives (the complaint users have
about Dockle's CIS-DI-0010, goodwithtech/dockle #159 and #250):

- its *format* alone (`detect`, `scan`): token shapes with a distinctive public prefix or
  structure, e.g. AWS access key ids, GitHub / GitLab / Slack / Stripe / npm / PyPI / Docker Hub
  tokens, Google API keys, private key blocks, JWTs (the header must decode to JSON with `alg`),
  Slack webhooks and URLs that carry a password (`scheme://user:pass@host`);
- its *name* and value together (`classify`): a secret-sounding name (`suspicious_name`) holding a
  value that is not a placeholder (`is_placeholder`); a weaker name (`APP_KEY`, `SESSION_KEY`)
  only with a random-looking value; `AWS_SECRET_ACCESS_KEY` with a 40-character key.

Nothing here ever returns a secret in a form meant for output: `mask` keeps at most the first four
characters of a known public prefix (`ghp_`, `AKIA`) and the length; `redact` replaces every
occurrence of given values in a text, in one pass (so masks are never re-masked, cf. trivy #3847).
"""

from __future__ import annotations

import base64
import binascii
import enum
import fnmatch
import math
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from gatekeeper.text import loads_json


class SecretKind(enum.Enum):
    """What kind of secret was found; the value is the label messages use."""

    AWS_ACCESS_KEY_ID = "AWS access key id"
    AWS_SECRET_ACCESS_KEY = "AWS secret access key"
    GITHUB_TOKEN = "GitHub token"
    GITLAB_TOKEN = "GitLab token"
    SLACK_TOKEN = "Slack token"
    SLACK_WEBHOOK = "Slack webhook URL"
    STRIPE_KEY = "Stripe live secret key"
    GOOGLE_API_KEY = "Google API key"
    NPM_TOKEN = "npm token"
    PYPI_TOKEN = "PyPI token"
    DOCKER_HUB_TOKEN = "Docker Hub token"
    PRIVATE_KEY = "private key"
    JWT = "JSON Web Token"
    URL_PASSWORD = "password in a URL"
    PASSWORD = "password"
    NAMED_SECRET = "judged by its name"
    HIGH_ENTROPY = "random-looking key"

    @property
    def label(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Found:
    """A secret in some text: its kind and the exact secret characters (never for output)."""

    kind: SecretKind
    secret: str


# --- known formats ---------------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_\-])"  # not preceded by a token character
_E = r"(?![A-Za-z0-9_\-])"  # not followed by one
_FORMATS: tuple[tuple[SecretKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (SecretKind.AWS_ACCESS_KEY_ID, r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        (SecretKind.GITHUB_TOKEN, _B + r"gh[pousr]_[A-Za-z0-9]{36,251}" + _E),
        (SecretKind.GITHUB_TOKEN, _B + r"github_pat_[A-Za-z0-9_]{40,251}" + _E),
        (SecretKind.GITLAB_TOKEN, _B + r"gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{20,}" + _E),
        (
            SecretKind.SLACK_WEBHOOK,
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}",
        ),
        (SecretKind.SLACK_TOKEN, _B + r"xox[abpors]-(?=[A-Za-z0-9\-]*\d)[A-Za-z0-9\-]{10,}" + _E),
        (SecretKind.STRIPE_KEY, _B + r"[sr]k_live_[A-Za-z0-9]{20,}" + _E),
        (SecretKind.GOOGLE_API_KEY, _B + r"AIza[A-Za-z0-9_\-]{35}" + _E),
        (SecretKind.NPM_TOKEN, _B + r"npm_[A-Za-z0-9]{36}" + _E),
        (SecretKind.PYPI_TOKEN, _B + r"pypi-AgE[A-Za-z0-9_\-]{50,}" + _E),
        (SecretKind.DOCKER_HUB_TOKEN, _B + r"dckr_pat_[A-Za-z0-9_\-]{20,}" + _E),
    )
)
_NL = r"(?:\\[rn]|\s)"  # a real or an escaped (`\n` in an ENV value or JSON string) line break
_EOL = r"(?:\\[rn]|\n)"
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    + _NL
    + "+"
    # optional PEM headers (Proc-Type, DEK-Info), each ending at exactly one line break
    + r"(?:[A-Za-z\-]+:[^\n\\]*"
    + _EOL
    + _NL
    + r"*)*[A-Za-z0-9+/=]{20,}"
)
_PRIVATE_KEY_END = re.compile(r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PUTTY_KEY = re.compile(r"PuTTY-User-Key-File-\d+:[\s\S]{0,4000}?Private-Lines: *\d+\s+[A-Za-z0-9+/=]{20,}")
_JWT = re.compile(_B + r"(eyJ[A-Za-z0-9_\-]{10,})\.(eyJ[A-Za-z0-9_\-]{5,})\.([A-Za-z0-9_\-]{16,})" + _E)
_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,30}://"
    r"(?P<user>[^\s:/?#@'\"]*):(?P<password>[^\s:/?#@'\"]+)"
    r"@(?P<host>[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\])"
)
_DOC_EXAMPLE = re.compile(r"EXAMPLE|X{8}", re.IGNORECASE)

# Public prefixes `mask` may show (at most their first four characters).
PUBLIC_PREFIXES = (
    "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "gldt-", "glrt-", "glptt-",
    "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxr-", "xoxs-", "sk_live_", "rk_live_", "AKIA", "ASIA",
    "AIza", "npm_", "pypi-", "dckr_pat_", "eyJ", "-----BEGIN", "PuTTY-User-Key-File-",
    "https://hooks.slack.com/",
)  # fmt: skip
MASK_PREFIX = 4


def _fake(token: str) -> bool:
    """Documentation examples (`AKIAIOSFODNN7EXAMPLE`) and filler (`ghp_xxxx...`)."""
    body = token.split("_", 1)[-1].split("-", 1)[-1]
    return bool(_DOC_EXAMPLE.search(token)) or len(set(body)) <= 3


def _jwt_header(segment: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = loads_json(raw)
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def _private_keys(text: str) -> Iterator[tuple[int, int]]:
    for match in _PRIVATE_KEY.finditer(text):
        end = _PRIVATE_KEY_END.search(text, match.end())
        yield match.start(), end.end() if end is not None else match.end()
    for match in _PUTTY_KEY.finditer(text):
        yield match.start(), match.end()


def _url_password_placeholder(password: str) -> bool:
    """In a URL only templates and masks are placeholders: `postgres:password@db` is a credential."""
    return _is_reference(password) or not password.strip("*xX.…-_")


def _spans(text: str) -> Iterator[tuple[int, int, SecretKind]]:
    """(start, end, kind) of every known-format secret, possibly overlapping."""
    for kind, pattern in _FORMATS:
        for match in pattern.finditer(text):
            if not _fake(match.group(0)):
                yield match.start(), match.end(), kind
    for start, end in _private_keys(text):
        yield start, end, SecretKind.PRIVATE_KEY
    for match in _JWT.finditer(text):
        if _jwt_header(match.group(1)):
            yield match.start(), match.end(), SecretKind.JWT
    for match in _URL_CREDENTIALS.finditer(text):
        if not _url_password_placeholder(match.group("password")):
            yield match.start("password"), match.end("password"), SecretKind.URL_PASSWORD


def scan(text: str) -> list[Found]:
    """Every known-format secret in a text, in order, without overlaps (the longest wins)."""
    spans = sorted(_spans(text), key=lambda s: (s[0], -(s[1] - s[0])))
    found: list[Found] = []
    last_end = -1
    for start, end, kind in spans:
        if start >= last_end:
            found.append(Found(kind, text[start:end]))
            last_end = end
    return found


def detect(value: str) -> SecretKind | None:
    """The kind of the first known-format secret in `value`, whatever its name."""
    found = scan(value)
    return found[0].kind if found else None


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- names -----------------------------------------------------------------------------------

# A word that makes a name secret-sounding, alone or as the end of a compound (`DBPASSWORD`).
_SECRET_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "TOKENS")
_SECRET_EXACT = frozenset(
    {"APIKEY", "CREDENTIALS", "CREDENTIAL", "CREDS", "PASS", "PWD", "PRIVATEKEY", "SECRETKEY"}
    | {"ACCESSKEY", "CONNECTIONSTRING"}
)
# Only as the last word: `NPM_AUTH`, `BASIC_AUTH`, `SENTRY_DSN` (not `AUTH_PROVIDER`).
_SECRET_LAST = frozenset({"AUTH", "DSN"})
# `<word>_KEY` is secret-sounding for these words; other `*_KEY` names are weak hints only.
_KEY_KINDS = _set(
    "API ACCESS SECRET PRIVATE SIGNING ENCRYPTION DECRYPTION MASTER ACCOUNT CLIENT AUTH HMAC JWT "
    "APP CRYPT CIPHER"
)
# A last word that makes the name about a secret, not the secret itself.
_NEUTRAL_LAST = _set(
    "FILE FILES PATH DIR LOCATION URL URI ENDPOINT HOST HOSTNAME DOMAIN SERVER PORT REALM NAME "
    "USER USERNAME LOGIN LENGTH LEN SIZE BITS TTL EXPIRY EXPIRES EXPIRATION TIMEOUT LIFETIME "
    "INTERVAL MODE TYPE KIND ENABLED DISABLED ENABLE DISABLE REQUIRED VERSION SHA SHA1 SHA256 "
    "SHA512 MD5 CHECKSUM DIGEST HASH FINGERPRINT HEADER FIELD PARAM PREFIX SUFFIX ALGORITHM ALG "
    "PROVIDER METHOD STRATEGY REGION COUNT LIMIT POLICY FORMAT ISSUER AUDIENCE SCOPE SCOPES ENV "
    "VAR STDIN KEYRING KEYSERVER BACKEND ROTATION MIN MAX STORE HELPER HELPERS PROCESS COMMAND CMD "
    "SOURCE PROGRAM"
)
_PUBLIC_WORDS = frozenset({"PUBLIC", "PUBLISHABLE"})
_KEY_IS_PUBLIC = frozenset({"GPG", "PGP", "SSH", "HOST"})  # GPG_KEY holds a fingerprint
_NOT_SECRETS = frozenset({"PWD", "OLDPWD"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def name_words(name: str) -> list[str]:
    """`dbPassword` -> [DB, PASSWORD]; `//registry/:_authToken` -> [REGISTRY, AUTH, TOKEN]."""
    return [w for w in _NON_ALNUM.split(_CAMEL.sub(r"\1_\2", name).upper()) if w]


def _neutral(words: Sequence[str]) -> bool:
    last = words[-1]
    return last in _NEUTRAL_LAST or words[-2:] == ["KEY", "ID"] or any(w in _PUBLIC_WORDS for w in words)


def _strong_word(i: int, words: Sequence[str]) -> bool:
    word = words[i]
    if word in _SECRET_EXACT or (word in _SECRET_LAST and i == len(words) - 1):
        return True
    if word.endswith(_SECRET_WORDS):
        return True
    return word == "KEY" and i > 0 and words[i - 1] in _KEY_KINDS


def suspicious_name(name: str, extra: Sequence[str] = ()) -> bool:
    """Does the name say it holds a secret (`DB_PASSWORD`, `GITHUB_TOKEN`, `API_KEY`, `NPM_AUTH`)?

    Not: names about a secret rather than holding it (`*_FILE`, `*_PATH`, `*_URL`, `*_KEY_ID`,
    `*_VERSION`, `*_SHA256`, ...), public keys (`PUBLIC_KEY`, `*_PUBLISHABLE_KEY`), fingerprints
    (`GPG_KEY`), the shell's `PWD`. `extra` holds more fnmatch patterns (case-insensitive) that
    count as secret-sounding.
    """
    upper = name.upper()
    if any(fnmatch.fnmatchcase(upper, p.upper()) for p in extra):
        return True
    words = name_words(name)
    if not words or upper in _NOT_SECRETS or _neutral(words):
        return False
    return any(_strong_word(i, words) for i in range(len(words)))


def _weak_name(name: str) -> bool:
    """`APP_KEY`, `SESSION_KEY`, `KEY`: a secret only if the value looks random."""
    words = name_words(name)
    if not words or _neutral(words) or any(w in _KEY_IS_PUBLIC for w in words):
        return False
    return "KEY" in words or any(w.endswith("KEY") for w in words)


def _password_name(name: str) -> bool:
    return any("PASS" in w or w.endswith("PWD") for w in name_words(name))


def _aws_secret_name(name: str) -> bool:
    words = name_words(name)
    return "SECRET" in words and ("AWS" in words or words[-3:] == ["SECRET", "ACCESS", "KEY"])


# --- placeholders ----------------------------------------------------------------------------

_PLACEHOLDER_WORDS = _set(
    "changeme changeit change_me change-me example dummy test testing password passwd secret "
    "none null nil undefined true false yes no on off default empty unset disabled enabled "
    "required optional redacted placeholder tbd todo fixme notset not_set not-set secret123 "
    "password123 mysecret mypassword yoursecret yourpassword"
)
_PLACEHOLDER_PARTS = (
    "changeme", "change_me", "change-me", "example", "placeholder", "dummy", "redacted",
    "your_", "your-", "yourpass", "replace_me", "replace-me", "replaceme", "xxxx", "****", "...",
)  # fmt: skip
_REFERENCE = re.compile(
    r"\$\{|\$\(|\$[A-Za-z_]|\{\{|\}\}|%\([A-Za-z_]+\)s|%s\b|#\{|@[A-Z_]+@|^__[A-Z0-9_]+__$"
    r"|^%[A-Za-z_]+%$|^<[^<>]+>$"
)
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_VERSION = re.compile(r"v?\d+(?:\.\d+)+(?:[-+~_.][0-9A-Za-z.+~_\-]*)?", re.IGNORECASE)
_DIGEST = re.compile(r"(?:sha1|sha224|sha256|sha384|sha512|md5):[0-9a-fA-F]{16,}")
_PATH = re.compile(r"(?:~|\.{1,2})?/[^\s]*|[A-Za-z]:\\[^\s]*|file:[^\s]*")
_SECRET_REFERENCE = re.compile(
    r"(?:arn:aws[a-z\-]*:|vault:|ssm:|secretsmanager:|op://|sm://|akv://|azurekeyvault:"
    r"|gcp:|projects/[^/]+/secrets/)",
    re.IGNORECASE,
)
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s@?#]*")
_HEX = re.compile(r"[0-9a-fA-F]+")
MIN_SECRET_LENGTH = 6


def _is_reference(value: str) -> bool:
    return bool(_REFERENCE.search(value))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value


def is_placeholder(value: str) -> bool:
    """Is the value obviously not a real secret?

    Heuristics, in order: shorter than 6 characters; a placeholder word (`changeme`, `example`,
    `dummy`, `test`, `password`, `secret`, `none`, `null`, booleans...) or containing one
    (`your_token_here`, `xxxx`, `****`, `...`); at most two distinct characters; a reference or
    template (`$VAR`, `${VAR}`, `$(cmd)`, `{{ .x }}`, `%(x)s`, `#{x}`, `<your token>`); a number;
    a version (`1.2.3`, `3.1.4-r1`); a prefixed digest (`sha256:...`); a file path
    (`/run/secrets/db`, `./key`, `~/.ssh/id`) unless it looks random; a secret-manager reference
    (`arn:aws:...`, `vault:...`, `op://...`); a URL without credentials or query string.
    Bare hex strings are NOT placeholders: `openssl rand -hex 32` makes exactly that.
    """
    v = _unquote(value)
    low = v.lower()
    if "…" in v:
        return True  # already masked by `mask`: masking twice must not garble the hint
    if len(v) < MIN_SECRET_LENGTH or low in _PLACEHOLDER_WORDS or len(set(low)) <= 2:
        return True
    if any(part in low for part in _PLACEHOLDER_PARTS) or _is_reference(v):
        return True
    if _NUMBER.fullmatch(v) or _VERSION.fullmatch(v) or _DIGEST.fullmatch(v):
        return True
    if _PATH.fullmatch(v) and not looks_random(v):
        return True
    return bool(_SECRET_REFERENCE.match(v) or _PLAIN_URL.fullmatch(v))


def looks_random(value: str) -> bool:
    """At least 16 characters, mixing letters and digits (or cases), with high character entropy.

    Hex-only strings are not "random" for this purpose (checksums, fingerprints, ids).
    """
    if len(value) < 16 or _HEX.fullmatch(value):
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2 and entropy(value) >= 3.5


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


# --- classification --------------------------------------------------------------------------

_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")


def find(name: str, value: str, extra_names: Sequence[str] = ()) -> Found | None:
    """The secret a `name=value` pair holds, if any (see `classify`)."""
    found = scan(value)
    if found:
        return found[0]
    v = _unquote(value)
    if _aws_secret_name(name) and _AWS_SECRET.fullmatch(v) and not _fake(v):
        return Found(SecretKind.AWS_SECRET_ACCESS_KEY, v)
    if suspicious_name(name, extra_names) and not is_placeholder(v):
        kind = SecretKind.PASSWORD if _password_name(name) else SecretKind.NAMED_SECRET
        return Found(kind, v)
    if _weak_name(name) and looks_random(v) and not is_placeholder(v):
        return Found(SecretKind.HIGH_ENTROPY, v)
    return None


def classify(name: str, value: str, extra_names: Sequence[str] = ()) -> SecretKind | None:
    """A known format anywhere in the value; else a secret-sounding name with a real value.

    A weak name (`APP_KEY`) needs a random-looking value; `AWS_SECRET_ACCESS_KEY` a 40-character
    key. `extra_names` are more fnmatch patterns of secret-sounding names.
    """
    found = find(name, value, extra_names)
    return found.kind if found is not None else None


# --- secrets in command lines and configuration files ----------------------------------------

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
_AUTH_SCHEME = re.compile(r"(?:Bearer|token|Basic|Token)\s+(\S+)")
_NPM_AUTH = re.compile(r"(_authToken|_auth|_password)\s*=\s*([^\s'\";]+)")
_USER_FLAGS = frozenset({"-u", "--user", "--proxy-user"})
_HEADER_FLAGS = frozenset({"-H", "--header"})


SHLEX_LIMIT = 16 << 10
"""Longer command lines are split at whitespace: shlex builds each word a character at a time,
quadratic in its length (a 400 kB history line took 7 s, 1 MB over 30 s)."""


def shell_words(command: str) -> list[str]:
    """The words of a shell command line (shlex, POSIX); split at whitespace when shlex cannot
    (unbalanced quotes) or would be slow (past SHLEX_LIMIT)."""
    if len(command) > SHLEX_LIMIT:
        return command.split()
    try:
        return shlex.split(command, comments=False, posix=True)
    except ValueError:
        return command.split()


def _flag_value(words: Sequence[str], i: int) -> tuple[str, str] | None:
    """(`--name`, value) for `--name=value` or `--name value` at words[i]."""
    word = words[i]
    if not word.startswith("--") or len(word) < 4:
        return None
    flag, sep, value = word.partition("=")
    if not sep:
        if i + 1 >= len(words) or words[i + 1].startswith("-"):
            return None
        value = words[i + 1]
    return flag, value


def _header_secret(header: str) -> Found | None:
    name, sep, value = header.partition(":")
    if not sep:
        return None
    value = value.strip()
    if name.strip().lower() in ("authorization", "proxy-authorization"):
        match = _AUTH_SCHEME.match(value)
        value = match.group(1) if match else value
        return None if is_placeholder(value) else Found(SecretKind.NAMED_SECRET, value)
    return find(name.strip(), value)


def _word_secret(words: Sequence[str], i: int) -> tuple[str, Found] | None:
    word = words[i]
    previous = words[i - 1] if i else ""
    if previous in _USER_FLAGS and ":" in word and "curl" in words:
        password = word.split(":", 1)[1]
        if password and not _url_password_placeholder(password):
            return previous, Found(SecretKind.PASSWORD, password)
        return None
    if previous in _HEADER_FLAGS:
        found = _header_secret(word)
        return (f"{previous} {word.split(':', 1)[0]}", found) if found else None
    assignment = _ASSIGNMENT.fullmatch(word)
    if assignment is not None and suspicious_name(assignment.group(1)):
        found = find(assignment.group(1), assignment.group(2))
        return (assignment.group(1), found) if found else None
    flag = _flag_value(words, i)
    if flag is not None and suspicious_name(flag[0].lstrip("-")):
        found = find(flag[0].lstrip("-"), flag[1])
        return (flag[0], found) if found else None
    return None


def command_secrets(command: str) -> list[tuple[str, Found]]:
    """Secrets written into a shell command: (what held it or "", the secret), one per secret.

    Known formats anywhere; `NAME=value` / `export NAME=value` with a secret-sounding NAME;
    `--password=x`, `--token x` (any secret-sounding long option); `curl -u user:pass`;
    `-H "Authorization: Bearer x"` and other secret-sounding headers; npm's `_authToken=x`.
    `apk add libcrypto3=3.1.4-r1` is a package pin, not an assignment of a secret (dockle #250).
    """
    results: list[tuple[str, Found]] = []
    words = shell_words(command)
    for i in range(len(words)):
        hit = _word_secret(words, i)
        if hit is not None:
            results.append(hit)
    results.extend(
        (m.group(1), Found(SecretKind.NPM_TOKEN, m.group(2)))
        for m in _NPM_AUTH.finditer(command)
        if not is_placeholder(m.group(2))
    )
    return unique(results + [("", f) for f in scan(command)])


def unique(results: Iterable[tuple[str, Found]]) -> list[tuple[str, Found]]:
    """The first (holder, secret) for each distinct secret value, in order."""
    seen: set[str] = set()
    out: list[tuple[str, Found]] = []
    for holder, found in results:
        if found.secret not in seen and not any(found.secret in s for s in seen):
            seen.add(found.secret)
            out.append((holder, found))
    return out


_LINE = re.compile(
    r"""^\s*(?:-\s+)?(?:export\s+)?["']?(?P<key>[^\s"'=#][^\s"'=]*?)["']?\s*"""
    r"""(?:=|:(?=\s|$)|(?<=["']):)(?P<value>.*)$"""
)


def _clean_value(raw: str) -> str:
    value = raw.rstrip(",").strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        return value[1:end] if end > 0 else value[1:]
    return value.split(" #", 1)[0].strip()


def assignments(text: str) -> Iterator[tuple[str, str]]:
    """`key=value`, `key: value`, `"key": "value"` lines of dotenv, ini, YAML, properties files."""
    for line in text.splitlines():
        if line.lstrip().startswith(("#", ";", "//#")):
            continue
        match = _LINE.match(line)
        value = match.group("value").strip() if match is not None else ""
        if match is not None and value:
            yield match.group("key"), _clean_value(value)


def json_pairs(value: object, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string value) in a parsed JSON document, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_pairs(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from json_pairs(item, key)
    elif isinstance(value, str) and key:
        yield key, value


def text_secrets(text: str, extra_names: Sequence[str] = ()) -> list[tuple[str, Found]]:
    """Secrets in a configuration file: (key or "", the secret) for secret-named keys and
    known formats anywhere, one per distinct secret.

    JSON documents are walked; anything else is read line by line as `key=value` / `key: value`.
    """
    results: list[tuple[str, Found]] = []
    try:
        pairs: Iterable[tuple[str, str]] = list(json_pairs(loads_json(text)))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the walk goes
        pairs = assignments(text)
    for key, value in pairs:
        found = find(key, value, extra_names)
        if found is not None:
            results.append((key, found))
    return unique(results + [("", f) for f in scan(text)])


# --- masking ---------------------------------------------------------------------------------

MIN_LENGTH_FOR_PREFIX = 12


def mask(value: str) -> str:
    """A hint that never reveals the secret: `ghp_…(40 chars)`, `AKIA…(20 chars)`, `…(9 chars)`.

    At most the first four characters of a known public prefix are shown, and only when the value
    is long enough that they say nothing about the secret body.
    """
    shown = ""
    if len(value) >= MIN_LENGTH_FOR_PREFIX:
        for prefix in PUBLIC_PREFIXES:
            if value.startswith(prefix):
                shown = prefix[:MASK_PREFIX]
                break
    return f"{shown}…({len(value)} chars)"


def redact(text: str, values: Iterable[str]) -> str:
    """Replace every occurrence of each value in `text` by its mask, longest values first."""
    secrets = sorted({v for v in values if v}, key=len, reverse=True)
    if not secrets:
        return text
    pattern = re.compile("|".join(re.escape(s) for s in secrets))
    return pattern.sub(lambda m: mask(m.group(0)), text)


def redact_secrets(text: str) -> str:
    """Mask every secret `command_secrets` finds in a text (a command line, a history entry).

    For anything that quotes image history or a command in a report (layer summaries, size
    evidence): `RUN curl -u bob:…(14 chars) https://x`. Build-argument prefixes (`|1 TOKEN=x`)
    are covered by the `NAME=value` rule.
    """
    return redact(text, [found.secret for _, found in command_secrets(text)])
