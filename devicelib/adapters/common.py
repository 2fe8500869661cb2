r"""What every simulator adapter shares: a card bound to vectorised programming, drift, read and I-V.

A simulator works on *normalised* conductances; a devicelib card is physics in SI.
:class:`DeviceAdapter` holds one card (or model) and does the four operations the
simulators ask for, over whole matrices at once (no Python loop over devices):

programming
    :meth:`DeviceAdapter.program` turns target conductances (S) into device states.
    The state is the one whose read at ``v_read`` is the target
    (``model.state_from_conductance``), perturbed by the card's programming
    physics:

    - PCM (``pcm.gst_mushroom`` cards): the card's statistical layer, drawn
      exactly as a programming pulse of the model draws it (Nandakumar 2019 /
      Joshi 2020): :math:`G(t_0) = G(1 + \sigma_P(G)\xi/G)`, a fresh drift
      exponent :math:`\nu \sim |N(\mu_\nu(G), \sigma_\nu(G))|`;
    - any other card: the residual of an iterative write-verify loop that stops
      within half a pulse step of the target. The last correcting pulse is the
      card's operating pulse (``[operating]`` amplitude / amplitude_down and
      width, else the validity limits), up or down with equal probability; the
      error is uniform in :math:`\pm\Delta G/2` with :math:`\Delta G` the
      model's own step at that state (times :math:`1 + c_{2c}\xi` when the
      card has cycle-to-cycle variability). Its standard deviation,
      :math:`\sqrt{(\Delta G_+^2 + \Delta G_-^2)/24}`, is
      :meth:`DeviceAdapter.programming_sigma`. Device-to-device parameter
      spread is compensated by the verify loop and does not enter.

drift
    :meth:`DeviceAdapter.drift` is the model's own ``relax(state, t, T)``
    followed by a read: power-law drift and crystallisation for PCM, state
    relaxation for volatile families, nothing for non-volatile ones.

read noise
    :meth:`DeviceAdapter.read_sigma`: the standard deviation (S) of one read,
    state dependent. PCM: the accumulated 1/f noise of the statistical layer,
    :math:`\sigma_G = G\,Q(G)\sqrt{\ln((t + t_r)/(2 t_r))}` at
    :math:`t \ge t_0`; plus the card's white read noise
    ``variability.read`` :math:`\times G`. The simulators redraw it at every
    read (CrossSim: every MVM; aihwkit: every drift evaluation); devicelib's
    own PCM model keeps one draw per programming event. Spreads are the same.

I-V
    :meth:`DeviceAdapter.current`: the model's own current law where the
    family has one (``current`` overridden: VCM's :math:`I_0 e^{-g/g_0}
    \sinh(V/V_0)`, ECM; PCM's Poole-Frenkel read of the amorphous plug in
    series with :math:`R_c`); otherwise ohmic at the read conductance.

Normalised <-> physical conductance
-----------------------------------
Every adapter maps a normalised conductance :math:`x \in [x_{lo}, x_{hi}]`
linearly onto the card's physical window :math:`[G_{min}, G_{max}]`:

.. math::  G = G_{min} + (G_{max} - G_{min}) \frac{x - x_{lo}}{x_{hi} - x_{lo}}

(:meth:`DeviceAdapter.to_physical`, inverse :meth:`DeviceAdapter.to_normalised`).
CrossSim uses :math:`[x_{lo}, x_{hi}]` = ``[Gmin_norm, Gmax_norm]``; aihwkit
works in uS already (its conductance converter gets :math:`[G_{min}, G_{max}]`);
MemTorch works in S. The window is, in order: the ``g_min``/``g_max`` given,
the card's ``validity.conductance``, or the conductance read at the bounds of
the model's first state variable (e.g. VCM gap ``g_max`` .. ``g_min``; PCM
amorphous plug ``u_max`` .. 0). Conductances are "at the read voltage"
``v_read`` (given, else the card's ``[operating] read_voltage``, else 0.1 V).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np

from ..catalog import Card, find_card, load_card
from ..core import DeviceModel, State
from ..units import to_si

DEFAULT_READ_VOLTAGE = 0.1  # V
DEFAULT_TEMPERATURE = 300.0  # K
DEFAULT_WIDTH = 100e-9  # s


class AdapterError(ValueError):
    """A card cannot be used as a simulator device (no inverse read, bad window, ...)."""


def require(module: str, package: str, how: str | None = None) -> Any:
    """Import ``module`` of an optional simulator or raise a one-line ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = how or f"`pip install {package}` (or `pip install devicelib[adapters]`)"
        raise ImportError(f"devicelib.adapters needs the {package!r} package for this adapter ({exc}); "
                          f"install it with {how}") from exc


