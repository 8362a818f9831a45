"""Registry images (`docker://host/repo:tag`), read over the distribution API without pulling.

Only what the rules need is fetched. The manifest (following indexes to the requested platform)
and the config blob are always read; layer blobs only when sizes or the filesystem are needed,
each streamed once through `layers.scan_blob` and never held in memory. Every manifest and blob is
checked against the digest that names it.

Authentication works like Docker's, lazily. A request goes out anonymous. A 401 challenge
(`WWW-Authenticate`) then selects Bearer token auth or Basic auth. A Bearer token is cached per
(registry, scope) for the rest of the run. Credentials come from the Docker config
(`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`): `credHelpers`, then `credsStore`, then
`auths`. 5xx answers and connection failures are retried with exponential backoff. Every failure
surfaces as a one-line `gatekeeper.errors` exception; no `requests` exception escapes.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3

from gatekeeper import __version__
from gatekeeper.errors import (
    BadArchive,
    ImageNotFound,
    RegistryAuthError,
    RegistryError,
    SourceError,
    UsageError,
)
from gatekeeper.facts.image import FileIndex, ImageFacts, Platform
from gatekeeper.facts.needs import NOTHING, ContentWanted, Request
from gatekeeper.imagenames import DOCKER_HUB, HUB_API_HOST, hub_name, split_domain
from gatekeeper.sources import ImageRef, SourceOptions
from gatekeeper.sources._oci import (
    ACCEPT,
    DIGEST_RE,
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_JSON,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    ParsedConfig,
    assemble,
    check_digest,
    check_size,
    image_config,
    load_json,
    parse_index,
    parse_manifest,
    select_platform,
    sha256,
)
from gatekeeper.sources.layers import CHUNK, IndexBuilder, LayerScan, scan_blob, verify
from gatekeeper.text import loads_json

_log = logging.getLogger("gatekeeper")
_T = TypeVar("_T")

HUB_AUTH_KEY = "https://index.docker.io/v1/"
CONFIG_TYPES = frozenset(
    {
        "",
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)
MAX_ERROR_BODY = 64 << 10
MAX_NESTING = 4
DEFAULT_TOKEN_TTL = 60.0
MAX_TOKEN_TTL = 1e9
"""An `expires_in` at or above this many seconds (about 31 years) is not believed."""
HELPER_TIMEOUT = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CLIENT_ID = "gatekeeper"

# --- references (distribution/reference normalisation) -------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_HEX_DIGEST_RE = re.compile(r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class RegistryRef:
    """A normalised registry reference: `docker.io/library/alpine:latest`."""

    domain: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def api_host(self) -> str:
        """The host that serves `/v2/` (Docker Hub's registry is not at docker.io)."""
        return HUB_API_HOST if self.domain == DOCKER_HUB else self.domain

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when pinned, else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        text = self.name + (f":{self.tag}" if self.tag else "")
        return text + (f"@{self.digest}" if self.digest else "")


def parse_registry_reference(text: str) -> RegistryRef:
    """`alpine` -> docker.io/library/alpine:latest; bad syntax raises UsageError."""
    bad = f"invalid registry reference {text!r}"
    rest, at, digest = text.partition("@")
    if at and not (DIGEST_RE.fullmatch(digest) and _digest_length_ok(digest)):
        raise UsageError(f"{bad}: {digest!r} is not a digest (sha256:<64 hex>)")
    head, slash, last = rest.rpartition("/")
    last, colon, tag = last.partition(":")
    domain, repository = split_domain(head + slash + last)
    if not _DOMAIN_RE.fullmatch(domain):
        raise UsageError(f"{bad}: {domain!r} is not a registry host")
    if colon and not _TAG_RE.fullmatch(tag):
        raise UsageError(f"{bad}: {tag!r} is not a valid tag")
    _check_repository(repository, bad)
    if len(domain) + 1 + len(repository) > MAX_NAME:
        raise UsageError(f"{bad}: name longer than {MAX_NAME} characters")
    return RegistryRef(domain, repository, tag or ("" if digest else "latest"), digest)


def _digest_length_ok(digest: str) -> bool:
    algo = digest.partition(":")[0]
    return algo not in ("sha256", "sha512") or bool(_HEX_DIGEST_RE.fullmatch(digest))


def _check_repository(repository: str, bad: str) -> None:
    if _REPOSITORY_RE.fullmatch(repository):
        return
    if _REPOSITORY_RE.fullmatch(repository.lower()):
        raise UsageError(f"{bad}: repository names must be lowercase")
    raise UsageError(f"{bad}: {repository!r} is not a valid repository name")


# --- transport: scheme, proxies, retries ----------------------------------------------------------


def _hostname(host: str) -> str:
    """`host:5000` -> `host`; `[::1]:5000` -> `::1`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if ":" in host else host


def is_loopback(host: str) -> bool:
    hostname = _hostname(host).lower()
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _strip_scheme(entry: str) -> str:
    entry = entry.strip().lower()
    for prefix in ("https://", "http://"):
        entry = entry.removeprefix(prefix)
    return entry.partition("/")[0]


def registry_scheme(hosts: Sequence[str], insecure: Sequence[str]) -> str:
    """`http` for loopback registries and those listed as insecure, else `https`."""
    listed = {_strip_scheme(entry) for entry in insecure}
    for host in hosts:
        if is_loopback(host) or host.lower() in listed or _hostname(host).lower() in listed:
            return "http"
    return "https"


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name.lower()) or environ.get(name.upper()) or ""


def _bypasses_proxy(environ: Mapping[str, str], host: str) -> bool:
    if is_loopback(host):
        return True
    hostname = _hostname(host).lower()
    for raw in _env(environ, "no_proxy").split(","):
        entry = raw.strip().lower().lstrip(".")
        if entry == "*" or entry in (host.lower(), hostname):
            return True
        if entry and hostname.endswith("." + entry):
            return True
    return False


def proxies_for(environ: Mapping[str, str], url: str) -> dict[str, str]:
    """`HTTP(S)_PROXY`/`NO_PROXY` from the given environment (requests would read os.environ)."""
    if _bypasses_proxy(environ, urlsplit(url).netloc):
        return {}
    found = {scheme: _env(environ, f"{scheme}_proxy") for scheme in ("http", "https")}
    return {scheme: proxy for scheme, proxy in found.items() if proxy}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per request; the waits between them double from `base_delay`."""

    attempts: int = 3
    base_delay: float = 0.2
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> None:
        """Sleep before attempt number `attempt` (0-based; no wait before the first)."""
        if attempt:
            self.sleep(self.base_delay * 2 ** (attempt - 1))


DEFAULT_RETRY = RetryPolicy()

_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _reason(exc: BaseException | None) -> str:
    """A short, one-line reason for a transport failure."""
    if exc is None:
        return "no attempt made"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    found = _ERRNO_RE.search(str(exc))
    if found:
        return found.group(1).strip()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _tls_reason(exc: requests.exceptions.SSLError, host: str) -> str:
    text = str(exc).lower()
    if "wrong version number" in text or "record layer failure" in text:
        return f"{host} does not speak TLS (a plain-HTTP registry? list it as insecure)"
    if "certificate verify failed" in text:
        return f"TLS certificate of {host} not trusted (REQUESTS_CA_BUNDLE?)"
    return f"TLS failure talking to {host}"


def _error_detail(resp: requests.Response) -> str:
    """The registry's `{"errors": [{"code", "message"}]}` body, quoted short, or ''."""
    try:
        body = next(resp.iter_content(MAX_ERROR_BODY), b"")
        doc = loads_json(body)
    except (requests.RequestException, ValueError):
        return ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = [
        ": ".join(str(e[k]) for k in ("code", "message") if e.get(k))
        for e in errors[:2]
        if isinstance(e, dict)
    ]
    text = " ".join("; ".join(p for p in parts if p).split())
    return f" ({text[:200]})" if text else ""


# --- WWW-Authenticate ----------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PARAM_RE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:\"((?:[^\"\\]|\\.)*)\"|([^\s,\"]*))")
_ESCAPE_RE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One auth challenge: scheme (lower-case) and its parameters (keys lower-case)."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def param(self, key: str) -> str:
        return dict(self.params).get(key, "")


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _parse_params(header: str, pos: int) -> tuple[tuple[tuple[str, str], ...], int]:
    params: list[tuple[str, str]] = []
    while True:
        start = _skip(header, pos, " \t,")
        found = _PARAM_RE.match(header, start)
        if found is None:
            return tuple(params), start
        key, quoted, bare = found.groups()
        value = _ESCAPE_RE.sub(r"\1", quoted) if quoted is not None else bare
        params.append((key.lower(), value))
        pos = found.end()


def parse_www_authenticate(header: str) -> tuple[Challenge, ...]:
    """RFC 7235 challenges; quoted values may hold commas and escaped quotes."""
    challenges: list[Challenge] = []
    pos = 0
    while True:
        pos = _skip(header, pos, " \t,")
        if pos >= len(header):
            return tuple(challenges)
        scheme = _TOKEN_RE.match(header, pos)
        if scheme is None:  # garbage: resume after the next comma
            comma = header.find(",", pos + 1)
            pos = comma if comma >= 0 else len(header)
            continue
        params, pos = _parse_params(header, scheme.end())
        challenges.append(Challenge(scheme.group().lower(), params))


def _usable_challenge(challenges: Sequence[Challenge]) -> Challenge | None:
    for wanted in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == wanted:
                return challenge
    return None


# --- credentials (Docker config, credential helpers) ---------------------------------------------

_HELPER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What `docker login` stored for one registry. Secrets stay out of repr()."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    @property
    def basic(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None


def registry_key(key: str) -> str:
    """Normalise a config.json key or a host: `https://index.docker.io/v1/` -> `docker.io`."""
    host = _strip_scheme(key)
    return hub_name(host)


def docker_config_path(environ: Mapping[str, str]) -> str | None:
    if environ.get("DOCKER_CONFIG"):
        return os.path.join(environ["DOCKER_CONFIG"], "config.json")
    if environ.get("HOME"):
        return os.path.join(environ["HOME"], ".docker", "config.json")
    return None


def load_docker_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Docker config as a dict; {} when absent or unreadable (with a warning)."""
    path = docker_config_path(environ)
    if path is None or not os.path.isfile(path):
        return {}
    try:
        with open(path, "rb") as handle:
            doc = json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:
        _log.warning("ignoring unreadable Docker config %s: %s", path, exc)
        return {}
    return doc if isinstance(doc, dict) else {}


def find_credentials(domain: str, environ: Mapping[str, str]) -> Credentials | None:
    """Credentials for `domain`: credHelpers[host], then credsStore, then auths. Never raises."""
    config = load_docker_config(environ)
    key = registry_key(domain)
    helpers = config.get("credHelpers")
    helper = None
    if isinstance(helpers, dict):
        helper = next((v for k, v in helpers.items() if registry_key(str(k)) == key), None)
    helper = helper or config.get("credsStore")
    if isinstance(helper, str) and helper:
        server = HUB_AUTH_KEY if key == DOCKER_HUB else domain
        found = run_credential_helper(helper, server, environ)
        if found is not None:
            return found
    return _from_auths(config.get("auths"), key)


def _from_auths(auths: Any, key: str) -> Credentials | None:
    if not isinstance(auths, dict):
        return None
    for name, entry in auths.items():
        if registry_key(str(name)) == key and isinstance(entry, dict):
            found = _entry_credentials(entry, str(name))
            if found is not None:
                return found
    return None


def _entry_credentials(entry: dict[str, Any], name: str) -> Credentials | None:
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            _log.warning("ignoring malformed 'auth' for %s in the Docker config", name)
        else:
            username, _, password = decoded.partition(":")
    found = Credentials(
        username,
        password,
        str(entry.get("identitytoken") or ""),
        str(entry.get("registrytoken") or ""),
    )
    return found if found.basic or found.identity_token or found.registry_token else None


def run_credential_helper(suffix: str, server: str, environ: Mapping[str, str]) -> Credentials | None:
    """`docker-credential-<suffix> get`; None (with a warning) when missing or failing."""
    program = f"docker-credential-{suffix}"
    exe = None
    if _HELPER_RE.fullmatch(suffix):
        exe = shutil.which(program, path=environ.get("PATH", os.defpath))
    if exe is None:
        _log.warning("credential helper %s not found on PATH; trying config.json auths", program)
        return None
    try:
        done = subprocess.run(
            [exe, "get"],
            input=server.encode(),
            capture_output=True,
            env=dict(environ),
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        _log.warning("credential helper %s failed: %s", program, exc)
        return None
    output = " ".join((done.stdout or done.stderr).decode(errors="replace").split())
    if done.returncode != 0:
        if "credentials not found" not in output.lower():
            _log.warning("credential helper %s failed: %s", program, output[:200] or "no output")
        return None
    return _helper_credentials(done.stdout, program)


def _helper_credentials(stdout: bytes, program: str) -> Credentials | None:
    try:
        doc = loads_json(stdout)
    except ValueError:  # (UnicodeDecodeError is one)
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("Secret"), str):
        _log.warning("credential helper %s printed no usable credentials", program)
        return None
    username, secret = str(doc.get("Username") or ""), doc["Secret"]
    if not secret:
        return None
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username, secret)


# --- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float


class TokenCache:
    """Bearer tokens per (registry, scope) until they expire. One per client, never global."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str], _Token] = {}

    def get(self, key: tuple[str, str]) -> str | None:
        token = self._tokens.get(key)
        if token is None or token.expires_at <= self._clock():
            self._tokens.pop(key, None)
            return None
        return token.value

    def put(self, key: tuple[str, str], value: str, expires_in: float | None) -> None:
        ttl = expires_in if expires_in and expires_in > 0 else DEFAULT_TOKEN_TTL
        self._tokens[key] = _Token(value, self._clock() + ttl)

    def drop(self, key: tuple[str, str]) -> None:
        self._tokens.pop(key, None)


MAX_TOKEN_ANSWER = 1 << 20
"""The largest token endpoint answer read (a JWT is a few kB); more is not a token."""


def _token_answer(resp: requests.Response, what: str) -> tuple[str, float | None]:
    body = bytearray()
    try:
        for chunk in resp.iter_content(64 << 10):  # decoded as it comes: a gzip bomb stops here too
            body += chunk
            if len(body) > MAX_TOKEN_ANSWER:
                raise RegistryAuthError(f"{what}: token endpoint answered more than 1 MiB")
        doc = loads_json(bytes(body))
    except requests.RequestException as exc:
        raise RegistryAuthError(f"{what}: token endpoint answer broke off: {_reason(exc)}") from exc
    except ValueError as exc:
        raise RegistryAuthError(f"{what}: token endpoint answered something not JSON") from exc
    finally:
        resp.close()
    token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise RegistryAuthError(f"{what}: token endpoint answered without a token")
    if not (token.isascii() and token.isprintable()):  # it goes into an HTTP header as it is
        raise RegistryAuthError(f"{what}: token endpoint answered a token that is not printable ASCII")
    return token, _expires_in(doc.get("expires_in"))


def _expires_in(value: Any) -> float | None:
    """A token's `expires_in` in seconds when plausible (a number, 0 < n < 1e9), else None.

    None means the default lifetime. Comparing first keeps a 400-digit integer from reaching
    float() (OverflowError) and an infinite one from living in the cache forever.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < MAX_TOKEN_TTL:
        return None
    return float(value)


# --- the client -----------------------------------------------------------------------------------


class _Interrupted(RegistryError):
    """A blob download broke off mid-stream (worth retrying)."""


MAX_UNSIZED_BLOB = 64 << 30
"""A layer whose descriptor gives no size is read up to this much (an endless body must end)."""


class _BlobReader:
    """The stored bytes of a streamed blob response: no content decoding, errors wrapped."""

    def __init__(self, resp: requests.Response, name: str, limit: int) -> None:
        self._raw = resp.raw
        self._name = name
        self._sized = limit > 0
        self._left = limit if limit > 0 else MAX_UNSIZED_BLOB

    def read(self, size: int = -1, /) -> bytes:
        try:
            data = bytes(self._raw.read(size if size > 0 else CHUNK, decode_content=False))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Interrupted(f"{self._name}: download interrupted: {_reason(exc)}") from exc
        self._left -= len(data)
        if self._left < 0:  # (scan_blob puts the layer's name in front)
            if not self._sized:
                raise BadArchive(
                    f"blob has no size in the manifest and goes on past {MAX_UNSIZED_BLOB} bytes"
                )
            raise BadArchive("blob is larger than the manifest says")
        return data


class RegistryClient:
    """HTTP access to one repository: retries, auth challenges, token cache, error mapping."""

    def __init__(
        self,
        ref: RegistryRef,
        options: SourceOptions,
        session: requests.Session,
        *,
        what: str,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ref = ref
        self.what = what
        self._session = session
        self._options = options
        self._retry = retry
        scheme = registry_scheme((ref.domain, ref.api_host), options.insecure_registries)
        self._base = f"{scheme}://{ref.api_host}/v2/{ref.repository}"
        self._tokens = TokenCache(clock)
        self._scope = f"repository:{ref.repository}:pull"
        self._challenge: Challenge | None = None
        self._credentials: Credentials | None = None
        self._credentials_loaded = False

    # public operations

    def manifest(self, reference: str, expected: Descriptor | None = None) -> tuple[bytes, str]:
        """Raw manifest bytes (digest-checked) and the registry's Content-Type."""
        with self._get("manifests", reference, {"Accept": ACCEPT}) as resp:
            raw = self._read_limited(resp, f"manifest {reference}")
            content_type = resp.headers.get("Content-Type", "")
            header_digest = resp.headers.get("Docker-Content-Digest", "").strip()
        what = f"{self.what}: manifest {reference}"
        if expected is not None:
            check_digest(raw, expected.digest, what)
            check_size(raw, expected, what)
        if header_digest:  # the registry's own word: it must hold too
            check_digest(raw, header_digest, f"{what} (Docker-Content-Digest)")
        return raw, content_type

    def blob_bytes(self, desc: Descriptor, what: str) -> bytes:
        """A small blob (the config), digest-checked."""
        with self._get("blobs", desc.digest, {"Accept-Encoding": "identity"}) as resp:
            raw = self._read_limited(resp, what)
        check_digest(raw, desc.digest, f"{self.what}: {what} {desc.digest}")
        check_size(raw, desc, f"{self.what}: {what} {desc.digest}")
        return raw

    def scan_layer(self, desc: Descriptor, diff_id: str, wanted: ContentWanted) -> LayerScan:
        """Stream one layer blob through the tar scanner and verify both of its digests."""
        name = f"{self.what}: layer {desc.digest}"

        def once() -> LayerScan:
            with self._get("blobs", desc.digest, {"Accept-Encoding": "identity"}) as resp:
                scan = scan_blob(_BlobReader(resp, name, desc.size), wanted, name=name)
            verify(scan, digest=desc.digest, diff_id=diff_id, name=name, size=desc.size)
            return scan

        return self._retrying(once)

    # requests, retries and status mapping

    def _get(self, kind: str, reference: str, headers: dict[str, str]) -> requests.Response:
        url = f"{self._base}/{kind}/{reference}"
        resp = self._send("GET", url, headers=headers | self._authorization())
        if resp.status_code == 401:
            resp = self._answer_challenge(resp, url, headers)
        if resp.status_code >= 300:
            with resp:
                raise self._status_error(resp, kind, reference)
        return resp

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str | list[str]] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        host = urlsplit(url).netloc
        failure: requests.RequestException | None = None
        attempts = max(1, self._retry.attempts)
        for attempt in range(attempts):
            self._retry.wait(attempt)
            try:
                resp = self._session.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    data=data,
                    auth=auth,
                    stream=True,
                    timeout=self._options.timeout,
                    proxies=proxies_for(self._options.environ, url),
                )
            except requests.exceptions.SSLError as exc:
                raise RegistryError(f"{self.what}: {_tls_reason(exc, host)}") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = exc
                continue
            except requests.RequestException as exc:
                raise RegistryError(f"{self.what}: request to {host} failed: {_reason(exc)}") from exc
            except ValueError as exc:  # a redirect to a URL that does not parse (UnicodeError too)
                raise RegistryError(f"{self.what}: request to {host} failed: {_reason(exc)}") from exc
            if resp.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                resp.close()
                continue
            return resp
        # after a redirect (to blob storage, say), the host that failed is the one redirected to
        failed_url = getattr(getattr(failure, "request", None), "url", None)
        if isinstance(failed_url, str):
            host = urlsplit(failed_url).netloc or host
        raise RegistryError(
            f"{self.what}: cannot reach {host} ({_reason(failure)}) after {attempts} attempts"
        ) from failure

    def _retrying(self, action: Callable[[], _T]) -> _T:
        attempts = max(1, self._retry.attempts)
        for attempt in range(attempts - 1):
            self._retry.wait(attempt)
            try:
                return action()
            except _Interrupted:
                continue
        self._retry.wait(attempts - 1)
        return action()

    def _read_limited(self, resp: requests.Response, what: str) -> bytes:
        pieces: list[bytes] = []
        total = 0
        try:
            for chunk in resp.iter_content(CHUNK):
                pieces.append(chunk)
                total += len(chunk)
                if total > MAX_JSON:
                    raise BadArchive(f"{self.what}: {what} is implausibly large")
        except requests.RequestException as exc:
            raise RegistryError(f"{self.what}: reading {what} failed: {_reason(exc)}") from exc
        return b"".join(pieces)

    def _status_error(self, resp: requests.Response, kind: str, reference: str) -> SourceError:
        status, host, detail = resp.status_code, urlsplit(resp.url).netloc, _error_detail(resp)
        if status == 401:
            return self._auth_error(detail)
        if status == 403:
            return RegistryAuthError(
                f"{self.what}: access to {self.ref.repository} denied by {host} (HTTP 403)"
                f"{detail} ({self._login_hint()}?)"
            )
        if status == 404 and kind == "manifests":
            return ImageNotFound(
                f"{self.what}: manifest {self._shown(reference)} not found at {host}{detail}"
            )
        if status == 404:
            return BadArchive(f"{self.what}: blob {reference} is missing from {host}{detail}")
        if status in RETRY_STATUSES:
            return RegistryError(
                f"{self.what}: {host} answered HTTP {status} {resp.reason or ''}".rstrip()
                + f" after {max(1, self._retry.attempts)} attempts{detail}"
            )
        return RegistryError(f"{self.what}: {host} answered HTTP {status} to GET {kind}/{reference}{detail}")

    def _shown(self, reference: str) -> str:
        sep = "@" if ":" in reference else ":"
        return f"{self.ref.repository}{sep}{reference}"

    def _login_hint(self) -> str:
        return "docker login" if self.ref.domain == DOCKER_HUB else f"docker login {self.ref.domain}"

    def _auth_error(self, detail: str) -> RegistryAuthError:
        state = "denied" if self._creds() is not None else "required"
        return RegistryAuthError(
            f"{self.what}: authentication {state} for {self.ref.repository}{detail} ({self._login_hint()}?)"
        )

    # authentication

    def _creds(self) -> Credentials | None:
        if not self._credentials_loaded:
            self._credentials = find_credentials(self.ref.domain, self._options.environ)
            self._credentials_loaded = True
        return self._credentials

    def _answer_challenge(
        self, resp: requests.Response, url: str, headers: dict[str, str]
    ) -> requests.Response:
        with resp:
            header = resp.headers.get("WWW-Authenticate", "")
            detail = _error_detail(resp)
        challenge = _usable_challenge(parse_www_authenticate(header))
        if challenge is None:
            raise self._auth_error(detail)
        self._challenge = challenge
        self._tokens.drop((self.ref.api_host, self._scope))
        authorization = self._authorization()
        if not authorization:
            raise self._auth_error(detail)
        return self._send("GET", url, headers=headers | authorization)

    def _authorization(self) -> dict[str, str]:
        """The Authorization header for the last challenge (fetching a token if needed)."""
        challenge = self._challenge
        if challenge is None:
            return {}
        creds = self._creds()
        if challenge.scheme == "basic":
            basic = creds.basic if creds is not None else None
            if basic is None:
                return {}
            encoded = base64.b64encode(":".join(basic).encode()).decode()
            return {"Authorization": f"Basic {encoded}"}
        if creds is not None and creds.registry_token:
            return {"Authorization": f"Bearer {creds.registry_token}"}
        key = (self.ref.api_host, self._scope)
        token = self._tokens.get(key)
        if token is None:
            token, expires_in = self._fetch_token(challenge, creds)
            self._tokens.put(key, token, expires_in)
        return {"Authorization": f"Bearer {token}"}

    def _fetch_token(self, challenge: Challenge, creds: Credentials | None) -> tuple[str, float | None]:
        realm = challenge.param("realm")
        try:
            usable = urlsplit(realm).scheme in ("http", "https")
        except ValueError:  # `http://[::1/token`
            usable = False
        if not usable:
            raise RegistryAuthError(f"{self.what}: Bearer challenge without a usable realm")
        scopes = list(dict.fromkeys(s for s in (self._scope, challenge.param("scope")) if s))
        service = challenge.param("service")
        if creds is not None and creds.identity_token:
            answer = self._oauth_token(realm, service, scopes, creds.identity_token)
            if answer is not None:
                return answer
        params: dict[str, str | list[str]] = {"scope": scopes}
        if service:
            params["service"] = service
        basic = creds.basic if creds is not None else None
        resp = self._send("GET", realm, headers={}, params=params, auth=basic)
        return self._token_response(resp, realm)

    def _oauth_token(
        self, realm: str, service: str, scopes: list[str], refresh: str
    ) -> tuple[str, float | None] | None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": service,
            "scope": " ".join(scopes),
            "client_id": CLIENT_ID,
        }
        resp = self._send("POST", realm, headers={}, data=form)
        if resp.status_code == 404:
            resp.close()
            return None  # no OAuth2 endpoint: fall back to the GET flow
        return self._token_response(resp, realm)

    def _token_response(self, resp: requests.Response, realm: str) -> tuple[str, float | None]:
        with resp:
            if resp.status_code in (401, 403):
                raise self._auth_error(_error_detail(resp))
            if resp.status_code != 200:
                host = urlsplit(realm).netloc
                raise RegistryError(
                    f"{self.what}: token endpoint {host} answered HTTP {resp.status_code}"
                    + _error_detail(resp)
                )
            return _token_answer(resp, self.what)


