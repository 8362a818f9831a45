"""Secret files in the image layers.

A key or a credentials file copied into any layer ships with the image, even if a later layer
deletes or overwrites it: the lower layer still holds the bytes, and `docker save` or any registry
client extracts them. Files are judged by their content, not only by their name: a `.env` with
only `PORT=8080` or a `.pem` with only certificates is fine.

Why: the article's checklist item "Secrets managed externally" and its pitfall "Hardcoding
secrets". `COPY . .` without a `.dockerignore` is the usual way keys reach an image.

How to fix: keep the file out of the build context (`.dockerignore`: `.env`, `*.pem`, `.npmrc`,
`.git`), mount build-time credentials with `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc`,
deliver run-time secrets from the orchestrator. Deleting the file in a later `RUN rm` does not
help; rebuild without it, and rotate every secret that was pushed.

Fails, in any layer, including versions deleted or overwritten later (the message says "deleted
in layer N, but still shipped in layer M"):
- `.env` files (`.env`, `.env.*`, `*.env`) with a secret: a known token format, or a
  secret-sounding name with a real value (see secrets-in-config); with `strict_env`, any `.env`
  that sets a value (templates such as `.env.example` excepted);
- private keys: `id_rsa`, `id_ed25519`... and files under `.ssh/`, `*.pem`, `*.key` holding a
  `PRIVATE KEY` block (or a DER-encoded key); `*.p12` / `*.pfx` bundles (binary: judged by name);
- package and tool credentials: `.npmrc` / `.yarnrc.yml` (`_authToken`, `_auth`, `_password`,
  `npmAuthToken`), `.pypirc`, `.netrc`, `.pgpass`, `.my.cnf`, `.s3cfg`, `.vault-token`, Maven
  `settings.xml` passwords, Composer `auth.json`, `*credentials` files (`.gem/`, `.cargo/`);
- cloud and cluster credentials: `.aws/credentials` and `.aws/config`, gcloud credential stores,
  service-account JSON (`*credentials.json`, `*service-account*.json`, `*-key.json`) with a
  `private_key`, `.azure/` token caches, `.docker/config.json` with `auths.*.auth`,
  `.git-credentials`, `.git/config` remotes with a password, `.kube/config` with a token or
  `client-key-data`, Terraform state (`*.tfstate`) with secret attributes.
Files above `max_size` are not read: those whose name alone is conclusive (`*.p12`, `.aws/`,
`.git-credentials`, gcloud stores) are reported "judged by name only", the others are counted in
the evidence.
Passes: no such file holds a secret; the evidence says how many candidate files were read.

Options:
- `ignore_paths` (fnmatch on the full path; the default skips public material and third-party
  test fixtures: `/etc/ssl/certs/*`, `/usr/share/ca-certificates/*`, `/etc/pki/ca-trust/*`,
  Debian's generated `/etc/ssl/private/ssl-cert-snakeoil.key`, `/usr/share/doc/*`, `test`,
  `tests`, `fixtures` directories inside `site-packages`, `dist-packages`, `node_modules` and
  Ruby gems, the CPython test suite, and any `testdata` directory, Go's fixture convention).
  Setting it replaces the default list.
- `strict_env` (default false): report every non-template `.env` file that sets a value, secret
  or not (many teams ship harmless `.env` files, cf. dockle #277).
- `max_size` (default 1MiB): the largest file whose bytes are read.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.image import FileEntry, FileIndex, FileType, ShadowedEntry
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.findings import Severity
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Size, Violation
from gatekeeper.secrets import (
    Found,
    SecretKind,
    assignments,
    is_placeholder,
    mask,
    redact,
    scan,
    text_secrets,
    unique,
)
from gatekeeper.units import format_size

Analysis = list[tuple[str, Found]]
"""(the key that held it or "", the secret) for each distinct secret in a file."""

DEFAULT_IGNORE = (
    "/etc/ssl/certs/*",
    "/usr/share/ca-certificates/*",
    "/usr/local/share/ca-certificates/*",
    "/etc/ca-certificates/*",
    "/etc/pki/ca-trust/*",
    "/etc/pki/tls/certs/*",
    "/etc/ssl/private/ssl-cert-snakeoil.key",
    "/usr/share/doc/*",
    "*/site-packages/*/test/*",
    "*/site-packages/*/tests/*",
    "*/dist-packages/*/test/*",
    "*/dist-packages/*/tests/*",
    "*/lib/python3*/test/*",
    "*/node_modules/*/test/*",
    "*/node_modules/*/tests/*",
    "*/node_modules/*/fixtures/*",
    "*/node_modules/*/__tests__/*",
    "*/gems/*/test/*",
    "*/gems/*/spec/*",
    "*/testdata/*",
)
ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults", "tpl")


def _keys(text: str) -> Analysis:
    return [("", f) for f in scan(text) if f.kind is SecretKind.PRIVATE_KEY]


_NETRC_PASSWORD = re.compile(r"\bpassword\s+(\S+)")


def _netrc(text: str) -> Analysis:
    found = [
        ("password", Found(SecretKind.PASSWORD, m.group(1)))
        for m in _NETRC_PASSWORD.finditer(text)
        if not is_placeholder(m.group(1))
    ]
    return unique(found + text_secrets(text))


_PGPASS_FIELDS = re.compile(r"(?<!\\):")


def _pgpass(text: str) -> Analysis:
    found = []
    for line in text.splitlines():
        fields = _PGPASS_FIELDS.split(line.strip())
        if len(fields) == 5 and not line.lstrip().startswith("#") and not is_placeholder(fields[4]):
            found.append((f"{fields[3]}@{fields[0]}", Found(SecretKind.PASSWORD, fields[4])))
    return unique(found)


_XML_SECRET = re.compile(r"<(password|passphrase|privateKey)>\s*([^<\s]+)\s*</")


def _xml(text: str) -> Analysis:
    found = [
        (m.group(1), Found(SecretKind.PASSWORD, m.group(2)))
        for m in _XML_SECRET.finditer(text)
        if not is_placeholder(m.group(2))
    ]
    return unique(found + [("", f) for f in scan(text)])


def _whole(text: str) -> Analysis:
    token = text.strip()
    if not token or is_placeholder(token) or "\n" in token:
        return text_secrets(text)
    return [("", Found(SecretKind.NAMED_SECRET, token))]


@dataclass(frozen=True, slots=True)
class FileKind:
    label: str
    patterns: tuple[str, ...]
    """fnmatch patterns on the full path (`*` also matches `/`)."""
    analyze: Callable[[str], Analysis] = text_secrets
    by_name: bool = False
    """The name alone is conclusive when the bytes cannot be read (binary or too large)."""
    binary: bool = False
    """Binary containers (PKCS#12, SQLite): any non-empty file counts."""


DOTENV = FileKind("dotenv file", ("*.env", "*/.env.*"))
KINDS = (
    DOTENV,
    FileKind("SSH private key", ("*/id_[rde][sdc]*", "*/.ssh/*"), _keys),
    FileKind("private key file", ("*.pem", "*.key"), _keys),
    FileKind("PKCS#12 key bundle", ("*.p12", "*.pfx"), by_name=True, binary=True),
    FileKind("npm / Yarn config", ("*/.npmrc", "*/.yarnrc.yml")),
    FileKind("PyPI config", ("*/.pypirc",)),
    FileKind("netrc file", ("*/[._]netrc",), _netrc, by_name=True),
    FileKind("PostgreSQL password file", ("*/.pgpass",), _pgpass, by_name=True),
    FileKind("MySQL client config", ("*/.my.cnf",)),
    FileKind("AWS credentials", ("*/.aws/*",), by_name=True),
    FileKind("gcloud credentials", ("*/.config/gcloud/*credentials*",), by_name=True),
    FileKind("gcloud credential store", ("*/.config/gcloud/*.db",), by_name=True, binary=True),
    FileKind("Azure CLI credentials", ("*/.azure/*",)),
    FileKind("Docker registry credentials", ("*/.docker/config.json",)),
    FileKind("Git credentials", ("*/.git-credentials",), by_name=True),
    FileKind("Git config", ("*/.git/config",)),
    FileKind("kubeconfig", ("*/.kube/config",)),
    FileKind("Terraform state", ("*.tfstate*",)),
    FileKind("Maven settings", ("*/.m2/settings*.xml",), _xml),
    FileKind("Vault token", ("*/.vault-token",), _whole, by_name=True),
    FileKind(
        "credentials file",
        ("*credentials", "*credentials.json", "*credentials.toml", "*/.s3cfg"),
        by_name=True,
    ),
    FileKind("service account key", ("*service?account*.json", "*[-_/]key.json")),
    FileKind("Composer auth", ("*/.composer/auth.json",)),
)
PATTERNS = tuple(dict.fromkeys(p for kind in KINDS for p in kind.patterns))


@dataclass(frozen=True)
class Options:
    ignore_paths: tuple[str, ...] = DEFAULT_IGNORE
    strict_env: bool = False
    max_size: Size = Size(1 << 20)  # noqa: RUF009 - an int subclass, immutable


_KIND_PATTERNS = tuple(
    (kind, re.compile("|".join(fnmatch.translate(p) for p in kind.patterns))) for kind in KINDS
)


def kind_of(path: str) -> FileKind | None:
    """The first kind whose patterns match the full path."""
    return next((kind for kind, pattern in _KIND_PATTERNS if pattern.match(path)), None)


def _ignored(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


_DER_KEY_VERSIONS = (b"\x02\x01\x00", b"\x02\x01\x01")


def der_private_key(data: bytes) -> bool:
    """A DER SEQUENCE that starts with INTEGER 0 or 1: PKCS#1, PKCS#8 or SEC1 private keys.

    (A certificate starts with a nested SEQUENCE instead.)
    """
    if len(data) < 16 or data[0] != 0x30:
        return False
    start = 2 if data[1] < 0x80 else 2 + (data[1] & 0x7F)
    return data[start : start + 3] in _DER_KEY_VERSIONS


def _env_template(path: str) -> bool:
    name = posixpath.basename(path).lower()
    return any(part in ENV_TEMPLATES for part in re.split(r"[._-]", name))


def _strict_env(text: str) -> bool:
    return any(value for _, value in assignments(text))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one file version holds, as safe text: never the secret itself."""

    what: str
    hints: tuple[str, ...]
    secrets: tuple[str, ...]


def _hint(holder: str, found: Found) -> str:
    if not holder:
        return f"{found.kind.label} {mask(found.secret)}"
    return f"{holder} ({found.kind.label}, {mask(found.secret)})"


def judge(kind: FileKind, data: bytes, path: str, options: Options) -> Verdict | None:
    if kind.binary or b"\0" in data[:8192]:
        if kind.binary and data:
            return Verdict(f"{kind.label} (binary, judged by name)", (), ())
        if path.endswith(".key") and der_private_key(data):
            return Verdict(f"{kind.label} (DER-encoded private key)", (), ())
        return None
    text = data.decode("utf-8", "replace")
    found = kind.analyze(text)
    if found:
        secrets = tuple(f.secret for _, f in found)
        hints = tuple(_hint(redact(holder, secrets), f) for holder, f in found)
        return Verdict(kind.label, hints, secrets)
    if options.strict_env and kind is DOTENV and not _env_template(path) and _strict_env(text):
        return Verdict(f"{kind.label} (strict_env: any .env that sets a value)", (), ())
    return None


def _origin(entry: FileEntry, shadow: ShadowedEntry | None) -> str:
    if shadow is None:
        return f"added in layer {entry.layer}"
    return f"{shadow.how.value} in layer {shadow.by_layer}, but still shipped in layer {entry.layer}"


def _message(path: str, verdict: Verdict, origin: str) -> str:
    shown = list(verdict.hints[:3])
    if len(verdict.hints) > 3:
        shown.append(f"and {len(verdict.hints) - 3} more")
    count = len(verdict.hints)
    holds = f" with {count} secret{'s' if count > 1 else ''}: " + ", ".join(shown) if shown else ""
    return f"{redact(path, verdict.secrets)}: {verdict.what}{holds}; {origin}."


def _candidates(files: FileIndex, max_size: int) -> Iterator[tuple[FileEntry, ShadowedEntry | None]]:
    """File versions worth a look, live then deleted or overwritten: those whose bytes were
    captured, and those too large to capture (a dict lookup each, no pattern matching)."""
    contents = files.contents
    captured = {path for _, path in contents}  # a few paths: a string lookup before a tuple's
    for entry in files.files.values():
        if entry.size > max_size or (entry.path in captured and (entry.layer, entry.path) in contents):
            yield entry, None
    for shadow in files.shadowed:
        entry = shadow.entry
        if entry.size > max_size or (entry.path in captured and (entry.layer, entry.path) in contents):
            yield entry, shadow


@dataclass
class _Tally:
    read: int = 0
    hidden: int = 0
    ignored: int = 0
    too_large: int = 0


def _one(
    target: Target,
    version: tuple[FileEntry, ShadowedEntry | None],
    contents: Mapping[tuple[int, str], bytes],
    options: Options,
    tally: _Tally,
) -> Violation | None:
    entry, shadow = version
    kind = kind_of(entry.path)
    if kind is None or entry.type is not FileType.FILE:
        return None
    if _ignored(entry.path, options.ignore_paths):
        tally.ignored += 1
        return None
    data = contents.get((entry.layer, entry.path))
    status = "live" if shadow is None else shadow.how.value
    where = target.layer_location(entry.layer, pointer=entry.path)
    if data is None:
        if entry.size <= options.max_size:
            return None  # not captured by this source: nothing to judge
        tally.too_large += 1
        if not kind.by_name:
            return None
        what = f"{kind.label} ({format_size(entry.size)}, too large to read: judged by name only)"
        message = _message(entry.path, Verdict(what, (), ()), _origin(entry, shadow))
        return Violation(message, where, detail=f"{entry.path}:{status}")
    tally.read += 1
    tally.hidden += shadow is not None
    verdict = judge(kind, data, entry.path, options)
    if verdict is None:
        return None
    message = _message(entry.path, verdict, _origin(entry, shadow))
    return Violation(message, where, detail=f"{entry.path}:{status}")


def check(target: Target, options: Options) -> Iterator[Item]:
    files = target.require_files()
    tally = _Tally()
    found = False
    for version in _candidates(files, options.max_size):
        violation = _one(target, version, files.contents, options, tally)
        if violation is not None:
            found = True
            yield violation
    if not found:
        yield Evidence(_summary(tally))


def _summary(tally: _Tally) -> str:
    text = f"no secrets in {tally.read} candidate file(s)"
    if tally.hidden:
        text += f" ({tally.hidden} deleted or overwritten by a later layer)"
    if tally.too_large:
        text += f"; {tally.too_large} too large to read"
    if tally.ignored:
        text += f"; {tally.ignored} skipped by ignore_paths"
    return text


def needs(options: Options) -> Request:
    wanted = ContentWanted(patterns=PATTERNS, max_size=options.max_size)
    return Request(Need.CONFIG | Need.FILESYSTEM, wanted)


RULE = Rule(
    id="GK-IMG-009",
    name="secret-files",
    title="Secret files in the image layers",
    checklist=Checklist.SECRETS,
    severity=Severity.CRITICAL,
    check=check,
    fix="Keep keys and credential files out of the build context (.dockerignore) and use "
    "`RUN --mount=type=secret`; a later `rm` does not remove them from the layer. Rotate them.",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
