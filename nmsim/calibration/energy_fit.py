"""Fit a GPU config's energy parameters to measured energy per GEMM (linear least squares).

Model of one measured GEMM's board energy (J), the same terms nmsim's engine charges::

    E = P_static · t + e_mac[dtype] · issued MACs + e_dram · DRAM bytes + E_other

``t`` is the measured latency of the GEMM during the energy loop; issued MACs and DRAM bytes are
nmsim's counts for that GEMM on the config (dense, or N:M with K compacted); ``E_other`` (on-chip SRAM,
metadata, operand-mux energy) is the config's own model, held fixed. The unknowns — ``P_static`` (W),
``e_mac`` per dtype (pJ) and ``e_dram`` (pJ/byte) — enter linearly, so the fit is one weighted linear
least-squares solve: every row is divided by its measured energy, so each weighs by its relative error.
Telling ``e_mac`` from ``e_dram`` needs both compute-bound rows (large squares) and memory-bound ones
(weights streamed for a few tokens): ``benchmarks/gpu/measure_nm.py --energy-s S --energy-shapes``.
A parameter the rows cannot pin down comes out negative or undetermined: that is an input error, not a
clipped value.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmsim.engine.clock_state import at_clock_state
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import hardware_from_document
from nmsim.schemas.hardware import HardwareConfig
from nmsim.sim.gemm import simulate_gemm


@dataclass(frozen=True)
class EnergySample:
    """One measured GEMM in nmsim's convention: board energy (J) and latency (s) per GEMM."""

    m: int
    n: int
    k: int
    dtype: str
    sparsity: str | None
    joules: float
    seconds: float
    label: str = ""
    clock_state: str = "sustained"


@dataclass(frozen=True)
class EnergyTerms:
    """nmsim's counts for one sample: issued MACs, DRAM bytes, and the energy held fixed (J)."""

    issued_macs: float
    dram_bytes: float
    other_j: float


@dataclass
class EnergyFit:
    """Fitted ``static_w`` (W), ``mac_pj`` per dtype (pJ) and ``dram_pj_per_byte``; residuals of the rows."""

    static_w: float
    mac_pj: dict[str, float]
    dram_pj_per_byte: float
    predicted_j: np.ndarray
    measured_j: np.ndarray
    labels: list[str] = field(default_factory=list)

    @property
    def relative_errors(self) -> np.ndarray:
        return self.predicted_j / self.measured_j - 1

    def parameters(self) -> dict[str, float]:
        out = {"energy.static.watts": self.static_w, "energy.dram_per_byte.pj": self.dram_pj_per_byte}
        out.update({f"energy.mac.{dt}.pj": v for dt, v in self.mac_pj.items()})
        return out


def energy_terms(hw: HardwareConfig, s: EnergySample) -> EnergyTerms:
    """nmsim's issued MACs, DRAM bytes and fixed (SRAM, metadata, mux) energy of ``s`` on ``hw``."""
    run = at_clock_state(hw, s.clock_state) if hw.gpu is not None else hw
    r = simulate_gemm(s.m, s.n, s.k, run, sparsity=s.sparsity, dtype=s.dtype)
    parts = r.energy_breakdown_pj
    other = r.energy_pj - parts.get("mac", 0.0) - parts.get("dram", 0.0) - parts.get("static", 0.0)
    return EnergyTerms(float(r.issued_macs), float(r.dram_bytes), other * 1e-12)


def predict_energy(
    hw: HardwareConfig, samples: list[EnergySample], static_w: float, mac_pj: dict[str, float], dram_pj: float
) -> np.ndarray:
    """Energy (J) of every sample under the given parameters (measured latencies)."""
    out = []
    for s in samples:
        t = energy_terms(hw, s)
        if s.dtype not in mac_pj:
            raise NmsimInputError("dtype", f"no fitted MAC energy for {s.dtype}; have {', '.join(mac_pj)}")
        out.append(
            static_w * s.seconds
            + (mac_pj[s.dtype] * t.issued_macs + dram_pj * t.dram_bytes) * 1e-12
            + t.other_j
        )
    return np.array(out)


