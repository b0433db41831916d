"""The one place that decides which recipe (features + calibrated trees) a table gets.

Model selection runs cross-validation (:mod:`matgenome.evaluation.splits`), so it sits
beside training, above evaluation and the estimators of :mod:`matgenome.models`; the old
path ``matgenome.selection`` still works for one release with a deprecation warning.

``train``, ``evaluate``, ``simulate``, ``rank``/``screen`` (through the model files that
``train`` writes) and ``build-default-model`` all come here. A *candidate* is a recipe:
for a regressor (:class:`RegressorRecipe`) a feature preset and the settings of
:class:`~matgenome.models.calibrated.CalibratedTreesRegressor`; for a two-class target
(:class:`ClassifierRecipe`) a feature preset and the settings of a calibrated tree
classifier.
With no recipe named, :func:`select_candidate` scores the candidates for the table by
grouped K-fold cross-validation **inside the training rows only** (rows of one composition,
and of groups such as papers that share a composition, stay in one fold) and keeps the one
with the lowest mean absolute error; the scores and the choice go into the model card.

Candidate sets (``candidates_for``):

* a conductivity target (``conductivity`` in the target's name or unit ``S/cm``): the
  conductivity recipe, chosen by ``benchmarks/select_obelix_model.py`` (extra trees,
  ``max_features`` 0.1, on electrolyte + stoichiometry + valence-orbital + ion-property +
  conduction descriptors), and plain extra trees on Magpie;
* any other target: extra trees on Magpie, extra trees and a random forest on the
  ``default`` preset, and extra trees on ``default`` + element fractions; and, where the
  table meets their condition (:func:`condition_met`):

  - ``floor`` (a real share of the rows sits at the minimum value, such as band gaps of
    metals at 0 eV: at least ``FLOOR_SHARE`` of the rows and ``FLOOR_ROWS`` rows, chosen by
    ``benchmarks/select_floor_share.py``): the hurdle form
    (:class:`~matgenome.models.censored.CensoredHurdleRegressor` with ``floor="min"``: a
    classifier of "at the floor" times a regressor above it) with the regressor on a √, log
    or plain scale of the height above the floor (``hurdle_sqrt_fractions``,
    ``hurdle_log_fractions``, ``hurdle_fractions``); the Matbench expt_gap recipe;
  - ``alloy`` (at least 80% of the compositions are at least 90% metal): extra trees with
    ``min_samples_leaf`` 2 on element fractions (``extra_trees_fractions_leaf2``), which
    resolve the minor alloying elements that Magpie averages blur; the Matbench steels
    recipe.

  Every candidate is scored in the original units of the target.

Plain extra trees on Magpie is in every set, so the chosen recipe never scores worse than
that common baseline in the selection itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matgenome.models.calibrated import CalibratedTreesRegressor

# The conductivity recipe's features: 168 electrolyte (36 + Magpie 132) + 6 + 8 + 3 + 28.
OBELIX_PRESET = "electrolyte+stoichiometry+valence_orbital+ion_property+conduction"
SELECTION_FOLDS = 5
# Fewer trees while comparing candidates: the ranking of candidates is stable at 200 trees
# and the final model is refitted with the candidate's full count.
SELECTION_TREES = 200
# Below this many rows a 5-fold comparison says nothing; the first candidate is kept.
MIN_SELECTION_ROWS = 20
# Mean compositions per similarity cluster when no groups (papers) are given.
CLUSTER_SIZE = 8


@dataclass(frozen=True)
class RegressorRecipe:
    """A feature preset plus the settings of the calibrated tree ensemble."""

    name: str
    features: str
    kind: str = "extra_trees"
    max_features: float | str | None = 1.0
    min_samples_leaf: int = 1
    n_estimators: int = 500
    description: str = ""
    # A hurdle over the minimum value ("min"), the scale of the height above it (None,
    # "sqrt", "log"), and the condition a table must meet for the candidate to be
    # considered (None: always; see condition_met).
    floor: str | None = None
    transform: str | None = None
    condition: str | None = None

    def estimator(
        self,
        random_state: int | None = 0,
        n_estimators: int | None = None,
        n_jobs: int | None = None,
        calibration: str = "cv",
    ) -> Any:
        """An unfitted regressor with this candidate's settings."""
        trees = CalibratedTreesRegressor(
            kind=self.kind, n_estimators=n_estimators or self.n_estimators,
            max_features=self.max_features, min_samples_leaf=self.min_samples_leaf,
            average_duplicates=False, calibration=calibration, noise=True,
            random_state=random_state, n_jobs=n_jobs,
        )
        if self.floor is None:
            return trees
        return floor_hurdle(trees, n_estimators or self.n_estimators, self.max_features,
                            self.floor, self.transform, random_state, n_jobs)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "features": self.features, "kind": self.kind,
                "max_features": self.max_features, "min_samples_leaf": self.min_samples_leaf,
                "n_estimators": self.n_estimators, "description": self.description,
                **({"floor": self.floor, "transform": self.transform} if self.floor else {}),
                **({"condition": self.condition} if self.condition else {})}


