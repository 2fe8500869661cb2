"""Shared fixtures. Tests that need ../shared/data skip with a reason when it is absent
(a user's clone has no shared/ folder; CI always has it)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# module-scoped ECM card fixtures (ag, cu) shared by test_ecm.py and test_ecm_engine.py
pytest_plugins = ("_ecm_cases",)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"measured data not available: {SHARED_DATA} is absent (it ships beside the repository in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
