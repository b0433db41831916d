"""The public datasets that ship with matgenome, loaded with normalised columns.

Every dataset loads as a DataFrame with at least these columns:

``formula``   the composition as reported by the source;
``target``    the property as a float (OBELiX: log10 of the conductivity in S/cm;
              classification tasks: 1.0 / 0.0);
``censor``    ``<`` where the source reports only an upper bound (OBELiX ``<1E-10``; ``target``
              then holds the bound), ``>`` for a lower bound, empty for an exact value
              (see :mod:`matgenome.censoring`);
``family``    the crystal family with spelling variants merged (``argyrodites`` and
              ``argyrodite`` -> ``argyrodite``), missing where the source has none;
``doi``       the source paper, missing where the source has none;
``fold``      the official test fold (Matbench), missing elsewhere;
``id``        the source's row identifier.

Provenance, licences and citations are in ``datasets/README.md``; ``list_datasets()`` and
``matgenome datasets`` print them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from matgenome.errors import UsageError
from matgenome.io import parse_target_values

# The table hash lives with the other provenance records; importable here as before.
from matgenome.provenance import table_sha256 as data_hash  # noqa: F401
from matgenome.resources import shipped_path

NORMALISED_COLUMNS = ("id", "formula", "target", "censor", "family", "doi", "fold")

OBELIX_CITATION = (
    "F. Therrien et al., OBELiX: A Curated Dataset of Crystal Structures and Experimentally "
    "Measured Ionic Conductivities for Lithium Solid-State Electrolytes, arXiv:2502.14234 "
    "(2025); Digital Discovery (2026)"
)
MATBENCH_CITATION = (
    "A. Dunn, Q. Wang, A. Ganose, D. Dopp, A. Jain, Benchmarking materials property "
    "prediction methods: the Matbench test set and Automatminer reference algorithm, "
    "npj Comput. Mater. 6, 138 (2020)"
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a shipped dataset holds and where it comes from."""

    name: str
    relative_path: str
    target: str
    unit: str
    task: str  # "regression" or "classification"
    licence: str
    citation: str
    description: str
    source_target_column: str
    formula_column: str


DATASETS: dict[str, DatasetInfo] = {
    "obelix": DatasetInfo(
        name="obelix",
        relative_path="obelix/all.csv",
        target="log10 ionic conductivity at room temperature",
        unit="log10(S/cm)",
        task="regression",
        licence="CC BY 4.0",
        citation=OBELIX_CITATION,
        description="599 Li-ion solid electrolytes, official train/test split (478/121)",
        source_target_column="Ionic conductivity (S cm-1)",
        formula_column="Reduced Composition",
    ),
    "matbench_expt_gap": DatasetInfo(
        name="matbench_expt_gap",
        relative_path="matbench/matbench_expt_gap.csv",
        target="experimental band gap",
        unit="eV",
        task="regression",
        licence="MIT (Matbench repository); data from Zhuo et al., J. Phys. Chem. Lett. 2018",
        citation=MATBENCH_CITATION
        + "; Y. Zhuo, A. Mansouri Tehrani, J. Brgoch, J. Phys. Chem. Lett. 9, 1668 (2018)",
        description="4604 compositions with measured band gaps, 5 official folds",
        source_target_column="gap expt",
        formula_column="composition",
    ),
    "matbench_steels": DatasetInfo(
        name="matbench_steels",
        relative_path="matbench/matbench_steels.csv",
        target="yield strength",
        unit="MPa",
        task="regression",
        licence="MIT (Matbench repository); data from Citrine Informatics",
        citation=MATBENCH_CITATION + "; steel yield strengths from Citrine Informatics",
        description="312 steel compositions with yield strengths, 5 official folds",
        source_target_column="yield strength",
        formula_column="composition",
    ),
    "matbench_glass": DatasetInfo(
        name="matbench_glass",
        relative_path="matbench/matbench_glass.csv",
        target="glass forming ability (1 = forms a metallic glass)",
        unit="label",
        task="classification",
        licence="MIT (Matbench repository); data from Landolt-Boernstein",
        citation=MATBENCH_CITATION
        + "; Y. Kawazoe, T. Masumoto, A.-P. Tsai, J.-Z. Yu, T. Aihara Jr., Nonequilibrium "
        "Phase Diagrams of Ternary Amorphous Alloys, Landolt-Boernstein III/37A (1997)",
        description="5680 alloy compositions labelled glass-forming or not, 5 official folds",
        source_target_column="gfa",
        formula_column="composition",
    ),
    "matbench_expt_is_metal": DatasetInfo(
        name="matbench_expt_is_metal",
        relative_path="matbench/matbench_expt_is_metal.csv",
        target="metallic (1) or not (0), experimental",
        unit="label",
        task="classification",
        licence="MIT (Matbench repository); data from Zhuo et al., J. Phys. Chem. Lett. 2018",
        citation=MATBENCH_CITATION
        + "; Y. Zhuo, A. Mansouri Tehrani, J. Brgoch, J. Phys. Chem. Lett. 9, 1668 (2018)",
        description="4921 compositions labelled metal or non-metal, 5 official folds",
        source_target_column="is_metal",
        formula_column="composition",
    ),
}

