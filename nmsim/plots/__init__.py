"""Every plot nmsim draws, in one style (:mod:`nmsim.plots.style`: one colour per recipe, one marker
per N:M target, the same in every plot), on Agg canvases outside pyplot.

- :mod:`nmsim.plots.frontier`: accuracy (%) vs inference/training cost, the Pareto staircase labelled.
- :mod:`nmsim.plots.recipes`: training cost by phase beside inference cost, one bar per recipe.
- :mod:`nmsim.plots.roofline`, :mod:`nmsim.plots.breakdown`: one trace on one config.
- :mod:`nmsim.plots.labels`: non-overlapping point labels with leader lines.
"""

from nmsim.plots.frontier import draw_frontier, plot_frontier

__all__ = ["draw_frontier", "plot_frontier"]
