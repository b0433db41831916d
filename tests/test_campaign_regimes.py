"""The regimes benchmark: pools without leakage, the baseline rules it keeps outside the
package, and the selection rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import campaign_regimes as regimes

from matgenome.ranking import PoolBelief


@pytest.fixture(scope="module")
def obelix() -> regimes.Candidates:
    return regimes.obelix_candidates()[0]


def test_paper_folds_split_compositions_without_leakage(obelix: regimes.Candidates) -> None:
    pools = regimes.paper_folds(obelix.table)
    fold_of = regimes.paper_fold_of(obelix.table)
    assert len(pools) == 5 and set(fold_of.values()) == set(range(5))
    n = obelix.y.size
    for fold, pool in enumerate(pools):
        assert not set(pool.prior) & set(pool.pool)
        assert len(pool.prior) + len(pool.pool) == n
        held = {paper for paper, f in fold_of.items() if f == fold}
        # No prior composition was measured in a held-out paper; every pool one was.
        assert not any(set(obelix.table["dois"][i]) & held for i in pool.prior)
        assert all(set(obelix.table["dois"][i]) & held for i in pool.pool)
    # Every composition is held out at least once.
    assert set().union(*(set(p.pool) for p in pools)) == set(range(n))
    again = regimes.paper_folds(obelix.table)
    assert all(np.array_equal(a.pool, b.pool) for a, b in zip(pools, again, strict=True))


def test_family_pools_mix_a_family_with_as_many_distractors(
        obelix: regimes.Candidates) -> None:
    pools = regimes.family_pools(obelix.table)
    family = obelix.table["family"].fillna("").to_numpy()
    names = {p.label.split(" draw ")[0].removeprefix("family ") for p in pools}
    counts = {f: int((family == f).sum()) for f in names}
    assert min(counts.values()) >= regimes.MIN_FAMILY and "" not in names
    assert len(pools) == 3 * len(names)
    for pool in pools:
        name = pool.label.split(" draw ")[0].removeprefix("family ")
        members = (family[pool.pool] == name).sum()
        assert members == counts[name] and len(pool.pool) == 2 * members
        assert not (family[pool.prior] == name).any()
        assert not set(pool.prior) & set(pool.pool)


def groups(n_groups: int = 10, per: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Tight, well-separated series of near-identical compositions."""
    rng = np.random.default_rng(0)
    label = np.repeat(np.arange(n_groups), per)
    return np.eye(n_groups)[label] * 50.0 + rng.normal(size=(label.size, n_groups)) * 0.01, \
        label


def test_diverse_baseline_takes_one_row_per_series() -> None:
    X, label = groups()
    mean = 10.0 - label + np.random.default_rng(1).uniform(0, 0.1, label.size)
    batch = regimes.diverse(PoolBelief(mean, np.zeros_like(mean), X=X), 4,
                            np.random.default_rng(0))
    assert label[batch.rows].tolist() == [0, 1, 2, 3]


def test_portfolio_baselines_have_exactly_one_explore_slot() -> None:
    X, label = groups()
    mean = 10.0 - label - 0.001 * np.arange(label.size)
    std = np.zeros(label.size)
    std[5], std[-1] = 10.0, 5.0
    view = PoolBelief(mean, std, X=X)
    plain = regimes.portfolio(view, 5, np.random.default_rng(0))
    assert plain.roles == ("exploit",) * 4 + ("explore",)
    assert plain.rows[:4].tolist() == [0, 1, 2, 3]
    assert plain.rows[-1] == 5  # the highest upper bound among the other rows
    spread = regimes.diverse_portfolio(view, 5, np.random.default_rng(0))
    assert spread.roles == ("exploit",) * 4 + ("explore",)
    assert spread.rows[-1] == label.size - 1  # outside the exploit picks' series
    again = regimes.diverse_portfolio(view, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(spread.rows, again.rows)


def test_adaptive_baseline_switches_on_measured_targets() -> None:
    mean = np.array([1.0, 0.0, 0.5])
    wild = np.tile(mean, (20, 1))
    wild[0] = [0.0, 100.0, 0.0]  # one tree of 20 prefers row 1

    def first_picks(measured: int | None) -> list[int]:
        view = PoolBelief(mean, mean * 0, tree_predictions=wild, measured_targets=measured)
        return [int(regimes.adaptive(view, 1, np.random.default_rng(s)).rows[0])
                for s in range(100)]

    # Below five measured targets single trees (row 1 about 1 time in 20); from five on,
    # or when unknown, half-forest means (row 1 about half the time).
    assert first_picks(2).count(1) < 20
    assert first_picks(5).count(1) > 30 and first_picks(None).count(1) > 30


def test_selection_applies_the_written_rule() -> None:
    def entry(h10: float, h30: float, greedy10: float, greedy30: float) -> dict:
        return {"primary": {"hits_10_vs_greedy": {"ratio": h10 / greedy10},
                            "hits_30_vs_greedy": {"ratio": h30 / greedy30,
                                                  "difference": h30 - greedy30}}}

    def regime(rules: dict[str, tuple[float, float]]) -> dict:
        g10, g30 = rules["greedy"]
        return {"rules": {k: entry(*v, g10, g30) for k, v in rules.items()}}

    warm = {"greedy": (6.0, 12.0), "a": (5.0, 14.0), "b": (5.8, 12.5)}
    described = {name: regime(warm) for name in ("papers", "family", "steels")}
    cold = regime({"greedy": (2.0, 12.0), "a": (2.0, 14.0), "b": (2.0, 13.0),
                   "thompson": (2.0, 12.0)})
    for rule, daf in {"greedy": 2.0, "a": 2.6, "b": 2.5, "thompson": 2.6}.items():
        cold["rules"][rule]["primary"]["daf_5"] = {"value": daf}
    described["cold"] = cold
    chosen = regimes.select_default(described, ["greedy", "a", "b"])
    # a finds most but loses hits@10 (5/6 < 0.9); greedy fails the cold guard.
    assert chosen["chosen"] == "b"
    assert any("hits@10" in why for why in chosen["guards_failed"]["a"])
    assert chosen["guards_failed"]["greedy"] == ["cold: DAF_5 2.00 < 0.9 x thompson's 2.60"]


def test_quick_run_writes_recomputable_picks(tmp_path: Path) -> None:
    output = tmp_path / "regimes.json"
    script = Path(regimes.__file__)
    done = subprocess.run([sys.executable, str(script), "--quick", "--output", str(output)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(output.read_text(encoding="utf-8"))
    assert set(report["regimes"]) == {"cold", "papers", "family", "steels"}
    assert report["selection"]["chosen"] in regimes.CANDIDATES
    assert set(report["selection"]["candidates"]) == set(regimes.CANDIDATES)
    for name, regime in report["regimes"].items():
        for trial in regime["trials"]:
            for record in trial["rules"].values():
                if name == "cold":  # the pool is every candidate but the prior
                    assert not set(record["picks"]) & set(trial["prior"])
                else:
                    assert set(record["picks"]) <= set(regime["pools"][trial["label"]])
                assert len(set(record["picks"])) == len(record["picks"])
                hits = record["hits"]["primary"]
                assert len(hits) == len(record["picks"]) == len(record["roles"])
        for rule, entry in regime["summary"]["rules"].items():
            recomputed = np.mean([sum(t["rules"][rule]["hits"]["primary"][:30])
                                  for t in regime["trials"]])
            assert entry["primary"]["hits_30"]["mean"] == pytest.approx(recomputed)
