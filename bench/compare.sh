#!/usr/bin/env bash
# corral's benchmark runner: criterion + asyncio/uvloop in one markdown table.
# usage: bench/compare.sh [--skip-cargo] [--skip-python] [--filter REGEX] ...  (see --help)
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/compare.py" "$@"
