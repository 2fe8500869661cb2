"""Exceptions of the fitting package."""


class FitError(ValueError):
    """The fit cannot be set up (bad data, unknown parameter, no free parameter)."""