def resolve(source: Any) -> tuple[DeviceModel, Card | None]:
    """(model, card) from a card, a card name or path, or a model instance."""
    if isinstance(source, DeviceModel):
        return source, None
    if isinstance(source, Card):
        return source.model(), source
    if isinstance(source, str | os.PathLike):
        path = find_card(source)
        if path is None:
            raise AdapterError(f"no card {str(source)!r} (see `devicelib catalog`)")
        card = load_card(path)
        return card.model(), card
    raise AdapterError(f"cannot make a device from a {type(source).__name__}: give a card, a card name/path "
                       f"or a DeviceModel")


def _is_pcm_statistical(model: DeviceModel) -> bool:
    from ..physics.pcm import GSTMushroom

    return isinstance(model, GSTMushroom)


class DeviceAdapter:
    """A card (or model) bound to vectorised programming, drift, read noise and I-V (see module docstring).

    Parameters: ``g_min``/``g_max`` (S) override the physical window, ``v_read`` (V) the read voltage,
    ``temperature`` (K) the ambient temperature of drift and pulses, ``seed`` the random generator.
    Quantities with units (``"10 uS"``) are accepted.
    """

    def __init__(self, source: Any, *, g_min=None, g_max=None, v_read=None, temperature=None, seed=None):
        self.model, self.card = resolve(source)
        self.name = self.card.name if self.card is not None else self.model.name
        self.rng = np.random.default_rng(seed)
        self.model.seed(self.rng)
        op = self.card.operating_value if self.card is not None else (lambda key: None)
        self.v_read = float(to_si(v_read, "V", "v_read")) if v_read is not None else (
            op("read_voltage") or DEFAULT_READ_VOLTAGE)
        self.temperature = (float(to_si(temperature, "K", "temperature")) if temperature is not None
                            else op("temperature") or DEFAULT_TEMPERATURE)
        if self.card is not None and (rng := self.card.validity_range("temperature")) is not None:
            lo, hi = rng
            if not lo <= self.temperature <= hi:
                raise AdapterError(f"{self.name}: temperature {self.temperature:g} K is outside the card's "
                                   f"validity [{lo:g}, {hi:g}] K")
        if type(self.model).state_from_conductance is DeviceModel.state_from_conductance:
            why = (" (a volatile threshold switch: it relaxes to its insulating state at rest and holds no weight)"
                   if self.model.volatile else "")
            raise AdapterError(f"{self.name}: model {self.model.name} cannot set a state from a conductance, "
                               f"so it cannot be programmed to a target inside a simulator{why}")
        self.g_min, self.g_max = self._window(g_min, g_max)
        self.pcm = _is_pcm_statistical(self.model)
        self._pulses = self._operating_pulses(op)

    # -- window and mapping -------------------------------------------------------------
    def _operating_range(self, m: DeviceModel, n: int = 200) -> np.ndarray:
        """(g_lo, g_hi) the nominal device reaches under n potentiating then n depressing operating pulses;
        (nan, nan) when the card states no operating pulses."""
        op = self.card.operating_value if self.card is not None else (lambda key: None)
        up, down, width = op("amplitude"), op("amplitude_down"), op("width")
        if up is None or down is None or width is None:
            return np.array([np.nan, np.nan])
        state, seen = m.initial_state(1), []
        for a in (up, down):
            for _ in range(n):
                state = m.apply_pulse(state, a, width, self.temperature)
                seen.append(float(m.conductance(state, self.v_read)[0]))
        return np.array([min(seen), max(seen)])

    def _window(self, g_min, g_max) -> tuple[float, float]:
        lo = float(to_si(g_min, "S", "g_min")) if g_min is not None else None
        hi = float(to_si(g_max, "S", "g_max")) if g_max is not None else None
        if (lo is None or hi is None) and self.card is not None:
            rng = self.card.validity_range("conductance")
            if rng is not None:
                lo = rng[0] if lo is None else lo
                hi = rng[1] if hi is None else hi
        if lo is None or hi is None:
            m = self.model.nominal()
            sv = m.state_variables[0]
            b_lo, b_hi = m._state_bounds(sv)
            state = m.initial_state(2)
            state[sv.name] = np.array([float(np.mean(b_lo)), float(np.mean(b_hi))])
            g = np.sort(np.asarray(m.conductance(state, self.v_read), dtype=float))
            if not (np.all(np.isfinite(g)) and g[0] < g[1]):
                g = self._operating_range(m)  # unbounded state (FeFET polarisation read): what pulses reach
            lo = g[0] if lo is None else lo
            hi = g[1] if hi is None else hi
        if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo < hi):
            raise AdapterError(f"{self.name}: conductance window [{lo:g}, {hi:g}] S is not a finite range "
                               f"0 <= g_min < g_max; give g_min and g_max")
        return float(lo), float(hi)

    def to_physical(self, x, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        """Physical conductance (S) of normalised ``x`` (``lo`` maps to g_min, ``hi`` to g_max)."""
        return self.g_min + (self.g_max - self.g_min) * (np.asarray(x, dtype=float) - lo) / (hi - lo)

    def to_normalised(self, g, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        """Inverse of :meth:`to_physical`."""
        return lo + (hi - lo) * (np.asarray(g, dtype=float) - self.g_min) / (self.g_max - self.g_min)

    # -- programming ------------------------------------------------------------------
    def _operating_pulses(self, op) -> tuple[float, float, float]:
        rng = self.card.validity_range if self.card is not None else (lambda key: None)
        amp, amp_dn, width = op("amplitude"), op("amplitude_down"), op("width")
        arange, wrange = rng("amplitude"), rng("width")
        unit_default = 1.0 if self.model.amplitude_unit == "V" else 1e-4
        if amp is None:
            amp = arange[1] if arange and arange[1] > 0 else unit_default
        if amp_dn is None:
            amp_dn = arange[0] if arange and arange[0] < 0 else -amp
        if width is None:
            width = wrange[0] if wrange else DEFAULT_WIDTH
        return float(amp), float(amp_dn), float(width)

    def _floor(self) -> float:
        # state_from_conductance needs G > 0: the window's lower edge, or a millionth of its top
        return self.g_min if self.g_min > 0 else 1e-6 * self.g_max

    def state_of(self, g) -> State:
        """The error-free state whose read at ``v_read`` is ``g`` (S, any shape, flattened)."""
        g = np.clip(np.asarray(g, dtype=float).ravel(), self._floor(), None)
        return self.model.state_from_conductance(g, self.v_read)

    def read(self, state: State) -> np.ndarray:
        """Conductance (S) at ``v_read`` of ``state`` (flat)."""
        return np.asarray(self.model.conductance(state, self.v_read), dtype=float)

    def pulse_steps(self, g) -> tuple[np.ndarray, np.ndarray]:
        """|dG| (S) of one operating up and one down pulse from the error-free state at ``g`` (flat)."""
        amp, amp_dn, width = self._pulses
        state = self.state_of(g)
        g0 = self.read(state)
        up = self.read(self.model.apply_pulse(dict(state), amp, width, self.temperature))
        dn = self.read(self.model.apply_pulse(dict(state), amp_dn, width, self.temperature))
        return np.abs(up - g0), np.abs(dn - g0)

    def programming_sigma(self, g) -> np.ndarray:
        """devicelib's prediction of the standard deviation (S) of the programmed conductance at target ``g``."""
        g = np.asarray(g, dtype=float)
        if self.pcm:
            from ..physics.pcm import programming_sigma

            p = self.model.params
            g_stat = self.model.physical_conductance(self.state_of(g)["amorphous_thickness"], p["v_stat"])
            # the error is relative at v_stat and carried over to v_read: sigma_P(G_stat) G(v_read) / G_stat
            sig = p["prog_noise"] * programming_sigma(g_stat, p["g_max_stat"]) * g.ravel() / g_stat
            return sig.reshape(g.shape)
        up, dn = self.pulse_steps(g)
        c2c = self.card.variability.c2c if self.card is not None and self.card.variability else 0.0
        return (np.sqrt((up**2 + dn**2) / 24.0 * (1.0 + c2c**2))).reshape(g.shape)

    def program(self, g_target) -> State:
        """States (flat) after programming to ``g_target`` (S, any shape) with the card's programming error."""
        g = np.clip(np.asarray(g_target, dtype=float).ravel(), self._floor(), None)
        state = self.state_of(g)
        n = g.size
        if self.pcm:
            m = self.model
            g_stat = m.physical_conductance(state["amorphous_thickness"], m.params["v_stat"])
            nu, err, _xi = m._stat_draws(g_stat, n)  # the model's own programming draws
            state.update(nu=nu, prog_error=err, read_xi=np.zeros(n), t_prog=np.zeros(n))
            return state
        up, dn = self.pulse_steps(g)
        step = np.where(self.rng.random(n) < 0.5, up, dn)
        if self.card is not None and self.card.variability is not None and self.card.variability.c2c:
            step = step * (1.0 + self.card.variability.c2c * self.rng.standard_normal(n))
        g_prog = g + (self.rng.random(n) - 0.5) * step
        return self.state_of(g_prog)

    # -- drift and read noise ------------------------------------------------------------
    def drift(self, state: State, t: float) -> State:
        """State ``t`` seconds after programming (the model's relax at the adapter temperature)."""
        if t <= 0:
            return state
        return self.model.relax(dict(state), float(t), self.temperature)

    def read_sigma(self, g, t: float = 0.0) -> np.ndarray:
        """Standard deviation (S) of one read of conductance ``g`` (S) ``t`` s after programming."""
        g = np.abs(np.asarray(g, dtype=float))
        var = np.zeros_like(g)
        if self.pcm:
            from ..physics.pcm import read_noise_sigma

            p = self.model.params
            var += (p["read_noise"] * read_noise_sigma(g, max(float(t), p["t0_drift"]), p["g_max_stat"],
                                                       p["t_r"])) ** 2
        if self.card is not None and self.card.variability is not None and self.card.variability.read:
            var += (self.card.variability.read * g) ** 2
        return np.sqrt(var)

    def conductance_at(self, g_target, t: float) -> np.ndarray:
        """Programmed then drifted conductance (S, shape of ``g_target``) at ``t`` s, without read noise."""
        g_target = np.asarray(g_target, dtype=float)
        return self.read(self.drift(self.program(g_target), t)).reshape(g_target.shape)

    def add_read_noise(self, g, t: float = 0.0) -> np.ndarray:
        """``g`` (S) plus one fresh draw of the read noise, clipped at 0."""
        g = np.asarray(g, dtype=float)
        sig = self.read_sigma(g, t)
        if not np.any(sig):
            return g
        return np.maximum(g + sig * self.rng.standard_normal(g.shape), 0.0)

    # -- I-V ------------------------------------------------------------------------------
    @property
    def has_current_law(self) -> bool:
        """True when the family has its own current law (I-V nonlinearity), False when it is ohmic."""
        return self.pcm or type(self.model).current is not DeviceModel.current

    def current(self, g, voltage) -> np.ndarray:
        """Current (A) through devices of conductance ``g`` (S, read at ``v_read``) at ``voltage`` (V).

        ``voltage`` may have trailing dimensions beyond ``g`` (batches of inputs); the result has its shape.
        """
        g = np.asarray(g, dtype=float)
        v = np.asarray(voltage, dtype=float)
        extra = v.ndim - g.ndim
        if extra < 0:
            raise ValueError(f"{self.name}: the voltage array has fewer dimensions than the conductance array")
        expand = g.shape + (1,) * extra
        if not self.has_current_law:
            return g.reshape(expand) * v
        state = self.state_of(g)
        state = {k: (np.asarray(a).reshape(expand) if np.size(a) == g.size else a) for k, a in state.items()}
        # PCM: the model's own read law (Poole-Frenkel plug, covered fraction) evaluated at each |V|
        return np.asarray(self.model.current(state, v, self.temperature), dtype=float)
