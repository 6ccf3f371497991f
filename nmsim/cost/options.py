"""The debatable choices of the training-cost model, as options (docs/recipes_cost.md explains each)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from nmsim.errors import NmsimInputError
from nmsim.sim.residency import ResidencyPolicy, check_policy

MdgfForward = Literal["dense", "split"]


@dataclass(frozen=True)
class CostOptions:
    """Switches of :func:`nmsim.cost.training.training_cost`.

    Attributes:
        transposable: the masks are N:M along the output axis too (transposable masks), so the data
            gradient dY·W̃ᵀ runs sparse on the hardware like the forward; False: it runs dense
            (N:M tensor cores accept sparsity only along the weight operand's reduction axis).
        output_sparse_wgrad: the hardware can skip outputs, so when pruned weights get no gradient
            (autodiff through a binary mask) the weight gradient computes only the kept weights'
            rows of dW, at the density of the hardware mode the forward uses; False: dW is dense.
        mdgf_forward: how a step with a nonzero MDGF decay factor D runs: ``dense`` = one dense
            GEMM per pass (W̃ = W⊙(Φ + D·Φ̄) has no zeros); ``split`` = the N:M sparse GEMM plus the
            D-scaled complementary (M−N):M GEMM (docs/references.md#mdgf-split), each in its own hardware mode.
        include_refresh: add the mask-refresh cost (top-N selection at every refresh, and SR-STE's
            elementwise regularizer) into the phase and run totals; it is reported apart either way.
        refresh_lanes: comparisons per cycle of the unit that computes masks (0 = one per array
            column per core, a vector unit as wide as the array's edge).
        fused_refresh: the mask is computed inside the optimizer's weight-update pass, which reads
            the dense weights anyway (and is not costed for any recipe), so a refresh adds only its
            comparisons and the mask write; False: every refresh re-reads the weights from DRAM.
        residency: ``auto``: a layer's forward input and its incoming data gradient are read on chip
            where the trace's edges and the activation level allow (:mod:`nmsim.sim.residency`), and
            inference keeps outputs on chip likewise; ``none``: every pass reads its operands from DRAM.
    """

    transposable: bool = False
    output_sparse_wgrad: bool = False
    mdgf_forward: MdgfForward = "dense"
    include_refresh: bool = True
    refresh_lanes: int = 0
    fused_refresh: bool = False
    residency: ResidencyPolicy = "auto"

    def __post_init__(self) -> None:
        check_policy(self.residency)
        if self.mdgf_forward not in ("dense", "split"):
            raise NmsimInputError("mdgf_forward", "one of 'dense', 'split'", self.mdgf_forward)
        if self.refresh_lanes < 0:
            raise NmsimInputError(
                "refresh_lanes", "must be >= 0 (0 = array columns × cores)", self.refresh_lanes
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
