#!/usr/bin/env bash
# Set up (if needed) and start the box on the simulated board, web UI on
# http://127.0.0.1:8080. Data (configuration, records, accounts) goes to .data/ in the
# source tree unless EDGEPBX_DATA_DIR says otherwise. Extra arguments go to `edgepbx run`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$ROOT/image/dev/bootstrap.sh"
exec "$ROOT/.venv/bin/edgepbx" run --sim --data-dir "${EDGEPBX_DATA_DIR:-$ROOT/.data}" \
    --http 127.0.0.1:8080 "$@"
