"""Names the command line offers as choices, without importing the modules that define them.

Building the parser (``matgenome --help``) must not import scikit-learn or pandas; these
tuples mirror ``matgenome.models.selection`` and ``matgenome.simulation``, and a test checks
that they agree.
"""

from __future__ import annotations

RECIPE_NAMES: tuple[str, ...] = ("conductivity", "extra_trees_magpie", "extra_trees_default",
                                 "random_forest_default", "extra_trees_fractions")
RECIPE_ALIASES: tuple[str, ...] = ("obelix",)
SIMULATION_STRATEGIES: tuple[str, ...] = ("cold-thompson", "thompson", "ucb", "ei", "mean",
                                          "random")
