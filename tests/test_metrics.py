"""Metrics on synthetic curves with known values."""

import numpy as np
import pytest

from devicelib import metrics as m

# Points of NeuroSim's NL -> A/maxNumLevel table (MLP_NeuroSim V3.0, formula.cpp getParamA and
# documents/Nonlinearity-NormA.htm), as printed there (6 or 4 significant digits).
NEUROSIM_TABLE = [
    (0.01, 126.268958), (0.02, 63.134314), (0.19, 6.6437), (0.50, 2.519877), (1.00, 1.251653),
    (1.51, 0.8195), (2.40, 0.499181), (3.01, 0.3853), (4.51, 0.2266), (4.88, 0.2003),
    (6.01, 0.1351), (7.51, 0.0702), (9.00, 0.022810),
]


@pytest.mark.parametrize("nl, a", NEUROSIM_TABLE)
def test_neurosim_table_points(nl, a):
    digits = len(str(a).split(".")[1])
    # A from NL matches the printed value to its last printed digit
    assert m.neurosim_a_from_nl(nl) == pytest.approx(a, abs=0.6 * 10.0**-digits)
    assert m.neurosim_a_from_nl(-nl) == pytest.approx(-a, abs=0.6 * 10.0**-digits)
    # and the inverse gives the label back (tolerance from the printed precision of a)
    assert m.neurosim_nl_from_a(a) == pytest.approx(nl, rel=2e-3 if digits == 4 else 2e-5)


def test_neurosim_roundtrip_and_quantise():
    nl = np.linspace(-9.5, 9.5, 77)
    nl = nl[nl != 0]
    assert np.allclose(m.neurosim_nl_from_a(m.neurosim_a_from_nl(nl)), nl, rtol=1e-9, atol=1e-12)
    assert m.neurosim_a_from_nl(0.0) == np.inf
    assert m.neurosim_nl_from_a(np.inf) == 0.0
    # NeuroSim truncates |NL| to the 0.01 grid and clamps to [0.01, 9.00]
    assert m.neurosim_a_from_nl(2.409, quantise=True) == pytest.approx(0.499181, abs=1e-6)
    assert m.neurosim_a_from_nl(12.0, quantise=True) == pytest.approx(0.022810, abs=1e-6)
    assert m.neurosim_a_from_nl(0.001, quantise=True) == pytest.approx(126.268958, rel=1e-6)
    with pytest.raises(m.MetricError, match="must be below"):
        m.neurosim_a_from_nl(10.2)


@pytest.mark.parametrize("a_norm, nl", [(0.4992, 2.40), (-0.2003, -4.88), (0.02281, 9.00), (2.519877, 0.50)])
def test_neurosim_nl_of_generated_curve(a_norm, nl):
    n = 97  # maxNumLevel, e.g. Ag:a-Si
    x = np.arange(n + 1) / n
    g = 3.8e-8 + 4.4e-7 * m.neurosim_curve(x, a_norm)  # S
    assert m.neurosim_nl(g) == pytest.approx(nl, abs=2e-3)
    # depression: NeuroSim walks the curve backwards (P = Pmax - k)
    fit = m.fit_neurosim(g[::-1])
    assert fit.direction == "ltd" and fit.nl == pytest.approx(nl, abs=2e-3)
    assert fit.g_at_p0 == pytest.approx(3.8e-8, rel=1e-6) and fit.g_at_pmax == pytest.approx(4.78e-7, rel=1e-6)


def test_neurosim_nl_with_noise_and_linear():
    rng = np.random.default_rng(1)
    n = 128
    x = np.arange(n + 1) / n
    y = m.neurosim_curve(x, m.neurosim_a_from_nl(2.40)) + rng.normal(0, 0.005, n + 1)
    assert m.neurosim_nl(y) == pytest.approx(2.40, abs=0.05)
    assert abs(m.neurosim_nl(x)) < 1e-3  # a straight line is NL 0
    with pytest.raises(m.MetricError, match="flat"):
        m.neurosim_nl(np.ones(10))
