"""Exploration: N:M × hardware sweeps (vectorized, local or Dask), frontiers and plots.

Python API::

    from nmsim.explore import run_sweep, trace_points
    from nmsim.plots import plot_frontier
    res = run_sweep({"nm": ["1:4", "2:4"], "hw": ["vegeta"], "params": {"rows": [16, 32]}},
                    "results.parquet")          # or client=distributed.Client(...)
    res.table                                   # one row per point (pandas)
"""

from nmsim.explore.checkpoint import read_results
from nmsim.explore.frontier import FrontierPoint, points_table, sweep_points, trace_points
from nmsim.explore.pareto import pareto_mask
from nmsim.explore.plan import SweepPlan, make_plan
from nmsim.explore.spec import SweepSpec, load_spec, make_spec
from nmsim.explore.sweep import SweepResult, run_sweep, sweep_table
from nmsim.explore.variants import apply_nm

__all__ = [
    "FrontierPoint",
    "SweepPlan",
    "SweepResult",
    "SweepSpec",
    "apply_nm",
    "load_spec",
    "make_plan",
    "make_spec",
    "pareto_mask",
    "points_table",
    "read_results",
    "run_sweep",
    "sweep_points",
    "sweep_table",
    "trace_points",
]
