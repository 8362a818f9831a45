"""Image runs as root.

A process running as UID 0 in the container is UID 0 on the host kernel: a container escape or a
writable host mount becomes a root compromise. The image must name a non-root user that exists.

Why: the article's checklist item "Non-root user specified" and its pitfall "Running as root:
don't leave the default user". Docker runs as root unless the image says otherwise.

How to fix: create an unprivileged user and switch to it as the last user instruction of the final
stage, preferably by number so Kubernetes `runAsNonRoot` can verify it:

    RUN useradd --uid 10001 --no-create-home app
    USER 10001:10001

Fails: no USER (root by default), `root`, `0`, `0:0`, `root:app`; a user name that resolves to UID 0
in the image's /etc/passwd; a UID below `min_uid`. A user name that does not exist in the image's
/etc/passwd, or a group name (`USER app:web`) that is not in /etc/group, is its own finding:
the container would not start.

The runtime wins over the image: when every compose service / Kubernetes container that runs this
image sets its own user (`user:`, `runAsUser`), those are judged instead of the image default. A
Kubernetes container with `runAsNonRoot: true` but no `runAsUser` needs a numeric image USER, or
the kubelet refuses to start it. Without an image, the last USER of the Dockerfile's final stage
is judged.
Passes: `10001`, `10001:10001`, `app` when /etc/passwd maps it to a non-zero UID.

With --run: the UID of the container's main process, as the engine's process list (`docker top`)
shows it while the container runs with its production settings, is judged too: UID 0 (or one
below `min_uid`) fails (detail `run:root`, `run:min-uid`), whatever the image or the runtime
config claim; otherwise it is evidence. An entrypoint that starts as root and drops privileges
(`gosu`, `su-exec`) shows here as the UID it dropped to.

Options:
- `check_passwd` (default true): resolve user names in /etc/passwd (reads the image filesystem).
- `min_uid` (default 1): the lowest acceptable UID (kube-score asks for 10000).
- `require_numeric` (default false): fail a named user, since Kubernetes `runAsNonRoot` can only
  verify numeric UIDs ("image has non-numeric user, cannot verify user is non-root").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gatekeeper.facts import Target
from gatekeeper.facts.accounts import GROUP, PASSWD, parse_group, parse_passwd
from gatekeeper.facts.image import FileIndex
from gatekeeper.facts.needs import ContentWanted, Need, Request
from gatekeeper.findings import IMAGE, Location, Severity, image_location
from gatekeeper.rule import Checklist, Evidence, Item, Rule, Violation
from gatekeeper.units import is_uint

ROOT_NAMES = frozenset({"", "root", "0"})


@dataclass(frozen=True)
class Options:
    check_passwd: bool = True
    min_uid: int = 1
    require_numeric: bool = False


def _default_user(target: Target) -> tuple[str, Location, str]:
    """The user the image runs as by default: image config, else the Dockerfile's final stage."""
    target.require_image_or_dockerfile()
    if target.image is not None:
        return target.image.config.user.strip(), target.config_location("USER", "config.User"), ""
    dockerfile = target.require_dockerfile()
    user = dockerfile.last_in_chain("USER")
    if user is not None:
        return user.args.strip(), target.instruction_location(user), "Dockerfile "
    final = dockerfile.stages[-1]
    return "", Location(dockerfile.path, final.line, "FROM"), "Dockerfile "


def check(target: Target, options: Options) -> Iterator[Item]:
    yield from _static(target, options)
    if target.runtime is not None and target.runtime.attempted:
        yield from _runtime(target, options)


def _runtime(target: Target, options: Options) -> Iterator[Item]:
    """The main process's UID as the engine saw it during --run."""
    runtime = target.runtime
    assert runtime is not None
    if runtime.main_uid is None:
        why = runtime.uid_note or runtime.reason or "not observed"
        yield Evidence(f"--run: the main process UID is unknown: {why}")
        return
    workload = next((w for w in target.image_workloads if w.name == runtime.settings.workload), None)
    where = (
        (workload.user_location or workload.origin)
        if workload is not None and workload.user
        else target.config_location("USER", "config.User")
    )
    if runtime.main_uid == 0:
        yield Violation(
            f"--run: the main process ran as root (UID 0): {runtime.main_process}.", where, detail="run:root"
        )
    elif runtime.main_uid < options.min_uid:
        yield Violation(
            f"--run: the main process ran as UID {runtime.main_uid}, below the minimum {options.min_uid}: "
            f"{runtime.main_process}.",
            where,
            detail="run:min-uid",
        )
    else:
        yield Evidence(f"--run: the main process ran as UID {runtime.main_uid} ({runtime.main_process})")


