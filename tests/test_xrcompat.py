"""Building a measurement does not import dask (devicelib._xrcompat); dask arrays still work in xarray after."""

import subprocess
import sys

CODE = """
import sys
import numpy as np
from devicelib.measurement import make_measurement
ds = make_measurement(np.ones((2, 5)), amplitude=np.ones((2, 5)), width=1e-6, conductance_unit="",
                      source="x")
assert float(ds["conductance"].sum()) == 10.0
print("dask" in sys.modules, "dask.array" in sys.modules)
import dask.array as da
import xarray as xr
a = xr.DataArray(da.ones((4, 3), chunks=2), dims=("x", "y"))
assert a.chunks == ((2, 2), (2, 1)), a.chunks  # recognised as a dask array once dask is imported
assert float(a.sum().compute()) == 12.0
assert xr.namedarray.pycompat.array_type("dask") == (da.Array,)
"""


def test_measurement_without_dask_then_dask_arrays_work():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]
