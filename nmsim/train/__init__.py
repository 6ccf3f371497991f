"""N:M sparse training library (PyTorch): masks, recipes, the sparsifier, trace export.

The ASP-like API::

    from nmsim.train import Sparsifier
    sp = Sparsifier(model, "mdgf", total_steps=1500, nm="1:8", decay="exp")
    ...; optimizer.step(); sp.step()          # one call per optimizer step

Only this subpackage imports torch.
"""

from nmsim.train.export import export_trace
from nmsim.train.masks import nm_mask, unstructured_mask
from nmsim.train.recipes import Recipe, load_recipe, shipped_recipes
from nmsim.train.sparsifier import Sparsifier

__all__ = [
    "Recipe",
    "Sparsifier",
    "export_trace",
    "load_recipe",
    "nm_mask",
    "shipped_recipes",
    "unstructured_mask",
]
