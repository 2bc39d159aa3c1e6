#!/usr/bin/env bash
# The test suite: `bash scripts/test.sh` (extra arguments go to `cargo test`).
#
# The corral-redis tests run against a real redis-server, which each test binary starts on a
# free loopback port and stops itself; nothing needs to be running beforehand. This script only
# makes sure the binary is installed (Debian/Ubuntu's `redis-server` package, with apt-get when
# we are root or have sudo), then runs `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found: installing Debian's redis-server package for the corral-redis tests" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "cannot install redis-server (not root, no sudo): install it (apt-get install redis-server) and rerun" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package starts a system service on 6379; the tests use their own servers, so stop it.
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl stop redis-server >/dev/null 2>&1 || true; fi
  $sudo service redis-server stop >/dev/null 2>&1 || true
fi
redis-server --version

cargo test --workspace "$@"
