"""Make the comparison table and figure of docs/metrics.md with the `devicelib compare` command.

Run from the repository root: .venv/bin/python docs/scripts/compare_figure.py
Writes docs/figures/compare.png and docs/figures/compare_table.md.
"""

from pathlib import Path

from typer.testing import CliRunner

from devicelib.cli import app

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "compare",
    "vcm.jiang2016_hfox", "vcm.crosssim_oxide_fit", "fefet.jerry2017_synapse",
    "lit.ecm.jo2010_agsi", "lit.fefet.jerry2017_hzo", "lit.ftj.ma2020_bto", "lit.ecram.vandeburgt2017_enode",
    "lit.mott.kumar2020_nbo2", "lit.mott.vox_spiking_cnn", "lit.fefet.survey_32pj",
    "--units", "energy=fJ,time=ns,conductance=uS",
    "--metrics", "g_min,g_max,on_off_ratio,states,nl_ltp,nl_ltd,energy_per_update,update_time,switching_time",
    "--format", "markdown",
    "--plot", str(ROOT / "docs" / "figures" / "compare.png"),
    "--out", str(ROOT / "docs" / "figures" / "compare_table.md"),
]

if __name__ == "__main__":
    res = CliRunner().invoke(app, ARGS)
    print("devicelib " + " ".join(ARGS))
    print(res.output)
    if res.exit_code != 0:
        raise SystemExit(res.exit_code)
