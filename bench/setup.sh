#!/usr/bin/env bash
# Create bench/.venv-peers: the peer systems (dask, prefect 3) in their own virtualenv, so
# that podium's own environment (.venv) never gets them. podium itself is benchmarked with
# .venv/bin/python; the plain-Python baseline needs only the standard library.
#
# Usage: bash bench/setup.sh            (from the repository root or anywhere)
#        PYTHON=python3.11 bash bench/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-peers"

# Prefer the interpreter podium's venv was made from, so that all systems run on the same
# Python build.
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then
        PYTHON="$("$root/.venv/bin/python" -c 'import sys; print(sys._base_executable)')"
    else
        PYTHON=python3
    fi
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$PYTHON" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
# fastapi>=0.155 removed Body(min_items=...), which prefect 3.8 server modules still use.
"$venv/bin/python" -m pip install --quiet "dask>=2024.1" "prefect>=3,<4" "fastapi<0.155" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$venv/bin/python" - <<'PY'
import dask, prefect, sys
print(f"peers venv ready: python {sys.version.split()[0]}, dask {dask.__version__}, "
      f"prefect {prefect.__version__}")
PY
