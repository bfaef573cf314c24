#!/usr/bin/env bash
# A paper config at its full shape on CPU, budgets shrunk (scripts/paper_check.py says which and why):
#   scripts/paper-check.sh config/paper/nb201-cifar10.yaml [--keep] [--cores N]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" scripts/paper_check.py "$@"
