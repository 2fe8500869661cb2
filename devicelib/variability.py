"""Variability as a layer over any model, always seeded.

Three terms, each optional:

device-to-device (``d2d``)
    per-parameter spread. A parameter whose bounds are positive is drawn
    log-normally, ``p_i = p * exp(sigma * xi_i)`` (``sigma`` is the standard
    deviation of ``ln p``); any other parameter normally,
    ``p_i = p + sigma * |p| * xi_i``. Draws are clipped to the declared bounds.
cycle-to-cycle (``c2c``, ``c2c_abs``)
    noise on each pulse's update, applied by the model's ``perturb_step`` hook.
    Default: on the change of the first state variable,
    ``x_new = x + dx * (1 + c2c * xi) + c2c_abs * xi'`` (``c2c_abs`` in the
    state variable's unit); families with hidden sub-states override the hook
    (FeFET: the polarisation step, with domains or turning points kept
    consistent). Because ``dx`` depends on the state, this noise is
    state-dependent wherever the step is.
read (``read``)
    relative Gaussian noise on each conductance read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .core import DeviceModel, State


@dataclass(frozen=True)
class Variability:
    d2d: Mapping[str, float] = field(default_factory=dict)
    c2c: float = 0.0
    c2c_abs: float = 0.0
    read: float = 0.0

    def __post_init__(self):
        for name, value in [("c2c", self.c2c), ("c2c_abs", self.c2c_abs), ("read", self.read)]:
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"Variability.{name} must be finite and >= 0, got {value}")
        for name, sigma in self.d2d.items():
            if not np.isfinite(sigma) or sigma < 0:
                raise ValueError(f"Variability.d2d[{name!r}] must be finite and >= 0, got {sigma}")

    @property
    def is_zero(self) -> bool:
        return not (any(self.d2d.values()) or self.c2c or self.c2c_abs or self.read)

    def sample_devices(self, model: DeviceModel, n: int, rng: np.random.Generator) -> DeviceModel:
        """A copy of ``model`` whose parameters are per-device arrays of length ``n``."""
        if not any(self.d2d.values()):
            return model
        values = dict(model.params)
        for name, sigma in self.d2d.items():
            if not sigma:  # no spread: no draw
                continue
            p = model.parameter(name)
            base = np.broadcast_to(np.asarray(values[name], dtype=float), (n,))
            xi = rng.standard_normal(n)
            if p.bounds[0] > 0:
                draw = base * np.exp(sigma * xi)
            else:
                draw = base + sigma * np.abs(base) * xi
            values[name] = np.clip(draw, *p.bounds)
        new = type(model)(**values)
        new.rng = model.rng
        return new

    def perturb_step(self, model: DeviceModel, before: State, after: State,
                     rng: np.random.Generator) -> State:
        if not (self.c2c or self.c2c_abs):
            return after
        return model.perturb_step(before, after, self.c2c, self.c2c_abs, rng)

    def read_noise(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self.read:
            return g
        return g * (1.0 + self.read * rng.standard_normal(np.shape(g)))

    def to_dict(self) -> dict:
        return {"d2d": dict(self.d2d), "c2c": self.c2c, "c2c_abs": self.c2c_abs, "read": self.read}

    @classmethod
    def from_dict(cls, data: Mapping, where: str = "variability") -> Variability:
        """Build from a card's ``[variability]`` table; ValueError/KeyError name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: must be a table (c2c, c2c_abs, read, d2d), got {type(data).__name__}")
        allowed = {"d2d", "c2c", "c2c_abs", "read"}
        unknown = set(data) - allowed
        if unknown:
            raise KeyError(f"{where}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")
        d2d = data.get("d2d", {})
        if not isinstance(d2d, Mapping):
            raise ValueError(f"{where}.d2d: must be a table of parameter = sigma, got {type(d2d).__name__}")

        def number(value, key):
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise ValueError(f"{where}.{key}: expected a number, got {value!r:.60}")
            return float(value)

        try:
            return cls(
                d2d={str(k): number(v, f"d2d.{k}") for k, v in d2d.items()},
                c2c=number(data.get("c2c", 0.0), "c2c"),
                c2c_abs=number(data.get("c2c_abs", 0.0), "c2c_abs"),
                read=number(data.get("read", 0.0), "read"),
            )
        except ValueError as exc:
            raise ValueError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
