"""One campaign round: retrain on every measurement, score the candidates, propose a batch.

The model is trained as ``matgenome train`` trains it (``train_model`` with the campaign's
options: recipe selection, hurdle treatment of bound-only values, the mobile ion's domain
check) and candidates are ranked as ``matgenome rank --batch N`` ranks them
(``matgenome.screen.rank_candidates``: a stratified cold start while no measured value beats
the threshold, then the package's batch rule, ``matgenome.ranking.DEFAULT_RULE``; measured
compositions never proposed). Every proposal row says which rule chose it (``rule``:
``exploit``, ``explore`` or ``cold start``) and why, in words (``why``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from matgenome.campaign.state import CampaignState, Round, Settings
from matgenome.censoring import censor_of, exact_values
from matgenome.io import InputError, TargetValues
from matgenome.ranking import DEFAULT_RULE

RANKING_COLUMNS = ("formula", "family", "prediction", "uncertainty", "in_domain",
                   "domain_reason", "measured", "known_value", "supply_risk", "cost_per_kg",
                   "score", "rank", "pareto", "batch", "rule", "why")


def train_round(state: CampaignState, measured: pd.DataFrame, number: int,
                progress: Callable[[str], None] | None = None):
    """Train the round's model on every measured row (bounds included)."""
    from matgenome.training import train_model

    settings = state.settings
    targets = TargetValues(values=measured["value"].to_numpy(float),
                           censor=censor_of(measured),
                           errors=[""] * len(measured))
    options = {k: v for k, v in settings.model.items()
               if k in ("recipe", "preset", "kind", "n_estimators", "censored", "fallback",
                        "task", "positive")}
    if settings.is_classification:  # the labels as recorded (yes/no)
        targets.raw = [settings.classes.label(v) for v in targets.values]
    recorded = int((measured["recorded_in"].fillna(0) > 0).sum())
    card = {"name": f"{state.name} round {number}", "target": settings.target,
            "source": f"campaign {state.name}: {len(measured)} measurements "
                      f"({recorded} recorded in the campaign)"}
    model, report = train_model(measured["formula"], targets, **options,
                                seed=settings.seed, mobile_ion=settings.mobile_ion,
                                groups=measured["group"].tolist(), card=card,
                                progress=progress)
    return model, report


def _rank(model, candidates: pd.DataFrame, settings: Settings, batch: int,
          number: int) -> pd.DataFrame:
    from matgenome.screen import RankSettings, rank_candidates

    rank_settings = RankSettings(
        acquisition="mean", objective=settings.objective, threshold=settings.threshold,
        constraints=settings.constraints, new_only=True, batch_size=batch,
        # A fresh, reproducible random stream per round.
        seed=int(settings.seed) * 1000 + number)
    return rank_candidates(model, candidates, "formula", rank_settings)


def target_reached(model, settings: Settings) -> bool | None:
    """Whether a measured value already beats the threshold (None without a threshold):
    the rule ``rank_candidates`` uses to choose the cold start or the batch rule."""
    from matgenome.ranking import has_reached_target

    if settings.threshold is None:
        return None
    exact = exact_values(model.training_data)
    objective = "min" if settings.objective == "min" else "max"
    return has_reached_target(exact, float(settings.threshold), objective)


def proposal_table(ranked: pd.DataFrame, number: int) -> pd.DataFrame:
    """The proposed rows in batch order, with the rule that chose each and why."""
    picked = ranked[ranked["batch"].notna()].sort_values("batch")
    if picked.empty:
        raise InputError("no candidate left to propose: every feasible candidate has been "
                         "measured (add candidates or relax the constraints)")
    return pd.DataFrame({
        "round": number, "batch": picked["batch"].astype(int).to_numpy(),
        "formula": picked["formula"].to_numpy(),
        "family": picked["family"].to_numpy() if "family" in picked else "",
        "rule": picked["rule"].to_numpy(),
        "predicted": picked["prediction"].to_numpy(float),
        "uncertainty": picked["uncertainty"].to_numpy(float),
        "in_domain": picked["in_domain"].astype(bool).to_numpy(),
        "domain_reason": picked["domain_reason"].fillna("").to_numpy(),
        "supply_risk": picked["supply_risk"].to_numpy(float),
        "cost_per_kg": picked["cost_per_kg"].to_numpy(float),
        "rank": picked["rank"].astype("Int64").to_numpy(),
        "pareto": picked["pareto"].astype(bool).to_numpy(),
        "why": picked["why"].to_numpy(),
    })


def run_round(state: CampaignState, measured: pd.DataFrame, candidates: pd.DataFrame,
              number: int, batch: int, transaction, progress=None,
              ) -> tuple[pd.DataFrame, Round]:
    """Train, rank and propose; stage ``round-K/`` in ``transaction``; return the proposal
    and the round's entry for campaign.json."""
    from matgenome.modelfile import save_model
    from matgenome.provenance import file_sha256, utc_now

    settings = state.settings
    model, report = train_round(state, measured, number, progress)
    ranked = _rank(model, candidates, settings, batch, number)
    reached = target_reached(model, settings)
    proposal = proposal_table(ranked, number)
    directory = transaction.path(f"round-{number}")
    directory.mkdir(exist_ok=True)
    proposal.to_csv(directory / "proposal.csv", index=False, float_format="%.6g")
    shown = [c for c in RANKING_COLUMNS if c in ranked.columns]
    ranked[shown].to_csv(directory / "ranking.csv", index=False, float_format="%.6g")
    save_model(model, directory / "model")
    entry = Round(
        round=number, created=utc_now(), batch=len(proposal),
        proposal=f"round-{number}/proposal.csv", ranking=f"round-{number}/ranking.csv",
        model=f"round-{number}/model",
        model_sha256=file_sha256(directory / "model" / "manifest.json"),
        trained_on=report.rows_used, measurements=len(measured),
        recipe=model.card["selection"]["chosen"],
        strategy="cold start" if reached is False else DEFAULT_RULE,
        eligible=int(np.sum(ranked["rank"].notna())),
    )
    return proposal, entry
