#!/usr/bin/env bash
# Build IBM aihwkit 1.2.0 (PyPI ships it only as an sdist) into a venv so the exporter's
# aihwkit consumer tests really run. Idempotent: returns at once when aihwkit already imports.
# Usage: VENV=/path/to/venv .ci/install-aihwkit.sh   (default VENV=.venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
VENV=$(cd "$VENV" && pwd)
PY="$VENV/bin/python"
# the build calls tools installed into the venv (cmake, ninja, mypy's stubgen): put them on PATH
export PATH="$VENV/bin:$PATH"

if "$PY" -c "import aihwkit.simulator.rpu_base" >/dev/null 2>&1; then
    echo "aihwkit already installed: $("$PY" -c 'import aihwkit; print(aihwkit.__version__)')"
    exit 0
fi

# System BLAS for the C++ simulator.
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y libopenblas-dev
fi

# Build requirements (torch CPU wheel first so nothing else pulls a different torch).
"$PY" -m pip install --quiet "torch==2.13.0"
"$PY" -m pip install --quiet "pybind11>=3.0.1" scikit-build "cmake>=4.2.1" ninja mypy scikit-learn protobuf \
    tqdm requests

# The build itself (pip's wheel cache makes reruns quick).
"$PY" -m pip install --no-build-isolation --no-deps "aihwkit==1.2.0"

"$PY" -c "import aihwkit.simulator.rpu_base; import aihwkit; print('aihwkit', aihwkit.__version__, 'OK')"
