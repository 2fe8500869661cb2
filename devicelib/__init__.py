"""devicelib: physics-based models of analog-AI memory devices.

Families are plugins behind one conductance-update interface
(:class:`devicelib.core.DeviceModel`); around them sit pulse protocols,
measurement readers, lmfit-based fitting, TOML model cards and exporters.
"""

__version__ = "0.1.0"

from . import catalog as _catalog  # noqa: F401  (installs the card resolver of get_model)
from .core import DeviceModel, Parameter, StateVariable
from .registry import available_models, get_model
from .units import Q_, ureg

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
