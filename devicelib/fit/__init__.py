"""Calibration of device models against pulse measurements (lmfit).

``fit(model, measurement, vary=[...])`` simulates every trace of the
measurement at its own pulse conditions, all traces at once as a vector of
devices, and minimises the noise-weighted residual with lmfit. Several traces
and several pulse conditions enter one objective: the physics ties them.

Also here: model comparison (:func:`compare`), hold-out validation
(:mod:`.holdout`), reports (:func:`write_report`), batch fitting of many
independent devices (:func:`fit_batch`) and variability extraction
(:mod:`.variability`). See docs/fitting.md.
"""

from .core import FitResult, estimate_noise, fit
from .errors import FitError

__all__ = ["FitError", "FitResult", "estimate_noise", "fit"]
