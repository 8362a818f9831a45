from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.facts import Target
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location
from gatekeeper.parsers.dockerfile import parse
from gatekeeper.rule import NotApplicable
from gatekeeper.rules.image.logs_to_files import RULE, is_log_path, redirects
from tests.factories import (
    evidence,
    image,
    passes,
    target_evidence,
    target_violations,
    violations,
)
from tests.imagegen import F, directory, exe, file, symlink

BASE = [
    exe("/bin/sh"),
    directory("/var/log"),
    file("/var/log/dpkg.log", "2024-01-01 install"),
    file("/var/log/apt/history.log", "Start-Date"),
    file("/etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n"),
]


def signals(layers: list[list[F]], **config: Any) -> list[str]:
    return [v.detail for v in violations(RULE, image([BASE, *layers], **config))]


@pytest.mark.parametrize(
    ("layers", "config", "detail"),
    [
        ([[file("/app/logs/app.log")]], {}, "log-file:/app/logs"),
        ([[file("/app/app.log.1", "old")]], {}, "log-file:/app"),
        ([[file("/var/log/myapp/current", "x")]], {}, "log-file:/var/log/myapp"),
        ([[file("/var/log/myapp.log")]], {}, "log-file:/var/log"),
        ([[directory("/app/logs", uid=10001)]], {"User": "10001"}, "log-dir:/app/logs"),
        ([[directory("/app/logs", uid=10001)]], {"User": "app"}, "log-dir:/app/logs"),
        ([[directory("/var/log/app", mode=0o777)]], {}, "log-dir:/var/log/app"),
        ([], {"Env": ["LOG_FILE=/var/log/app.log"]}, "env:LOG_FILE"),
        ([], {"Env": ["ACCESS_LOG=/app/logs/access.log"]}, "env:ACCESS_LOG"),
        ([], {"Env": ["CATALINA_OUT=/usr/local/tomcat/logs/catalina.out"]}, "env:CATALINA_OUT"),
        ([], {"Env": ["APP_LOG_DIR=/var/log/app"]}, "env:APP_LOG_DIR"),
        (
            [],
            {"Cmd": ["gunicorn", "--access-logfile", "/var/log/gunicorn/access.log", "app:app"]},
            "command:/var/log/gunicorn/access.log",
        ),
        ([], {"Entrypoint": ["app", "--log-file=/app/logs/x.log"]}, "command:/app/logs/x.log"),
        ([], {"Volumes": {"/var/log/app": {}}}, "volume:/var/log/app"),
        ([], {"Volumes": {"/app/logs": {}}}, "volume:/app/logs"),
        (
            [],
            {"Cmd": ["/bin/sh", "-c", "exec app >> /var/log/app.log 2>&1"]},
            "redirect:/var/log/app.log",
        ),
        ([], {"Cmd": ["/bin/sh", "-c", "app > app.log 2>&1"]}, "redirect:app.log"),
        ([], {"Cmd": ["sh", "-c", "app 2>/tmp/err.txt"]}, "redirect:/tmp/err.txt"),
        ([], {"Cmd": ["bash", "-c", "app &> /srv/out"]}, "redirect:/srv/out"),
        ([], {"Cmd": ["/bin/sh", "-c", "app | tee -a /data/out.txt"]}, "redirect:/data/out.txt"),
    ],
)
def test_catches(layers: list[list[F]], config: dict[str, Any], detail: str) -> None:
    assert signals(layers, **config) == [detail]


@pytest.mark.parametrize(
    ("layers", "config"),
    [
        pytest.param([], {}, id="package-manager logs of the base"),
        pytest.param(
            [[file("/var/log/dpkg.log", "more"), file("/var/log/apt/term.log", "x")]],
            {},
            id="package-manager logs of own layers",
        ),
        pytest.param([[file("/app/node_modules/x/npm-debug.log")]], {}, id="vendored"),
        pytest.param([[file("/usr/lib/python3/dist-packages/x/t.log")]], {}, id="dist-packages"),
        pytest.param([[file("/app/catalog.json")]], {}, id="not a log"),
        pytest.param([[directory("/app/logs")]], {"User": "10001"}, id="log dir not writable"),
        pytest.param([[directory("/var/log/app")]], {}, id="root-owned dir, root user"),
        pytest.param([[directory("/app/logs", uid=10001)]], {"User": "ghost"}, id="unknown user"),
        pytest.param(
            [
                [
                    directory("/var/log/nginx", uid=101),
                    symlink("/var/log/nginx/access.log", "/dev/stdout"),
                    symlink("/var/log/nginx/error.log", "/dev/stderr"),
                ]
            ],
            {"User": "101"},
            id="nginx pattern",
        ),
        pytest.param([], {"Env": ["LOG_LEVEL=info", "LOG_FORMAT=json"]}, id="log settings"),
        pytest.param([], {"Env": ["LOG_FILE=/dev/stdout", "ERROR_LOG=-"]}, id="streams"),
        pytest.param([], {"Env": ["LOGSTASH=http://elk:5044/logs"]}, id="url"),
        pytest.param([], {"Env": ["SYSLOG_SOCKET=/dev/log"]}, id="syslog socket"),
        pytest.param(
            [],
            {"Cmd": ["gunicorn", "--access-logfile", "-", "--error-logfile", "-", "app:app"]},
            id="gunicorn to the streams",
        ),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "exec app 2>&1"]}, id="2>&1"),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "app > /dev/null"]}, id="/dev/null"),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "app 2>/dev/null"]}, id="2>/dev/null"),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "app | tee /dev/stderr"]}, id="tee stderr"),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "app >/proc/1/fd/1"]}, id="/proc/1/fd/1"),
        pytest.param([], {"Cmd": ["/bin/sh", "-c", "gen > /app/config.json && app"]}, id="cfg"),
        pytest.param([], {"Cmd": ["app", ">", "x.txt"]}, id="exec form has no redirection"),
        pytest.param([], {"Volumes": {"/data": {}}}, id="data volume"),
    ],
)
def test_passes(layers: list[list[F]], config: dict[str, Any]) -> None:
    assert passes(RULE, image([BASE, *layers], **config))