# Spelling variants in OBELiX's Family column that are not simple case or plural forms.
_FAMILY_TYPOS = {"cholorides": "chlorides"}
_SPLITS = ("all", "train", "test")


def dataset_path(name: str) -> Path:
    """Return the path of a shipped dataset's source file."""
    return shipped_path("datasets") / dataset_info(name).relative_path


def list_datasets() -> pd.DataFrame:
    """One row per shipped dataset: rows, target, unit, task, licence and citation."""
    rows = []
    for info in DATASETS.values():
        rows.append(
            {
                "name": info.name,
                "rows": len(pd.read_csv(dataset_path(info.name), usecols=[0])),
                "target": info.target,
                "unit": info.unit,
                "task": info.task,
                "licence": info.licence,
                "citation": info.citation,
            }
        )
    return pd.DataFrame(rows)


def load(name: str, split: str = "all", fold: int | None = None) -> pd.DataFrame:
    """Load a shipped dataset with normalised columns.

    Args:
        name: ``obelix`` or ``matbench_<task>`` (see ``list_datasets()``).
        split: ``all``, ``train`` or ``test``. OBELiX uses its official split; Matbench
            needs ``fold`` (0-4) with ``train``/``test``: the official protocol trains on
            ``fold != k`` and tests on ``fold == k``.
        fold: the Matbench fold for ``split="train"``/``"test"``.

    Returns:
        A DataFrame with the columns in ``NORMALISED_COLUMNS`` (plus ``family_raw`` for
        OBELiX), with a fresh 0..n-1 index.
    """
    info = dataset_info(name)
    if split not in _SPLITS:
        raise UsageError(f"unknown split {split!r} for {name}; expected one of {_SPLITS}")
    frame = _load_obelix(split) if name == "obelix" else _load_matbench(info, split, fold)
    frame.attrs["dataset"] = name
    frame.attrs["unit"] = info.unit
    frame.attrs["task"] = info.task
    return frame.reset_index(drop=True)


def normalise_family(raw: object) -> object:
    """Merge case, plural and typo variants of a family label (``Halide`` -> ``halide``).

    Acronyms (two or more capitals, e.g. ``NASICON``, ``thio-LISICON``) are kept as written.
    """
    if not isinstance(raw, str) or not raw.strip():
        return pd.NA
    label = raw.strip()
    if sum(ch.isupper() for ch in label) >= 2:
        return label
    label = _FAMILY_TYPOS.get(label.lower(), label.lower())
    if label.endswith("s") and not label.endswith("ss"):
        label = label[:-1]
    return label


def dataset_info(name: str) -> DatasetInfo:
    """The description of shipped dataset ``name``.

    Raises:
        UsageError: ``name`` is not a shipped dataset (the one place this is checked).
    """
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise UsageError(f"unknown dataset {name!r}; shipped datasets: {known}",
                         parameters=("dataset",)) from None


def _load_obelix(split: str) -> pd.DataFrame:
    info = DATASETS["obelix"]
    file = {"all": "all.csv", "train": "train.csv", "test": "test.csv"}[split]
    raw = pd.read_csv(shipped_path("datasets") / "obelix" / file, dtype=str,
                      keep_default_na=False)
    targets = parse_target_values(raw[info.source_target_column], log10=True)
    if any(targets.errors):
        bad = next(i for i, e in enumerate(targets.errors) if e)
        raise ValueError(f"OBELiX row {bad}: {targets.errors[bad]}")
    return pd.DataFrame(
        {
            "id": raw["ID"],
            "formula": raw[info.formula_column],
            "target": targets.values,
            "censor": targets.censor,
            "family": raw["Family"].map(normalise_family).astype("string"),
            "doi": raw["DOI"].replace("", pd.NA).astype("string"),
            "fold": pd.array([pd.NA] * len(raw), dtype="Int64"),
            "family_raw": raw["Family"],
        }
    )


def _load_matbench(info: DatasetInfo, split: str, fold: int | None) -> pd.DataFrame:
    raw = pd.read_csv(shipped_path("datasets") / info.relative_path)
    target = raw[info.source_target_column]
    if info.task == "classification":
        target = target.astype(bool).astype(float)
    frame = pd.DataFrame(
        {
            "id": raw["mbid"],
            "formula": raw[info.formula_column],
            "target": target.astype(float),
            "censor": "",
            "family": pd.array([pd.NA] * len(raw), dtype="string"),
            "doi": pd.array([pd.NA] * len(raw), dtype="string"),
            "fold": raw["fold"].astype("Int64"),
        }
    )
    if split == "all":
        if fold is not None:
            raise UsageError("fold is used with split='train' or split='test'")
        return frame
    if fold is None or fold not in range(5):
        raise UsageError(f"{info.name} split={split!r} needs fold=0..4 (the official folds)")
    keep = frame["fold"] == fold if split == "test" else frame["fold"] != fold
    return frame[keep.to_numpy()]
