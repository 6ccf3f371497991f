"""Fit a hardware config's physical parameters to measured GEMM latencies (least squares in log space).

A parameter is any numeric field of the config, named by its dotted path (``array.clock_ghz``,
``array.efficiency.fp16``, ``sparse.extra_overhead_us``, ``memory.dram_bandwidth_gbps``) or by a
load_hardware alias (``clock_ghz``). Residuals are log(predicted / measured) latencies, so every sample
weighs by its relative error. The optimiser is Levenberg–Marquardt on log(parameter) (positivity for
free), with forward-difference Jacobians; values are clipped to the schema's bounds.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmsim.engine.clock_state import at_clock_state
from nmsim.errors import NmsimInputError
from nmsim.io.loaders import HW_ALIASES, apply_overrides, hardware_from_document
from nmsim.schemas.hardware import HardwareConfig
from nmsim.sim.gemm import simulate_gemm

# Schema upper bounds for fractions (efficiency ≤ 1).
_UPPER: dict[str, float] = {"efficiency": 1.0, "dense_efficiency": 1.0, "sparse_efficiency": 1.0}


@dataclass(frozen=True)
class Sample:
    """One measured GEMM in nmsim's convention (activations m×k · weights k×n), latency in seconds."""

    m: int
    n: int
    k: int
    dtype: str
    sparsity: str | None
    seconds: float
    label: str = ""
    clock_state: str = "burst"  # the GPU's clock/power state when it was measured (nmsim/schemas/gpu.py)


@dataclass
class FitResult:
    """Fitted values, residuals before/after (log ratios) and the fitted config document."""

    params: dict[str, float]
    initial: dict[str, float]
    predicted_before: np.ndarray
    predicted_after: np.ndarray
    measured: np.ndarray
    iterations: int
    document: dict[str, Any] = field(repr=False)

    @property
    def rms_log_error(self) -> float:
        r = np.log(self.predicted_after / self.measured)
        return float(np.sqrt(np.mean(r * r)))


def _path(name: str) -> str:
    return HW_ALIASES.get(name, name)


def read_param(doc: dict[str, Any], name: str) -> float | None:
    """Current value of a dotted-path parameter in a config document (None if unset)."""
    node: Any = doc
    for part in _path(name).split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _upper(name: str) -> float:
    return next((v for k, v in _UPPER.items() if f".{k}." in f".{_path(name)}."), math.inf)


def predict(hw: HardwareConfig, samples: list[Sample], library: bool | None = None) -> np.ndarray:
    """Predicted latency (s) of every sample on ``hw``, each in its own mode (no dense fallback) and clock state.

    ``library`` (default: whenever the config has a ``gpu.library``) applies the measured software
    stack's per-dtype efficiencies, as the measurements ran on it. Configs without a ``gpu`` section
    have no clock states; theirs is ignored.
    """
    lib = bool(hw.gpu is not None and hw.gpu.library is not None) if library is None else library
    out = []
    for s in samples:
        run = at_clock_state(hw, s.clock_state, lib) if hw.gpu is not None else hw
        out.append(
            simulate_gemm(s.m, s.n, s.k, run, sparsity=s.sparsity, dtype=s.dtype, fallback="never").latency_s
        )
    return np.array(out)


def speedups(samples: list[Sample], seconds: np.ndarray) -> dict[str, float]:
    """Dense/sparse speedup per GEMM: samples paired by label (``"<row label> <dtype> <dense|n:m>"``)."""
    dense, sparse = {}, {}
    for s, t in zip(samples, seconds, strict=True):
        key = s.label.rsplit(" ", 1)[0]  # "<row label> <dtype>" without the dense / n:m tag
        (dense if s.sparsity is None else sparse)[key] = float(t)
    return {key: dense[key] / sparse[key] for key in dense if key in sparse}


