"""Start the image on the local engine, watch it, remove it: the I/O half of `--run`.

One run: inspect the image (never pull), create the container from the plan with the hardened
host config, start it, and observe until the run is decided:

- a service is watched for at least `observe` seconds and until every health check is decided
  (healthy, or its deadline passed), never longer than `timeout`; it must keep running;
- a job is watched until it exits, at most `timeout` seconds.

Meanwhile: the main process's UID from the engine's process list (`docker top`, so the image is
not asked), health checks run through the engine's exec API (inside the container, or inside a
helper container sharing its network namespace for httpGet and tcpSocket probes), the engine's
state (exit code, OOM kill, restarts). At the end: the output (`docker logs`), the files the
container changed (`docker diff`) and its peak memory. Everything the container printed is
redacted before it is kept.

Cleanup is unconditional: a `finally` removes (force, with anonymous volumes) every container
carrying this run's label `gatekeeper.run=<id>`, with Ctrl-C ignored while it does. SIGTERM is
turned into KeyboardInterrupt during the run so CI cancellations clean up too.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from gatekeeper.errors import GatekeeperError, ImageNotFound, SourceError
from gatekeeper.facts.image import ImageFacts
from gatekeeper.facts.runtime import FileChange, HealthResult, HealthStatus, ProbeAttempt, RuntimeFacts
from gatekeeper.facts.workload import Workload
from gatekeeper.runtime import LOCAL_TRANSPORTS, RunOptions, not_local
from gatekeeper.runtime.plan import ContainerPlan, ProbePlan, plan_run
from gatekeeper.sources import ImageRef, SourceOptions
from gatekeeper.text import shorten
from gatekeeper.units import is_uint

log = logging.getLogger("gatekeeper")

LABEL = "gatekeeper.run"
ROLE_LABEL = "gatekeeper.role"
HELPER_MEMORY = 32 << 20
HELPER_PIDS = 32
LOG_MAX_SIZE = "1m"
"""json-file log cap of the container: what a chatty app can write to the host's disk."""
SAMPLE_LINES = 20
LINE_WIDTH = 200
HEALTH_LOG = 5
"""Attempts kept per health check (the engine keeps 5 too)."""
MAX_CHANGES = 500
TICK = 0.25
UID_TRIES = 8
"""Process-list attempts: right after start the list can still be empty."""
NOTICE = "--run starts {image} on the local engine and runs its code (no network, all capabilities dropped)"


def _pause(seconds: float) -> None:
    """The observation loop's sleep (tests replace it to interrupt a run)."""
    time.sleep(seconds)


def run_image(
    ref: ImageRef,
    image: ImageFacts | None,
    workload: Workload | None,
    options: RunOptions,
    source: SourceOptions,
    notify: Callable[[str], None] | None = None,
) -> RuntimeFacts:
    """Run the image once with the workload's settings (or the policy's) and report what it did."""
    plan = plan_run(image, workload, options, str(ref))
    if ref.transport not in LOCAL_TRANSPORTS:
        return RuntimeFacts(plan.settings, started=False, attempted=False, reason=not_local(ref))
    from gatekeeper.sources.daemon import _client, _Errors

    client = _client(source)
    errors = _Errors(ref.target, source)
    try:
        return _Run(client, errors, plan, options, notify).execute(ref.target)
    finally:
        with contextlib.suppress(Exception):
            client.close()


# ---------------------------------------------------------------- signals


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the container runs, so the `finally` cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _shielded() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM are held back while containers are removed (then raised once)."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------- one health check


@dataclass
class _ProbeState:
    plan: ProbePlan
    status: HealthStatus | None = None
    next_at: float = 0.0
    attempts: int = 0
    healthy_after: float | None = None
    log: list[ProbeAttempt] = field(default_factory=list)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.plan.error:
            self.status, self.reason = HealthStatus.ERROR, self.plan.error

    @property
    def decided(self) -> bool:
        return self.status is not None

    def result(self) -> HealthResult:
        return HealthResult(
            name=self.plan.name,
            handler=self.plan.handler,
            command=self.plan.shown,
            status=self.status or HealthStatus.UNDECIDED,
            deadline=self.plan.deadline,
            rule_text=self.plan.rule_text,
            healthy_after=self.healthy_after,
            attempts=self.attempts,
            log=tuple(self.log[-HEALTH_LOG:]),
            reason=self.reason,
            origin=self.plan.origin,
        )


