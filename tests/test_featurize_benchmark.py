"""The featurizer benchmark runs end to end and reports equivalence with matminer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "featurize_vs_matminer.py"


def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "results" / "featurize_vs_matminer.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--matminer-n", "60", "--n", "3000",
         "--random", "100", "--repeats", "1", "--output", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "wrote" in completed.stdout
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert {"python", "numpy", "pymatgen", "matminer", "matgenome"} <= set(report["versions"])
    assert set(report["presets"]) == {"magpie", "stoichiometry", "valence_orbital",
                                      "ion_property", "element_fraction"}
    for preset in report["presets"].values():
        assert preset["equivalent"] is True
        assert preset["max_abs_diff"] <= 1e-9
        assert preset["matminer_rate"] > 0 and preset["ratio_compositions"] > 0
    assert report["large"]["n"] == 3000
    assert report["large"]["failed_rows"] == 0
    assert not [p for p in output.parent.iterdir() if p != output], "temporary files left"
