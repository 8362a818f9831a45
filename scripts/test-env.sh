# shellcheck shell=bash
# test-env.sh -- get a machine ready for gatekeeper's test suite, then export its settings.
#
#   source scripts/test-env.sh      (scripts/test.sh does this, then runs pytest)
#
# Meant for root on Debian 12 with Python >= 3.11. Idempotent and quiet: it only acts (and says so)
# when something is missing, so a second run takes about a second.
#   * apt: docker.io skopeo docker-registry busybox-static debootstrap zstd git (+ python3-venv
#     when a venv is needed); `apt-get update` only when something is missing
#   * Python: pip install -e '.[dev]' into $VIRTUAL_ENV, else into a Python that allows it,
#     else into $REPO/.venv (Debian's python3 is "externally managed"); redone when pyproject changes
#   * dockerd --iptables=false --bridge=none, when `docker version` does not answer
#     (log: /var/log/gatekeeper-test-dockerd.log)
#   * docker-registry on 127.0.0.1:5000 (loopback only), when nothing answers there
#     (data: /var/lib/gatekeeper-test-registry, log: /var/log/gatekeeper-test-registry.log)
#   * the local Debian base images (../shared/images/make-base-images.sh), when that script exists
# Exports GATEKEEPER_TEST_REGISTRY (default 127.0.0.1:5000) and GATEKEEPER_PYTHON.
# Environment: PYTHON (the interpreter to use), GATEKEEPER_TEST_REGISTRY, GATEKEEPER_SKIP_BASES=1.

