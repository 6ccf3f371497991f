"""Fit a GPU config's energy parameters to measured energy per GEMM (linear least squares).

Model of one measured GEMM's board energy (J), the same terms nmsim's engine charges::

    E = P_static · t + e_mac[dtype] · issued MACs + e_mux · sparse-mode issued MACs
        + e_dram · DRAM bytes + E_other

``t`` is the measured latency of the GEMM during the energy loop; issued MACs and DRAM bytes are
nmsim's counts for that GEMM on the config (dense, or N:M with K compacted); sparse-mode issued MACs are
the issued MACs of a GEMM that ran in an N:M mode (0 for dense rows and rows that fell back to dense), each
charged one operand select (``energy.mux_select``); ``E_other`` (on-chip SRAM, metadata) is the config's
own model, held fixed. The unknowns — ``P_static`` (W), ``e_mac`` per dtype (pJ), ``e_mux`` (pJ) and
``e_dram`` (pJ/byte) — enter linearly, so the fit is one weighted linear least-squares solve: every row
is divided by its measured energy, so each weighs by its relative error. Telling ``e_mac`` from ``e_dram``
needs both compute-bound rows (large squares) and memory-bound ones (weights streamed for a few tokens):
``benchmarks/gpu/measure_nm.py --energy-s S --energy-shapes``; telling ``e_mux`` from ``e_mac`` needs
2:4 rows at the same shapes as dense ones. Without sparse-mode rows ``e_mux`` keeps the config's value
(:attr:`EnergyFit.held_no_rows`).
A parameter the rows cannot pin down comes out negative or undetermined: that is an input error, not a
clipped value.

``hold`` keeps named parameters (``static``, ``dram``, ``mux``, ``mac.<dtype>``) at the config's own
values, so that what the rows can identify is fitted alone: e.g. the MAC energy from compute-bound rows
only, with static power and DRAM energy held. A measurement file's ceiling power readings taken at the card's power
limit are energy rows too (:func:`ceiling_energy_samples`: E = P · t, the sustained state).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmsim.calibration.measurements import MeasurementFile
from nmsim.engine.clock_state import at_clock_state
from nmsim.engine.layout import HW
from nmsim.engine.params import hw_vector
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
    """nmsim's counts for one sample: issued MACs, DRAM bytes, the energy held fixed (J), the config's
    own MAC, DRAM and operand-mux energy of the sample (J; used where those parameters are held), and the
    sparse-mode issued MACs (those charged an operand select; 0 when the GEMM ran dense)."""

    issued_macs: float
    dram_bytes: float
    other_j: float
    mac_j: float = 0.0
    dram_j: float = 0.0
    mux_j: float = 0.0
    mux_macs: float = 0.0


# What ``hold`` may name: static power, DRAM energy per byte, a dtype's MAC energy (``mac.<dtype>``),
# the operand-mux energy per sparse-mode issued MAC.
HOLDABLE = ("static", "dram", "mac.<dtype>", "mux")


@dataclass
class EnergyFit:
    """Fitted ``static_w`` (W), ``mac_pj`` per dtype (pJ), ``dram_pj_per_byte`` and ``mux_pj`` (pJ per
    sparse-mode issued MAC, at the config's node); residuals of the rows.

    Parameters in ``held`` kept the config's values (reported here, not fitted); so did those in
    ``held_no_rows``, which no row could identify (``mux`` without sparse-mode rows) and which the written
    config leaves untouched. ``mac_scaled`` maps a dtype with no rows to the fitted dtype whose factor
    (fitted / config) it was scaled by, and that factor. ``mux_pj`` None: the config's value.
    """

    static_w: float
    mac_pj: dict[str, float]
    dram_pj_per_byte: float
    predicted_j: np.ndarray
    measured_j: np.ndarray
    labels: list[str] = field(default_factory=list)
    held: tuple[str, ...] = ()
    mac_scaled: dict[str, tuple[str, float]] = field(default_factory=dict)
    mux_pj: float | None = None
    held_no_rows: tuple[str, ...] = ()

    @property
    def relative_errors(self) -> np.ndarray:
        return self.predicted_j / self.measured_j - 1

    def parameters(self) -> dict[str, float]:
        out = {"energy.static.watts": self.static_w, "energy.dram_per_byte.pj": self.dram_pj_per_byte}
        if self.mux_pj is not None:
            out["energy.mux_select.pj"] = self.mux_pj
        out.update({f"energy.mac.{dt}.pj": v for dt, v in self.mac_pj.items()})
        return out

    def is_fitted(self, name: str) -> bool:
        """Whether parameter ``name`` (``static``, ``dram``, ``mux``, ``mac.<dtype>``) came from the rows."""
        if name.startswith("mac."):
            dt = name.removeprefix("mac.")
            return dt in self.mac_pj and name not in self.held and dt not in self.mac_scaled
        if name == "mux" and self.mux_pj is None:
            return False
        return name not in self.held and name not in self.held_no_rows

    def predict(self, hw: HardwareConfig, samples: list[EnergySample]) -> np.ndarray:
        """Energy (J) of every sample (measured latencies); held parameters charge the config's own terms."""
        out = []
        for s in samples:
            t = energy_terms(hw, s)
            if f"mac.{s.dtype}" in self.held:
                mac = t.mac_j
            elif s.dtype in self.mac_pj:
                mac = self.mac_pj[s.dtype] * t.issued_macs * 1e-12
            else:
                raise NmsimInputError(
                    "dtype", f"no fitted MAC energy for {s.dtype}; have {', '.join(self.mac_pj)}"
                )
            dram = t.dram_j if "dram" in self.held else self.dram_pj_per_byte * t.dram_bytes * 1e-12
            fitted_mux = self.mux_pj is not None and self.is_fitted("mux")
            mux = (self.mux_pj or 0.0) * t.mux_macs * 1e-12 if fitted_mux else t.mux_j
            out.append(self.static_w * s.seconds + mac + dram + mux + t.other_j)
        return np.array(out)


def energy_terms(hw: HardwareConfig, s: EnergySample) -> EnergyTerms:
    """nmsim's issued MACs, DRAM bytes, sparse-mode issued MACs and fixed (SRAM, metadata) energy of
    ``s`` on ``hw``."""
    run = at_clock_state(hw, s.clock_state) if hw.gpu is not None else hw
    r = simulate_gemm(s.m, s.n, s.k, run, sparsity=s.sparsity, dtype=s.dtype)
    parts = r.energy_breakdown_pj
    mac, dram, mux = parts.get("mac", 0.0), parts.get("dram", 0.0), parts.get("mux", 0.0)
    other = r.energy_pj - mac - dram - parts.get("static", 0.0) - mux
    # the engine charges one operand select per issued MAC in an N:M mode (not after a dense fallback)
    mux_macs = float(r.issued_macs) if r.hw_mode != "dense" else 0.0
    return EnergyTerms(
        float(r.issued_macs),
        float(r.dram_bytes),
        other * 1e-12,
        mac * 1e-12,
        dram * 1e-12,
        mux * 1e-12,
        mux_macs,
    )


def config_energy(hw: HardwareConfig, dtype: str) -> dict[str, float]:
    """The config's own ``static`` (W), ``dram`` (pJ/byte: mean of read and write), ``mux`` (pJ per
    operand select) and ``mac.<dtype>`` (pJ), at its node, as the engine charges them."""
    vec = hw_vector(hw, dtype)
    return {
        "static": float(vec[HW["static_w"]]),
        "dram": float((vec[HW["e_dram_read"]] + vec[HW["e_dram_write"]]) / 2),
        "mux": float(vec[HW["e_mux"]]),
        f"mac.{dtype}": float(vec[HW["e_mac"]]),
    }


def predict_energy(
    hw: HardwareConfig,
    samples: list[EnergySample],
    static_w: float,
    mac_pj: dict[str, float],
    dram_pj: float,
    mux_pj: float | None = None,
) -> np.ndarray:
    """Energy (J) of every sample under the given parameters (measured latencies); ``mux_pj`` None:
    the config's operand-mux energy."""
    return EnergyFit(static_w, mac_pj, dram_pj, np.zeros(0), np.zeros(0), mux_pj=mux_pj).predict(hw, samples)


def parse_hold(text: str | None) -> tuple[str, ...]:
    """``"static,dram"`` → ``("static", "dram")``; each a name of :data:`HOLDABLE` (one-line error otherwise)."""
    names = tuple(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))
    for name in names:
        if name not in ("static", "dram", "mux") and not (name.startswith("mac.") and len(name) > 4):
            raise NmsimInputError("--hold", f"comma-separated names from {', '.join(HOLDABLE)}", name)
    return names


