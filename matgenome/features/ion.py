"""Ionic-character features, reproducing matminer's ``IonProperty()`` with its defaults.

Columns: ``compound possible``, ``max ionic char``, ``avg ionic char``. The ionic character
of an element pair is ``1 - exp(-(X_A - X_B)^2 / 4)`` with pymatgen's Pauling
electronegativities (imputed as matminer's ``PymatgenData`` does); the average weights each
pair by the product of the atomic fractions.

``compound possible`` is whether pymatgen's ``Composition.oxi_state_guesses`` (called by
matminer with each element's common oxidation states as ``oxi_states_override``) finds a
charge-neutral assignment, i.e. whether for every element some multiset of ``n`` states
(``n`` = its integer amount, states drawn with repetition) exists so that all the sums add
to zero. pymatgen enumerates every combination; here the reachable charge sums are built
as boolean masks by convolution powers (see ``charge_neutral_possible``), which answers
the same yes/no question without the combinatorial cost.

Differences from matminer, by design. Blocks see the canonical form of a composition
(``matgenome.composition.canonical_amounts``): its smallest integer formula when one with
a small denominator exists, otherwise rounded atomic fractions. So ``compound possible``
applies pymatgen's criterion to the smallest integer formula, whatever the notation: for a
formula written as a multiple (``Fe2S2``) matminer enumerates the multiple and may answer
differently, and decimal notations of doped compositions (``Li6.4La3Zr1.4Ta0.6O12``, which
pymatgen's guesser refuses with ``Charge balance analysis requires integer values``, so
matminer gives NaN) are answered on their integer formula. Where no small integer formula
exists, where it has more than ``MAX_EXACT_ATOMS`` atoms (``Li32La15Zr7Ta3O60``; these
come from decimal notations, and one Python enumeration per row would make featurization
many times slower), or where the exact criterion would need more than
``MAX_CHARGE_SPAN`` units of charge moved from the nearer extreme of the possible totals
(pymatgen's enumeration would not finish either), ``compound possible`` asks whether
*some* integer multiple of the formula admits a neutral assignment (see
``supercell_neutral_possible``): with enough formula units that is exactly
``sum_i a_i min(q_i) <= 0 <= sum_i a_i max(q_i)``. The two ionic-character columns do not
involve oxidation states and are always computed. On every composition written as its
smallest integer formula, of at most ``MAX_EXACT_ATOMS`` atoms, the three columns equal
matminer's. Compositions given as
pymatgen objects decorated with oxidation states are treated by their element amounts.
"""

from __future__ import annotations

import functools

import numpy as np

from ._block import MATGENOME, WARD_2016, FeatureBlock
from ._elements import guesser_oxidation_states, pymatgen_electronegativity

ION_LABELS: tuple[str, ...] = ("compound possible", "max ionic char", "avg ionic char")
MAX_CHARGE_SPAN = 100_000
# Integer formulas with more atoms take the supercell criterion (see _compound_possible).
MAX_EXACT_ATOMS = 100
_NEUTRAL_TOLERANCE = 1e-9
# Above this many multiply-adds a direct convolution is slower than an FFT.
_DIRECT_CONVOLUTION_LIMIT = 1 << 20