# The work runs in a child bash (below), so `set -e` holds there however this file is sourced
# (bash ignores -e inside functions called from an `if`), and nothing leaks into the caller.
_gk_prepare() {
  local repo=$1
  local docker=/usr/bin/docker
  local registry=${GATEKEEPER_TEST_REGISTRY:-127.0.0.1:5000}
  local state=${XDG_CACHE_HOME:-$HOME/.cache}/gatekeeper-test-env
  local dockerd_log=/var/log/gatekeeper-test-dockerd.log
  local registry_log=/var/log/gatekeeper-test-registry.log
  local registry_data=/var/lib/gatekeeper-test-registry
  local py=${PYTHON:-}

  say() { printf 'test-env: %s\n' "$*" >&2; }
  die() { say "ERROR: $*"; exit 1; }
  is_root() { [[ $(id -u) == 0 ]]; }

  # ---------------------------------------------------------------- apt packages
  local wanted=(docker.io skopeo docker-registry busybox-static debootstrap zstd git) missing=() p
  local venv=$repo/.venv
  if [[ -z $py && -z ${VIRTUAL_ENV:-} && ! -x $venv/bin/python ]] &&
     python3 -c 'import sys, sysconfig, os; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' 2>/dev/null; then
    wanted+=(python3-venv)
  fi
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    is_root || die "missing packages (${missing[*]}); run as root or install them"
    say "installing ${missing[*]} (apt-get)"
    local log
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
      tail -20 "$log" >&2; rm -f "$log"; die "apt-get install failed"
    fi
    rm -f "$log"
  fi

  # ---------------------------------------------------------------- Python
  if [[ -z $py ]]; then
    if [[ -n ${VIRTUAL_ENV:-} ]]; then
      py=$VIRTUAL_ENV/bin/python
    elif [[ -x $venv/bin/python ]]; then
      py=$venv/bin/python
    elif python3 -c 'import sys, sysconfig, os; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' 2>/dev/null; then
      say "creating $venv (the system Python is externally managed)"
      python3 -m venv "$venv" >/dev/null || die "python3 -m venv $venv failed"
      py=$venv/bin/python
    else
      py=$(command -v python3) || die "python3 not found"
    fi
  fi
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
    die "$py is $("$py" -V 2>&1); gatekeeper needs Python >= 3.11"
  mkdir -p "$state"
  local stamp
  stamp=$state/pip-$( { cat "$repo/pyproject.toml"; "$py" -c 'import sys; print(sys.prefix)'; echo "$repo"; } |
                      sha256sum | cut -c1-16)
  if [[ ! -f $stamp ]] || ! "$py" - "$repo" <<'PY' 2>/dev/null; then
import os, sys
import docker, hypothesis, mypy, pytest, ruff, yaml  # noqa: F401
import gatekeeper
sys.exit(0 if os.path.realpath(gatekeeper.__file__).startswith(os.path.realpath(sys.argv[1]) + os.sep) else 1)
PY
    say "pip install -e '.[dev]' ($py)"
    local log
    log=$(mktemp)
    (cd "$repo" && "$py" -m pip install --disable-pip-version-check -q -e '.[dev]') >"$log" 2>&1 ||
      { tail -20 "$log" >&2; rm -f "$log"; die "pip install -e '.[dev]' failed"; }
    rm -f "$log"
    touch "$stamp"
  fi
  printf '%s\n' "$py" >"$state/python"

  # ---------------------------------------------------------------- Docker engine
  if ! "$docker" version >/dev/null 2>&1; then
    if [[ -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != unix:///var/run/docker.sock ]]; then
      die "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer"
    fi
    is_root || die "the Docker engine is not running; start it as root: dockerd --iptables=false --bridge=none &"
    command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
    say "starting dockerd (log: $dockerd_log)"
    setsid dockerd --iptables=false --bridge=none >"$dockerd_log" 2>&1 </dev/null &
    disown || true
    local i
    for ((i = 0; i < 60; i++)); do
      "$docker" version >/dev/null 2>&1 && break
      sleep 1
    done
    "$docker" version >/dev/null 2>&1 || { tail -20 "$dockerd_log" >&2; die "dockerd did not answer within 60 s"; }
  fi

  # ---------------------------------------------------------------- registry
  registry_up() {
    "$py" - "$registry" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
  }
  if ! registry_up; then
    [[ $registry == 127.0.0.1:5000 ]] ||
      die "no registry answers at GATEKEEPER_TEST_REGISTRY=$registry"
    is_root || die "no registry on 127.0.0.1:5000; run as root to start docker-registry"
    command -v docker-registry >/dev/null || die "docker-registry not found (apt-get install docker-registry)"
    local conf
    conf=$(mktemp -d /tmp/gatekeeper-test-registry.XXXXXX)
    mkdir -p "$registry_data"
    cat >"$conf/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $registry_data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
EOF
    say "starting docker-registry on 127.0.0.1:5000 (log: $registry_log)"
    setsid docker-registry serve "$conf/config.yml" >"$registry_log" 2>&1 </dev/null &
    disown || true
    local i
    for ((i = 0; i < 40; i++)); do
      registry_up && break
      sleep 0.25
    done
    rm -rf "$conf"  # read once, at startup
    registry_up || { tail -20 "$registry_log" >&2; die "docker-registry did not answer on 127.0.0.1:5000"; }
  fi

  # ---------------------------------------------------------------- base images
  local bases=$repo/../shared/images/make-base-images.sh
  if [[ ${GATEKEEPER_SKIP_BASES:-} == 1 ]]; then
    :
  elif [[ -f $bases ]]; then
    is_root || die "building the base images needs root ($bases)"
    local log
    log=$(mktemp)
    bash "$bases" --only=python,python-full >"$log" 2>&1 ||
      { tail -20 "$log" >&2; rm -f "$log"; die "$bases failed"; }
    rm -f "$log"
  else
    say "no $bases: tests that need local/python:3.11-slim will be skipped (or fail under CI)"
  fi
}

if [[ ${_GK_TEST_ENV_CHILD:-} == 1 && ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  _gk_prepare "$1"
  exit 0
fi

unset -f _gk_prepare
_gk_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
if _GK_TEST_ENV_CHILD=1 bash "${BASH_SOURCE[0]}" "$_gk_repo"; then
  export GATEKEEPER_TEST_REGISTRY=${GATEKEEPER_TEST_REGISTRY:-127.0.0.1:5000}
  GATEKEEPER_PYTHON=$(cat "${XDG_CACHE_HOME:-$HOME/.cache}/gatekeeper-test-env/python")
  export GATEKEEPER_PYTHON
  case $GATEKEEPER_PYTHON in
    "$_gk_repo"/.venv/*) export PATH="$_gk_repo/.venv/bin:$PATH" ;;
  esac
  unset _gk_repo
else
  unset _gk_repo
  if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return 1; else exit 1; fi
fi

# ====================================================================================================
# Reporter tests: Debian's chromium (tests/reporters/test_html.py opens the HTML report in a headless
# browser) and cmark-gfm (tests/reporters/test_markdown.py renders the Markdown as GitHub does), plus
# the fonts the screenshots are drawn with. Installed only when missing (apt-get, as root); runs in a
# subshell, so nothing leaks into the caller, and a failure only warns: those tests then skip, or fail
# under CI.
# ====================================================================================================
(
  _gk_missing=()
  for _gk_pkg in chromium cmark-gfm fonts-dejavu-core fonts-liberation; do
    dpkg-query -W -f='${Status}' "$_gk_pkg" 2>/dev/null | grep -q 'install ok installed' || _gk_missing+=("$_gk_pkg")
  done
  ((${#_gk_missing[@]})) || exit 0
  if [[ $(id -u) != 0 ]]; then
    printf 'test-env: %s missing (run as root, or apt-get install them); browser tests will skip\n' \
      "${_gk_missing[*]}" >&2
    exit 0
  fi
  printf 'test-env: installing %s (apt-get)\n' "${_gk_missing[*]}" >&2
  _gk_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends "${_gk_missing[@]}"; } >"$_gk_log" 2>&1; then
    tail -20 "$_gk_log" >&2
    printf 'test-env: WARNING: apt-get install %s failed\n' "${_gk_missing[*]}" >&2
  fi
  rm -f "$_gk_log"
)
