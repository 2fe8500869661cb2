"""Property tests: whatever bytes a reader is given, only the library's documented errors escape.

CI runs a short budget (profile ``ci``, a few seconds per test). For a longer hunt::

    HYPOTHESIS_PROFILE=long python -m pytest -q tests/test_fuzz_readers.py

(``long``: 20,000 examples per test, or ``$DEVICELIB_FUZZ_EXAMPLES``; about 15-30 minutes per
test on a busy 2-core machine). A failure prints the smallest
input that leaks another exception type; add it to tests/test_reliability.py once fixed.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the dev extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from devicelib.catalog import CardError, load_card  # noqa: E402
from devicelib.dgtable import DGTableError  # noqa: E402
from devicelib.dgtable import read_dg_table as read_dg  # noqa: E402
from devicelib.fit.readers import read_dg_table, read_sequence_csv  # noqa: E402
from devicelib.limits import ResourceLimitError  # noqa: E402
from devicelib.measurement import (  # noqa: E402
    MeasurementError,
    read_instrument_csv,
    read_long_csv,
    read_measurement,
    read_wide_csv,
)
from devicelib.units import UnitError  # noqa: E402

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=int(os.environ.get("DEVICELIB_FUZZ_EXAMPLES", 20_000)), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# pandas warns when it casts a garbage column; the assertion is about exceptions
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

DOCUMENTED = (MeasurementError, UnitError, CardError, DGTableError, ResourceLimitError)
ROOT = Path(__file__).resolve().parents[1]

# tokens a CSV-ish file is built from: numbers (incl. huge and negative indices), labels, units,
# separators, quotes, a byte-order mark, non-UTF-8 bytes and blank lines
TOKENS = [b"0", b"1", b"-5", b"999999999", b"1e-3", b"2.5", b"nan", b"inf", b"-1e309", b"x", b"t1", b"t2",
          b"trace", b"pulse", b"conductance [S]", b"current [uA]", b"resistance [ohm]", b"weight",
          b"amplitude [V]", b"width [ns]", b"width [V]", b"interval [s]", b"temperature [K]",
          b"read_voltage [V]", b"rmp1 [A]", b"a [S]", b"[", b"]", b"[m^^2]", b",", b";", b"\t", b" ", b'"',
          b"\n", b"\r\n", b"\n\n", b"\xef\xbb\xbf", b"\xaf", b"\xa0", b"\x00", b"SMU-1 Voltage (V)",
          b"SMU-1 Current (A)", b"SMU-1 Time (s)", b'"\t.NPLC","\t5",,,', b"Index"]
LONG_HEADER = b"trace,pulse,conductance [S],amplitude [V],width [s]\n"

csv_bytes = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)
long_bytes = st.tuples(st.sampled_from([LONG_HEADER, b"\xef\xbb\xbf" + LONG_HEADER, LONG_HEADER.replace(b",", b";")]),
                       csv_bytes).map(b"".join)
raw_bytes = st.binary(max_size=300)

_DIR = Path(tempfile.mkdtemp(prefix="devicelib-fuzz-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _write(data: bytes, suffix: str = ".csv") -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix, dir=_DIR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def _only_documented(call, path: Path) -> None:
    try:
        call(path)
    except DOCUMENTED as exc:
        assert str(path) in str(exc) or str(path.name) in str(exc) or "limit" in str(exc) or \
            isinstance(exc, UnitError), f"error does not name the file: {exc}"
        assert "\n" not in str(exc)
    finally:
        path.unlink(missing_ok=True)


READERS = {
    "long": lambda p: read_long_csv(p),
    "wide": lambda p: read_wide_csv(p, "S", amplitude=1.0, width=1e-7),
    "wide_header_unit": lambda p: read_wide_csv(p, amplitude=1.0, width=1e-7, v_read=0.1),
    "rows": lambda p: read_wide_csv(p, "S", amplitude=1.0, width=1e-7, traces="rows"),
    "instrument": lambda p: read_instrument_csv(p),
    "auto": lambda p: read_measurement(p, amplitude=1.0, width=1e-7, v_read=0.1)
    if p.suffix == ".csv" else read_measurement(p),
    "sequence": lambda p: read_sequence_csv(p, "S", amplitudes=[1.0], width=1e-7),
    "dg_fit": lambda p: read_dg_table(p),
    "dg": lambda p: read_dg(p),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@given(data=st.one_of(csv_bytes, long_bytes, raw_bytes))
def test_readers_raise_only_documented_errors(reader, data):
    _only_documented(READERS[reader], _write(data))


@given(data=long_bytes)
def test_auto_layout_on_long_files(data):
    _only_documented(lambda p: read_measurement(p, v_read=0.1), _write(data))


# -- cards ----------------------------------------------------------------------------
CARD = tomllib.loads((ROOT / "models" / "vcm" / "jiang2016_hfox.toml").read_text(encoding="utf-8"))

toml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
              st.text(max_size=12), st.datetimes(min_value=dt.datetime(1900, 1, 1)), st.dates()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


def _paths(d, prefix=()):
    for k, v in d.items():
        yield (*prefix, k)
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))


CARD_PATHS = [*_paths(CARD), ("variability",), ("fit",), ("operating",), ("figures",)]


def _set(d, path, value):
    import copy

    out = copy.deepcopy(d)
    node = out
    for k in path[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            return out
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


@given(path=st.sampled_from(CARD_PATHS), value=toml_values)
def test_mutated_cards_raise_only_card_errors(path, value):
    import tomli_w

    try:
        text = tomli_w.dumps(_set(CARD, path, value))
    except (TypeError, ValueError):  # a value TOML cannot hold
        return
    _only_documented(load_card, _write(text.encode(), ".toml"))


@given(data=st.one_of(raw_bytes, csv_bytes))
def test_garbage_cards_raise_only_card_errors(data):
    _only_documented(load_card, _write(data, ".toml"))
