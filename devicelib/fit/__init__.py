"""Calibration of device models against pulse measurements (lmfit).

``fit(model, measurement, vary=[...])`` simulates every trace of the
measurement at its own pulse conditions, all traces at once as a vector of
devices, and minimises the weighted residual with lmfit. Several traces and
several pulse conditions enter one objective: the physics ties them.
"""

from .core import FitError, FitResult, fit

__all__ = ["FitError", "FitResult", "fit"]