def fit_energy(hw: HardwareConfig, samples: list[EnergySample]) -> EnergyFit:
    """Weighted linear least squares of static power, MAC energy per dtype and DRAM energy per byte."""
    if not samples:
        raise NmsimInputError(
            "measurements", "no rows with measured energy (dense_energy_j / sparse_energy_j)"
        )
    dtypes = sorted({s.dtype for s in samples})
    ncols = 2 + len(dtypes)
    if len(samples) < ncols:
        raise NmsimInputError("measurements", f"{len(samples)} energy rows cannot fix {ncols} parameters")
    a = np.zeros((len(samples), ncols))
    b = np.zeros(len(samples))
    for i, s in enumerate(samples):
        t = energy_terms(hw, s)
        a[i, 0] = s.seconds  # W → J
        a[i, 1] = t.dram_bytes * 1e-12  # pJ/byte → J
        a[i, 2 + dtypes.index(s.dtype)] = t.issued_macs * 1e-12  # pJ → J
        b[i] = s.joules - t.other_j
    w = 1.0 / np.array([s.joules for s in samples])
    aw, bw = a * w[:, None], b * w
    if np.linalg.matrix_rank(aw) < ncols:
        raise NmsimInputError(
            "measurements",
            "the energy rows cannot tell static power, MAC and DRAM energy apart "
            "(measure compute- and memory-bound shapes: measure_nm.py --energy-shapes)",
        )
    theta, *_ = np.linalg.lstsq(aw, bw, rcond=None)
    names = ["static power", "DRAM energy per byte", *(f"{dt} MAC energy" for dt in dtypes)]
    for name, value in zip(names, theta, strict=True):
        if value <= 0:
            raise NmsimInputError(
                "measurements",
                f"the fit gives a non-positive {name} ({value:.3g}); the rows cannot pin it down",
            )
    return EnergyFit(
        static_w=float(theta[0]),
        mac_pj={dt: float(v) for dt, v in zip(dtypes, theta[2:], strict=True)},
        dram_pj_per_byte=float(theta[1]),
        predicted_j=a @ theta + np.array([s.joules for s in samples]) - b,
        measured_j=np.array([s.joules for s in samples]),
        labels=[s.label for s in samples],
    )


def apply_energy_fit(doc: dict[str, Any], result: EnergyFit, note: str) -> dict[str, Any]:
    """A copy of the config document with the fitted energy entries, each citing ``note``."""
    new = copy.deepcopy(doc)
    energy = new["energy"]
    node = energy["node_nm"]
    energy["static"] = {"watts": float(f"{result.static_w:.4g}"), "source": note}
    dram = {"pj": float(f"{result.dram_pj_per_byte:.4g}"), "node_nm": node, "source": note}
    levels = new.get("memory", {}).get("levels")
    if levels:  # hardware schema 2.0: the off-chip level's read and write energies, per byte
        levels[-1]["read_energy"] = {**dram, "per": "byte"}
        levels[-1]["write_energy"] = {**dram, "per": "byte"}
    else:
        energy["dram_per_byte"] = dram
    for dt, pj in result.mac_pj.items():
        energy.setdefault("mac", {})[dt] = {"pj": float(f"{pj:.4g}"), "node_nm": node, "source": note}
    hardware_from_document(new, "energy-calibrated config")  # validate
    return new


def energy_samples(doc: Any, plain_state: str | None = None) -> list[EnergySample]:
    """The energy rows of a measurement file (:class:`nmsim.calibration.measurements.MeasurementFile`)."""
    state = plain_state or "sustained"  # measured over seconds of back-to-back replays: at the power limit
    out = []
    for row, g in zip(doc.rows, doc.gemms(), strict=True):
        for sparsity, joules, ms, fallback in (
            (None, row.dense_energy_j, row.dense_energy_ms, row.dense_ms),
            (g.pattern, row.sparse_energy_j, row.sparse_energy_ms, row.sparse_ms),
        ):
            latency = ms if ms is not None else fallback
            if joules is None or latency is None:
                continue
            tag = "dense" if sparsity is None else sparsity
            label = f"{g.label or f'{g.m}x{g.k}x{g.n}'} {g.dtype} {tag}"
            out.append(
                EnergySample(g.m, g.n, g.k, g.dtype, sparsity, float(joules), latency * 1e-3, label, state)
            )
    return out
