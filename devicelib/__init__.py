"""devicelib: physics-based models of analog-AI memory devices.

Families are plugins behind one conductance-update interface
(:class:`devicelib.core.DeviceModel`); around them sit pulse protocols,
measurement readers, lmfit-based fitting, TOML model cards and exporters.
"""

__version__ = "0.1.0"

from .core import DeviceModel, Parameter, StateVariable
from .registry import available_models, get_model


def __getattr__(name: str):
    # the pint registry is built on first use of devicelib.ureg / devicelib.Q_, not at import
    if name in ("Q_", "ureg"):
        from . import units

        return getattr(units, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Q_",
    "DeviceModel",
    "Parameter",
    "StateVariable",
    "__version__",
    "available_models",
    "get_model",
    "ureg",
]