CONDUCTIVITY = RegressorRecipe(
    "conductivity", OBELIX_PRESET, "extra_trees", 0.1,
    description="extra trees (max_features 0.1) on electrolyte, stoichiometry, "
    "valence-orbital, ion-property and conduction descriptors; chosen by "
    "benchmarks/select_obelix_model.py",
)
EXTRA_TREES_MAGPIE = RegressorRecipe("extra_trees_magpie", "magpie", "extra_trees", 1.0,
                               description="plain extra trees on Magpie descriptors")
GENERAL: tuple[RegressorRecipe, ...] = (
    EXTRA_TREES_MAGPIE,
    RegressorRecipe("extra_trees_default", "default", "extra_trees", 0.3,
              description="extra trees (max_features 0.3) on the default preset"),
    RegressorRecipe("random_forest_default", "default", "random_forest", 0.3,
              description="random forest (max_features 0.3) on the default preset"),
    RegressorRecipe("extra_trees_fractions", "default+element_fraction", "extra_trees", 0.3,
              description="extra trees (max_features 0.3) on the default preset and "
              "element fractions"),
)
FRACTIONS = "default+element_fraction"
CONDITIONAL: tuple[RegressorRecipe, ...] = (
    RegressorRecipe("hurdle_sqrt_fractions", FRACTIONS, "extra_trees", 0.3, floor="min",
              transform="sqrt", condition="floor",
              description="extra-trees classifier of 'at the minimum value' times extra trees "
              "(max_features 0.3) of the square root of the height above it, on the default "
              "preset and element fractions (the Matbench expt_gap recipe)"),
    RegressorRecipe("hurdle_log_fractions", FRACTIONS, "extra_trees", 0.3, floor="min",
              transform="log", condition="floor",
              description="hurdle as hurdle_sqrt_fractions, the regressor on log(1 + height)"),
    RegressorRecipe("hurdle_fractions", FRACTIONS, "extra_trees", 0.3, floor="min",
              condition="floor",
              description="hurdle as hurdle_sqrt_fractions, the regressor on the height"),
    RegressorRecipe("extra_trees_fractions_leaf2", "element_fraction", "extra_trees", 1.0,
              min_samples_leaf=2, condition="alloy",
              description="extra trees (min_samples_leaf 2) on element fractions (the "
              "Matbench steels recipe)"),
)
CANDIDATES: dict[str, RegressorRecipe] = {
    c.name: c for c in (CONDUCTIVITY, *GENERAL, *CONDITIONAL)}
