"""Statistics of real weight masks: per-block nonzero histograms and per-tile maxima (numpy + numba).

:func:`block_stats` reads a weight or mask array (GEMM ``K×N`` or PyTorch ``[out, in]``) and returns a
:class:`BlockStats`; :func:`to_mask_stats` / :func:`mask_stats` give the trace schema's ``MaskStats``.
"""

from nmsim.masks.stats import BlockStats, block_stats, mask_stats, to_mask_stats

__all__ = ["BlockStats", "block_stats", "mask_stats", "to_mask_stats"]
