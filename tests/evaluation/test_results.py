"""matgenome.evaluation.results: data hashes and the labels of result plots."""

from __future__ import annotations

import importlib

import pandas as pd

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


def test_data_hash_changes_with_the_data() -> None:
    frame = pd.DataFrame({"formula": ["Li2O", "LiCl"], "target": [1.0, 2.0]})
    changed = frame.assign(target=[1.0, 2.5])
    assert ev.table_hash(frame) == ev.table_hash(frame.copy())
    assert ev.table_hash(frame) != ev.table_hash(changed)


def test_evaluation_plot_labels_come_from_the_target() -> None:
    import argparse

    import pandas as pd

    from matgenome.cli.commands.evaluate import _evaluation_label
    from matgenome.plots import parity_figure

    label = _evaluation_label(argparse.Namespace(data="matbench_expt_gap"), "matbench_expt_gap")
    assert label == "experimental band gap (eV)"
    assert _evaluation_label(argparse.Namespace(data="obelix"), "obelix") == "log10(σ / S cm⁻¹)"
    # A table carries its own description (set where the table is read).
    table = pd.DataFrame({"formula": ["Li2O"], "target": [1.0]})
    table.attrs["target"] = {"label": "hardness (GPa)"}
    assert _evaluation_label(argparse.Namespace(data="t.csv"), table) == "hardness (GPa)"
    axes = parity_figure([1.0, 2.0], [1.1, 1.9], quantity=label).axes[0]
    assert axes.get_xlabel() == "Measured experimental band gap (eV)"
    assert "σ" not in axes.get_ylabel()