def test_nginx_pattern_is_evidence() -> None:
    facts = image(
        [
            BASE,
            [
                symlink("/var/log/nginx/access.log", "/dev/stdout"),
                symlink("/var/log/nginx/error.log", "/dev/stderr"),
            ],
        ]
    )
    assert evidence(RULE, facts) == [
        "logs linked to the streams: /var/log/nginx/access.log -> /dev/stdout, "
        "/var/log/nginx/error.log -> /dev/stderr",
        "no log files or log redirection; checked files of own layer 1; ENV, ENTRYPOINT, CMD and VOLUME",
    ]


def test_a_link_to_dev_null_is_no_evidence() -> None:
    facts = image([BASE, [symlink("/var/log/app/app.log", "/dev/null")]])
    assert not any("linked" in text for text in evidence(RULE, facts))


def test_stream_settings_are_evidence() -> None:
    facts = image([BASE], Env=["LOG_FILE=/dev/stdout"])
    assert "log settings point at the streams: LOG_FILE=/dev/stdout" in evidence(RULE, facts)


def test_log_files_grouped_per_directory() -> None:
    facts = image([BASE, [file(f"/app/logs/{n}.log") for n in "abcdefg"]])
    [v] = violations(RULE, facts, max_listed=2)
    assert v.message.startswith(
        "7 log files in /app/logs, written in layer 1 (layer 1): /app/logs/a.log, /app/logs/b.log and 5 more."
    )


def test_writable_dir_message() -> None:
    facts = image([BASE, [directory("/app/logs", uid=10001)]], User="app")
    [v] = violations(RULE, facts)
    assert v.message == (
        "Log directory /app/logs is prepared for the app to write logs into (owned by the runtime "
        "user, UID 10001), in layer 1 (layer 1)."
    )


def test_base_layers_are_not_own_without_a_dockerfile() -> None:
    assert passes(RULE, image([[*BASE, file("/app/logs/app.log")]]))


DOCKERFILE = """\
FROM python:3.11-slim
ENV LOG_FILE=/var/log/app/app.log \\
    PYTHONUNBUFFERED=1
COPY . /app
VOLUME /var/log/app
CMD ["python", "/app/main.py"]
"""


def _target(layers: list[list[F]], **config: Any) -> Target:
    dockerfile = parse(DOCKERFILE)
    [copy] = dockerfile.stages[0].find("COPY")
    return Target(image=image(layers, **config), dockerfile=dockerfile, layer_instructions={2: copy})


def test_own_layers_come_from_the_dockerfile_mapping() -> None:
    base_log = [file("/usr/local/var/build.log", "x")]
    own_log = [file("/app/debug.log", "x")]
    tgt = _target([BASE, base_log, own_log])
    [v] = target_violations(RULE, tgt)
    assert v.detail == "log-file:/app"
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 4)


def test_a_dockerfile_that_makes_no_layer_owns_none() -> None:
    facts = image(
        [BASE, [file("/var/log/base-app/x.log")]], history=[{"created_by": "a"}, {"created_by": "b"}]
    )
    dockerfile = parse("FROM base\nUSER 10001\n")
    [user] = dockerfile.stages[0].find("USER")
    tgt = Target(image=facts, dockerfile=dockerfile, history_instructions={2: user})
    assert not target_violations(RULE, tgt)
    assert "no own layers to look for log files in" in target_evidence(RULE, tgt)[0]
    assert target_violations(RULE, Target(image=facts, dockerfile=dockerfile))


def test_config_findings_point_at_their_instructions() -> None:
    tgt = _target(
        [BASE, [], [file("/app/main.py")]],
        Env=["LOG_FILE=/var/log/app/app.log", "PYTHONUNBUFFERED=1"],
        Volumes={"/var/log/app": {}},
    )
    env, volume = target_violations(RULE, tgt)
    assert (env.detail, env.location.line, env.location.pointer) == (
        "env:LOG_FILE",
        2,
        "config.Env.LOG_FILE",
    )
    assert env.message == ("ENV LOG_FILE points the app at a log file or directory: /var/log/app/app.log.")
    assert (volume.detail, volume.location.line) == ("volume:/var/log/app", 5)