def _state_of(inspect: dict[str, Any]) -> dict[str, Any]:
    state = inspect.get("State")
    return state if isinstance(state, dict) else {}


def _api_error(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return shorten(str(explanation or exc) or type(exc).__name__, 300)


# ---------------------------------------------------------------- the run


@dataclass
class _Observed:
    state: dict[str, Any] = field(default_factory=dict)
    """The engine's last `State`."""
    exited_after: float | None = None
    timed_out: bool = False
    main_uid: int | None = None
    main_process: str = ""
    uid_note: str = ""


class _Run:
    def __init__(
        self,
        client: Any,
        errors: Any,
        plan: ContainerPlan,
        options: RunOptions,
        notify: Callable[[str], None] | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.api = client.api
        self.errors = errors
        self.plan = plan
        self.options = options
        self.notify = notify
        self.clock = clock
        self.run_id = uuid.uuid4().hex
        self.labels = {LABEL: self.run_id}
        self.container_id = ""
        self.helper_id = ""
        self.helper_error = ""
        self.notes: list[str] = list(plan.notes)

    # -- entry point

    def execute(self, name: str) -> RuntimeFacts:
        image_id = self._image_id(name)
        self.plan = replace(self.plan, settings=replace(self.plan.settings, image_id=image_id))
        helper_image = self._helper_image(image_id)
        if self.notify is not None:
            self.notify(NOTICE.format(image=name))
        with _sigterm_interrupts():
            try:
                return self._run(image_id, helper_image)
            finally:
                self.cleanup()

    def _image_id(self, name: str) -> str:
        try:
            inspect: dict[str, Any] = self.api.inspect_image(name)
        except Exception as exc:
            error = self.errors.translate(exc, "inspect the image")
            if isinstance(error, ImageNotFound):
                raise ImageNotFound(
                    f"{name}: no such image in the local Docker engine (--run never pulls)"
                ) from None
            raise error from None
        return str(inspect.get("Id") or name)

    def _helper_image(self, image_id: str) -> str:
        """The image the httpGet/tcpSocket helper runs: `probe_image` if present, else the image itself."""
        if not any(p.in_helper and not p.error for p in self.plan.probes):
            return ""
        wanted = self.options.probe_image
        if not wanted:
            return image_id
        try:
            self.api.inspect_image(wanted)
        except Exception as exc:
            self.helper_error = (
                f"the probe helper image {wanted} is not in the local engine (--run never pulls): "
                f"{_api_error(exc)}"
            )
            return ""
        return wanted

    # -- create, start, observe

    def _host_config(self, memory: int | None, cpus: float | None, pids: int, **extra: Any) -> Any:
        return self.api.create_host_config(
            network_mode=extra.pop("network_mode", "none"),
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=pids or None,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(cpus * 1e9) if cpus else None,
            privileged=False,
            publish_all_ports=False,
            **extra,
        )

    def _create_target(self, image_id: str) -> str:
        settings = self.plan.settings
        host_config = self._host_config(
            settings.memory,
            settings.cpus,
            settings.pids,
            log_config={"type": "json-file", "config": {"max-size": LOG_MAX_SIZE, "max-file": "1"}},
            restart_policy={"Name": "no"},
        )
        created = self.api.create_container(
            image_id,
            command=list(self.plan.command) if self.plan.command is not None else None,
            entrypoint=list(self.plan.entrypoint) if self.plan.entrypoint is not None else None,
            user=self.plan.user or "",
            environment=list(self.plan.env),
            labels={**self.labels, ROLE_LABEL: "target"},
            host_config=host_config,
            healthcheck={"test": ["NONE"]},  # gatekeeper runs the checks itself, on its own clock
            detach=True,
        )
        return str(created["Id"])

    def _engine_error(self, exc: BaseException, doing: str) -> GatekeeperError:
        """Engine failures during the run; a container that vanished is not a missing image."""
        import docker.errors

        if isinstance(exc, docker.errors.NotFound):
            return SourceError(
                f"{self.errors.name}: the container disappeared while gatekeeper tried to {doing}"
            )
        error: GatekeeperError = self.errors.translate(exc, doing)
        return error

    def _not_started(self, reason: str, duration: float = 0.0) -> RuntimeFacts:
        # The engine's error may quote the command or environment: mask it like the logs.
        return RuntimeFacts(
            self.plan.settings,
            started=False,
            reason=self.plan.redact(reason),
            duration=duration,
            notes=tuple(self.notes),
        )

    def _run(self, image_id: str, helper_image: str) -> RuntimeFacts:
        import docker.errors

        try:
            self.container_id = self._create_target(image_id)
        except docker.errors.APIError as exc:
            return self._not_started(f"the engine refused to create the container: {_api_error(exc)}")
        except Exception as exc:
            raise self._engine_error(exc, "create the container") from None
        try:
            self.api.start(self.container_id)
        except docker.errors.APIError as exc:
            return self._not_started(f"the engine could not start the container: {_api_error(exc)}")
        except Exception as exc:
            raise self._engine_error(exc, "start the container") from None
        started = self.clock()
        probes = [_ProbeState(p) for p in self.plan.probes]
        if helper_image:
            self._start_helper(helper_image)
        for probe in probes:
            if probe.plan.in_helper and not probe.decided and not self.helper_id:
                probe.status = HealthStatus.ERROR
                probe.reason = self.helper_error or "no helper container to run the probe in"
        observed = self._observe(started, probes)
        return self._collect(started, probes, observed)

    def _start_helper(self, image: str) -> None:
        """A container in the target's network namespace, idle until probes exec into it."""
        import docker.errors

        host_config = self._host_config(
            HELPER_MEMORY,
            0.5,
            HELPER_PIDS,
            network_mode=f"container:{self.container_id}",
            read_only=True,
            log_config={"type": "none", "config": {}},
        )
        try:
            created = self.api.create_container(
                image,
                entrypoint=["sleep"],
                command=[str(int(self.plan.settings.timeout) + 60)],
                user="65534:65534",
                labels={**self.labels, ROLE_LABEL: "probe-helper"},
                host_config=host_config,
                healthcheck={"test": ["NONE"]},
                detach=True,
            )
            self.helper_id = str(created["Id"])
            self.api.start(self.helper_id)
        except docker.errors.APIError as exc:
            self.helper_id = ""
            self.helper_error = f"the probe helper ({image}) could not start: {_api_error(exc)}"

    def _observe(self, started: float, probes: list[_ProbeState]) -> _Observed:
        settings = self.plan.settings
        observed = _Observed()
        tries = 0
        while True:
            now = self.clock() - started
            state = observed.state = self._state()
            running = state.get("Running") is True
            if running and observed.main_uid is None and tries < UID_TRIES:
                tries += 1
                observed.main_uid, observed.main_process, observed.uid_note = self._main_process(state)
            if not running and observed.exited_after is None:
                observed.exited_after = now
            if running:
                self._probe(probes, now, started, settings.timeout - now)
            self._decide(probes, self.clock() - started, None if running else state, observed.exited_after)
            now = self.clock() - started
            if settings.job and running and now >= settings.timeout:
                observed.timed_out = True
            if not running or now >= settings.timeout or observed.timed_out:
                break
            if not settings.job and now >= settings.observe and all(p.decided for p in probes):
                break
            wait = min([TICK, *(max(0.0, p.next_at - now) for p in probes if not p.decided)])
            _pause(max(0.05, wait))
        if observed.main_uid is None and not observed.uid_note:
            observed.uid_note = "the main process exited before the engine could list it"
        return observed

    def _inspect(self) -> dict[str, Any]:
        try:
            inspect = self.api.inspect_container(self.container_id)
        except Exception as exc:
            raise self._engine_error(exc, "inspect the container") from None
        return inspect if isinstance(inspect, dict) else {}

    def _state(self) -> dict[str, Any]:
        return _state_of(self._inspect())

    def _main_process(self, state: dict[str, Any]) -> tuple[int | None, str, str]:
        """(UID, description, note) of the container's main process, from `docker top`."""
        try:
            top = self.api.top(self.container_id, ps_args="-o pid,uid,args")
        except Exception as exc:
            return None, "", f"the engine could not list the processes: {_api_error(exc)}"
        titles = [str(t).upper() for t in top.get("Titles") or ()]
        rows = [list(map(str, r)) for r in top.get("Processes") or ()]
        if "PID" not in titles or "UID" not in titles or not rows:
            return None, "", "the engine's process list has no PID and UID columns"
        pid_at, uid_at = titles.index("PID"), titles.index("UID")
        main_pid = str(state.get("Pid") or "")
        row = next((r for r in rows if r[pid_at] == main_pid), rows[0])
        command = row[-1] if len(row) > max(pid_at, uid_at) + 1 else ""
        uid_text = row[uid_at]
        if not is_uint(uid_text):
            return None, "", f"the engine shows the user as {uid_text!r}, not a UID"
        uid = int(uid_text)
        shown = f"PID {row[pid_at]}, UID {uid}: {shorten(self.plan.redact(command), 120)}"
        return uid, shown, ""

    # -- health checks

    def _probe(self, probes: list[_ProbeState], now: float, started: float, remaining: float) -> None:
        for probe in probes:
            if probe.decided or now < probe.next_at:
                continue
            at = self.clock() - started
            # a hanging check may not stretch the run beyond its timeout
            code, output = self._exec(probe.plan, max(0.5, min(probe.plan.timeout, remaining - (at - now))))
            probe.attempts += 1
            probe.log.append(ProbeAttempt(round(at, 1), code, output))
            probe.next_at = (self.clock() - started) + probe.plan.poll
            if code == 0:
                probe.status, probe.healthy_after = HealthStatus.HEALTHY, round(at, 1)
            elif probe.plan.in_helper and code in (126, 127):
                probe.status = HealthStatus.ERROR
                probe.reason = f"the probe helper has no {probe.plan.argv[0]} ({output or f'exit {code}'})"

    def _exec(self, plan: ProbePlan, timeout: float) -> tuple[int, str]:
        """Run one check for at most `timeout` seconds; exit code -1 when it did not finish."""
        container = self.helper_id if plan.in_helper else self.container_id
        try:
            exec_id = self.api.exec_create(container, list(plan.argv), stdout=True, stderr=True, stdin=False)
        except Exception as exc:
            return 126, shorten(self.plan.redact(_api_error(exc)), LINE_WIDTH)
        box: dict[str, Any] = {}

        def start() -> None:
            try:
                box["output"] = self.api.exec_start(exec_id, stream=False, demux=False)
            except Exception as exc:  # the container went away mid-check
                box["error"] = exc

        worker = threading.Thread(target=start, name="gatekeeper-probe", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            return -1, f"no answer within {timeout:.3g}s"
        if "error" in box:
            return 126, shorten(self.plan.redact(_api_error(box["error"])), LINE_WIDTH)
        raw = box.get("output") or b""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        try:
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        except Exception as exc:
            return 126, shorten(self.plan.redact(_api_error(exc)), LINE_WIDTH)
        return (int(code) if isinstance(code, int) else 126), shorten(self.plan.redact(text), LINE_WIDTH)

    def _decide(
        self, probes: list[_ProbeState], now: float, exited: dict[str, Any] | None, exited_after: float | None
    ) -> None:
        for probe in probes:
            if probe.decided:
                continue
            if exited is not None:
                probe.status = HealthStatus.UNHEALTHY
                probe.reason = (
                    f"the container exited with code {exited.get('ExitCode')} after {exited_after or 0:.1f}s"
                )
            elif now >= probe.plan.deadline:
                probe.status = HealthStatus.UNHEALTHY
                probe.reason = f"not healthy within {probe.plan.deadline:g}s ({probe.plan.rule_text})"

    # -- the end

    def _collect(self, started: float, probes: list[_ProbeState], observed: _Observed) -> RuntimeFacts:
        duration = self.clock() - started
        for probe in probes:
            if not probe.decided:
                probe.status = HealthStatus.UNDECIDED
                probe.reason = (
                    f"not healthy when the run's {self.plan.settings.timeout:g}s timeout ended it "
                    f"(its deadline is {probe.plan.deadline:g}s: {probe.plan.rule_text})"
                )
        memory_peak = self._memory_peak() if observed.state.get("Running") else None
        inspect = self._inspect()  # once: the final state and the restart count
        state = _state_of(inspect)
        restarts = inspect.get("RestartCount")
        stdout, stderr, sample = self._logs()
        running = state.get("Running") is True
        exit_code = None if running else state.get("ExitCode")
        return RuntimeFacts(
            settings=self.plan.settings,
            started=True,
            duration=round(duration, 2),
            status=str(state.get("Status") or ""),
            exit_code=int(exit_code) if isinstance(exit_code, int) else None,
            exited_after=round(observed.exited_after, 2) if observed.exited_after is not None else None,
            timed_out=observed.timed_out,
            oom_killed=bool(state.get("OOMKilled")),
            restarts=restarts if isinstance(restarts, int) else 0,
            main_uid=observed.main_uid,
            main_process=observed.main_process,
            uid_note=observed.uid_note,
            health=tuple(p.result() for p in probes),
            stdout_lines=stdout,
            stderr_lines=stderr,
            log_sample=sample,
            changes=self._changes(),
            memory_peak=memory_peak,
            notes=tuple(self.notes),
        )

    def _memory_peak(self) -> int | None:
        try:
            stats = self.api.stats(self.container_id, stream=False, one_shot=True)
        except Exception:
            return None
        memory = stats.get("memory_stats") or {}
        peak = memory.get("max_usage") or memory.get("usage")
        return peak if isinstance(peak, int) and peak > 0 else None

    def _logs(self) -> tuple[int, int, tuple[str, ...]]:
        """(stdout lines, stderr lines, the last lines of both, labelled and redacted)."""
        lines: list[tuple[tuple[str, str], str, str]] = []
        counts = []
        for stream in ("stdout", "stderr"):
            try:
                raw = self.api.logs(
                    self.container_id,
                    stdout=stream == "stdout",
                    stderr=stream == "stderr",
                    timestamps=True,
                    stream=False,
                )
            except Exception as exc:
                self.notes.append(f"the engine could not return the {stream} output: {_api_error(exc)}")
                counts.append(0)
                continue
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            own = [line for line in text.splitlines() if line.strip()]
            counts.append(len(own))
            for line in own:
                stamp, _, message = line.partition(" ")
                lines.append((_stamp_key(stamp), stream, message))
        lines.sort(key=lambda item: item[0])
        redact = self.plan.redact
        recent = lines[-SAMPLE_LINES:]
        sample = tuple(f"{stream}: {shorten(redact(message), LINE_WIDTH)}" for _, stream, message in recent)
        return counts[0], counts[1], sample

    def _changes(self) -> tuple[FileChange, ...]:
        try:
            diff = self.api.diff(self.container_id) or []
        except Exception as exc:
            self.notes.append(f"the engine could not diff the container: {_api_error(exc)}")
            return ()
        kinds = {0: "C", 1: "A", 2: "D"}
        changes = sorted(
            (
                FileChange(kinds.get(int(item.get("Kind") or 0), "?"), str(item.get("Path") or ""))
                for item in diff
                if isinstance(item, dict)
            ),
            key=lambda change: (change.path, change.kind),
        )
        if len(changes) > MAX_CHANGES:
            self.notes.append(f"docker diff listed {len(changes)} paths; the first {MAX_CHANGES} were kept")
        return tuple(changes[:MAX_CHANGES])

    # -- cleanup

    def cleanup(self) -> None:
        """Remove every container of this run (by label, so even one whose ID was never seen)."""
        with _shielded() as held:
            leftovers = self._remove_all()
        if leftovers:
            log.warning(
                "could not remove %s; remove them with: docker rm -f $(docker ps -aq --filter label=%s=%s)",
                ", ".join(leftovers),
                LABEL,
                self.run_id,
            )
        if held:
            raise KeyboardInterrupt(f"signal {held[0]} during cleanup")

    def _remove_all(self) -> list[str]:
        ids = [i for i in (self.helper_id, self.container_id) if i]
        try:
            listed = self.api.containers(all=True, filters={"label": f"{LABEL}={self.run_id}"})
            ids += [str(c["Id"]) for c in listed if str(c.get("Id")) not in ids]
        except Exception as exc:
            log.warning("could not list the containers of run %s: %s", self.run_id, _api_error(exc))
        failed = []
        for container in dict.fromkeys(ids):
            if not self._remove(container):
                failed.append(container[:12])
        return failed

    def _remove(self, container: str) -> bool:
        import docker.errors

        for _ in range(3):
            try:
                self.api.remove_container(container, force=True, v=True)
                return True
            except docker.errors.NotFound:
                return True
            except docker.errors.APIError as exc:
                if "already in progress" in str(exc):
                    time.sleep(0.2)
                    continue
                return False
            except Exception:
                return False
        return False


def _stamp_key(stamp: str) -> tuple[str, str]:
    """RFC 3339 timestamps with trimmed nanoseconds, made comparable."""
    head, _, fraction = stamp.rstrip("Z").partition(".")
    return head, fraction.ljust(9, "0")


__all__ = ["LABEL", "NOTICE", "run_image"]