def fit_energy(hw: HardwareConfig, samples: list[EnergySample], hold: tuple[str, ...] = ()) -> EnergyFit:
    """Weighted linear least squares of static power, MAC energy per dtype, operand-mux energy per
    sparse-mode issued MAC and DRAM energy per byte.

    Parameters named in ``hold`` (``static``, ``dram``, ``mux``, ``mac.<dtype>``) keep the config's values
    and their terms move to the fixed side; so does ``mux`` when no row ran in an N:M mode (reported in
    ``held_no_rows``). The rest must be identifiable from the rows (full column rank, each positive), else
    a one-line :class:`NmsimInputError`.
    """
    if not samples:
        raise NmsimInputError(
            "measurements", "no rows with measured energy (dense_energy_j / sparse_energy_j)"
        )
    hold = parse_hold(",".join(hold))
    dtypes = sorted({s.dtype for s in samples})
    for name in hold:
        if name.startswith("mac.") and name.removeprefix("mac.") not in hw.energy.mac:
            raise NmsimInputError(
                "--hold", f"the config has MAC energies for {', '.join(hw.energy.mac)}", name
            )
    terms = [energy_terms(hw, s) for s in samples]
    # no sparse-mode row: nothing identifies the mux energy, which keeps the config's value
    no_rows = ("mux",) if "mux" not in hold and not any(t.mux_macs for t in terms) else ()
    names = ["static", "dram", "mux", *(f"mac.{dt}" for dt in dtypes)]
    free = [n for n in names if n not in hold and n not in no_rows]
    if not free:
        raise NmsimInputError("--hold", "leaves nothing to fit", ",".join(hold))
    if len(samples) < len(free):
        raise NmsimInputError("measurements", f"{len(samples)} energy rows cannot fix {len(free)} parameters")
    a = np.zeros((len(samples), len(names)))
    fixed = np.zeros(len(samples))
    for i, (s, t) in enumerate(zip(samples, terms, strict=True)):
        a[i, 0] = s.seconds  # W → J
        a[i, 1] = t.dram_bytes * 1e-12  # pJ/byte → J
        a[i, 2] = t.mux_macs * 1e-12  # pJ → J
        a[i, 3 + dtypes.index(s.dtype)] = t.issued_macs * 1e-12  # pJ → J
        own = {"static": hw.energy.static.watts * s.seconds, "dram": t.dram_j, "mux": t.mux_j,
               f"mac.{s.dtype}": t.mac_j}  # fmt: skip
        fixed[i] = t.other_j + sum(own.get(n, 0.0) for n in (*hold, *no_rows))
    measured = np.array([s.joules for s in samples])
    cols = [names.index(n) for n in free]
    w = 1.0 / measured
    aw, bw = a[:, cols] * w[:, None], (measured - fixed) * w
    scale = np.linalg.norm(aw, axis=0)
    if np.any(scale == 0) or np.linalg.matrix_rank(aw / np.where(scale == 0, 1, scale)) < len(free):
        raise NmsimInputError(
            "measurements",
            f"the energy rows cannot tell {', '.join(free)} apart"
            + (f" (with {', '.join(hold)} held)" if hold else "")
            + " (measure compute- and memory-bound shapes: measure_nm.py --energy-shapes, or --hold more)",
        )
    theta, *_ = np.linalg.lstsq(aw / scale, bw, rcond=None)
    theta = theta / scale
    for name, value in zip(free, theta, strict=True):
        if value <= 0:
            raise NmsimInputError(
                "measurements",
                f"the fit gives a non-positive {name} ({value:.3g}); the rows cannot pin it down",
            )
    values = {n: float(v) for n, v in zip(free, theta, strict=True)}
    for n in (*hold, *no_rows):
        dt = n.removeprefix("mac.") if n.startswith("mac.") else dtypes[0]
        if dt in dtypes:  # a held MAC energy of a dtype without rows is not reported
            values[n] = config_energy(hw, dt)[n]
    return EnergyFit(
        static_w=values["static"],
        mac_pj={dt: values[f"mac.{dt}"] for dt in dtypes if f"mac.{dt}" in values},
        dram_pj_per_byte=values["dram"],
        predicted_j=a[:, cols] @ theta + fixed,
        measured_j=measured,
        labels=[s.label for s in samples],
        held=hold,
        mux_pj=values["mux"],
        held_no_rows=no_rows,
    )