# --- reading the image ---------------------------------------------------------------------------


def _manifest_type(content_type: str, doc: dict[str, Any], hint: str, what: str) -> str:
    """Dispatch on Content-Type (parameters ignored), else the body's mediaType, else its shape."""
    known = (*INDEX_TYPES, *MANIFEST_TYPES, *DOCKER_SCHEMA1)
    header = content_type.partition(";")[0].strip().lower()
    body = doc.get("mediaType")
    body = body if isinstance(body, str) else ""
    if header in known:
        if body in known and body != header:
            raise BadArchive(f"{what}: registry sent {header} but the manifest says {body}")
        return header
    if body:
        return body
    if hint in known:
        return hint
    return OCI_INDEX if "manifests" in doc else OCI_MANIFEST


def _resolve(client: RegistryClient, platform: Platform) -> tuple[str, Manifest, tuple[Platform, ...]]:
    """Follow the reference (through indexes) to one image manifest: digest, manifest, platforms."""
    what = client.what
    raw, content_type = client.manifest(
        client.ref.reference, Descriptor("", client.ref.digest, 0) if client.ref.digest else None
    )
    digest, hint = client.ref.digest or sha256(raw), ""
    available: tuple[Platform, ...] = ()
    for _ in range(MAX_NESTING + 1):
        doc = load_json(raw, f"{what}: manifest")
        media_type = _manifest_type(content_type, doc, hint, what)
        if media_type not in INDEX_TYPES:
            return digest, parse_manifest(doc, what, media_type), available
        chosen, available = select_platform(parse_index(doc, what), platform, what)
        raw, content_type = client.manifest(chosen.digest, chosen)
        digest, hint = chosen.digest, chosen.media_type
    raise BadArchive(f"{what}: indexes nested too deeply")


