#!/usr/bin/env bash
# Set everything up and run the demo: the ML pipeline of examples/ml_pipeline.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/podium run examples/ml_pipeline.py "$@"