def scale_unfitted_macs(hw: HardwareConfig, result: EnergyFit, targets: list[str], source: str) -> EnergyFit:
    """``result`` with the MAC energy of each dtype in ``targets`` (no rows) scaled by the factor the fit
    gave ``source`` (fitted pJ / the config's pJ): the config's ratio target : source is kept."""
    if not result.is_fitted(f"mac.{source}"):
        raise NmsimInputError(
            "--scale-mac", f"the source dtype must be fitted ({', '.join(result.mac_pj)})", source
        )
    factor = result.mac_pj[source] / config_energy(hw, source)[f"mac.{source}"]
    mac, scaled = dict(result.mac_pj), dict(result.mac_scaled)
    for dt in targets:
        if dt not in hw.energy.mac:
            raise NmsimInputError("--scale-mac", f"a dtype of the config ({', '.join(hw.energy.mac)})", dt)
        if dt in result.mac_pj:
            raise NmsimInputError("--scale-mac", "dtypes without energy rows (this one was fitted)", dt)
        mac[dt] = config_energy(hw, dt)[f"mac.{dt}"] * factor
        scaled[dt] = (source, factor)
    return dataclasses.replace(result, mac_pj=mac, mac_scaled=scaled)


@dataclass(frozen=True)
class LeaveOneOut:
    """One row refitted without it: its predicted energy (J) and error, or why it cannot be predicted."""

    label: str
    predicted_j: float | None
    error: float | None
    reason: str = ""


