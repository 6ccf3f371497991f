"""Energy: activity counts × energy table → picojoules, and technology-node scaling of the table.

Scaling (``scaling: stillmaker``): logic energy (MAC, mux) follows Stillmaker & Baas, *Integration*
58 (2017), at 0.8 V, as Accelergy's ``techscaling.py`` implements it (factors from 45 nm: 16 nm 0.174,
14 nm 0.139, 10 nm 0.118, 7 nm 0.094, 5 nm 0.080 by IRDS square-root extrapolation; log-log
interpolation between them). SRAM (and metadata storage) scales by the square root of the logic
factor (CACTI's energy ∝ node^0.5 rule below 22 nm: about 3× lower per bit at 7 nm). DRAM energy is
set by the memory type, not the logic node, and is not scaled. Static power is given for the chip.
"""

from __future__ import annotations

import itertools
import math

from nmsim.errors import NmsimInputError

STILLMAKER_FROM_45NM: dict[float, float] = {
    45.0: 1.0,
    16.0: 0.174,
    14.0: 0.139,
    10.0: 0.118,
    7.0: 0.094,
    5.0: 0.080,
}


def _logic_factor_from_45(node_nm: float) -> float:
    nodes = sorted(STILLMAKER_FROM_45NM)
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise NmsimInputError(
            "energy.node_nm", f"stillmaker scaling covers {nodes[0]:g}-{nodes[-1]:g} nm", node_nm
        )
    for lo, hi in itertools.pairwise(nodes):
        if lo <= node_nm <= hi:
            t = (math.log(node_nm) - math.log(lo)) / (math.log(hi) - math.log(lo))
            flo, fhi = math.log(STILLMAKER_FROM_45NM[lo]), math.log(STILLMAKER_FROM_45NM[hi])
            return math.exp(flo + t * (fhi - flo))
    raise AssertionError("unreachable")


def scale_factor(kind: str, from_nm: float, to_nm: float, scaling: str = "stillmaker") -> float:
    """Multiplier taking an energy of ``kind`` (logic | sram | dram) from node ``from_nm`` to ``to_nm``."""
    if scaling == "none" or kind == "dram" or from_nm == to_nm:
        return 1.0
    logic = _logic_factor_from_45(to_nm) / _logic_factor_from_45(from_nm)
    return logic if kind == "logic" else math.sqrt(logic)
