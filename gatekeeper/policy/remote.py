"""Fetch policies that live elsewhere: https URLs and git repositories, with a local cache.

    https://policies.example.com/org/base.yaml#sha256=<hex>   pinned: verified, served from cache
    git+https://git.example.com/platform/policies.git@v3#prod.yaml
    git+ssh://git@git.example.com/platform/policies.git@<commit>#base.yaml
    git+file:///srv/policies.git@main#base.yaml

Every fetch is cached under the cache directory. A pinned URL (`#sha256=`) or a git commit id is
immutable, so a cached copy is used without asking the network. Anything else is fetched each run
and the cache is the fallback when the network fails (with a warning); with no cached copy the
error says what could not be reached. Git uses the system `git`, shallow, without prompts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from gatekeeper.errors import PolicyError

log = logging.getLogger("gatekeeper")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
TIMEOUT = 60.0
MAX_POLICY_SIZE = 4 << 20
"""Policy files larger than this (4 MiB) are refused before they are read in full."""


@dataclass(frozen=True)
class GitSpec:
    url: str
    ref: str
    path: str

    def sibling(self, relative: str) -> GitSpec:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.path), relative))
        return GitSpec(self.url, self.ref, joined)

    def __str__(self) -> str:
        return f"git+{self.url}" + (f"@{self.ref}" if self.ref else "") + f"#{self.path}"


@dataclass(frozen=True)
class Fetched:
    data: bytes
    origin: str
    """The spec as it names the file (absolute: relative specs are resolved)."""
    resolved: str
    """What was actually read: the URL, `url@ref (commit)`, or `... (cached copy)`."""


def is_remote(spec: str) -> bool:
    return spec.startswith(("https://", "http://", "git+"))


def parse_git(spec: str) -> GitSpec:
    body = spec[len("git+") :]
    body, _, path = body.partition("#")
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise PolicyError(f"{spec}: a git policy needs #path/to/policy.yaml inside the repository")
    ref = ""
    at = body.rfind("@")
    if at > body.rfind("/"):
        body, ref = body[:at], body[at + 1 :]
    if not body.startswith(("https://", "http://", "ssh://", "file://", "git://")):
        raise PolicyError(f"{spec}: git URLs must be git+https://, git+ssh://, git+file:// or git+git://")
    return GitSpec(body, ref, posixpath.normpath(path))


def resolve_relative(spec: str, parent: str) -> str:
    """A relative `extends` inside a remote policy names a file next to it."""
    if parent.startswith("git+"):
        return str(parse_git(parent).sibling(spec))
    return urljoin(parent.split("#", 1)[0], spec)


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _read_cached(path: Path) -> bytes | None:
    """The cached copy of a fetched policy; None when there is none, or (with a warning) when it
    cannot be read: a cache shared between users with the wrong permissions, or holding
    something else than a policy (a link to /dev/zero), is no reason to fail while the network
    can still serve the policy."""
    try:
        return read_policy_file(path, str(path))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except (OSError, PolicyError) as exc:
        log.warning("cannot read the cached copy %s: %s", path, getattr(exc, "strerror", None) or exc)
        return None


class Fetcher:
    def __init__(self, cache_dir: Path, environ: Mapping[str, str], timeout: float = TIMEOUT) -> None:
        self.cache_dir = cache_dir
        self.environ = dict(environ)
        self.timeout = timeout

    def fetch(self, spec: str) -> Fetched:
        if spec.startswith("git+"):
            return self._git(parse_git(spec))
        return self._https(spec)

    # ------------------------------------------------------------------ https

    def _https(self, spec: str) -> Fetched:
        url, _, fragment = spec.partition("#")
        pin = fragment[len("sha256=") :] if fragment.startswith("sha256=") else ""
        if fragment and not _SHA256.match(pin):
            raise PolicyError(f"{spec}: the only URL fragment understood is #sha256=<64 hex digits>")
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # `https://[::1/x`: "Invalid IPv6 URL"
            raise PolicyError(f"{url}: not a valid URL ({exc})") from None
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            raise PolicyError(f"{url}: policies are fetched over https only (plain http only on loopback)")
        cached = self.cache_dir / "https" / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".yaml")
        kept = _read_cached(cached) if pin else None
        if kept is not None and _sha256(kept) == pin:
            return Fetched(kept, spec, f"{url} (cached, pinned)")
        try:
            data = self._download(url)
        except PolicyError as exc:
            if not pin:
                kept = _read_cached(cached)
            if kept is not None:
                log.warning("%s; using the cached copy", exc)
                _check_pin(spec, kept, pin)
                return Fetched(kept, spec, f"{url} (cached copy)")
            raise PolicyError(f"{exc}, and there is no cached copy") from None
        _check_pin(spec, data, pin)
        try:
            _write_atomic(cached, data)
        except OSError as exc:
            log.warning("cannot cache %s in %s: %s", url, cached.parent, exc.strerror or exc)
        return Fetched(data, spec, url)

    def _download(self, url: str) -> bytes:
        """The body at `url`: at most MAX_POLICY_SIZE bytes (decompressed), within `timeout`
        seconds in all. requests' own timeout bounds each socket read only, so a server that
        drips a byte at a time, or streams without end, would hold the check forever; the
        download runs on a worker thread, abandoned (it is a daemon) when the time is up."""
        box: dict[str, bytes | BaseException] = {}
        worker = threading.Thread(target=self._fetch_into, args=(url, box), daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise PolicyError(f"cannot fetch {url}: timed out after {self.timeout:.0f} s")
        result = box["result"]
        if isinstance(result, BaseException):
            raise result  # a PolicyError, or a bug: raised here as it would have been
        return result

    def _fetch_into(self, url: str, box: dict[str, bytes | BaseException]) -> None:
        try:
            box["result"] = self._fetch(url)
        except BaseException as exc:
            box["result"] = exc

    def _fetch(self, url: str) -> bytes:
        import requests
        import urllib3

        verify: str | bool = (
            self.environ.get("REQUESTS_CA_BUNDLE") or self.environ.get("CURL_CA_BUNDLE") or True
        )
        session = requests.Session()
        session.trust_env = False
        try:
            with session.get(url, timeout=self.timeout, verify=verify, stream=True) as response:
                if response.status_code != 200:
                    raise PolicyError(f"cannot fetch {url}: HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(chunk_size=64 << 10):
                    body += chunk
                    if len(body) > MAX_POLICY_SIZE:  # also caps a gzip-encoded body's expansion
                        raise PolicyError(f"{url}: {_TOO_LARGE}")
                return bytes(body)
        except requests.exceptions.SSLError as exc:
            raise PolicyError(f"cannot fetch {url}: TLS certificate not trusted ({_short(exc)})") from None
        except requests.exceptions.Timeout:
            raise PolicyError(f"cannot fetch {url}: timed out after {self.timeout:.0f} s") from None
        except requests.exceptions.ConnectionError as exc:
            # after a redirect, the host that failed is the one redirected to
            failed = getattr(getattr(exc, "request", None), "url", None) or url
            raise PolicyError(f"cannot fetch {url}: cannot connect to {urlsplit(failed).netloc}") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
            # (urllib3 and idna refuse some URLs with their own errors: a host label of 64 letters)
            raise PolicyError(f"cannot fetch {url}: {_short(exc)}") from None
        finally:
            session.close()

    # ------------------------------------------------------------------ git

    def _git(self, spec: GitSpec) -> Fetched:
        key = hashlib.sha256(f"{spec.url}@{spec.ref}".encode()).hexdigest()[:32]
        checkout = self.cache_dir / "git" / key
        immutable = bool(_COMMIT.match(spec.ref))
        if not (immutable and checkout.is_dir()):
            try:
                self._clone(spec, checkout)
            except PolicyError as exc:
                if not checkout.is_dir():
                    raise PolicyError(f"{exc}, and there is no cached copy") from None
                log.warning("%s; using the cached copy", exc)
                return self._read(spec, checkout, cached=True)
        return self._read(spec, checkout, cached=False)

    def _read(self, spec: GitSpec, checkout: Path, *, cached: bool) -> Fetched:
        target = (checkout / spec.path).resolve()
        if not target.is_relative_to(checkout.resolve()) or not target.is_file():
            raise PolicyError(f"{spec}: no file {spec.path!r} in the repository at {spec.ref or 'HEAD'}")
        commit = self._run(["git", "-C", str(checkout), "rev-parse", "HEAD"], str(spec)).strip()
        note = " (cached copy)" if cached else ""
        return Fetched(
            read_policy_file(target, str(spec)),
            str(spec),
            f"{spec.url}@{spec.ref or 'HEAD'} ({commit[:12]}){note}",
        )

    def _clone(self, spec: GitSpec, checkout: Path) -> None:
        try:
            checkout.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=checkout.parent))
        except OSError as exc:
            raise self._unusable_cache(spec, exc) from None
        try:
            if _COMMIT.match(spec.ref):
                self._run(["git", "init", "--quiet", str(tmp)], str(spec))
                try:
                    self._run(
                        ["git", "-C", str(tmp), "fetch", "--quiet", "--depth", "1", spec.url, spec.ref],
                        str(spec),
                    )
                except PolicyError:  # servers that refuse fetching a commit by id: fetch everything
                    self._run(["git", "-C", str(tmp), "fetch", "--quiet", spec.url], str(spec))
                self._run(["git", "-C", str(tmp), "checkout", "--quiet", spec.ref], str(spec))
            else:
                branch = ["--branch", spec.ref] if spec.ref else []
                self._run(
                    [
                        "git",
                        "clone",
                        "--quiet",
                        "--depth",
                        "1",
                        "--single-branch",
                        *branch,
                        spec.url,
                        str(tmp),
                    ],
                    str(spec),
                )
            try:
                if checkout.exists():
                    shutil.rmtree(checkout)
                os.replace(tmp, checkout)
            except OSError as exc:
                raise self._unusable_cache(spec, exc) from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _unusable_cache(self, spec: GitSpec, exc: OSError) -> PolicyError:
        return PolicyError(f"{spec}: cannot use the policy cache {self.cache_dir}: {exc.strerror or exc}")

    def _run(self, args: list[str], what: str) -> str:
        env = {**self.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=env,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise PolicyError(f"{what}: git is not installed") from None
        except subprocess.TimeoutExpired:
            raise PolicyError(f"cannot fetch {what}: git timed out after {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or ["no output"]
            fatal = next((line for line in lines if line.startswith("fatal: ")), lines[-1])
            raise PolicyError(f"cannot fetch {what}: {fatal.removeprefix('fatal: ')}")
        return proc.stdout


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("GATEKEEPER_CACHE_DIR"):
        return Path(environ["GATEKEEPER_CACHE_DIR"]) / "policies"
    base = environ.get("XDG_CACHE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "gatekeeper" / "policies"


_TOO_LARGE = "a policy file larger than 4 MiB is not plausible"


def read_policy_file(path: Path, what: str) -> bytes:
    """A policy file's bytes, reading at most MAX_POLICY_SIZE + 1 (`/dev/zero` ends, too).

    Raises PolicyError for a larger file, OSError when it cannot be read.
    """
    with path.open("rb") as handle:
        data = handle.read(MAX_POLICY_SIZE + 1)
    if len(data) > MAX_POLICY_SIZE:
        raise PolicyError(f"{what}: {_TOO_LARGE}")
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_pin(spec: str, data: bytes, pin: str) -> None:
    if pin and _sha256(data) != pin:
        raise PolicyError(f"{spec}: content hashes to sha256:{_sha256(data)}, but the pin says sha256:{pin}")


def _write_atomic(path: Path, data: bytes) -> None:
    """The whole file or nothing: a temp file next to it, then rename (removed on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # no half-written file left in the cache
        raise


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."