def leave_one_out(
    hw: HardwareConfig, samples: list[EnergySample], hold: tuple[str, ...] = ()
) -> list[LeaveOneOut]:
    """For every row: fit on the others (same ``hold``), predict it. A refit the others cannot identify
    (e.g. the only row of its dtype, or the only sparse-mode row) gives no prediction and says why."""
    out = []
    sparse_mode = [energy_terms(hw, s).mux_macs > 0 for s in samples]
    for i, s in enumerate(samples):
        rest = samples[:i] + samples[i + 1 :]
        try:
            if not any(r.dtype == s.dtype for r in rest) and f"mac.{s.dtype}" not in hold:
                raise NmsimInputError(
                    "measurements", f"the only {s.dtype} row: no other row fixes its MAC energy"
                )
            if sparse_mode[i] and sum(sparse_mode) == 1 and "mux" not in hold:
                raise NmsimInputError(
                    "measurements", "the only sparse-mode row: no other row fixes the mux energy"
                )
            predicted = float(fit_energy(hw, rest, hold).predict(hw, [s])[0])
        except NmsimInputError as exc:
            out.append(LeaveOneOut(s.label, None, None, exc.allowed))
            continue
        out.append(LeaveOneOut(s.label, predicted, predicted / s.joules - 1))
    return out