def test_redirect_points_at_cmd() -> None:
    dockerfile = parse("FROM alpine\nCMD exec app >> /var/log/app.log 2>&1\n")
    facts = image([BASE], Cmd=["/bin/sh", "-c", "exec app >> /var/log/app.log 2>&1"])
    [v] = target_violations(RULE, Target(image=facts, dockerfile=dockerfile))
    assert v.message == "CMD redirects the app's output to the file /var/log/app.log."
    assert (v.location.line, v.location.pointer) == (2, "config.Cmd")


COMPOSE = Location("docker-compose.yml", 3, "services.web")


def workload(driver: str | None, env: tuple[tuple[str, str], ...] = ()) -> Workload:
    where = Location("docker-compose.yml", 9, "services.web.logging.driver")
    return Workload(
        name="compose service web",
        kind="compose",
        origin=COMPOSE,
        image="app:prod",
        logging_driver=driver,
        logging_location=where if driver else None,
        env=env,
    )


def test_compose_logging_driver_none() -> None:
    tgt = Target(image=image([BASE]), image_workloads=(workload("none"),))
    [v] = target_violations(RULE, tgt)
    assert v.detail == "logging-none:compose service web"
    assert v.location == Location("docker-compose.yml", 9, "services.web.logging.driver")
    assert "logging driver `none`" in v.message


def test_compose_without_an_image() -> None:
    assert target_violations(RULE, Target(image_workloads=(workload("none"),)))
    assert target_evidence(RULE, Target(image_workloads=(workload("json-file"),))) == [
        "no log files or log redirection; checked logging of 1 workload(s)"
    ]


def test_workload_env_pointing_at_a_log_file() -> None:
    tgt = Target(image_workloads=(workload(None, (("LOG_PATH", "/logs/app.log"),)),))
    [v] = target_violations(RULE, tgt)
    assert v.detail == "env:compose service web:LOG_PATH"
    assert v.location == COMPOSE


def test_nothing_to_check_is_not_applicable() -> None:
    with pytest.raises(NotApplicable):
        list(RULE.check(Target(), RULE.options()))


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("/var/log/app.log", True),
        ("app.log", True),
        ("/app/logs", True),
        ("/var/log/nginx", True),
        ("-", False),
        ("/dev/stdout", False),
        ("/proc/self/fd/2", False),
        ("/dev/log", False),
        ("logs", False),
        ("console.log(1)", False),
        ("/app/logging.conf", False),
    ],
)
def test_is_log_path(token: str, expected: bool) -> None:
    assert is_log_path(token) is expected


def test_redirects() -> None:
    script = "a >> /var/log/a.log 2>&1; b 2> err.txt; c > /dev/null; d | tee -a x.log; e > out.json"
    assert redirects(script) == ["/var/log/a.log", "err.txt", "x.log"]


# --- with --run: docker diff and the output streams -------------------------------------------------


def _ran(**changes: Any) -> Target:
    from tests.factories import target
    from tests.rules.runtime.sample import facts

    return target(image([[exe("/app/run")]], Cmd=["/app/run"]), runtime=facts(**changes))


def test_run_log_files_written_fail_per_directory() -> None:
    from gatekeeper.facts.runtime import FileChange

    changes = (
        FileChange("C", "/var"),
        FileChange("C", "/var/log"),
        FileChange("A", "/var/log/app.log"),
        FileChange("A", "/var/log/app"),  # a directory: it holds a changed path
        FileChange("A", "/var/log/app/2026"),
        FileChange("A", "/var/log/app/2026/x.log"),
        FileChange("A", "/tmp/cache.bin"),
        FileChange("D", "/app/old.log"),
        FileChange("A", "/usr/share/thing/x.log"),  # ignored by default
    )
    violations_ = target_violations(RULE, _ran(changes=changes))
    assert [(v.detail, v.message) for v in violations_] == [
        (
            "run:log-file:/var/log",
            "--run: the container wrote 1 log file in /var/log (docker diff): /var/log/app.log.",
        ),
        (
            "run:log-file:/var/log/app/2026",
            "--run: the container wrote 1 log file in /var/log/app/2026 (docker diff): "
            "/var/log/app/2026/x.log.",
        ),
    ]
    assert violations_[0].location == Location("image", None, "/var/log")


def test_run_silence_fails_unless_allowed() -> None:
    silent = _ran(stdout_lines=0, stderr_lines=0, log_sample=())
    [v] = target_violations(RULE, silent)
    assert (v.detail, v.message) == (
        "run:silent",
        "--run: nothing reached stdout or stderr in 10s: its logs go elsewhere, or nowhere.",
    )
    assert target_violations(RULE, silent, require_output=False) == []


def test_run_output_is_evidence() -> None:
    tgt = _ran(stdout_lines=3, stderr_lines=1)
    assert target_violations(RULE, tgt) == []
    assert (
        "--run: 3 line(s) on stdout, 1 on stderr in 10s; docker diff: 0 path(s) changed"
        in target_evidence(RULE, tgt)
    )