ALIASES = {"obelix": "conductivity"}
# The floor condition: at least this share of the rows, and this many rows, at the minimum.
# benchmarks/select_floor_share.py (expt_gap tables of 600 rows, 2 draws): the hurdle is
# within ±0.01 eV of plain trees at 2-20% metals and 0.068 eV better at 40%.
FLOOR_SHARE = 0.40
FLOOR_ROWS = 10
# The alloy condition: this share of the compositions at least ALLOY_METAL metal (atoms).
ALLOY_SHARE = 0.8
ALLOY_METAL = 0.9


def get_candidate(name: str) -> RegressorRecipe:
    """A candidate by name (``conductivity``, alias ``obelix``, ``extra_trees_magpie``, ...)."""
    name = ALIASES.get(name, name)
    try:
        return CANDIDATES[name]
    except KeyError:
        known = ", ".join([*CANDIDATES, *ALIASES])
        raise ValueError(f"unknown recipe {name!r}; recipes: auto, {known}") from None


def is_conductivity(target: dict[str, Any] | None) -> bool:
    """Whether a target description (name, unit) is an ionic conductivity."""
    if not target:
        return False
    text = f"{target.get('name', '')} {target.get('unit', '')}".lower()
    return "conductiv" in text or "s/cm" in text or "s cm-1" in text


def candidates_for(target: dict[str, Any] | None, y: Sequence[float] | None = None,
                   compositions: Sequence[object] | None = None) -> list[RegressorRecipe]:
    """The candidates considered for a target and its rows (see the module docstring).

    Without ``y`` and ``compositions`` no conditional candidate is considered.
    """
    if is_conductivity(target):
        return [CONDUCTIVITY, EXTRA_TREES_MAGPIE]
    return [*GENERAL, *(c for c in CONDITIONAL if condition_met(c.condition, y, compositions))]