def _scan_layers(
    client: RegistryClient, manifest: Manifest, parsed: ParsedConfig, request: Request
) -> tuple[list[LayerScan], FileIndex | None]:
    wanted = request.wanted if request.filesystem else NOTHING
    builder = IndexBuilder()
    scans = []
    for desc, diff_id in zip(manifest.layers, parsed.diff_ids, strict=True):
        scan = client.scan_layer(desc, diff_id, wanted)
        scans.append(scan)
        if request.filesystem:
            builder.add(scan)
    return scans, builder.build() if request.filesystem else None


def _read_image(client: RegistryClient, request: Request, options: SourceOptions) -> ImageFacts:
    what = client.what
    digest, manifest, available = _resolve(client, options.platform)
    if manifest.config.media_type not in CONFIG_TYPES:
        raise SourceError(f"{what}: not a container image (config type {manifest.config.media_type})")
    raw = client.blob_bytes(manifest.config, "config")
    parsed = image_config(raw, what, layers=len(manifest.layers), listed_in="manifest", options=options)
    scans, files = _scan_layers(client, manifest, parsed, request) if request.sizes else (None, None)
    ref = client.ref
    return assemble(
        reference=what,
        source="docker",
        digest=digest,
        config_digest=manifest.config.digest,
        parsed=parsed,
        descriptors=manifest.layers,
        scans=scans,
        files=files,
        repo_tags=(f"{ref.name}:{ref.tag}",) if ref.tag else (),
        available_platforms=available,
    )


def new_session(environ: Mapping[str, str]) -> requests.Session:
    """A session that takes proxies/CA bundle from `environ`, not os.environ (nor ~/.netrc)."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = f"gatekeeper/{__version__}"
    bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def open_registry(
    ref: ImageRef,
    request: Request,
    options: SourceOptions,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> ImageFacts:
    """Read `docker://host/repo:tag[@digest]` from its registry, fetching only what is needed."""
    target = parse_registry_reference(ref.target)
    with new_session(options.environ) as session:
        client = RegistryClient(target, options, session, what=str(ref), retry=retry)
        return _read_image(client, request, options)
