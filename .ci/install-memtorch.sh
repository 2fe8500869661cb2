#!/usr/bin/env bash
# Install MemTorch (memtorch-cpu 1.1.6) into a venv on Python 3.11 so the exporter's MemTorch consumer
# tests really run. Idempotent: returns at once when memtorch's memristor models import.
# Usage: VENV=/path/to/venv .ci/install-memtorch.sh   (default VENV=.venv)
#
# Workarounds (plain `pip install memtorch-cpu==1.1.6` fails twice):
# - its setup.py imports torch to build a C++ extension: torch must be installed first and the build run
#   with --no-build-isolation;
# - it declares the dead `sklearn` package (which refuses to install): install with --no-deps, then its
#   real runtime dependencies by name, scikit-learn for sklearn;
# - torchvision (imported by memtorch.utils for its MNIST/CIFAR loaders only) must match torch and not pull
#   another torch: installed with --no-deps at the release paired with torch. Where that wheel is a CUDA
#   build that cannot load on the CPU torch, it is removed again and the consumer tests give MemTorch a
#   stand-in module for torchvision (tests/test_consumer_memtorch.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
VENV=$(cd "$VENV" && pwd)
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

check() {  # import MemTorch's memristor models, with the torchvision stand-in where torchvision is absent
    "$PY" - <<'PYEOF'
import sys, types
try:
    import torchvision  # noqa: F401
except ImportError:  # memtorch.utils imports these names only
    tv = types.ModuleType("torchvision")
    tv.datasets = types.ModuleType("torchvision.datasets")
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.datasets.utils = types.ModuleType("torchvision.datasets.utils")
    for name in ("download_and_extract_archive", "download_url", "extract_archive", "verify_str_arg"):
        setattr(tv.datasets.utils, name, None)
    sys.modules.update({"torchvision": tv, "torchvision.datasets": tv.datasets,
                        "torchvision.transforms": tv.transforms, "torchvision.datasets.utils": tv.datasets.utils})
import memtorch
import memtorch.bh.memristor
print("MemTorch", memtorch.__version__, "OK")
PYEOF
}

if check >/dev/null 2>&1; then
    echo "MemTorch already installed"
    exit 0
fi

# torch first (the same CPU wheel as the aihwkit build), then the build requirements of the extension
"$PY" -m pip install --quiet "torch==2.13.0"
"$PY" -m pip install --quiet pybind11 ninja
"$PY" -m pip install --quiet --no-build-isolation --no-deps "memtorch-cpu==1.1.6"
# its runtime dependencies by name (sklearn -> scikit-learn)
"$PY" -m pip install --quiet numpy pandas scipy scikit-learn matplotlib seaborn ipython lmfit pillow
# torchvision paired with torch 2.13 is 0.28
"$PY" -m pip install --quiet --no-deps "torchvision==0.28.0"
if ! "$PY" -c "import torchvision" >/dev/null 2>&1; then
    echo "torchvision 0.28.0 does not load on this torch (a CUDA build): removed; the tests use a stand-in"
    "$PY" -m pip uninstall --quiet --yes torchvision
fi

check
