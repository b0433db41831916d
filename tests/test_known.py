"""One lookup of "already measured": a censored row (``<1E-10``) is a bound everywhere."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.cli import main
from matgenome.errors import InputError, UsageError
from matgenome.generation import deduplicate, generate_candidates
from matgenome.known import KnownMeasurements, known_mask, read_known

# Li2CrCl4 is reported in OBELiX's training split only as "<1E-10" S/cm.
BOUND_ONLY = "Li2CrCl4"


@pytest.mark.parametrize("table", [
    pd.DataFrame({"formula": ["Li3PS4", "Li6P2S8", BOUND_ONLY],
                  "target": ["1e-4", "3e-4", "<1E-10"]}),
    pd.DataFrame({"formula": ["Li3PS4", "Li6P2S8", BOUND_ONLY],
                  "target": [1e-4, 3e-4, 1e-10], "censor": ["", "", "<"]}),
])
def test_a_censored_row_is_a_bound_not_a_value(table: pd.DataFrame) -> None:
    found = KnownMeasurements.from_training_data(table).lookup(
        ["Li1.5P0.5S2", BOUND_ONLY, "Li7P3S11"])
    assert found["known_value"].iloc[0] == pytest.approx(2e-4)
    assert found["known_count"].tolist() == [2, 0, 0]
    assert math.isnan(found["known_value"].iloc[1])
    assert found["known_bound"].iloc[1] == pytest.approx(1e-10)
    assert known_mask(found).tolist() == [True, True, False]


def test_generation_marks_a_bound_known_without_a_value() -> None:
    candidates = pd.DataFrame({"formula": ["Li3PS4", BOUND_ONLY, "Li7P3S11"]})
    known = pd.DataFrame({"formula": ["Li3PS4", BOUND_ONLY], "target": ["2e-4", "<1E-10"]})
    for marked in (deduplicate(candidates, known),
                   deduplicate(candidates, KnownMeasurements.from_training_data(known))):
        assert marked["known"].tolist() == [True, True, False]
        assert marked["known_value"].iloc[0] == pytest.approx(2e-4)
        assert marked["known_value"].iloc[1:].isna().all()


def test_generation_and_ranking_agree_on_a_bound(small_model_dir: Path) -> None:
    from matgenome.modelfile import load_model
    from matgenome.screen import rank_candidates

    model = load_model(small_model_dir)
    candidates = pd.DataFrame({"formula": [BOUND_ONLY, "Li6PS5Cl", "Li3InCl6", "Li7P3S11"]})
    marked = deduplicate(candidates, model.training_data)
    ranked = rank_candidates(model, candidates).sort_index()
    assert ranked["measured"].tolist() == marked["known"].tolist()
    assert ranked["measured"].iloc[0] and math.isnan(ranked["known_value"].iloc[0])
    assert ranked["known_bound"].iloc[0] == pytest.approx(-10.0)
    np.testing.assert_allclose(ranked["known_value"].to_numpy(float),
                               marked["known_value"].to_numpy(float))


def test_read_known_keeps_censored_dataset_rows(tmp_path: Path) -> None:
    known = KnownMeasurements.from_source("obelix").lookup([BOUND_ONLY])
    assert known_mask(known).tolist() == [True]
    assert math.isnan(known["known_value"].iloc[0])
    bad = tmp_path / "k.csv"
    pd.DataFrame({"formula": ["Li3PS4"], "sigma": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="needs columns 'formula' and 'target'"):
        read_known(str(bad))
    with pytest.raises(UsageError, match="target"):
        KnownMeasurements.from_training_data(pd.DataFrame({"formula": ["Li3PS4"]}))


def test_generate_command_marks_a_bound_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = generate_candidates(families=["garnet"])
    first, second = frame["formula"].iloc[:2]
    table = tmp_path / "known.csv"
    pd.DataFrame({"formula": [first, second], "target": ["<1E-10", "2.5e-4"]}).to_csv(
        table, index=False)
    output = tmp_path / "out.csv"
    assert main(["generate", "--family", "garnet", "--known", str(table), "-o",
                 str(output)]) == 0
    written = pd.read_csv(output).set_index("formula")
    assert written.loc[first, "known"] and math.isnan(written.loc[first, "known_value"])
    assert written.loc[second, "known_value"] == pytest.approx(2.5e-4)
    assert int(written["known"].sum()) == 2
    assert "(2 already measured)" in capsys.readouterr().out


def test_deprecated_generation_names_warn() -> None:
    import matgenome.generation as generation
    from matgenome.composition import CANDIDATE_DECIMALS

    with pytest.warns(DeprecationWarning, match="CANDIDATE_DECIMALS"):
        assert generation.KEY_DECIMALS == CANDIDATE_DECIMALS
    with pytest.warns(DeprecationWarning, match="KnownMeasurements"):
        values = generation.known_values(pd.DataFrame({"formula": ["Li3PS4"], "target": [1.0]}))
    assert list(values.values()) == [1.0]
