"""devicelib: physics-based models of analog-AI memory devices.

Families are plugins behind one conductance-update interface
(:class:`devicelib.core.DeviceModel`); around them sit pulse protocols,
measurement readers, lmfit-based fitting, TOML model cards and exporters.
"""

__version__ = "0.1.0"

# Public names are imported on first use (PEP 562), so that `devicelib --help` and other light
# commands do not pay for numpy, importlib.metadata or the pint registry before they need them.
_LAZY = {
    "DeviceModel": "core", "Parameter": "core", "StateVariable": "core",
    "available_models": "registry", "get_model": "registry",
    "Q_": "units", "ureg": "units",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


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