def floor_share(y: Sequence[float]) -> tuple[float, int]:
    """Share and number of the values at the minimum (up to rounding)."""
    values = np.asarray(y, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return 0.0, 0
    low = float(values.min())
    at = int(np.sum(values <= low + 1e-9 * max(1.0, abs(low))))
    return at / len(values), at


def metal_share(compositions: Sequence[object]) -> float:
    """Share of the compositions that are at least ``ALLOY_METAL`` metal by atoms."""
    from matgenome.composition import parse_many

    parsed, _ = parse_many([str(getattr(c, "formula", c)) for c in compositions])
    metallic = [
        sum(c.get_atomic_fraction(el) for el in c.elements if el.is_metal) >= ALLOY_METAL
        for c in parsed if c is not None
    ]
    return float(np.mean(metallic)) if metallic else 0.0


def condition_met(condition: str | None, y: Sequence[float] | None,
                  compositions: Sequence[object] | None) -> bool:
    """Whether a table meets a candidate's condition (``None``: always)."""
    if condition is None:
        return True
    if condition == "floor":
        if y is None:
            return False
        share, rows = floor_share(y)
        return share >= FLOOR_SHARE and rows >= FLOOR_ROWS
    if condition == "alloy":
        return compositions is not None and len(compositions) > 0 \
            and metal_share(compositions) >= ALLOY_SHARE
    raise ValueError(f"unknown candidate condition {condition!r}")


def custom_candidate(preset: str | None, kind: str | None,
                     base: RegressorRecipe | None = None,
                     max_features: float | str | None = None) -> RegressorRecipe:
    """A candidate from explicit options; unset ones come from ``base`` (default: ET magpie)."""
    base = base or EXTRA_TREES_MAGPIE
    return RegressorRecipe(
        "custom", preset or base.features, kind or base.kind,
        base.max_features if max_features is None else max_features,
        base.min_samples_leaf, base.n_estimators,
        description=f"{kind or base.kind} on {preset or base.features}",
        floor=base.floor, transform=base.transform,
    )


@dataclass
class Selection:
    """The outcome of :func:`select_candidate`: every candidate's score and the choice."""

    chosen: RegressorRecipe
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    protocol: str = ""

    def to_card(self) -> dict[str, Any]:
        return {"chosen": self.chosen.name, "protocol": self.protocol,
                "candidates": {name: {**CANDIDATES.get(name, self.chosen).describe(),
                                      **score} for name, score in self.scores.items()}}


def selection_folds(
    keys: Sequence[object], groups: Sequence[object] | None, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped folds: a composition, and groups linked by one, never straddle a split."""
    from matgenome.evaluation import connected_groups, group_kfold_splits

    groups = list(keys) if groups is None else list(groups)
    units = len(np.unique(connected_groups(keys, groups)))
    if units < 2:  # one group holds everything: keep only compositions together
        groups, units = list(keys), len(np.unique(keys))
    return group_kfold_splits(keys, groups, min(n_splits, units), random_state=seed)


def similarity_groups(formulas: Sequence[object], keys: np.ndarray, seed: int) -> np.ndarray:
    """Group labels from k-means clusters of standardised Magpie descriptors.

    Tables such as OBELiX come in series of doped variants of one parent, usually from one
    paper. Folds that split a series let a model score by interpolating between near-twins
    (on OBELiX's training rows such folds prefer plain Magpie trees, which then lose on the
    official test split of new papers); holding out whole clusters asks what a new
    candidate family needs. Rows that do not featurize form one group.
    """
    from sklearn.cluster import KMeans

    from matgenome.features import compute_features

    X = compute_features(list(formulas), "magpie")[0]
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    Z = X[first]
    Z = np.where(np.isfinite(Z), Z, np.nanmedian(np.where(np.isfinite(Z), Z, np.nan), axis=0))
    Z = np.nan_to_num(Z)
    scale = Z.std(axis=0)
    Z = (Z - Z.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    # At least one cluster per fold, so that small tables can still be split.
    n_clusters = int(np.clip(len(unique) // CLUSTER_SIZE, min(SELECTION_FOLDS, len(unique)),
                             len(unique)))
    labels = KMeans(n_clusters, n_init=3, random_state=seed).fit_predict(Z)
    return labels[inverse.ravel()]


def _grouped_folds(formulas: Sequence[object], keys: np.ndarray, groups: Any,
                   n_splits: int, seed: int) -> tuple[list, str]:
    """The selection folds, grouped by composition and by ``groups`` (else by similarity
    clusters), and the words that describe the grouping."""
    if groups is not None:
        return selection_folds(keys, groups, n_splits, seed), "the given groups (e.g. papers)"
    clusters = similarity_groups(formulas, keys, seed)
    return selection_folds(keys, clusters, n_splits, seed), (
        f"k-means clusters of Magpie descriptors (~{CLUSTER_SIZE} compositions each)")


def select_candidate(
    formulas: Sequence[object],
    y: np.ndarray,
    candidates: Sequence[RegressorRecipe],
    *,
    groups: Sequence[object] | None = None,
    seed: int = 0,
    n_splits: int = SELECTION_FOLDS,
    n_jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Selection:
    """Score ``candidates`` by grouped K-fold MAE on these rows and keep the best.

    A single candidate is returned without cross-validation. Ties keep the earlier
    candidate, so list the preferred (documented) recipe first.
    """
    from matgenome.evaluation import composition_labels
    from matgenome.features import compute_features

    candidates = list(candidates)
    if len(candidates) == 1:
        return Selection(candidates[0], protocol="one candidate: no selection")
    keys = composition_labels(list(formulas))
    if len(y) < MIN_SELECTION_ROWS or len(set(keys)) < 2:
        return Selection(candidates[0], protocol=f"{len(y)} rows: too few to compare "
                         f"recipes (at least {MIN_SELECTION_ROWS}); the first candidate")
    y = np.asarray(y, dtype=float)
    folds, grouping = _grouped_folds(formulas, keys, groups, n_splits, seed)
    protocol = (f"{len(folds)}-fold cross-validation inside the training rows, grouped by "
                f"composition and {grouping}; {SELECTION_TREES} trees per candidate; MAE on "
                "held-out rows")
    features: dict[str, np.ndarray] = {}
    scores: dict[str, dict[str, float]] = {}
    shared: dict[tuple[object, ...], Any] = {}  # fitted "at the floor" classifiers
    for candidate in candidates:
        if candidate.features not in features:
            features[candidate.features] = compute_features(list(formulas),
                                                            candidate.features)[0]
        X = features[candidate.features]
        fold_mae = []
        for i, (train, test) in enumerate(folds):
            model = _fold_model(candidate, seed, n_jobs, shared, i)
            model.fit(X[train], y[train])
            _share_classifier(candidate, model, shared, i)
            fold_mae.append(float(np.mean(np.abs(model.predict(X[test]) - y[test]))))
        scores[candidate.name] = {"cv_mae": round(float(np.mean(fold_mae)), 4),
                                  "cv_mae_std": round(float(np.std(fold_mae)), 4)}
        if progress is not None:
            progress(f"{candidate.name}: CV MAE {np.mean(fold_mae):.3f}")
    best = min(candidates, key=lambda c: scores[c.name]["cv_mae"])
    return Selection(best, scores, protocol)


def _classifier_key(candidate: RegressorRecipe, fold: int) -> tuple[object, ...]:
    return (candidate.features, candidate.max_features, candidate.floor, fold)


def _fold_model(candidate: RegressorRecipe, seed: int, n_jobs: int | None,
                shared: dict[tuple[object, ...], Any], fold: int) -> Any:
    """A candidate's selection model; hurdles reuse a fold's fitted floor classifier.

    The hurdle candidates differ only in the regressor's scale, and their classifiers
    (same features, settings, seed and rows) would be identical fits.
    """
    from sklearn.frozen import FrozenEstimator

    model = candidate.estimator(seed, SELECTION_TREES, n_jobs, calibration="none")
    classifier = shared.get(_classifier_key(candidate, fold))
    if candidate.floor is not None and classifier is not None:
        model.set_params(classifier=FrozenEstimator(classifier))
    return model


def _share_classifier(candidate: RegressorRecipe, model: Any,
                      shared: dict[tuple[object, ...], Any], fold: int) -> None:
    if candidate.floor is not None and getattr(model, "classifier_", None) is not None:
        shared.setdefault(_classifier_key(candidate, fold), model.classifier_)


def default_candidate(target: dict[str, Any] | None) -> RegressorRecipe:
    """The documented first choice for a target, where no selection can be run.

    A sequential-learning simulation hides most labels from the model, so selecting a
    recipe on all of them first would leak; it uses this candidate instead.
    """
    return candidates_for(target)[0]


def floor_hurdle(regressor: Any, n_estimators: int, max_features: float | str | None,
                 floor: str | float = "min", transform: str | None = None,
                 random_state: int | None = 0, n_jobs: int | None = None) -> Any:
    """A zero-inflated target's hurdle: extra-trees classifier of "at the floor" + regressor.

    The classifier has the regressor's trees and ``max_features``, as the Matbench expt_gap
    recipe (metal classifier times a √gap regressor) did.
    """
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    from matgenome.models.censored import CensoredHurdleRegressor

    classifier = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        ExtraTreesClassifier(n_estimators, max_features=max_features,
                             random_state=random_state, n_jobs=n_jobs))
    return CensoredHurdleRegressor(regressor=regressor, classifier=classifier, floor=floor,
                                   target_transform=transform, random_state=random_state,
                                   n_jobs=n_jobs)


# Trees of the bound classifier in all (five calibrated fold forests of 10 trees each).
BOUND_CLASSIFIER_TREES = 50


def censored_hurdle(regressor: Any, random_state: int | None = 0,
                    n_jobs: int | None = None) -> Any:
    """Wrap a recipe's regressor so that bound-only rows (``<1E-10``) are used as bounds.

    The variant chosen by ``benchmarks/select_censored.py`` (grouped 5-fold CV inside the
    OBELiX training split, 3 shuffles): a sigmoid-calibrated extra-trees classifier of
    "below the bound level" beside the regressor; where it says more likely than not, the
    prediction switches to the bound level (scores in
    ``benchmarks/results/select_censored.json``).
    The classifier is five sigmoid-calibrated 10-tree fold forests voting together (50
    trees in all): ``benchmarks/select_bound_classifier.py`` found it the cheapest that
    scores within the fold-shuffle spread of the 500-tree form built before (scores and
    timings in ``benchmarks/results/select_bound_classifier.json``). (One classifier
    calibrated on out-of-fold probabilities rarely passed 0.5 and left the bounds unused.)
    """
    from matgenome.models.censored import CensoredHurdleRegressor

    return CensoredHurdleRegressor(regressor=regressor, combine="switch",
                                   classify="below_level", decision_threshold=0.5,
                                   random_state=random_state, n_jobs=n_jobs,
                                   classifier_trees=BOUND_CLASSIFIER_TREES,
                                   calibrate_classifier=True)


# --- classification ---------------------------------------------------------------------
# Candidates of a two-class target (matgenome.classification): calibrated tree classifiers
# (matgenome.models.probability). The inner CV chooses the features and trees, the class
# balancing and the calibration together, by log loss of out-of-fold probabilities.
CLASS_BALANCING: tuple[str | None, ...] = (None, "balanced")
CALIBRATION_METHODS = ("none", "sigmoid", "isotonic")
CLASSIFIER_SELECTION_TREES = 100


@dataclass(frozen=True)
class ClassifierRecipe:
    """A feature preset plus the settings of a ProbabilityClassifier (``calibration``
    ``none``/``sigmoid``/``isotonic``), or of a prior-balanced tree classifier
    (``calibration`` ``prior_balanced``: :data:`MATBENCH_CLASSIFIERS`)."""

    name: str
    features: str
    kind: str = "extra_trees"
    max_features: float | str | None = "sqrt"
    min_samples_leaf: int = 1
    n_estimators: int = 500
    class_weight: str | None = None
    calibration: str = "sigmoid"
    description: str = ""

    def estimator(self, random_state: int | None = 0, n_estimators: int | None = None,
                  n_jobs: int | None = None) -> Any:
        """An unfitted classifier with this recipe's settings."""
        from matgenome.models.probability import ProbabilityClassifier

        if self.calibration == PRIOR_BALANCED:
            return _prior_balanced(self, random_state, n_estimators or self.n_estimators,
                                   n_jobs)
        return ProbabilityClassifier(
            kind=self.kind, n_estimators=n_estimators or self.n_estimators,
            max_features=self.max_features, min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight, calibration=self.calibration,
            random_state=random_state, n_jobs=n_jobs)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "features": self.features, "kind": self.kind,
                "max_features": self.max_features, "min_samples_leaf": self.min_samples_leaf,
                "n_estimators": self.n_estimators, "class_weight": self.class_weight,
                "calibration": self.calibration, "description": self.description}


CLASSIFIERS: tuple[ClassifierRecipe, ...] = (
    ClassifierRecipe(
        "classifier_fractions", "default+element_fraction", "extra_trees", "sqrt",
        description="extra-trees classifier (max_features sqrt) on the default preset and "
        "element fractions (the Matbench expt_is_metal recipe)"),
    ClassifierRecipe(
        "classifier_alloy", "default+element_fraction+alloy", "extra_trees", 0.5,
        description="extra-trees classifier (max_features 0.5) on the default preset, "
        "element fractions and Yang/Miedema alloy descriptors (the Matbench glass recipe)"),
    ClassifierRecipe(
        "classifier_magpie", "magpie", "random_forest", "sqrt",
        description="random-forest classifier on Magpie descriptors"),
)
CLASSIFIER_CANDIDATES: dict[str, ClassifierRecipe] = {c.name: c for c in CLASSIFIERS}


# Classifiers scored at Matbench's fixed probability threshold of 0.5: extra trees whose
# probabilities are rebalanced to equal class priors (matgenome.models.classify), so that
# 0.5 is the balanced-accuracy threshold. They are evaluate's default model for the two
# Matbench classification datasets and the benchmarks' "recommended" rows
# (benchmarks/task_recipes.py), not candidates of ``train``, whose classifiers are
# calibrated and labelled at the training share of the positive class.
PRIOR_BALANCED = "prior_balanced"
MATBENCH_CLASSIFIERS: dict[str, ClassifierRecipe] = {
    "matbench_expt_is_metal": ClassifierRecipe(
        "matbench_expt_is_metal", "default+element_fraction", "extra_trees", "sqrt",
        calibration=PRIOR_BALANCED,
        description="extra trees classifier, probabilities rebalanced to equal class "
        "priors"),
    # Chosen by benchmarks/select_matbench_glass.py (3-fold stratified CV inside each
    # official Matbench training set; its results file holds the scores).
    "matbench_glass": ClassifierRecipe(
        "matbench_glass", "default+element_fraction+alloy", "extra_trees", 0.5,
        calibration=PRIOR_BALANCED,
        description="extra trees classifier (max_features 0.5) with Yang and Miedema alloy "
        "descriptors, probabilities rebalanced to equal class priors"),
}
# A classification table without its own recipe is scored with the metal classifier.
GENERIC_CLASSIFIER = MATBENCH_CLASSIFIERS["matbench_expt_is_metal"]


def _prior_balanced(recipe: ClassifierRecipe, random_state: int | None, n_estimators: int,
                    n_jobs: int | None) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    from matgenome.models.classify import PriorBalancedClassifier
    from matgenome.models.probability import make_trees

    return PriorBalancedClassifier(make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        make_trees(recipe.kind, n_estimators, recipe.max_features, recipe.min_samples_leaf,
                   recipe.class_weight, random_state, n_jobs)))