def compute_ion_property(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """``compound possible``, ``max ionic char`` and ``avg ionic char`` for (m, k) arrays."""
    m, k = z.shape
    out = np.zeros((m, 3))
    if k == 1:
        # matminer: a single element is always a possible compound with no ionic character.
        out[:, 0] = 1.0
        return out
    electronegativity = pymatgen_electronegativity()[z]
    first, second = np.triu_indices(k, 1)
    difference = electronegativity[:, first] - electronegativity[:, second]
    ionic_char = 1.0 - np.exp(-0.25 * difference**2)
    fractions = amounts / amounts.sum(axis=1, keepdims=True)
    out[:, 1] = ionic_char.max(axis=1)
    out[:, 2] = (fractions[:, first] * fractions[:, second] * ionic_char).sum(axis=1)
    out[:, 0] = _compound_possible(z, amounts)
    return out


def _compound_possible(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    # Large integer formulas are the canonical form of decimal (doped) notations: the
    # per-row enumeration would cost a Python call each, and the supercell criterion is
    # its large-formula limit.
    integral = np.all(amounts == np.floor(amounts), axis=1) & (
        amounts.sum(axis=1) <= MAX_EXACT_ATOMS
    )
    result = supercell_neutral_possible(z, amounts)
    for row in np.flatnonzero(integral):
        counts = tuple(int(a) for a in amounts[row])
        exact = charge_neutral_possible(tuple(z[row].tolist()), counts)
        # Beyond MAX_CHARGE_SPAN (large integer formulas of doped compositions) the
        # enumeration is out of reach; the supercell criterion is the large-formula limit.
        if exact == exact:
            result[row] = exact
    return result


@functools.cache
def _state_range() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lowest and highest guesser state per Z, and whether the element has any."""
    states = guesser_oxidation_states()
    low = np.array([min(s, default=0) for s in states], dtype=float)
    high = np.array([max(s, default=0) for s in states], dtype=float)
    has_states = np.array([bool(s) for s in states])
    return low, high, has_states


def supercell_neutral_possible(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """1.0 where some integer multiple of the composition admits a neutral assignment.

    With enough formula units every atom may take its own state, so averages fill the
    interval between the lowest and the highest state: neutrality is possible exactly when
    ``sum_i a_i min(q_i) <= 0 <= sum_i a_i max(q_i)`` (within 1e-9 of the charge scale, to
    absorb the binary rounding of decimal amounts). 0.0 if an element has no states.
    """
    low, high, has_states = _state_range()
    lowest = (amounts * low[z]).sum(axis=1)
    highest = (amounts * high[z]).sum(axis=1)
    scale = (amounts * np.maximum(np.abs(low[z]), np.abs(high[z]))).sum(axis=1)
    tolerance = _NEUTRAL_TOLERANCE * scale
    possible = (lowest <= tolerance) & (highest >= -tolerance) & has_states[z].all(axis=1)
    return possible.astype(float)


@functools.lru_cache(maxsize=1 << 16)
def charge_neutral_possible(zs: tuple[int, ...], counts: tuple[int, ...]) -> float:
    """1.0 if the elements (with integer counts) admit a neutral assignment, else 0.0.

    Each of the ``count`` atoms of an element takes one of its states, as in pymatgen's
    enumeration. The search works from whichever end of the range of total charges is
    nearer to zero: if the lowest total (every atom in its lowest state) is ``-w``, a
    neutral assignment must raise atoms' states by exactly ``w`` in total, and raising
    one atom costs at least 1, so only sums up to ``w`` matter (likewise from the highest
    total). This keeps the sets to ``w + 1`` entries. NaN when ``w`` exceeds
    ``MAX_CHARGE_SPAN``.
    """
    states = guesser_oxidation_states()
    if any(not states[z] for z in zs):
        return 0.0  # an element without oxidation states leaves no assignment at all
    lowest = sum(count * min(states[z]) for z, count in zip(zs, counts, strict=True))
    highest = sum(count * max(states[z]) for z, count in zip(zs, counts, strict=True))
    if not lowest <= 0 <= highest:
        return 0.0
    from_top = highest < -lowest
    window = highest if from_top else -lowest
    if window > MAX_CHARGE_SPAN:
        return float("nan")
    reachable = np.zeros(window + 1, dtype=bool)
    reachable[0] = True
    for z, count in zip(zs, counts, strict=True):
        own = states[z]
        # Steps above the lowest state (or below the highest, searching from the top).
        steps = {max(own) - q for q in own} if from_top else {q - min(own) for q in own}
        if len(steps) > 1:
            element = _capped_power(tuple(sorted(steps)), min(count, window), window)
            reachable = _sumset(reachable, element)[: window + 1]
    return float(reachable[window])


def _capped_power(steps: tuple[int, ...], count: int, cap: int) -> np.ndarray:
    """Sums of ``count`` draws (with repetition) from ``steps``, up to ``cap``, as a mask.

    ``steps`` contains 0, so sums of fewer draws are included; by repeated squaring.
    """
    base = np.zeros(min(steps[-1], cap) + 1, dtype=bool)
    base[[step for step in steps if step <= cap]] = True
    result = np.ones(1, dtype=bool)
    power, remaining = base, count
    while remaining:
        if remaining & 1:
            result = _sumset(result, power)[: cap + 1]
        remaining >>= 1
        if remaining:
            power = _sumset(power, power)[: cap + 1]
    return result


def _sumset(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski sum of two sets of non-negative integers given as boolean masks."""
    if a.size == 1:
        return b.copy() if a[0] else np.zeros(b.size, dtype=bool)
    if b.size == 1:
        return a.copy() if b[0] else np.zeros(a.size, dtype=bool)
    if a.size * b.size <= _DIRECT_CONVOLUTION_LIMIT:
        return np.convolve(a.astype(np.int64), b.astype(np.int64)) > 0
    # Imported here: scipy.signal is slow to import and rarely needed.
    from scipy.signal import fftconvolve

    # Counts are integers at most min(a.size, b.size); FFT round-off is far below 0.5.
    return fftconvolve(a.astype(np.float64), b.astype(np.float64)) > 0.5


ION_PROPERTY = FeatureBlock(
    name="ion_property",
    labels=ION_LABELS,
    compute=compute_ion_property,
    description=(
        "Whether a charge-neutral compound is possible with common oxidation states "
        "(pymatgen's oxi_state_guesses criterion, as matminer's IonProperty), and the "
        "maximum and fraction-weighted average ionic character of element pairs from "
        "Pauling electronegativities. Same values as matminer's IonProperty() with its "
        "defaults on formulas written as their smallest integer formula. Computed on the "
        "smallest integer formula of any notation (Li1.5P0.5S2 as Li3PS4); without a "
        "small one, 'compound possible' is 1 when some integer multiple of the formula "
        "can be charge neutral, i.e. when sum(a_i min q_i) <= 0 <= sum(a_i max q_i)."
    ),
    citations=(WARD_2016,),
    implementors=("Jiming Chen", "Logan Ward", MATGENOME),
)