def apply_energy_fit(doc: dict[str, Any], result: EnergyFit, note: str) -> dict[str, Any]:
    """A copy of the config document with the fitted energy entries, each citing ``note``; held entries
    are left as they were (their source says so), entries no row identified untouched; a scaled MAC
    entry cites ``note`` and the scaling."""
    new = copy.deepcopy(doc)
    energy = new["energy"]
    node = energy["node_nm"]
    levels = new.get("memory", {}).get("levels")
    # hardware schema 2.0: the off-chip level's read and write energies, per byte
    dram_entries = (
        [levels[-1]["read_energy"], levels[-1]["write_energy"]] if levels else [energy["dram_per_byte"]]
    )
    if result.is_fitted("static"):
        energy["static"] = {"watts": float(f"{result.static_w:.4g}"), "source": note}
    else:
        energy["static"]["source"] = _held(energy["static"]["source"], note)
    if result.is_fitted("dram"):
        dram = {"pj": float(f"{result.dram_pj_per_byte:.4g}"), "node_nm": node, "source": note}
        if levels:
            levels[-1]["read_energy"] = {**dram, "per": "byte"}
            levels[-1]["write_energy"] = {**dram, "per": "byte"}
        else:
            energy["dram_per_byte"] = dram
    else:
        for entry in dram_entries:
            entry["source"] = _held(entry["source"], note)
    if result.is_fitted("mux") and result.mux_pj is not None:
        energy["mux_select"] = {"pj": float(f"{result.mux_pj:.4g}"), "node_nm": node, "source": note}
    elif "mux" in result.held:
        energy["mux_select"]["source"] = _held(energy["mux_select"]["source"], note)
    for dt, pj in result.mac_pj.items():
        if dt in result.mac_scaled:
            src, factor = result.mac_scaled[dt]
            old = energy["mac"][dt]
            text = (f"assumption: no {dt} reading; {old['pj']} pJ at {old['node_nm']} nm ({old['source']}) times "
                    f"the factor {factor:.4g} the fit gave {src} at this node, keeping the ratio to {src} as before. "
                    f"{src}: {note}")  # fmt: skip
        elif result.is_fitted(f"mac.{dt}"):
            text = note
        else:
            continue
        energy.setdefault("mac", {})[dt] = {"pj": float(f"{pj:.4g}"), "node_nm": node, "source": text}
    hardware_from_document(new, "energy-calibrated config")  # validate
    return new


def _held(source: str, note: str) -> str:
    """A held entry's source, saying once which fit held it (the note's first clause)."""
    held = f"held at this value (not fitted) by {note.split(';')[0].removeprefix('fitted by ')}"
    return source if held in source else f"{source}; {held}"


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


# A ceiling power reading is kept when it is within this fraction of the board's power limit: the
# sustained state is "the card at its power limit" (h100_24_calibration.json's timing field).
AT_POWER_LIMIT_RTOL = 0.15


@dataclass(frozen=True)
class ExcludedReading:
    """A ceiling power reading left out of the energy rows, and why."""

    label: str
    reason: str


def ceiling_energy_samples(
    doc: MeasurementFile, rtol: float = AT_POWER_LIMIT_RTOL
) -> tuple[list[EnergySample], list[ExcludedReading]]:
    """The file's ceiling power readings as energy rows (E = power · latency per GEMM, dense, sustained
    state) and the readings left out: those not within ``rtol`` of ``meta.power_limit_W`` (not at the
    power limit, so not the sustained state the model predicts them in), those without a latency, those
    not naming a dense square GEMM, and all of them when the file gives no power limit."""
    limit = doc.power_limit_w
    kept: list[EnergySample] = []
    excluded: list[ExcludedReading] = []
    for r in doc.power_readings():
        clock = f", SM clock {r.sm_mhz:g} MHz" if r.sm_mhz else ""
        if r.shape is None or r.dtype is None:
            why = "not a dense square GEMM (dense_<dtype>_<size>[_<layout>])"
        elif r.ms is None:
            why = "no latency (ms) beside the power reading"
        elif limit is None:
            why = (
                "the file gives no meta.power_limit_W, so whether the card was at its power limit is unknown"
            )
        elif abs(r.power_w / limit - 1) > rtol:
            why = (f"{r.power_w:g} W is not within {rtol:.0%} of the {limit:g} W power limit{clock}: not the "
                   "power-limited (sustained) state")  # fmt: skip
        else:
            m, k, n = r.shape
            joules = r.power_w * r.ms * 1e-3
            kept.append(EnergySample(m, n, k, r.dtype, None, joules, r.ms * 1e-3, r.label, "sustained"))
            continue
        excluded.append(ExcludedReading(r.label, why))
    return kept, excluded