def dataset_classifier(dataset: str) -> ClassifierRecipe:
    """The prior-balanced classifier recipe of a Matbench classification dataset."""
    try:
        return MATBENCH_CLASSIFIERS[dataset]
    except KeyError:
        raise ValueError(f"no classifier recipe for {dataset!r}; known: "
                         f"{', '.join(MATBENCH_CLASSIFIERS)}") from None


def get_classifier(name: str) -> ClassifierRecipe:
    """A classifier candidate by name (``classifier_fractions``, ...)."""
    try:
        return CLASSIFIER_CANDIDATES[name]
    except KeyError:
        raise ValueError(f"unknown classifier recipe {name!r}; classifier recipes: auto, "
                         f"{', '.join(CLASSIFIER_CANDIDATES)}") from None


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _balanced_accuracy(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    labels = p >= threshold
    return float(np.mean([np.mean(labels[y == c] == bool(c)) for c in (0, 1)]))


def select_classifier(
    formulas: Sequence[object],
    y: np.ndarray,
    candidates: Sequence[ClassifierRecipe] = CLASSIFIERS,
    *,
    groups: Sequence[object] | None = None,
    seed: int = 0,
    n_splits: int = SELECTION_FOLDS,
    n_jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Selection:
    """Choose features, trees, class balancing and calibration by grouped inner CV.

    ``y`` is 1.0 for the positive class, 0.0 for the other. For each candidate and
    balancing, out-of-fold probabilities come from grouped folds (as for regressors); each
    calibration is then fitted on the other folds' out-of-fold probabilities and scored on
    the fold's (cross-fitted), so no row scores a calibration fitted on itself. The lowest
    mean log loss wins; balanced accuracy at the training prior is recorded beside it.
    """
    from matgenome.evaluation import composition_labels
    from matgenome.features import compute_features
    from matgenome.models.probability import (
        _positive,
        apply_calibrator,
        fit_calibrator,
        make_trees,
    )

    candidates = list(candidates)
    y = np.asarray(y, dtype=float)
    keys = composition_labels(list(formulas))
    if len(y) < MIN_SELECTION_ROWS or min(np.sum(y == 0), np.sum(y == 1)) < n_splits:
        return Selection(candidates[0], protocol=f"{len(y)} rows ({int(y.sum())} positive): "
                         "too few to compare recipes; the first candidate")
    folds, grouping = _grouped_folds(formulas, keys, groups, n_splits, seed)
    protocol = (f"{len(folds)}-fold cross-validation inside the training rows, grouped by "
                f"composition and {grouping}; {CLASSIFIER_SELECTION_TREES} trees per "
                "candidate; class balancing and calibration (cross-fitted on out-of-fold "
                "probabilities) chosen with the features; log loss on held-out rows")
    target = y.astype(int)
    features: dict[str, np.ndarray] = {}
    scores: dict[str, dict[str, float]] = {}
    options: dict[str, ClassifierRecipe] = {}
    for candidate in candidates:
        if candidate.features not in features:
            features[candidate.features] = compute_features(list(formulas),
                                                            candidate.features)[0]
        X = np.nan_to_num(features[candidate.features], nan=0.0, posinf=0.0, neginf=0.0)
        for balance in CLASS_BALANCING:
            raw = np.zeros(len(y))
            for train, test in folds:
                trees = make_trees(candidate.kind, CLASSIFIER_SELECTION_TREES,
                                   candidate.max_features, candidate.min_samples_leaf,
                                   balance, seed, n_jobs)
                raw[test] = _positive(trees.fit(X[train], target[train]), X[test])
            for method in CALIBRATION_METHODS:
                losses, accuracies = [], []
                for train, test in folds:
                    calibrator = fit_calibrator(method, raw[train], target[train])
                    p = apply_calibrator(calibrator, raw[test])
                    losses.append(_log_loss(y[test], p))
                    if len(np.unique(target[test])) == 2:
                        accuracies.append(_balanced_accuracy(target[test], p,
                                                             float(y[train].mean())))
                name = f"{candidate.name}/{balance or 'unweighted'}/{method}"
                options[name] = ClassifierRecipe(
                    candidate.name, candidate.features, candidate.kind,
                    candidate.max_features, candidate.min_samples_leaf,
                    candidate.n_estimators, balance, method, candidate.description)
                scores[name] = {"cv_log_loss": round(float(np.mean(losses)), 4),
                                "cv_log_loss_std": round(float(np.std(losses)), 4),
                                "cv_balanced_accuracy": round(float(np.mean(accuracies)), 4)
                                if accuracies else float("nan")}
        if progress is not None:
            best = min((n for n in scores if n.startswith(candidate.name + "/")),
                       key=lambda n: scores[n]["cv_log_loss"])
            progress(f"{candidate.name}: CV log loss {scores[best]['cv_log_loss']:.3f} "
                     f"({best})")
    best = min(scores, key=lambda n: scores[n]["cv_log_loss"])
    return ClassifierSelection(options[best], scores, protocol, chosen_key=best,
                               options=options)


@dataclass
class ClassifierSelection(Selection):
    """A :class:`Selection` among classifier settings (name/balancing/calibration)."""

    chosen_key: str = ""
    options: dict[str, ClassifierRecipe] = field(default_factory=dict)

    def to_card(self) -> dict[str, Any]:
        return {"chosen": self.chosen_key or self.chosen.name, "protocol": self.protocol,
                "candidates": {name: {**self.options.get(name, self.chosen).describe(),
                                      **score} for name, score in self.scores.items()}}


# Old names of the recipe classes ("Candidate" is also a generated composition in
# matgenome.generation.candidates), kept for one release.
_DEPRECATED = {"Candidate": "RegressorRecipe", "ClassifierCandidate": "ClassifierRecipe"}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(f"matgenome.selection.{name} is deprecated; use {new}",
                      DeprecationWarning, stacklevel=2)
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
