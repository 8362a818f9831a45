#!/usr/bin/env bash
# test.sh -- run gatekeeper's tests with everything they need: bash scripts/test.sh [pytest args]
# Sets up the machine first (scripts/test-env.sh: packages, dockerd, a loopback registry, the local
# base images), so docker- and registry-marked tests run instead of skipping.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/test-env.sh
source scripts/test-env.sh
exec "${GATEKEEPER_PYTHON:-python}" -m pytest "$@"
