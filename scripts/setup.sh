#!/usr/bin/env bash
# Create .venv (if missing) and install podium with the extras given (default: demo).
# Usage: bash scripts/setup.sh [demo|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-demo}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[${extra}]"
