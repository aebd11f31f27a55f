#!/usr/bin/env bash
# Set up (if needed) and run every check and test: lint, the layer contract, type checks,
# and the whole pytest suite. Exit status 0 only if everything passed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/image/dev/bootstrap.sh"
cd "$ROOT"
V="$ROOT/.venv/bin"
echo "== ruff" && "$V/ruff" check firmware drivers webui native tests hil-tests
echo "== import-linter (layers)" && "$V/lint-imports"
echo "== mypy" && "$V/mypy"
echo "== pytest"
# Two workers, a test file each at a time (its module fixtures stay in one process);
# EDGEPBX_TEST_WORKERS=0 runs in this process.
exec "$V/python" -m pytest -q -p no:cacheprovider -n "${EDGEPBX_TEST_WORKERS:-2}" \
    --dist loadfile "$@"
