#!/usr/bin/env bash
# Format and auto-fix the code.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format src tests examples bench
.venv/bin/ruff check --fix src tests examples bench
