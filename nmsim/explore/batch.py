"""Vectorized evaluation of sweep points through the engine's batch kernel.

For a chunk of points (trace variant × hardware combination), every layer becomes one row of
:func:`nmsim.engine.kernel.evaluate_rows` (the same compiled kernel :func:`nmsim.simulate` calls per
GEMM), with the hardware mode chosen by the core's :func:`nmsim.sim.modes.choose_mode`. Identical
(hardware vector, GEMM) rows (the same layer shape repeated through a model, or two N:M patterns
that land in the same hardware mode) are evaluated once; :func:`nmsim.explore.reduce.reduce_points`
then sums every point's layers in trace order, as the per-GEMM report does. The numbers are
therefore exactly those of ``nmsim.simulate`` (tests compare them with ``==``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nmsim.engine.kernel import evaluate_rows, without_idle_reservations
from nmsim.engine.layout import GEMM, GEMM_LEN, LEVEL_SLOTS, OBJECTIVES
from nmsim.engine.params import hw_vector
from nmsim.explore.plan import SweepPlan
from nmsim.explore.reduce import (
    FLOAT_COLS,
    FLOAT_FIELDS,
    INT_COLS,
    INT_FIELDS,
    PYTHON_SUM_COMPENSATED,
    reduce_points,
)
from nmsim.explore.variants import apply_nm
from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer
from nmsim.sim.fields import ENERGY_COLUMNS, TOTAL_FIELDS
from nmsim.sim.gemm import layer_density, layer_guarantees, layer_mode, residency_row, residency_slots
from nmsim.sim.modes import mode_key
from nmsim.sim.residency import NO_RESIDENCY, LayerResidency
from nmsim.sim.residency_plan import fit_keeps, fit_key, plan_for, residency_key
from nmsim.sparsity import NM

METRIC_COLUMNS: tuple[str, ...] = (*TOTAL_FIELDS, *ENERGY_COLUMNS)
"""Per-point totals (units: cycles, s, pJ, MACs, bytes): :data:`nmsim.sim.fields.TOTAL_FIELDS` and the
energy parts."""

_G_RES = GEMM["reserved_0"]

# (m, n, k, repeat, dtype, guarantees, k_runs, mask histogram, layer index when residency applies else -1)
_Sig = tuple[int, int, int, int, "str | None", tuple[NM, ...], int, "tuple[int, ...] | None", int]


@dataclass
class _Variant:
    sigs: list[_Sig]  # distinct (m, n, k, repeat, dtype, guarantees, k_runs, mask histogram)
    sig_layer: list[Layer]  # a layer of each signature (for the mode choice)
    layers: list[Layer]  # every layer, in order (for the residency plan)
    layer_sig: np.ndarray  # layer → index into sigs (int64)
    dtypes: tuple[list[str | None], np.ndarray]  # distinct dtypes, signature → index into them
    shape_ids: list[int]  # signature → evaluator-wide id of its fields but the layer index
    dense_macs: int
    useful_macs: float


@dataclass
class _Hw:
    config: HardwareConfig
    pes: int
    mode_class: int


@dataclass
class ChunkStats:
    """Work done for one chunk: points, layer×config rows, and distinct rows the kernel evaluated."""

    points: int
    layer_rows: int
    kernel_rows: int


class BatchEvaluator:
    """Evaluates points of one :class:`SweepPlan`, caching hardware configs, variants and modes."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.compat = plan.compat == "scalesim"
        self.residency = plan.residency
        self.residency_on = self.residency != "none" and not self.compat
        # a plan that keeps tensors is costed on the whole config (nmsim.sim.residency_plan): configs
        # then share it only when equal but for their name; only traces with edges have one
        self.plans_residency = self.residency_on and any(
            layer.inputs is not None for t in plan.traces for layer in t.trace.layers
        )
        self._hw: dict[int, _Hw] = {}
        self._bases: dict[int, HardwareConfig] = {}
        self._variants: dict[int, _Variant] = {}
        self._mode_classs: dict[str, int] = {}
        self._class_rep: list[HardwareConfig] = []
        self._hw_rows: list[np.ndarray] = []
        self._hw_row_ids: dict[bytes, int] = {}
        self._hw_row_of: dict[tuple[int, str | None], int] = {}
        self._hw_table: np.ndarray | None = None
        self._gemm_ids: dict[tuple[float, ...], int] = {}
        self._gemm_rows: list[tuple[float, ...]] = []
        self._gemm_table: np.ndarray | None = None
        self._mode_gids: dict[tuple[int, int], np.ndarray] = {}
        self._plan_gids: dict[tuple[int, int, tuple[LayerResidency, ...]], np.ndarray] = {}
        self._shape_ids: dict[tuple[object, ...], int] = {}  # signature but the layer index → id
        self._sig_gid: dict[tuple[int, int, LayerResidency], int] = {}  # (row class, shape id, hooks)
        self._costed: dict[tuple[str | None, float, str], bool] = {}  # fit key → some trace keeps a tensor
        self._row_classs: dict[str, int] = {}  # mode, objective and fit key → row class
        self._class_row: list[int] = []  # class → its row class

    # --- cached pieces -------------------------------------------------------------------------
    def hw(self, h: int) -> _Hw:
        """Hardware combination ``h``, built once."""
        entry = self._hw.get(h)
        if entry is None:
            cfg = self.plan.build_hw(h, self._bases)
            row_key = mode_key(cfg) + "|" + cfg.mapper.objective
            key = row_key
            if self.plans_residency:  # configs that plan residency alike share a class
                fk = fit_key(cfg)
                costed = self._costed.get(fk)
                if costed is None:
                    costed = any(fit_keeps(t.trace.layers, cfg) for t in self.plan.traces)
                    self._costed[fk] = costed
                row_key += "|" + repr(fk)
                key += "|" + residency_key(cfg, costed)
            sid = self._mode_classs.get(key)
            if sid is None:
                sid = self._mode_classs[key] = len(self._class_rep)
                self._class_rep.append(cfg)
                # configs of one row class build equal rows for equal residency hooks
                self._class_row.append(self._row_classs.setdefault(row_key, len(self._row_classs)))
            entry = _Hw(cfg, cfg.array.rows * cfg.array.cols * cfg.array.cores, sid)
            self._hw[h] = entry
        return entry

    def variant(self, v: int) -> _Variant:
        """Variant ``v`` (a trace with its N:M choice applied), reduced to distinct GEMM signatures."""
        entry = self._variants.get(v)
        if entry is None:
            t, nm = self.plan.variant(v)
            trace = apply_nm(self.plan.traces[t].trace, nm)
            sig_ids: dict[_Sig, int] = {}
            sig_layer: list[Layer] = []
            layer_sig = []
            dense: list[int] = []
            useful: list[float] = []
            # with residency, a layer's hooks depend on its place in the graph: one signature per layer
            per_layer = self.residency_on and any(layer.inputs is not None for layer in trace.layers)
            for i, layer in enumerate(trace.layers):
                assert layer.m and layer.n and layer.k
                sig: _Sig = (
                    layer.m,
                    layer.n,
                    layer.k,
                    layer.repeat,
                    layer.dtype,
                    layer_guarantees(layer),
                    layer.conv_k_runs,
                    (layer.mask_stats.block, *layer.mask_stats.histogram) if layer.mask_stats else None,
                    i if per_layer else -1,
                )
                if sig not in sig_ids:
                    sig_ids[sig] = len(sig_ids)
                    sig_layer.append(layer)
                layer_sig.append(sig_ids[sig])
                d = layer.m * layer.n * layer.k * layer.repeat
                dense.append(d)
                useful.append(d * layer_density(layer))
            sigs = list(sig_ids)
            dt_ids: dict[str | None, int] = {}
            dt_of = np.array([dt_ids.setdefault(s[4], len(dt_ids)) for s in sigs], dtype=np.int64)
            entry = _Variant(
                sigs=sigs,
                sig_layer=sig_layer,
                layers=list(trace.layers),
                layer_sig=np.array(layer_sig, dtype=np.int64),
                dtypes=(list(dt_ids), dt_of),
                shape_ids=[self._shape_ids.setdefault(s[:8], len(self._shape_ids)) for s in sigs],
                dense_macs=sum(dense),
                useful_macs=sum(useful),  # the built-in sum, as totals_of
            )
            self._variants[v] = entry
        return entry

    def _hw_row(self, h: int, dtype: str | None) -> int:
        key = (h, dtype)
        row = self._hw_row_of.get(key)
        if row is None:
            vec = hw_vector(self.hw(h).config, dtype)
            raw = vec.tobytes()
            row = self._hw_row_ids.get(raw)
            if row is None:
                row = self._hw_row_ids[raw] = len(self._hw_rows)
                self._hw_rows.append(np.array(vec))
                self._hw_table = None
            self._hw_row_of[key] = row
        return row

    def _gids(self, v: int, mode_class: int) -> np.ndarray:
        """Global GEMM-row ids of variant ``v``'s signatures in the modes of mode class ``mode_class``."""
        key = (v, mode_class)
        gids = self._mode_gids.get(key)
        if gids is None:
            rep = self._class_rep[mode_class]
            var = self.variant(v)
            plan = plan_for(var.layers, rep, self.residency, self.compat)
            row_class = self._class_row[mode_class]
            # classes of one row class with equal plans build equal rows (e.g. array sizes alike)
            plan_key = (v, row_class, tuple(plan))
            gids = self._plan_gids.get(plan_key)
            if gids is None:
                gids = self._plan_gids[plan_key] = self._plan_rows(var, rep, row_class, plan)
            self._mode_gids[key] = gids
        return gids

    def _plan_rows(
        self, var: _Variant, rep: HardwareConfig, row_class: int, plan: list[LayerResidency]
    ) -> np.ndarray:
        """Global GEMM-row ids of ``var``'s signatures on ``rep`` (of row class ``row_class``) with the
        hooks of ``plan``."""
        out = []
        objective = OBJECTIVES.index(rep.mapper.objective)
        for sig, layer, shape in zip(var.sigs, var.sig_layer, var.shape_ids, strict=True):
            # configs with the same row class choose modes alike: one stands for all; layers
            # alike in all but their place build equal rows for equal hooks
            p = plan[sig[8]] if sig[8] >= 0 else NO_RESIDENCY
            gid = self._sig_gid.get((row_class, shape, p))
            if gid is None:
                ch = layer_mode(layer, rep, self.compat)
                m, n, k, repeat = sig[:4]
                row = residency_row(m, n, k, repeat, ch, self.compat, objective, p, residency_slots(rep, p))
                gid = self._gemm_ids.get(row)
                if gid is None:
                    gid = self._gemm_ids[row] = len(self._gemm_rows)
                    self._gemm_rows.append(row)
                    self._gemm_table = None
                self._sig_gid[(row_class, shape, p)] = gid
            out.append(gid)
        return np.array(out, dtype=np.int64)

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._hw_table is None:
            self._hw_table = np.ascontiguousarray(np.stack(self._hw_rows))
        if self._gemm_table is None:
            self._gemm_table = np.array(self._gemm_rows, dtype=np.float64).reshape(-1, GEMM_LEN)
        return self._hw_table, self._gemm_table

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, ids: np.ndarray) -> tuple[dict[str, np.ndarray], ChunkStats]:
        """Totals of points ``ids``: a dict of columns (``point``, ``variant``, ``combo`` and
        :data:`METRIC_COLUMNS`), one entry per id in the given order, and the work done."""
        ids = np.asarray(ids, dtype=np.int64)
        vs, hs = self.plan.decode(ids)
        klass = np.array([self.hw(int(h)).mode_class for h in hs], dtype=np.int64)
        n_class = max(len(self._class_rep), 1)
        groups, group_of = np.unique(vs * n_class + klass, return_inverse=True)

        hw_parts, gid_parts, row_parts, order_parts, len_parts = [], [], [], [], []
        base = 0
        for g, key in enumerate(groups.tolist()):
            v, sid = divmod(key, n_class)
            pos = np.flatnonzero(group_of == g)
            var = self.variant(v)
            gids = self._gids(v, sid)
            n_sig = len(var.sigs)
            uh, inv = np.unique(hs[pos], return_inverse=True)
            # one hardware row per (config, distinct dtype), spread over the signatures
            dts, dt_of = var.dtypes
            table = np.array([[self._hw_row(h, dt) for dt in dts] for h in uh.tolist()], dtype=np.int64)
            table = table[:, dt_of]
            hw_parts.append(table[inv].ravel())
            gid_parts.append(np.tile(gids, len(pos)))
            starts = base + n_sig * np.arange(len(pos), dtype=np.int64)
            row_parts.append((starts[:, None] + var.layer_sig[None, :]).ravel())
            order_parts.append(pos)
            len_parts.append(np.full(len(pos), len(var.layer_sig), dtype=np.int64))
            base += n_sig * len(pos)

        hw_table, gemm_table = self._tables()
        hw_idx = np.concatenate(hw_parts)
        gid = np.concatenate(gid_parts)
        keys = hw_idx * len(gemm_table) + gid
        uniq, inv = np.unique(keys, return_inverse=True)
        u_hw = np.ascontiguousarray(uniq // len(gemm_table))
        u_gemm = np.ascontiguousarray(gemm_table[uniq % len(gemm_table)])
        out, kernel_rows = _evaluate_distinct(hw_table, u_hw, u_gemm)

        layer_rows = np.ascontiguousarray(inv.reshape(-1)[np.concatenate(row_parts)], dtype=np.int64)
        lengths = np.concatenate(len_parts)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ints, floats = reduce_points(out, layer_rows, offsets, INT_COLS, FLOAT_COLS, PYTHON_SUM_COMPENSATED)

        order = np.concatenate(order_parts)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        ints, floats = ints[back], floats[back]
        cols = self._columns(ids, vs, hs, ints, floats)
        return cols, ChunkStats(len(ids), int(lengths.sum()), kernel_rows)

    def _columns(
        self, ids: np.ndarray, vs: np.ndarray, hs: np.ndarray, ints: np.ndarray, floats: np.ndarray
    ) -> dict[str, np.ndarray]:
        cols: dict[str, Any] = {"point": ids, "variant": vs, "combo": hs}
        for j, name in enumerate(INT_FIELDS):
            cols[name] = ints[:, j]
        cols["layers_fell_back"] = cols.pop("fell_back")
        for j, name in enumerate(FLOAT_FIELDS):
            key = f"{name}_pj" if name.startswith("energy_") else name
            cols[key] = floats[:, j]
        cols["energy_pj"] = floats[:, len(FLOAT_FIELDS)]
        dense = [self.variant(v).dense_macs for v in vs.tolist()]
        cycles = cols["cycles"].tolist()
        issued = cols["issued_macs"].tolist()
        slots = cols.pop("peak_mac_slots").tolist()
        # Python int arithmetic, as nmsim.sim.fields.totals_from_sums (exact true division of ints)
        cols["pe_utilization"] = np.array([i / p for i, p in zip(issued, slots, strict=True)])
        cols["effective_macs_per_cycle"] = np.array(
            [d / c for d, c in zip(dense, cycles, strict=True)], dtype=np.float64
        )
        cols["dense_macs"] = np.array(dense, dtype=np.int64)
        cols["useful_macs"] = np.array([self.variant(v).useful_macs for v in vs.tolist()])
        return {k: cols[k] for k in ("point", "variant", "combo", *METRIC_COLUMNS)}


def _evaluate_distinct(hw_table: np.ndarray, hw_idx: np.ndarray, gemms: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`evaluate_rows` of distinct (hardware, GEMM row) pairs, each pair that differs from another
    only in reserved bytes that cannot change its result evaluated once (the residency mapping cache:
    :func:`~nmsim.engine.kernel.without_idle_reservations`). Returns (results, kernel rows run)."""
    if not gemms[:, _G_RES : _G_RES + LEVEL_SLOTS].any():
        return evaluate_rows(hw_table, hw_idx, gemms), len(gemms)
    canon = without_idle_reservations(hw_table, hw_idx, gemms)
    pairs, first, back = np.unique(
        np.column_stack([hw_idx.astype(np.float64), canon]), axis=0, return_index=True, return_inverse=True
    )
    out = evaluate_rows(hw_table, np.ascontiguousarray(hw_idx[first]), np.ascontiguousarray(canon[first]))
    return out[back.reshape(-1)], len(pairs)


_EVALUATORS: dict[str, BatchEvaluator] = {}


def evaluator_for(plan: SweepPlan) -> BatchEvaluator:
    """A process-wide evaluator per plan (workers reuse caches across the chunks they get)."""
    ev = _EVALUATORS.get(plan.fingerprint)
    if ev is None:
        if len(_EVALUATORS) > 4:
            _EVALUATORS.clear()
        ev = _EVALUATORS[plan.fingerprint] = BatchEvaluator(plan)
    return ev


def evaluate_chunk(plan: SweepPlan, ids: np.ndarray) -> tuple[dict[str, np.ndarray], ChunkStats]:
    """Evaluate points ``ids`` of ``plan`` (the task a local or Dask worker runs)."""
    return evaluator_for(plan).evaluate(ids)
