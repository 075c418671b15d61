#!/usr/bin/env bash
# Static checks: formatting, lint, types, import layering (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format --check src tests examples bench
.venv/bin/ruff check src tests examples bench
.venv/bin/mypy
.venv/bin/lint-imports
