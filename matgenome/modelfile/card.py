"""The model card as a readable Markdown page (``MODEL_CARD.md``)."""

from __future__ import annotations

import json
from typing import Any


def _fallback_lines(fallback: dict[str, Any] | None) -> list[str]:
    """The far-from-data relation of a model card, in words."""
    if not fallback:
        return ["- far from the training data: no fallback (predictions as the model gives)"]
    held = fallback.get("held_out", {})
    if fallback.get("b0") is None:
        relation = "never falls back (falling back did not help on the held-out rows)"
    else:
        relation = (f"model weight {fallback['weight']} with b0 = {fallback['b0']:.3g}, "
                    f"b1 = {fallback['b1']:.3g}, b2 = {fallback['b2']:.3g}")
    what = ("the prediction moves and the interval widens"
            if fallback.get("moves") == "prediction and interval"
            else "the prediction is kept and the interval widens")
    return [
        f"- where the model is unsure far from its training data, {what} towards the "
        f"training distribution (median {fallback['center']:.3g}, sd "
        f"{fallback['spread']:.3g}): {relation}",
        f"- interval scales: model {fallback['model_scale']:.3g}, prior "
        f"{fallback['prior_scale']:.3g}; held-out rows inside the training data "
        f"({held.get('rows', 0):.0f}): MAE {held.get('mae_model', float('nan')):.3g} "
        f"without, {held.get('mae_fallback', float('nan')):.3g} with the fallback, "
        f"{held.get('mae_median', float('nan')):.3g} for the median",
    ]


def _classification_lines(labels: dict[str, Any] | None) -> list[str]:
    """A classifier's classes, class of interest and label threshold, in words."""
    if not labels:
        return []
    counts = labels.get("counts", {})
    return [f"- classification: classes {labels['negative']!r} "
            f"({counts.get(labels['negative'], '?')} rows) and {labels['positive']!r} "
            f"({counts.get(labels['positive'], '?')} rows); the prediction is the probability "
            f"of {labels['positive']!r} ({labels.get('positive_chosen_by', '')}), labelled "
            f"{labels['positive']!r} from {labels['threshold']:.3g} (its training share)"]


def render_card(card: dict[str, Any]) -> str:
    """The model card as a readable Markdown page."""
    from matgenome.targets import normalise_target

    target = normalise_target(card.get("target"))
    training = card.get("training_data", {})
    lines = [
        f"# Model card: {card.get('name', 'model')}",
        "",
        card.get("description", ""),
        "",
        "## Target",
        f"- {target['name']}, shown as {target['label']}",
        f"- unit of the values: {target['unit'] or 'not given'}; transform: "
        f"{target['transform']}",
        "",
        "## Training data",
        f"- source: {training.get('source', '?')}",
        f"- rows used: {training.get('rows_used', '?')} of {training.get('rows_read', '?')}",
        f"- censored rows: {training.get('censored_treatment', '?')}",
        f"- SHA-256 of (formula, target): `{training.get('sha256', '?')}`",
        "",
        "## Features and estimator",
        f"- feature preset: `{card.get('feature_preset', '?')}`",
        f"- estimator: `{card.get('estimator', {}).get('class', '?')}`",
        "- parameters: `" + json.dumps(card.get("estimator", {}).get("params", {}),
                                       sort_keys=True) + "`",
        *_fallback_lines(card.get("fallback")),
        *_classification_lines(card.get("classification")),
        "",
        "## Metrics",
    ]
    metrics = card.get("metrics") or {}
    if not metrics:
        lines.append("- none recorded")
    for name, value in sorted(metrics.items()):  # as card.json, whoever writes the card
        lines.append(f"- {name}: {value}")
    lines += ["", "## Intended use", card.get("intended_use", ""), "", "## Limits"]
    lines += [f"- {limit}" for limit in card.get("limits", [])]
    lines += ["", "## Versions"]
    lines += [f"- {k}: {v}" for k, v in sorted(card.get("versions", {}).items())]
    return "\n".join(lines) + "\n"
