"""Names the command line offers as choices, without importing the modules that define them.

Building the parser (``matgenome --help``) must not import scikit-learn or pandas; these
tuples mirror ``matgenome.models.selection``, ``matgenome.simulation`` and
``matgenome.evaluation.splits``, and tests check that they agree.
"""

from __future__ import annotations

RECIPE_NAMES: tuple[str, ...] = ("conductivity", "extra_trees_magpie", "extra_trees_default",
                                 "random_forest_default", "extra_trees_fractions",
                                 "hurdle_sqrt_fractions", "hurdle_log_fractions",
                                 "hurdle_fractions", "extra_trees_fractions_leaf2")
RECIPE_ALIASES: tuple[str, ...] = ("obelix",)
SIMULATION_STRATEGIES: tuple[str, ...] = ("cold-thompson-half", "greedy", "random")
# Mirror ``matgenome.evaluation.splits.PROTOCOLS`` and ``LINKED``.
EVALUATION_PROTOCOLS: tuple[str, ...] = ("obelix", "matbench", "kfold", "group", "logo", "loco")
LINKED_GROUPS: tuple[str, ...] = ("merge", "drop")

# Suffixes a family name may be given without (``Li3N`` for ``Li3N-type``); mirrors
# ``matgenome.generation.Family.short_name``.
FAMILY_SUFFIXES: tuple[str, ...] = ("-type", "-like")


def family_choices_text() -> str:
    """The names ``--family`` accepts, from the shipped seed files, for help texts.

    Reads only the family names from the YAML (no chemistry, no pandas), so that building
    the parser stays fast; a test checks that the text equals
    ``generation.family_choices(load_seeds())``.
    """
    import yaml

    from matgenome.resources import shipped_path

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    root = shipped_path("seeds")
    names: list[str] = []
    for file in sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml"}):
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=loader) or {}
        names += [str(f["name"]) for f in data.get("families", []) if "name" in f]
    return ", ".join(_with_short_name(name) for name in names)


def _with_short_name(name: str) -> str:
    for suffix in FAMILY_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return f"{name} (or {name[: -len(suffix)]})"
    return name
