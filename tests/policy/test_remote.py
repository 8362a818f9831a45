"""Policies from real git repositories (git daemon, git+file://) and HTTP(S) servers on loopback."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatekeeper import cli
from gatekeeper.errors import ExitCode, PolicyError
from gatekeeper.findings import Severity
from gatekeeper.policy import loader, remote
from gatekeeper.policy.loader import load_policy
from gatekeeper.policy.remote import Fetcher, parse_git
from gatekeeper.rules import all_rules
from tests.policy.conftest import BASE_V1, BASE_V2, PolicyRepo, Server, Tls, git

RULES = all_rules()


def fetcher(tmp_path: Path, timeout: float = 20, **environ: str) -> Fetcher:
    return Fetcher(
        tmp_path / "cache", {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **environ}, timeout=timeout
    )


def team(tmp_path: Path, extends: str, body: str = "", name: str = "team.yaml") -> str:
    path = tmp_path / name
    path.write_text(f"version: 1\nextends: [{extends!r}]\n{body}")
    return str(path)


def test_git_file_tags(tmp_path: Path, policy_repo: PolicyRepo) -> None:
    v1 = load_policy(
        [team(tmp_path, f"{policy_repo.file_url}@v1#base.yaml")], RULES, fetcher=fetcher(tmp_path)
    )
    v2 = load_policy(
        [team(tmp_path, f"{policy_repo.file_url}@v2#base.yaml")], RULES, fetcher=fetcher(tmp_path)
    )
    assert (v1.fail_on, v2.fail_on) == (Severity.HIGH, Severity.MEDIUM)
    remote = v1.sources[1]
    assert remote.origin == f"{policy_repo.file_url}@v1#base.yaml"
    assert remote.digest == "sha256:" + hashlib.sha256(BASE_V1.encode()).hexdigest()
    assert remote.resolved.endswith(f"@v1 ({policy_repo.v1_commit[:12]})")
    assert [s.origin for s in v1.sources] == ["builtin:default", remote.origin, str(tmp_path / "team.yaml")]


def test_git_daemon_branch_commit_and_relative_extends(
    tmp_path: Path, policy_repo: PolicyRepo, git_daemon: str
) -> None:
    url = f"git+{git_daemon}policies.git"
    on_main = load_policy([team(tmp_path, f"{url}@main#base.yaml")], RULES, fetcher=fetcher(tmp_path))
    assert on_main.fail_on is Severity.MEDIUM
    pinned = load_policy(
        [team(tmp_path, f"{url}@{policy_repo.v1_commit}#base.yaml")], RULES, fetcher=fetcher(tmp_path)
    )
    assert pinned.fail_on is Severity.HIGH
    prod = load_policy([team(tmp_path, f"{url}@v1#envs/prod.yaml")], RULES, fetcher=fetcher(tmp_path))
    assert [s.origin for s in prod.sources][1:3] == [f"{url}@v1#base.yaml", f"{url}@v1#envs/prod.yaml"]
    assert prod.rules["GK-IMG-003"].options == {"max": "100MB"}


def test_git_head_without_ref(tmp_path: Path, policy_repo: PolicyRepo) -> None:
    policy = load_policy(
        [team(tmp_path, f"{policy_repo.file_url}#base.yaml")], RULES, fetcher=fetcher(tmp_path)
    )
    assert policy.fail_on is Severity.MEDIUM


def test_git_errors(tmp_path: Path, policy_repo: PolicyRepo) -> None:
    with pytest.raises(PolicyError, match=r"no file 'nope\.yaml' in the repository at v1"):
        load_policy(
            [team(tmp_path, f"{policy_repo.file_url}@v1#nope.yaml")], RULES, fetcher=fetcher(tmp_path)
        )
    with pytest.raises(PolicyError, match=r"cannot fetch .*@v9.*and there is no cached copy"):
        load_policy(
            [team(tmp_path, f"{policy_repo.file_url}@v9#base.yaml")], RULES, fetcher=fetcher(tmp_path)
        )
    with pytest.raises(PolicyError, match="needs #path"):
        parse_git(f"{policy_repo.file_url}@v1")
    with pytest.raises(PolicyError, match="needs #path"):
        parse_git(f"{policy_repo.file_url}@v1#../etc/passwd")


def test_git_offline_uses_cache(
    tmp_path: Path, policy_repo: PolicyRepo, caplog: pytest.LogCaptureFixture
) -> None:
    spec = team(tmp_path, f"{policy_repo.file_url}@v1#base.yaml")
    load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    moved = policy_repo.bare.with_name("moved.git")
    policy_repo.bare.rename(moved)
    try:
        with caplog.at_level(logging.WARNING, logger="gatekeeper"):
            policy = load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    finally:
        moved.rename(policy_repo.bare)
    assert policy.fail_on is Severity.HIGH
    assert policy.sources[1].resolved.endswith("(cached copy)")
    assert "using the cached copy" in caplog.text


def test_parse_git_ssh_user() -> None:
    spec = parse_git("git+ssh://git@git.example.com/platform/policies.git@v3#prod.yaml")
    assert (spec.url, spec.ref, spec.path) == (
        "ssh://git@git.example.com/platform/policies.git",
        "v3",
        "prod.yaml",
    )
    bare = parse_git("git+ssh://git@git.example.com/platform/policies.git#prod.yaml")
    assert (bare.url, bare.ref) == ("ssh://git@git.example.com/platform/policies.git", "")


def test_https_with_ca_bundle_and_pin(tmp_path: Path, https_server: Server, tls: Tls) -> None:
    (https_server.root / "org.yaml").write_text(BASE_V1)
    digest = hashlib.sha256(BASE_V1.encode()).hexdigest()
    f = fetcher(tmp_path, REQUESTS_CA_BUNDLE=str(tls.ca))
    policy = load_policy([team(tmp_path, f"{https_server.url}org.yaml#sha256={digest}")], RULES, fetcher=f)
    assert policy.fail_on is Severity.HIGH
    with pytest.raises(PolicyError, match="but the pin says sha256:" + "0" * 64):
        load_policy(
            [team(tmp_path, f"{https_server.url}org.yaml#sha256={'0' * 64}")],
            RULES,
            fetcher=fetcher(tmp_path / "x", REQUESTS_CA_BUNDLE=str(tls.ca)),
        )


def test_https_untrusted_certificate(tmp_path: Path, https_server: Server) -> None:
    (https_server.root / "org.yaml").write_text(BASE_V1)
    with pytest.raises(PolicyError, match="TLS certificate not trusted"):
        load_policy([team(tmp_path, f"{https_server.url}org.yaml")], RULES, fetcher=fetcher(tmp_path))


def test_http_loopback_relative_404_and_offline(
    tmp_path: Path, http_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    (http_server.root / "org").mkdir()
    (http_server.root / "org" / "base.yaml").write_text(BASE_V2)
    (http_server.root / "org" / "prod.yaml").write_text("version: 1\nextends: [base.yaml]\nfail_on: low\n")
    spec = team(tmp_path, f"{http_server.url}org/prod.yaml")
    policy = load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    assert policy.fail_on is Severity.LOW
    assert policy.sources[1].origin == f"{http_server.url}org/base.yaml"
    with pytest.raises(PolicyError, match="HTTP 404"):
        load_policy(
            [team(tmp_path, f"{http_server.url}missing.yaml", name="m.yaml")],
            RULES,
            fetcher=fetcher(tmp_path),
        )
    http_server.stop()
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        cached = load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    assert cached.fail_on is Severity.LOW and "using the cached copy" in caplog.text
    with pytest.raises(PolicyError, match="and there is no cached copy"):
        load_policy([spec], RULES, fetcher=fetcher(tmp_path / "empty"))


def test_pinned_cached_copy_needs_no_network(tmp_path: Path, http_server: Server) -> None:
    (http_server.root / "org.yaml").write_text(BASE_V1)
    digest = hashlib.sha256(BASE_V1.encode()).hexdigest()
    spec = team(tmp_path, f"{http_server.url}org.yaml#sha256={digest}")
    load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    http_server.stop()
    policy = load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    assert policy.sources[1].resolved.endswith("(cached, pinned)")


def test_plain_http_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="fetched over https only"):
        load_policy(
            [team(tmp_path, "http://policies.example.com/org.yaml")], RULES, fetcher=fetcher(tmp_path)
        )


def test_remote_policy_validated_with_its_origin(tmp_path: Path, http_server: Server) -> None:
    (http_server.root / "bad.yaml").write_text("version: 1\nrules:\n  runs-as-rot: {}\n")
    with pytest.raises(
        PolicyError, match=rf"^{http_server.url}bad.yaml:3:3: rules.runs-as-rot: unknown rule"
    ):
        load_policy([team(tmp_path, f"{http_server.url}bad.yaml")], RULES, fetcher=fetcher(tmp_path))


def test_git_policy_cache_that_is_a_file_is_a_policy_error(
    tmp_path: Path, policy_repo: PolicyRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a directory\n")
    spec = f"{policy_repo.file_url}@v1#base.yaml"
    policy = team(tmp_path, spec)
    assert cli.main(["policy", "validate", policy, "--policy-cache", str(blocker)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == (
        f"gatekeeper: error: {spec}: cannot use the policy cache {blocker}: Not a directory, "
        "and there is no cached copy\n"
    )


def test_git_clone_that_cannot_be_put_in_the_cache(
    tmp_path: Path, policy_repo: PolicyRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("gatekeeper.policy.remote.os.replace", refuse)
    with pytest.raises(PolicyError) as info:
        load_policy([f"{policy_repo.file_url}@v1#base.yaml"], RULES, fetcher=fetcher(tmp_path))
    assert str(info.value) == (
        f"{policy_repo.file_url}@v1#base.yaml: cannot use the policy cache {tmp_path / 'cache'}: "
        "Permission denied, and there is no cached copy"
    )
    assert [p.name for p in (tmp_path / "cache" / "git").iterdir()] == []  # the clone was removed


def test_https_cache_write_failure_leaves_no_temp_file(
    tmp_path: Path, http_server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (http_server.root / "org.yaml").write_text(BASE_V1)

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gatekeeper.policy.remote.os.replace", full)
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        policy = load_policy([team(tmp_path, f"{http_server.url}org.yaml")], RULES, fetcher=fetcher(tmp_path))
    assert policy.fail_on is Severity.HIGH
    assert f"cannot cache {http_server.url}org.yaml in " in caplog.text
    assert "No space left on device" in caplog.text
    assert list((tmp_path / "cache" / "https").iterdir()) == []


def test_git_policy_file_larger_than_4_mib(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    with (work / "big.yaml").open("wb") as handle:
        handle.truncate((4 << 20) + 1)
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "big", cwd=work)
    spec = f"git+file://{work}@main#big.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy([spec], RULES, fetcher=fetcher(tmp_path))
    assert str(info.value) == f"{spec}: a policy file larger than 4 MiB is not plausible"


def test_profile_pass_reads_and_fetches_each_policy_once(
    tmp_path: Path, policy_repo: PolicyRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote_spec = f"{policy_repo.file_url}@v1#base.yaml"
    profiles = "profiles:\n  prod:\n    match: ['registry.example.com/app:*']\n    fail_on: critical\n"
    local = team(tmp_path, remote_spec, profiles)
    sibling = tmp_path / "other.yaml"
    sibling.write_text(f"version: 1\nextends: [{remote_spec!r}, team.yaml]\n")  # the git file twice
    fetched: list[str] = []
    read: list[str] = []
    validated: list[str] = []
    real_fetch = Fetcher.fetch
    real_read = remote.read_policy_file
    real_validate = loader._validate

    def count_fetch(self: Fetcher, spec: str) -> remote.Fetched:
        fetched.append(spec)
        return real_fetch(self, spec)

    def count_read(path: Path, what: str) -> bytes:
        read.append(what)
        return real_read(path, what)

    def count_validate(doc: Any) -> None:
        validated.append(doc.origin)
        real_validate(doc)

    monkeypatch.setattr(Fetcher, "fetch", count_fetch)
    monkeypatch.setattr("gatekeeper.policy.loader.read_policy_file", count_read)
    monkeypatch.setattr(loader, "_validate", count_validate)
    policy = load_policy(
        [str(sibling)], RULES, image_names=["registry.example.com/app:1.2"], fetcher=fetcher(tmp_path)
    )
    assert (policy.profile, policy.fail_on) == ("prod", Severity.CRITICAL)
    assert fetched == [remote_spec]
    assert read == [str(sibling), local]
    assert sorted(validated) == sorted([remote_spec, local, str(sibling)])  # built-ins are trusted


def test_policy_schema_validator_is_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = jsonschema.Draft7Validator

    def counting(schema: Any) -> jsonschema.Draft7Validator:
        built.append(schema)
        return real(schema)

    loader._validator.cache_clear()
    monkeypatch.setattr(jsonschema, "Draft7Validator", counting)
    try:
        for _ in range(2):
            load_policy([team(tmp_path, "builtin:strict")], RULES, fetcher=fetcher(tmp_path))
    finally:
        loader._validator.cache_clear()
    assert len(built) == 1


def pinned_and_cached(tmp_path: Path, http_server: Server) -> tuple[str, Path]:
    """A team policy extending a pinned https policy, loaded once: (its path, the cached copy)."""
    (http_server.root / "org.yaml").write_text(BASE_V1)
    digest = hashlib.sha256(BASE_V1.encode()).hexdigest()
    pinned = team(tmp_path, f"{http_server.url}org.yaml#sha256={digest}")
    load_policy([pinned], RULES, fetcher=fetcher(tmp_path))
    (cached,) = (tmp_path / "cache" / "https").iterdir()
    return pinned, cached


def test_https_cache_that_cannot_be_read(
    tmp_path: Path, http_server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A cache shared between users with the wrong permissions (as root, modes cannot make a read
    # fail, so the read is refused here): fetched anew while the server answers, a policy error
    # (exit 2, not a traceback) when it does not.
    pinned, cached = pinned_and_cached(tmp_path, http_server)
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == cached:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        policy = load_policy([pinned], RULES, fetcher=fetcher(tmp_path))
    assert policy.sources[1].resolved == f"{http_server.url}org.yaml"  # not "(cached, pinned)"
    assert f"cannot read the cached copy {cached}: Permission denied" in caplog.text
    http_server.stop()
    cache = str(tmp_path / "cache")
    assert cli.main(["policy", "validate", pinned, "--policy-cache", cache]) == ExitCode.USAGE
    with pytest.raises(PolicyError, match=r"and there is no cached copy$"):
        load_policy([pinned], RULES, fetcher=fetcher(tmp_path))


def test_https_cache_that_is_not_a_policy(
    tmp_path: Path, http_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # The cached copy was read whole: a link to /dev/zero in a shared cache ran out of memory.
    pinned, cached = pinned_and_cached(tmp_path, http_server)
    cached.unlink()
    cached.symlink_to("/dev/zero")
    http_server.stop()
    with (
        caplog.at_level(logging.WARNING, logger="gatekeeper"),
        pytest.raises(PolicyError, match=r"and there is no cached copy$"),
    ):
        load_policy([pinned], RULES, fetcher=fetcher(tmp_path))
    assert "larger than 4 MiB" in caplog.text


def test_a_url_that_urllib3_refuses(tmp_path: Path) -> None:
    # urllib3 refuses a host label of 64 letters with its own ValueError: it escaped (exit 4).
    url = "https://" + "a" * 64 + ".com/org.yaml"
    with pytest.raises(PolicyError, match=r"^cannot fetch https://a{64}\.com/org\.yaml: .*no cached copy$"):
        load_policy([team(tmp_path, url)], RULES, fetcher=fetcher(tmp_path))


class _Hostile(http.server.BaseHTTPRequestHandler):
    """/endless: a chunked body without end; /drip: a byte every 50 ms, for ever; /bomb: 64 MiB
    of gzip-encoded zeros in 64 KiB on the wire."""

    BOMB = gzip.compress(b"\0" * (64 << 20))

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        try:
            if self.path == "/elsewhere":  # to a loopback port where nothing listens
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/org.yaml")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/bomb":
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(self.BOMB)))
                self.end_headers()
                self.wfile.write(self.BOMB)
                return
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"#" * (64 << 10) if self.path == "/endless" else b"#"
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                if self.path == "/drip":
                    time.sleep(0.05)
        except OSError:  # the client gave up
            pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        # requests read the whole body into memory before the 4 MiB check: 13 GB here
        ("/endless", "/endless: a policy file larger than 4 MiB is not plausible"),
        ("/bomb", "/bomb: a policy file larger than 4 MiB is not plausible"),
        # each read came within requests' timeout, so the download never ended
        ("/drip", "cannot fetch {url}/drip: timed out after 2 s"),
    ],
)
def test_hostile_policy_servers_are_bounded(tmp_path: Path, hostile: str, path: str, message: str) -> None:
    slow = fetcher(tmp_path, timeout=2)
    started = time.monotonic()
    with pytest.raises(PolicyError) as info:
        slow.fetch(hostile + path)
    assert str(info.value).endswith(message.format(url=hostile) + ", and there is no cached copy")
    assert time.monotonic() - started < 10


def test_check_timeout_applies_to_remote_policies(tmp_path: Path, hostile: str) -> None:
    from gatekeeper import api
    from gatekeeper.sources import SourceOptions

    options = SourceOptions(timeout=1.0, environ={"HOME": str(tmp_path)})
    started = time.monotonic()
    with pytest.raises(PolicyError, match=r"/drip: timed out after 1 s, and there is no cached copy$"):
        api.check(None, policies=[f"{hostile}/drip"], options=options, policy_cache=str(tmp_path / "cache"))
    assert time.monotonic() - started < 5  # --timeout, not the 60 s default


def test_a_redirect_to_a_dead_host_names_that_host(tmp_path: Path, hostile: str) -> None:
    # it named the host first asked, which had answered (found by fuzzing)
    with pytest.raises(
        PolicyError, match=r"/elsewhere: cannot connect to 127\.0\.0\.1:9, and there is no cached"
    ):
        fetcher(tmp_path, timeout=5).fetch(f"{hostile}/elsewhere")
