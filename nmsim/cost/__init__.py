"""Cost per decay recipe: the training-run cost model, FLOPs accounting and the recipe report.

::

    from nmsim.cost import CostOptions, training_cost, recipe_rows, count_flops
    tc = training_cost(trace, hw, CostOptions(transposable=True))   # per phase: fwd/dgrad/wgrad/mask
    rows = recipe_rows(traces, hw)                                  # one row per recipe and target

The model and every choice in it: docs/recipes_cost.md.
"""

from nmsim.cost.compare import RecipeRow, recipe_rows
from nmsim.cost.flops import FlopsReport, count_flops
from nmsim.cost.options import CostOptions
from nmsim.cost.training import PhaseCost, TrainingCost, training_cost, training_flops

__all__ = [
    "CostOptions",
    "FlopsReport",
    "PhaseCost",
    "RecipeRow",
    "TrainingCost",
    "count_flops",
    "recipe_rows",
    "training_cost",
    "training_flops",
]
