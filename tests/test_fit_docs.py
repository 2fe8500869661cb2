"""The worked examples of docs/fitting.md run as written (from the repository root, on ../shared/data)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "fitting.md"


def _examples():
    text = DOC.read_text()
    part = text.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", part, flags=re.S)


def test_fitting_doc_has_an_example_per_data_kind():
    blocks = _examples()
    assert len(blocks) == 4
    assert any("read_pulse_map" in b for b in blocks) and any("switching_probability" in b for b in blocks)
    assert any("polarisation" in b for b in blocks) and any("gong_et_al" in b for b in blocks)


@pytest.mark.parametrize("i", range(4))
def test_fitting_doc_example_runs(i, shared_data, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(_examples()[i], f"docs/fitting.md example {i + 1}", "exec"), {})