def speedup_stats(measured: dict[Any, float], predicted: dict[Any, float], keys: list[Any]) -> dict[str, Any]:
    """Median and max |error| of the predicted speedups over ``keys``, and how often faster/slower is right."""
    keys = [k for k in keys if k in predicted]
    if not keys:
        return {"count": 0}
    err = np.array([predicted[k] / measured[k] - 1 for k in keys])
    right = sum((predicted[k] > 1) == (measured[k] > 1) for k in keys)
    return {"count": len(keys), "median_abs_error": float(np.median(np.abs(err))),
            "max_abs_error": float(np.max(np.abs(err))), "verdict_right": int(right)}  # fmt: skip


def _config(
    doc: dict[str, Any], values: dict[str, float], note: str, ties: dict[str, str] | None = None
) -> tuple[dict[str, Any], HardwareConfig]:
    new = apply_overrides(copy.deepcopy(doc), values, source=note)
    for target, source in (ties or {}).items():
        value = values[source] if source in values else read_param(new, source)
        if value is None:
            raise NmsimInputError("tie", f"{target} follows {source}, which the config does not set")
        apply_overrides(new, {target: value}, source=f"as {source}, {note}")
    return new, hardware_from_document(new, "calibrated config")


def fit(
    doc: dict[str, Any],
    samples: list[Sample],
    params: list[str],
    defaults: dict[str, float] | None = None,
    note: str = "fitted by nmsim calibrate",
    max_iter: int = 60,
    ties: dict[str, str] | None = None,
) -> FitResult:
    """Least-squares fit of ``params`` (dotted paths) of the config document ``doc`` to ``samples``.

    ``ties`` maps a dotted path to another whose value it takes (``array.efficiency.int8`` →
    ``array.efficiency.fp8``: two dtypes the hardware runs at one rate); a tied path is not fitted.
    """
    if not samples:
        raise NmsimInputError("measurements", "need at least one measured GEMM")
    if not params:
        raise NmsimInputError("fit", "name at least one parameter, e.g. array.clock_ghz")
    defaults = defaults or {}
    x0: dict[str, float] = {}
    for p in params:
        value = read_param(doc, p)
        if value is None:
            value = defaults.get(p, 1.0)
        if value <= 0:
            raise NmsimInputError("fit", f"parameter {p} must start positive to be fitted", value)
        x0[p] = value
    measured = np.array([s.seconds for s in samples])
    upper = np.array([_upper(p) for p in params])

    def values_of(theta: np.ndarray) -> dict[str, float]:
        return {p: float(min(math.exp(t), u)) for p, t, u in zip(params, theta, upper, strict=True)}

    def residuals(theta: np.ndarray) -> np.ndarray:
        _, hw = _config(doc, values_of(theta), note, ties)
        return np.log(predict(hw, samples) / measured)

    theta = np.log(np.array([x0[p] for p in params]))
    r = residuals(theta)
    before = measured * np.exp(r)
    cost = float(r @ r)
    lam, iterations = 1e-3, 0
    while iterations < max_iter:
        iterations += 1
        jac = np.empty((len(r), len(params)))
        for j in range(len(params)):
            h = 1e-3 if theta[j] + 1e-3 <= np.log(upper[j]) else -1e-3  # stay inside the bound
            t = theta.copy()
            t[j] += h
            jac[:, j] = (residuals(t) - r) / h
        a = jac.T @ jac
        g = jac.T @ r
        improved = False
        while lam < 1e8:
            step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
            cand = np.minimum(theta + step, np.log(upper))
            rc = residuals(cand)
            cc = float(rc @ rc)
            if cc < cost:
                gain = cost - cc
                theta, r, cost, lam, improved = cand, rc, cc, max(lam / 3, 1e-9), True
                break
            lam *= 4
        if not improved or gain < 1e-12 * max(cost, 1e-30):
            break
    values = {p: float(f"{v:.4g}") for p, v in values_of(theta).items()}  # 4 significant digits
    new_doc, hw = _config(doc, values, note, ties)
    return FitResult(
        params=values,
        initial=x0,
        predicted_before=before,
        predicted_after=predict(hw, samples),
        measured=measured,
        iterations=iterations,
        document=new_doc,
    )
