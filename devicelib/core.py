"""The conductance-update interface every device family implements.

A family is a subclass of :class:`DeviceModel` that declares its parameters
(:class:`Parameter`: SI unit, bounds, default, symbol, meaning) and its state
variables (:class:`StateVariable`), and implements four vectorised methods
over ``n`` devices (numpy arrays of shape ``(n,)``):

``initial_state(n)``
    a dict of state arrays;
``apply_pulse(state, amplitude, width, temperature)``
    the state after one rectangular pulse (V or A, s, K);
``conductance(state, v_read)``
    the read conductance in S;
``relax(state, dt, temperature)``
    the state after ``dt`` seconds with no bias (identity if non-volatile).

Parameter values may be scalars or per-device arrays of shape ``(n,)``, so
device-to-device variability (:class:`devicelib.variability.Variability`) is a
layer over any model rather than code in each family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .units import UnitError, check_unit, format_unit, quantity, to_si

State = dict[str, np.ndarray]


@dataclass(frozen=True)
class Parameter:
    """A declared model parameter, in SI units.

    ``log=True`` marks a value that may span decades: fitters work in
    ``log10`` of it. ``fixed=True`` marks a constant of nature or of the
    material that fits leave alone unless asked.
    """

    name: str
    unit: str
    default: float
    bounds: tuple[float, float]
    symbol: str
    description: str
    log: bool = False
    fixed: bool = False

    def __post_init__(self):
        check_unit(self.unit, f"parameter {self.name}")
        lo, hi = self.bounds
        if not lo <= self.default <= hi:
            raise ValueError(f"parameter {self.name}: default {self.default} outside bounds {self.bounds}")
        if self.log and lo <= 0:
            raise ValueError(f"parameter {self.name}: log-scaled but lower bound {lo} <= 0")

    def validate(self, value: Any, where: str = "") -> np.ndarray | float:
        """Convert ``value`` to SI and check it is finite and inside the bounds."""
        label = f"{where}{self.name}"
        v = to_si(value, self.unit or "dimensionless", label)
        arr = np.asarray(v, dtype=float)
        if arr.size == 0:
            raise ValueError(f"{label}: empty value")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label}: value must be finite, got {value!r}")
        lo, hi = self.bounds
        if np.any(arr < lo) or np.any(arr > hi):
            bad = arr[(arr < lo) | (arr > hi)].ravel()[0]
            u = format_unit(self.unit)
            raise ValueError(
                f"{label} = {bad:g} {u} is outside its bounds [{lo:g}, {hi:g}] {u} ({self.description})"
            )
        return v

    def quantity(self, value):
        return quantity(value, self.unit or "dimensionless")


def _quantity_inputs(inverse):
    """Let ``state_from_conductance(g, v_read)`` take pint quantities (converted to S and V)."""
    import functools

    @functools.wraps(inverse)
    def wrapper(self, g, v_read):
        from .units import _is_quantity, to_si  # no pint for plain numbers (a quantity implies pint)

        if isinstance(g, str) or _is_quantity(g):
            g = np.asarray(to_si(g, "S", "g"), dtype=float)
        if isinstance(v_read, str) or _is_quantity(v_read):
            v_read = float(to_si(v_read, "V", "v_read"))
        return inverse(self, g, v_read)

    wrapper._accepts_quantities = True
    return wrapper


@dataclass(frozen=True)
class StateVariable:
    """A state variable of a family, with its SI unit and physical range."""

    name: str
    unit: str
    bounds: tuple[float, float]
    description: str


@dataclass(frozen=True)
class Observable:
    """An extra observable a family exposes besides conductance (e.g. polarisation)."""

    name: str
    unit: str
    description: str


class DeviceModel:
    """Base class of every device family. See the module docstring.

    Subclasses set the class attributes below and implement ``initial_state``,
    ``apply_pulse`` and ``conductance``; ``relax`` defaults to the identity.
    """

    #: registry name, ``family.model`` (e.g. ``"vcm.stanford_pku"``)
    name: ClassVar[str] = ""
    #: short family key (e.g. ``"vcm"``) and its readable name
    family: ClassVar[str] = ""
    family_name: ClassVar[str] = ""
    #: "V" for voltage-driven families, "A" for current-driven ones
    amplitude_unit: ClassVar[str] = "V"
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    state_variables: ClassVar[tuple[StateVariable, ...]] = ()
    observables: ClassVar[tuple[Observable, ...]] = ()
    references: ClassVar[tuple[str, ...]] = ()
    #: True when ``relax`` changes the state (volatility, drift, retention loss)
    volatile: ClassVar[bool] = False
    #: True when ``apply_pulse`` draws random numbers (stochastic switching)
    stochastic: ClassVar[bool] = False

    #: names the simulation Dataset uses for pulse coordinates; a state variable may not take them
    RESERVED_NAMES: ClassVar[frozenset[str]] = frozenset(
        {"amplitude", "width", "interval", "temperature", "time", "device", "pulse", "conductance", "energy"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        clash = {sv.name for sv in cls.state_variables} & cls.RESERVED_NAMES
        clash |= {o.name for o in cls.observables} & cls.RESERVED_NAMES
        if clash:
            raise TypeError(f"{cls.__name__}: state variable/observable name(s) {sorted(clash)} are reserved "
                            f"for simulation outputs and pulse coordinates; rename them")
        inv = cls.__dict__.get("state_from_conductance")
        if inv is not None and not getattr(inv, "_accepts_quantities", False):
            cls.state_from_conductance = _quantity_inputs(inv)

    def __init__(self, **values: Any):
        declared = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise KeyError(
                f"{self.name}: unknown parameter(s) {unknown}; declared: {sorted(declared)}"
            )
        self.params: dict[str, np.ndarray | float] = {}
        for name, p in declared.items():
            self.params[name] = p.validate(values[name], f"{self.name}.") if name in values else p.default
        self.rng = np.random.default_rng()
        self._check()

    def _check(self) -> None:
        """Hook for cross-parameter consistency checks (e.g. g_min < g_max)."""

    # -- parameters ------------------------------------------------------
    @classmethod
    def parameter(cls, name: str) -> Parameter:
        for p in cls.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{cls.name}: no parameter {name!r}; declared: {[p.name for p in cls.parameters]}")

    @classmethod
    def parameter_names(cls) -> list[str]:
        return [p.name for p in cls.parameters]

    def with_params(self, **values: Any) -> DeviceModel:
        """A copy with some parameters changed (validated as in the constructor)."""
        merged = dict(self.params)
        merged.update(values)
        new = type(self)(**merged)
        new.rng = self.rng
        return new

    def nominal(self) -> DeviceModel:
        """The representative deterministic device of this model: intrinsic noise layers switched off.

        Exporters simulate it for the nominal response and the full model for the
        spread. Families whose noise sits in parameters (PCM's statistical layer)
        override this; the default is the model itself.
        """
        return self

    def seed(self, seed: int | np.random.Generator | None) -> DeviceModel:
        """Set the random generator used by stochastic families; returns self."""
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self

    def n_param_devices(self) -> int | None:
        """Number of devices the per-device parameter arrays describe (None if all scalar)."""
        sizes = {np.size(v) for v in self.params.values() if np.ndim(v) > 0}
        if len(sizes) > 1:
            raise ValueError(f"{self.name}: per-device parameter arrays have different sizes {sizes}")
        return sizes.pop() if sizes else None

    # -- the interface -----------------------------------------------------
    def initial_state(self, n: int) -> State:
        raise NotImplementedError

    def apply_pulse(self, state: State, amplitude, width, temperature) -> State:
        raise NotImplementedError

    def conductance(self, state: State, v_read) -> np.ndarray:
        raise NotImplementedError

    def relax(self, state: State, dt, temperature) -> State:
        return state

    def current(self, state: State, voltage, temperature=300.0) -> np.ndarray:
        """Current (A) at ``voltage``; default ohmic from :meth:`conductance`."""
        v = np.asarray(voltage, dtype=float)
        return self.conductance(state, np.where(v == 0, 1e-3, v)) * v

    def pulse_energy(self, before: State, after: State, amplitude, width, temperature) -> np.ndarray:
        """Energy delivered by one pulse (J).

        Default: V * I * t_p with the current averaged between the states
        before and after the pulse (trapezoid over the state change); current
        families use I^2 / G. Families with their own energetics override it.
        """
        a = np.asarray(amplitude, dtype=float)
        if self.amplitude_unit == "A":
            g = 0.5 * (self.conductance(before, 0.1) + self.conductance(after, 0.1))
            return a**2 / np.maximum(g, 1e-30) * width
        i = 0.5 * (self.current(before, a, temperature) + self.current(after, a, temperature))
        return np.abs(a * i) * width

    def perturb_step(self, before: State, after: State, rel: float, abs_: float,
                     rng: np.random.Generator) -> State:
        """Cycle-to-cycle noise on one pulse's update (used by the variability layer).

        Default: ``x_new = x + dx (1 + rel xi) + abs_ xi'`` on the first state
        variable, clipped to its bounds. Families whose primary state is
        derived from hidden sub-states (domains, turning-point stacks) override
        this to perturb those instead.
        """
        if not self.state_variables:
            return after
        sv = self.state_variables[0]
        x0, x1 = before[sv.name], after[sv.name]
        n = np.shape(x1)
        x = x0 + (x1 - x0) * (1.0 + rel * rng.standard_normal(n)) if rel else np.array(x1, dtype=float)
        if abs_:
            x = x + abs_ * rng.standard_normal(n)
        out = dict(after)
        out[sv.name] = x
        return self.clip_state(out)

    def state_from_conductance(self, g, v_read) -> State:
        """Invert the read: a state whose conductance at ``v_read`` is ``g``.

        Optional; fitters use it to start each trace at its first measured
        point. Families that cannot invert raise NotImplementedError.
        """
        raise NotImplementedError(f"{self.name} cannot infer a state from a conductance")

    def observe(self, state: State) -> dict[str, np.ndarray]:
        """Values of :attr:`observables` for ``state`` (SI units)."""
        return {}

    # -- helpers for subclasses ---------------------------------------------
    def clip_state(self, state: State) -> State:
        for sv in self.state_variables:
            if sv.name in state:
                lo, hi = self._state_bounds(sv)
                state[sv.name] = np.clip(state[sv.name], lo, hi)
        return state

    def _state_bounds(self, sv: StateVariable) -> tuple[Any, Any]:
        """Bounds of a state variable; a string names the parameter holding it."""
        lo, hi = sv.bounds
        lo = self.params[lo] if isinstance(lo, str) else lo
        hi = self.params[hi] if isinstance(hi, str) else hi
        return lo, hi

    def describe(self) -> str:
        lines = [f"{self.name}: {self.family_name}"]
        for p in self.parameters:
            v = self.params[p.name]
            val = f"{v:.4g}" if np.ndim(v) == 0 else f"array[{np.size(v)}] mean {np.mean(v):.4g}"
            lines.append(f"  {p.symbol:>10s} {p.name:<14s} = {val} {format_unit(p.unit)}  ({p.description})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def param_table(model_cls: type[DeviceModel]) -> list[dict[str, Any]]:
    """Rows describing the declared parameters (for docs, ``show`` and JSON)."""
    return [
        {
            "name": p.name,
            "symbol": p.symbol,
            "unit": p.unit,
            "default": p.default,
            "min": p.bounds[0],
            "max": p.bounds[1],
            "log": p.log,
            "fixed": p.fixed,
            "description": p.description,
        }
        for p in model_cls.parameters
    ]


def per_device(value, n: int) -> np.ndarray:
    """A scalar or per-device parameter as a read-only array of shape (n,) (families' vectorised kernels)."""
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def against_state(value, ref) -> np.ndarray:
    """A scalar or per-device (n,) parameter broadcastable against a state array of shape (n,) or (n, N)."""
    v = np.asarray(value, dtype=float)
    if v.ndim == 1 and np.ndim(ref) == 2:
        v = v[:, None]
    return v


def thermal_voltage(temperature) -> np.ndarray:
    from .units import k_B, q_e

    return k_B * np.asarray(temperature, dtype=float) / q_e


__all__ = [
    "DeviceModel",
    "Observable",
    "Parameter",
    "State",
    "StateVariable",
    "UnitError",
    "param_table",
]
