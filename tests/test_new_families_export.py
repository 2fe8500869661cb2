"""The issue-12 families (interface VCM, FTJ, floating gate) export to the simulator targets from their cards."""

import pytest

from devicelib.export import export

CARDS = ("vcm.sawa_nbsto_interface", "ftj.chanthbouala2012_bto", "floating_gate.diorio1996_fg_synapse")


@pytest.mark.parametrize("card", CARDS)
def test_card_exports_to_crosssim_neurosim_and_memtorch(card, tmp_path):
    cs = export(card, "crosssim", tmp_path / "cs")
    assert (tmp_path / "cs" / "devicelib_export.json").is_file()
    assert cs.mapping["rmse_relative_to_window"] < 0.1  # CrossSim dG tables follow the physics within 10 %
    ns = export(card, "neurosim", tmp_path / "n.txt")
    assert (tmp_path / "n.txt").is_file() and ns.mapping["rmse_relative_to_window"] < 0.15
    mt = export(card, "memtorch", tmp_path / "m.json")
    assert (tmp_path / "m.json").is_file() and 0 <= mt.mapping["rmse_relative_to_window"] < 0.6
