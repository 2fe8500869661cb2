"""RRAM cycling (endurance) tables as measurements: SET and RESET pulses alternating, the read after each.

An endurance record lists, per cell and check, the resistance read after a SET and after a RESET
(``1us_endurance.tsv``: ``addr, R_after_SET, R_after_RESET, cycle``; ``endurance_slow.tsv``: ``addr, R,
cycle`` rows alternating post-SET and post-RESET reads; the Stanford key/value operation logs). Read by
:func:`devicelib.layers.read_endurance_record` (no code executed), each cell becomes one trace whose pulses
alternate SET (``set_amplitude``) and RESET (``reset_amplitude``, negative for a bipolar cell), with the
``resistance`` (or conductance) read after each pulse, so a model is compared with what the table holds
without reshaping by hand. ``cycle`` (trace, pulse) keeps the cumulative cycle count of each check.

Checks are usually taken every so many cycles (every 100 in ``1us_endurance.tsv``): the cycles between
two checks are not in the trace. A model whose SET and RESET end states do not depend on the history
(full switching, the usual endurance condition) predicts the same reads either way; a model with wear
(window closure, :class:`devicelib.layers.Endurance`) needs the cycle count, which
:func:`devicelib.layers.calibrate_endurance` fits from the same record (``G_c, N_1/2, beta``).
"""

from __future__ import annotations

import numpy as np

from ._xrcompat import xr  # xarray imported on first use, with dask deferred
from .measurement import MeasurementError
from .observables import make_observation, to_si_values


def read_cycling_table(path, *, set_amplitude: float, reset_amplitude: float, width: float | None = None,
                       observable: str = "resistance", unit: str = "ohm", v_read=None, temperature=300.0,
                       max_checks: int | None = None) -> xr.Dataset:
    """An endurance record as alternating SET/RESET traces (one per cell) of ``observable``.

    ``set_amplitude`` / ``reset_amplitude`` (V, or A for a current-driven model) and ``width`` (s) are the
    pulse conditions, which such tables do not hold; a record's own width (the key/value logs) is used
    where it is recorded, and a ``width`` that contradicts it is an error. ``unit`` is the unit of the
    reads (the Stanford tables hold ohm). ``max_checks`` keeps the first checks of each cell (a subset for
    a quick fit). The first pulse is the SET of the first check: with ``initial="first"`` a fit starts
    each cell from that read.
    """
    from .layers import read_endurance_record
    from .observables import canonical

    name = canonical(observable)
    if name not in ("resistance", "conductance"):
        raise MeasurementError(f"{path}: a cycling table holds resistances; --observable resistance or "
                               f"conductance, not {observable!r}")
    try:
        rec = read_endurance_record(path)
    except ValueError as exc:
        raise MeasurementError(str(exc)[:300]) from None
    if not np.sign(set_amplitude) or np.sign(set_amplitude) == np.sign(reset_amplitude):
        raise MeasurementError(f"{path}: SET and RESET amplitudes of a bipolar cell have opposite signs "
                               f"(got {set_amplitude:g} and {reset_amplitude:g})")
    recorded = rec.width[np.isfinite(rec.width)]
    if recorded.size:
        if width is not None and not np.allclose(recorded, width, rtol=1e-6):
            raise MeasurementError(f"{path}: the record's pulse width is {np.unique(recorded)[:3]} s, "
                                   f"not the given {width:g} s")
    elif width is None:
        raise MeasurementError(f"{path}: the table records no pulse width; give it")
    cells = list(dict.fromkeys(rec.addr.tolist()))
    per = [np.flatnonzero(rec.addr == a)[:max_checks] for a in cells]
    npulse = 2 * max(len(ix) for ix in per)
    vals = np.full((len(cells), npulse), np.nan)
    amp = np.zeros((len(cells), npulse))
    wid = np.full((len(cells), npulse), float(width) if width is not None else np.nan)
    cyc = np.full((len(cells), npulse), np.nan)
    for k, ix in enumerate(per):
        order = ix[np.argsort(rec.cycles[ix], kind="stable")]
        m = 2 * order.size
        r = np.empty(m)
        r[0::2], r[1::2] = rec.r_set[order], rec.r_reset[order]
        vals[k, :m] = r
        amp[k, :m] = np.tile([set_amplitude, reset_amplitude], order.size)
        cyc[k, :m] = np.repeat(rec.cycles[order], 2)
        w = rec.width[order]
        if np.all(np.isfinite(w)):
            wid[k, :m] = np.repeat(w, 2)
    wid[~np.isfinite(wid)] = wid[np.isfinite(wid)][0]
    vals = to_si_values(vals, unit, "resistance", where=str(path))  # ohm
    if name == "conductance":
        vals = 1.0 / vals
    ds = make_observation(vals, name, "ohm" if name == "resistance" else "S", amp, wid, v_read=v_read,
                          temperature=temperature, trace_labels=[str(c) for c in cells], source=str(path),
                          extra={"cycle": (cyc, "")})
    ds.attrs["layout"] = "cycling"
    return ds
