#!/usr/bin/env bash
# Set up (venv, requirements) and run the dashboard (ui.launch: the default model loads as the server starts).
# Extra arguments go to `streamlit run`,
# e.g. `bash scripts/dashboard.sh --server.port 8502`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m ui.app.launch "$@"
