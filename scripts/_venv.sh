# Sourced by the scripts: creates (once) and selects the project's virtualenv in .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
    PYTHON="$(command -v python3.11 || command -v python3)"
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
export KEDRO_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=1