def _static(target: Target, options: Options) -> Iterator[Item]:
    workloads = [w for w in target.image_workloads if not w.init]
    overridden = bool(workloads) and all(w.user for w in workloads)
    user, where, origin = _default_user(target)
    files = target.image.files if target.image is not None else None
    if overridden:
        yield Evidence(f"the image's default user ({user or 'root'}) is overridden by the runtime")
    else:
        shown = f"{origin}USER {user}" if user else f"{origin}no USER"
        yield from _judge(user, shown, where, "", files, options)
    for workload in workloads:
        if workload.user:
            where = workload.user_location or workload.origin
            shown = f"{workload.name}: user {workload.user}"
            yield from _judge(workload.user, shown, where, workload.name, files, options)
        elif workload.run_as_non_root and not is_uint(user.partition(":")[0]):
            yield Violation(
                f"{workload.name} sets runAsNonRoot without runAsUser, and the image user "
                f"{user or '(none)'!r} is not a numeric UID: the kubelet refuses to start it "
                '("cannot verify user is non-root").',
                workload.origin,
                detail=f"{workload.name}:non-numeric",
            )


def _judge(
    user_spec: str,
    shown: str,
    where: Location,
    origin: str,
    files: FileIndex | None,
    options: Options,
) -> Iterator[Item]:
    """Judge one user spec; `origin` distinguishes the fingerprints of runtime overrides."""
    user, _, group = user_spec.partition(":")
    if user in ROOT_NAMES:
        reason = "no USER is set, so it runs as root" if not user_spec else f"{shown} is root"
        yield Violation(f"The image runs as root: {reason}.", where, detail=f"{origin}root")
        return
    yield from _judge_user(user, group, shown, where, origin, files, options)
    if group and not is_uint(group) and options.check_passwd and files is not None:
        data = files.content(GROUP)
        if data is None or group not in parse_group(data):
            missing = "the image has no /etc/group" if data is None else f"{group!r} is not in /etc/group"
            yield Violation(
                f'{shown}: {missing}; the container would fail to start ("unable to find group {group}").',
                where if where.artifact != IMAGE else image_location(GROUP),
                detail=f"{origin}unknown-group",
            )


def _judge_user(
    user: str,
    group: str,
    shown: str,
    where: Location,
    origin: str,
    files: FileIndex | None,
    options: Options,
) -> Iterator[Item]:
    if is_uint(user):
        uid = int(user)
        if uid < options.min_uid:
            yield Violation(
                f"{shown}: UID {uid} is below the minimum {options.min_uid}.",
                where,
                detail=f"{origin}min-uid",
            )
            return
        yield Evidence(f"{shown}: numeric non-root UID {uid}" + (f", group {group}" if group else ""))
        return
    if options.require_numeric:
        yield Violation(
            f"{shown} is a name; Kubernetes runAsNonRoot can only verify a numeric UID.",
            where,
            detail=f"{origin}non-numeric",
        )
    if not options.check_passwd or files is None:
        yield Evidence(f"{shown}: named user (not resolved: filesystem not read)")
        return
    yield from _resolve(user, shown, where, origin, files, options)


def _resolve(
    user: str, shown: str, where: Location, origin: str, files: FileIndex, options: Options
) -> Iterator[Item]:
    passwd = files.content(PASSWD)
    accounts = parse_passwd(passwd) if passwd is not None else {}
    account = accounts.get(user)
    if account is None:
        missing = "the image has no /etc/passwd" if passwd is None else f"{user!r} is not in /etc/passwd"
        yield Violation(
            f'{shown}: {missing}; the container would fail to start ("unable to find user {user}").',
            where if where.artifact != IMAGE else image_location(PASSWD),
            detail=f"{origin}unknown-user",
        )
        return
    if account.uid == 0:
        yield Violation(f"{shown}: /etc/passwd maps {user!r} to UID 0 (root).", where, detail=f"{origin}root")
        return
    if account.uid < options.min_uid:
        yield Violation(
            f"{shown}: UID {account.uid} is below the minimum {options.min_uid}.",
            where,
            detail=f"{origin}min-uid",
        )
        return
    yield Evidence(f"{shown}: {user!r} is UID {account.uid} in /etc/passwd")


def needs(options: Options) -> Request:
    if not options.check_passwd:
        return Request()
    return Request(Need.CONFIG | Need.FILESYSTEM, ContentWanted(frozenset({PASSWD, GROUP})))


RULE = Rule(
    id="GK-IMG-001",
    name="runs-as-root",
    title="Image runs as root",
    checklist=Checklist.NON_ROOT,
    severity=Severity.HIGH,
    check=check,
    fix="Create a user and end the final stage with `USER 10001:10001` (a non-zero numeric UID).",
    doc=__doc__ or "",
    options=Options,
    needs=needs,
)
