#!/usr/bin/env bash
# Set everything up, run the static checks, then the whole test suite (default + slow tier).
# Pass "--fast" to skip the slow tier (what you run while working).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/check.sh
if [ "${1:-}" = "--fast" ]; then
    exec .venv/bin/python -m pytest -m "not slow" -q
fi
exec .venv/bin/python -m pytest -q
