"""Measure dense vs 2:4-sparse GEMM latency on an NVIDIA GPU and write an nmsim measurement file.

Run on any machine with an NVIDIA GPU (compute capability ≥ 8.0) and PyTorch built with CUDA and
cuSPARSELt; never in CI::

    python benchmarks/gpu/measure_nm.py --out runs/measurements.json            # default shape list
    python benchmarks/gpu/measure_nm.py --quick --out runs/quick.json           # a few shapes, ~1 min
    python benchmarks/gpu/measure_nm.py --list                                  # print the shapes, no GPU

For every shape and dtype: ``W`` (``M×K``, out × in) is pruned 2:4 along K by magnitude and timed as
``W @ X^T`` (``X``: ``N×K``, N = tokens) through cuBLAS (dense) and cuSPARSELt (sparse: compressed by
``torch.sparse.to_sparse_semi_structured`` with ``SparseSemiStructuredTensor._FORCE_CUTLASS = False``,
multiplied by ``torch._cslt_sparse_mm`` with the algorithm picked by ``torch._cslt_sparse_mm_search``).
Timing: CUDA events around CUDA-graph replays (``--no-graph``: plain launches); each replay runs the
GEMM once on each of several operand sets whose total size exceeds ``--rotate-mb`` (default 256 MB),
so the L2 never holds the inputs; warm-up, then the median (and p10/p90) of ``--repeats`` replays.
Correctness: both products are checked against an fp32 (int8: fp64) product of the pruned ``W`` on the
first ``--check-tokens`` tokens; the relative Frobenius error must stay within the dtype's tolerance.

Energy (``--energy-s S``): after timing, each op runs again for at least S seconds of CUDA-graph
replays between two readings of NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
mJ since driver load; needs ``pynvml``/``nvidia-ml-py``); the row gets the board energy per GEMM
(``dense_energy_j``, ``sparse_energy_j``), the latency during that loop and the number of GEMMs. The idle
power is read the same way over ``--idle-s`` seconds with nothing running (``meta.idle_power_w``).
``--energy-shapes`` adds memory-bound shapes (large weights, 16 and 64 tokens) to the compute-bound
squares, so that energy per MAC and per DRAM byte can be told apart (``nmsim calibrate --energy``).

Clock state: ``--cooldown-s S`` idles S seconds before each timed op, so its plain columns are a burst
(``meta.clock_state: burst``); without it the ops run back to back under continuous load and the plain
columns are recorded as ``sustained``. Each row records the SM clock NVML reports right after each
timing (``dense_sm_mhz``, ``sparse_sm_mhz``).

Output: the format of ``nmsim/calibration/measurements.py`` (``docs/calibration.md``), rewritten
atomically after every measured shape, so an interrupted run leaves a valid file. Exit status: 0 all
measured and correct; 1 a correctness check failed; 2 no usable GPU / PyTorch (one line on stderr).

This file imports only the standard library at module level: its pure parts (argument parsing, the
shape list, the document and its atomic write, the pruning helper on any tensor) work without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "nmsim-measurements/1"
CONVENTION = (
    "Y^T = W @ X^T: W is M x K (out x in), pruned 2:4 along K by magnitude, first operand; "
    "X is N x K (N = tokens). In the activations(MxK) x weights(KxN) convention, swap M and N."
)
TIMING = (
    "CUDA events around CUDA-graph replays (timing_method 'launches': plain launches), median of "
    "'repeats' replays after warm-up, each replay running the GEMM once per operand set, sets rotated "
    "through more than --rotate-mb so L2 does not hold them; speedup = dense_ms / sparse_ms; "
    "sustained_* = after --sustained-s of continuous load."
)
DEFAULT_SQUARES = (4096, 8192, 16384)
DEFAULT_LAYERS = ((512, 2048), (1024, 4096), (4096, 11008))
DEFAULT_TOKENS = (2048, 4096, 8192, 16384)
QUICK_SQUARES = (4096,)
QUICK_LAYERS = ((512, 2048), (4096, 11008))
QUICK_TOKENS = (4096,)
# --energy-shapes: weight-streaming GEMMs (few tokens: memory-bound) beside the compute-bound squares
ENERGY_WEIGHTS = ((8192, 8192), (16384, 16384), (11008, 4096))  # (M out, K in)
ENERGY_TOKENS = (16, 64)
# cuSPARSELt's 8-bit minimum tile (torch's _DTYPE_SHAPE_CONSTRAINTS): M and K multiples of 32, N of 16.
SHAPE_MULTIPLE = {"M": 32, "K": 32, "N": 16}


@dataclass(frozen=True)
class DtypeSpec:
    """How one dtype is generated, multiplied and checked."""

    key: str  # nmsim's name
    torch_name: str  # torch.<name>
    out_name: str  # output dtype of both products
    tol: float  # allowed relative Frobenius error against the reference
    min_capability: tuple[int, int]
    dense_api: str


DTYPES: dict[str, DtypeSpec] = {
    "fp16": DtypeSpec("fp16", "float16", "float16", 5e-3, (8, 0), "cuBLAS torch.mm"),
    "bf16": DtypeSpec("bf16", "bfloat16", "bfloat16", 2e-2, (8, 0), "cuBLAS torch.mm"),
    "int8": DtypeSpec("int8", "int8", "int32", 0.0, (8, 0), "cuBLAS torch._int_mm (int32 out)"),
    "fp8": DtypeSpec(
        "fp8", "float8_e4m3fn", "bfloat16", 2e-2, (8, 9), "cuBLASLt torch._scaled_mm (scale 1, bf16 out)"
    ),
}
# Tolerance when a fallback output dtype is used (int8 through cuSPARSELt without int32 output).
OUT_TOL = {"int32": 0.0, "float16": 5e-3, "bfloat16": 2e-2, "float32": 1e-4}


@dataclass(frozen=True)
class Shape:
    """One GEMM in the measurement convention: W is M×K (out × in), X is N×K (N = tokens)."""

    label: str
    M: int
    N: int
    K: int

    @property
    def flops(self) -> float:
        return 2.0 * self.M * self.N * self.K


# ------------------------------------------------------------------------------------ arguments, shapes


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _layer_list(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for item in (t for t in text.split(",") if t.strip()):
        parts = item.split(":")
        if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"expected d_model:ffn pairs like 512:2048, got {item!r}")
        out.append((int(parts[0]), int(parts[1])))
    return tuple(out)


def _shape(text: str) -> tuple[int, int, int]:
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected MxNxK (M = out features, N = tokens), got {text!r}")
    m, n, k = (int(p) for p in parts)
    return m, n, k


def _dtype_list(text: str) -> tuple[str, ...]:
    keys = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    bad = [k for k in keys if k not in DTYPES]
    if bad or not keys:
        raise argparse.ArgumentTypeError(f"dtypes must be among {','.join(DTYPES)}, got {text!r}")
    return keys


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="measure_nm.py",
        description="Dense vs 2:4 sparse GEMM latency (cuBLAS vs cuSPARSELt) → nmsim measurement file.",
    )
    ap.add_argument("--out", default="measurements.json", help="output file (JSON, written atomically)")
    ap.add_argument(
        "--dtypes", type=_dtype_list, default=tuple(DTYPES), help="comma list of fp16,bf16,int8,fp8"
    )
    ap.add_argument(
        "--squares", type=_int_list, default=None, help=f"square sizes (default {DEFAULT_SQUARES})"
    )
    ap.add_argument(
        "--layers",
        type=_layer_list,
        default=None,
        help="d_model:ffn pairs (default 512:2048,1024:4096,4096:11008)",
    )
    ap.add_argument("--tokens", type=_int_list, default=None, help=f"token counts (default {DEFAULT_TOKENS})")
    ap.add_argument("--shape", type=_shape, action="append", default=[], help="extra MxNxK (repeatable)")
    ap.add_argument("--only-shapes", action="store_true", help="measure only the --shape list")
    ap.add_argument(
        "--quick", action="store_true", help="a short list (square 4096, two layers at 4096 tokens)"
    )
    ap.add_argument(
        "--b-layout", choices=("col", "row", "both"), default="col", help="X^T column- or row-major"
    )
    ap.add_argument("--repeats", type=int, default=50, help="timed replays per measurement (median)")
    ap.add_argument(
        "--runs",
        type=int,
        default=1,
        help="time each op this many times back to back (the spread between runs)",
    )
    ap.add_argument("--warmup", type=int, default=10, help="untimed replays first")
    ap.add_argument("--warmup-s", type=float, default=0.05, help="and at least this many seconds of warm-up")
    ap.add_argument(
        "--sustained-s", type=float, default=0.0, help="also time after this long under load (0: off)"
    )
    ap.add_argument(
        "--rotate-mb", type=float, default=256.0, help="operand sets rotated through at least this"
    )
    ap.add_argument("--max-sets", type=int, default=64, help="most operand sets per measurement")
    ap.add_argument("--check-tokens", type=int, default=256, help="tokens checked against the reference")
    ap.add_argument(
        "--no-graph", action="store_true", help="time plain launches instead of CUDA-graph replays"
    )
    ap.add_argument("--no-search", action="store_true", help="cuSPARSELt default algorithm, no search")
    ap.add_argument("--budget-s", type=float, default=None, help="start no new measurement after this long")
    ap.add_argument(
        "--energy-s",
        type=float,
        default=0.0,
        help="also measure energy per GEMM over this long (NVML; 0: off)",
    )
    ap.add_argument(
        "--idle-s", type=float, default=3.0, help="seconds of idle to measure idle power (with --energy-s)"
    )
    ap.add_argument("--energy-shapes", action="store_true", help="add memory-bound shapes (16 and 64 tokens)")
    ap.add_argument(
        "--cooldown-s",
        type=float,
        default=0.0,
        help="idle this long before each timed op (plain columns = burst)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--list", action="store_true", help="print the shape list and exit (no GPU needed)")
    ap.add_argument("--emulate-cpu", action="store_true", help=argparse.SUPPRESS)  # pipeline self-test
    return ap


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for name in ("repeats", "runs", "max_sets", "check_tokens"):
        if getattr(args, name) < 1:
            build_parser().error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0 or args.warmup_s < 0 or args.sustained_s < 0 or args.rotate_mb < 0:
        build_parser().error("warm-up, sustained and rotate sizes must be >= 0")
    if args.energy_s < 0 or args.idle_s < 0 or args.cooldown_s < 0:
        build_parser().error("--energy-s, --idle-s and --cooldown-s must be >= 0")
    return args


def shape_list(args: argparse.Namespace) -> list[Shape]:
    """The shapes to measure: squares, Transformer layers × token counts, then explicit --shape ones."""
    shapes: list[Shape] = []
    if not args.only_shapes:
        squares = (
            args.squares if args.squares is not None else QUICK_SQUARES if args.quick else DEFAULT_SQUARES
        )
        layers = args.layers if args.layers is not None else QUICK_LAYERS if args.quick else DEFAULT_LAYERS
        tokens = args.tokens if args.tokens is not None else QUICK_TOKENS if args.quick else DEFAULT_TOKENS
        shapes += [Shape(f"square{s}", s, s, s) for s in squares]
        for d, ffn in layers:
            for t in tokens:
                shapes += [
                    Shape(f"d{d}.attn_proj.T{t}", d, t, d),  # q, k, v or o projection: d → d
                    Shape(f"d{d}.ffn_up.T{t}", ffn, t, d),  # d → ffn
                    Shape(f"d{d}.ffn_down.T{t}", d, t, ffn),  # ffn → d
                ]
    if args.energy_shapes:
        shapes += [Shape(f"stream{m}x{k}.T{t}", m, t, k) for m, k in ENERGY_WEIGHTS for t in ENERGY_TOKENS]
    shapes += [Shape(f"shape{m}x{n}x{k}", m, n, k) for m, n, k in args.shape]
    seen: set[tuple[int, int, int]] = set()
    unique = []
    for s in shapes:
        if (s.M, s.N, s.K) not in seen:
            seen.add((s.M, s.N, s.K))
            unique.append(s)
    return unique


def shape_problem(shape: Shape) -> str | None:
    """Why cuSPARSELt cannot take this shape as is (None when it can)."""
    for dim, mult in SHAPE_MULTIPLE.items():
        if getattr(shape, dim) % mult:
            return f"{dim}={getattr(shape, dim)} is not a multiple of {mult} (cuSPARSELt tile)"
    return None


# ------------------------------------------------------------------------------------ document, output


def build_document(
    rows: list[dict[str, Any]], meta: dict[str, Any], skipped: list[dict[str, Any]]
) -> dict[str, Any]:
    """The measurement file's content (format ``nmsim-measurements/1``)."""
    return {
        "format": FORMAT,
        "what": "Measured dense vs 2:4 sparse GEMM latency (benchmarks/gpu/measure_nm.py), for nmsim calibrate.",
        "convention": CONVENTION,
        "timing": TIMING,
        "meta": meta,
        "skipped": skipped,
        "rows": rows,
    }


def write_output(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``doc`` as JSON atomically (temporary file in the same folder, fsync, rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def make_row(
    shape: Shape,
    spec: DtypeSpec,
    dense: dict[str, Any],
    sparse: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One output row from the dense and sparse timings (ms, spreads) and the checks."""
    d_ms, s_ms = dense["ms"], sparse["ms"]
    row: dict[str, Any] = {
        "label": shape.label,
        "M": shape.M,
        "N": shape.N,
        "K": shape.K,
        "dtype": spec.torch_name,
        "pattern": "2:4",
        "dense_ms": _sig(d_ms),
        "sparse_ms": _sig(s_ms),
        "speedup": _sig(d_ms / s_ms, 5),
        "dense_tflops": _sig(shape.flops / (d_ms * 1e-3) / 1e12, 5),
        "sparse_tflops_dense_equiv": _sig(shape.flops / (s_ms * 1e-3) / 1e12, 5),
        "dense_spread_ms": [_sig(v) for v in dense["spread"]],
        "sparse_spread_ms": [_sig(v) for v in sparse["spread"]],
    }
    if dense.get("sustained_ms") and sparse.get("sustained_ms"):
        row["sustained_dense_ms"] = _sig(dense["sustained_ms"])
        row["sustained_sparse_ms"] = _sig(sparse["sustained_ms"])
        row["sustained_speedup"] = _sig(dense["sustained_ms"] / sparse["sustained_ms"], 5)
    for kind, timing in (("dense", dense), ("sparse", sparse)):
        if timing.get("runs_ms"):
            row[f"{kind}_runs_ms"] = [_sig(v) for v in timing["runs_ms"]]
        if timing.get("sm_mhz"):
            row[f"{kind}_sm_mhz"] = _sig(timing["sm_mhz"], 5)
        if timing.get("energy_j"):
            row[f"{kind}_energy_j"] = _sig(timing["energy_j"], 5)
            row[f"{kind}_energy_ms"] = _sig(timing["energy_ms"])
    if dense.get("energy_gemms"):
        row["energy_repeats"] = int(
            min(dense["energy_gemms"], sparse.get("energy_gemms", dense["energy_gemms"]))
        )
    row.update(extra)
    return row


def energy_per_gemm(start_mj: float, end_mj: float, gemms: int) -> float:
    """Board energy per GEMM (J) from two readings of NVML's total-energy counter (mJ) around ``gemms`` GEMMs.

    The counter includes the idle power: subtracting it is the fit's job (its static power term).
    """
    if gemms < 1 or end_mj < start_mj:
        raise ValueError(
            f"need gemms >= 1 and a non-decreasing counter (got {gemms}, {start_mj} -> {end_mj})"
        )
    return (end_mj - start_mj) * 1e-3 / gemms


def idle_power_w(start_mj: float, end_mj: float, seconds: float) -> float:
    """Mean board power (W) between two energy-counter readings (mJ) ``seconds`` apart."""
    if seconds <= 0 or end_mj < start_mj:
        raise ValueError(
            f"need seconds > 0 and a non-decreasing counter (got {seconds}, {start_mj} -> {end_mj})"
        )
    return (end_mj - start_mj) * 1e-3 / seconds


class NvmlMeter:
    """NVML's total-energy counter (mJ) and SM clock (MHz) of GPU 0; ``available`` False without pynvml."""

    def __init__(self) -> None:
        self.available, self.why = False, ""
        try:
            import pynvml  # nvidia-ml-py

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            self.available = True
        except Exception as exc:
            self.why = f"NVML energy counter unavailable ({type(exc).__name__}: {str(exc)[:120]})"

    def energy_mj(self) -> float:
        return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def sm_mhz(self) -> float:
        return float(self._nvml.nvmlDeviceGetClockInfo(self._handle, self._nvml.NVML_CLOCK_SM))


class WallClockMeter:
    """Stand-in for the CPU self-test: a fixed 100 W 'board' (numbers meaningless)."""

    available, why = True, ""

    def energy_mj(self) -> float:
        return time.perf_counter() * 100.0 * 1e3

    def sm_mhz(self) -> float:
        return 1.0


def _sig(x: float, digits: int = 6) -> float:
    """``x`` rounded to ``digits`` significant figures (tiny latencies keep their digits)."""
    return float(f"{x:.{digits}g}")


# ------------------------------------------------------------------------------------ tensors (torch)


def prune_nm(w: Any, n: int = 2, m: int = 4) -> Any:
    """Keep the ``n`` largest-magnitude values of every ``m`` consecutive elements along the last dim.

    ``w``: a 2-D floating-point torch tensor ``[rows, K]`` (K a multiple of ``m``); returns a new tensor
    of the same dtype with exactly ``m − n`` zeros per group (ties broken by position).
    """
    if w.dim() != 2 or w.shape[1] % m:
        raise ValueError(f"prune_nm needs a [rows, K] tensor with K a multiple of {m}, got {tuple(w.shape)}")
    rows, k = w.shape
    groups = w.reshape(rows, k // m, m)
    import torch

    keep_idx = groups.abs().float().topk(n, dim=-1).indices
    keep = torch.zeros(groups.shape, dtype=torch.bool, device=w.device).scatter_(-1, keep_idx, True)
    return groups.masked_fill(~keep, 0).reshape(rows, k)


def relative_error(out: Any, ref: Any) -> float:
    """‖out − ref‖_F / ‖ref‖_F in float64 (0 when both are zero)."""
    diff = (out.double() - ref.double()).norm().item()
    norm = ref.double().norm().item()
    return diff / norm if norm else diff


def make_operands(shape: Shape, spec: DtypeSpec, device: str, gen: Any) -> tuple[Any, Any]:
    """Pruned ``W`` (M×K) and ``X`` (N×K) in ``spec``'s dtype, values exactly representable."""
    import torch

    dtype = getattr(torch, spec.torch_name)
    if spec.key == "int8":
        w = torch.randint(-8, 9, (shape.M, shape.K), generator=gen, device=device).float()
        x = torch.randint(-8, 9, (shape.N, shape.K), generator=gen, device=device).float()
    else:
        w = torch.randn(shape.M, shape.K, generator=gen, device=device)
        x = torch.randn(shape.N, shape.K, generator=gen, device=device)
    return prune_nm(w).to(dtype).contiguous(), x.to(dtype).contiguous()


def nbytes(t: Any) -> int:
    return t.numel() * t.element_size()


def operand_sets(shape: Shape, spec: DtypeSpec, rotate_bytes: float, max_sets: int, free_bytes: float) -> int:
    """How many (W, X) sets to rotate through: total ≥ ``rotate_bytes``, within half the free memory."""
    import torch

    esize = torch.empty(0, dtype=getattr(torch, spec.torch_name)).element_size()
    osize = torch.empty(0, dtype=getattr(torch, spec.out_name)).element_size()
    w, x, out = shape.M * shape.K * esize, shape.N * shape.K * esize, shape.M * shape.N * osize
    per_set = w + x + 0.6 * w + 2 * out  # dense W, X, compressed W (values + metadata), two outputs
    sets = max(1, math.ceil(rotate_bytes / (w + x + out)))
    sets = min(sets, max_sets, max(1, int(0.5 * free_bytes // per_set)))
    if per_set > 0.8 * free_bytes:
        raise MemoryError(
            f"one operand set needs {per_set / 2**30:.1f} GiB, {free_bytes / 2**30:.1f} GiB free"
        )
    return sets


# ------------------------------------------------------------------------------------ back ends


class CudaOps:
    """cuBLAS dense and cuSPARSELt sparse products, timed with CUDA events."""

    device = "cuda"

    def __init__(self, args: argparse.Namespace) -> None:
        import torch
        from torch.sparse import SparseSemiStructuredTensor

        SparseSemiStructuredTensor._FORCE_CUTLASS = False
        self.torch = torch
        self.args = args
        self._one = torch.ones((), device="cuda", dtype=torch.float32)

    def free_bytes(self) -> float:
        return float(self.torch.cuda.mem_get_info()[0])

    def dense(self, spec: DtypeSpec, w: Any, b: Any) -> Any:
        torch = self.torch
        if spec.key == "int8":
            return torch._int_mm(w, b)
        if spec.key == "fp8":
            return torch._scaled_mm(w, b, scale_a=self._one, scale_b=self._one, out_dtype=torch.bfloat16)
        return torch.mm(w, b)

    def compress(self, w: Any) -> Any:
        from torch.sparse import to_sparse_semi_structured

        sparse = to_sparse_semi_structured(w)
        packed = getattr(sparse, "packed", None)
        return packed if packed is not None else self.torch._cslt_compress(w)

    @staticmethod
    def _out(spec: DtypeSpec, out_dtype: Any) -> Any:
        # torch accepts out_dtype only for 8-bit inputs; 16-bit inputs give their own dtype
        return out_dtype if spec.key in ("int8", "fp8") else None

    def search(self, spec: DtypeSpec, packed: Any, b: Any, out_dtype: Any) -> int | None:
        if self.args.no_search:
            return None
        found = self.torch._cslt_sparse_mm_search(packed, b, out_dtype=self._out(spec, out_dtype))
        return int(found[0] if isinstance(found, tuple | list) else found)

    def sparse(self, spec: DtypeSpec, packed: Any, b: Any, out_dtype: Any, alg: int | None) -> Any:
        return self.torch._cslt_sparse_mm(packed, b, out_dtype=self._out(spec, out_dtype), alg_id=alg or 0)

    def time(self, fns: list[Callable[[], Any]], sustained_s: float) -> dict[str, Any]:
        """Median / p10 / p90 ms per GEMM over ``repeats`` replays (graph) or launch rounds."""
        torch = self.torch
        args = self.args

        def plain() -> None:
            for f in fns:
                f()

        run, method, graph = plain, "launches", None
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            plain()  # library handles and workspaces are created outside the capture
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        if not args.no_graph:
            try:
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    plain()
                run, method = graph.replay, "graph"
            except RuntimeError:
                torch.cuda.synchronize()
                graph = None
        out: dict[str, Any] = {"method": method}
        if args.cooldown_s > 0:
            time.sleep(args.cooldown_s)
        out["ms"], out["spread"] = self._timed(run, len(fns), args.warmup, args.warmup_s)
        if args.runs > 1:
            out["runs_ms"] = [out["ms"]] + [
                self._timed(run, len(fns), 0, 0.0)[0] for _ in range(args.runs - 1)
            ]
        meter = getattr(self, "meter", None)
        if meter is not None and meter.available:
            out["sm_mhz"] = meter.sm_mhz()
        if sustained_s > 0:
            out["sustained_ms"], _ = self._timed(run, len(fns), 0, sustained_s)
        if args.energy_s > 0 and meter is not None and meter.available:
            out.update(self._energy(run, len(fns), args.energy_s, meter))
        del graph
        return out

    def _energy(self, run: Callable[[], Any], per_run: int, seconds: float, meter: Any) -> dict[str, float]:
        """Energy per GEMM (J) over at least ``seconds`` of back-to-back replays, and their latency."""
        torch = self.torch
        run()
        self._sync()
        replays, t0, e0 = 0, time.perf_counter(), meter.energy_mj()
        while time.perf_counter() - t0 < seconds:
            for _ in range(8):
                run()
            replays += 8
            self._sync()
        wall, e1 = time.perf_counter() - t0, meter.energy_mj()
        del torch
        gemms = replays * per_run
        return {
            "energy_j": energy_per_gemm(e0, e1, gemms),
            "energy_ms": wall * 1e3 / gemms,
            "energy_gemms": gemms,
        }

    def _sync(self) -> None:
        self.torch.cuda.synchronize()

    def _timed(
        self, run: Callable[[], Any], per_run: int, warmup: int, warmup_s: float
    ) -> tuple[float, list[float]]:
        torch = self.torch
        for _ in range(warmup):
            run()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < warmup_s:
            for _ in range(8):
                run()
            torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(self.args.repeats)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(self.args.repeats)]
        for s, e in zip(starts, ends, strict=True):
            s.record()
            run()
            e.record()
        torch.cuda.synchronize()
        ms = sorted(s.elapsed_time(e) / per_run for s, e in zip(starts, ends, strict=True))
        return statistics.median(ms), [_quantile(ms, 0.1), _quantile(ms, 0.9)]


class EmulatedOps(CudaOps):
    """CPU stand-in for the pipeline self-test: float products, wall-clock timing (numbers meaningless)."""

    device = "cpu"

    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        self.torch = torch
        self.args = args

    def free_bytes(self) -> float:
        return 4.0 * 2**30

    def _sync(self) -> None:
        pass

    def dense(self, spec: DtypeSpec, w: Any, b: Any) -> Any:
        return (w.float() @ b.float()).to(getattr(self.torch, spec.out_name))

    def compress(self, w: Any) -> Any:
        return w.clone()

    def search(self, spec: DtypeSpec, packed: Any, b: Any, out_dtype: Any) -> int | None:
        return None

    def sparse(self, spec: DtypeSpec, packed: Any, b: Any, out_dtype: Any, alg: int | None) -> Any:
        return (packed.float() @ b.float()).to(out_dtype)

    def time(self, fns: list[Callable[[], Any]], sustained_s: float) -> dict[str, Any]:
        ms = []
        for _ in range(self.args.repeats):
            t0 = time.perf_counter()
            for f in fns:
                f()
            ms.append((time.perf_counter() - t0) * 1e3 / len(fns))
        ms.sort()
        out = {
            "method": "launches",
            "ms": statistics.median(ms),
            "spread": [_quantile(ms, 0.1), _quantile(ms, 0.9)],
        }
        if self.args.runs > 1:
            out["runs_ms"] = [out["ms"]] * self.args.runs  # the stand-in repeats its one median
        if sustained_s > 0:
            out["sustained_ms"] = out["ms"]
        if self.args.energy_s > 0:
            out.update(self._energy(lambda: [f() for f in fns], len(fns), self.args.energy_s, self.meter))
        return out


def _quantile(sorted_values: list[float], q: float) -> float:
    idx = q * (len(sorted_values) - 1)
    lo, hi = math.floor(idx), math.ceil(idx)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (idx - lo)


# ------------------------------------------------------------------------------------ one measurement


def measure_one(ops: CudaOps, shape: Shape, spec: DtypeSpec, b_row_major: bool, seed: int) -> dict[str, Any]:
    """Time dense and 2:4 sparse ``W @ X^T`` for one shape and dtype; check both; return the row."""
    torch = ops.torch
    args = ops.args
    gen = torch.Generator(device=ops.device).manual_seed(seed)
    sets = operand_sets(shape, spec, args.rotate_mb * 2**20, args.max_sets, ops.free_bytes())
    ws, bs, packed = [], [], []
    for _ in range(sets):
        w, x = make_operands(shape, spec, ops.device, gen)
        b = x.t().contiguous() if b_row_major else x.t()  # K×N, row- or column-major
        ws.append(w)
        bs.append(b)
        packed.append(ops.compress(w))
    out_dtype = getattr(torch, spec.out_name)
    notes = []
    try:
        alg = ops.search(spec, packed[0], bs[0], out_dtype)
    except RuntimeError as exc:
        alg, notes = None, [f"algorithm search failed ({_first_line(exc)}): default algorithm"]
    try:
        sparse0 = ops.sparse(spec, packed[0], bs[0], out_dtype, alg)
    except RuntimeError:
        if spec.key != "int8":
            raise
        out_dtype = torch.bfloat16  # older cuSPARSELt: no int32 output for int8
        notes.append("int8 sparse output as bfloat16 (int32 output unsupported)")
        alg = ops.search(spec, packed[0], bs[0], out_dtype) if alg is not None else None
        sparse0 = ops.sparse(spec, packed[0], bs[0], out_dtype, alg)

    # correctness: both products against a high-precision product of the pruned W, first tokens
    t = min(args.check_tokens, shape.N)
    ref_dtype = torch.float64 if spec.key == "int8" else torch.float32
    ref = ws[0].to(ref_dtype) @ bs[0][:, :t].to(ref_dtype)
    dense0 = ops.dense(spec, ws[0], bs[0])
    dense_err = relative_error(dense0[:, :t], ref)
    sparse_err = relative_error(sparse0[:, :t], ref)
    tol = max(spec.tol, OUT_TOL.get(str(out_dtype).removeprefix("torch."), spec.tol))
    del ref, dense0, sparse0

    dense = ops.time(
        [lambda w=w, b=b: ops.dense(spec, w, b) for w, b in zip(ws, bs, strict=True)], args.sustained_s
    )
    sparse = ops.time(
        [lambda p=p, b=b: ops.sparse(spec, p, b, out_dtype, alg) for p, b in zip(packed, bs, strict=True)],
        args.sustained_s,
    )
    extra: dict[str, Any] = {
        "repeats": args.repeats,
        "timing_method": dense["method"] if dense["method"] == sparse["method"] else "launches",
        "dense_kernel": spec.dense_api,
        "sparse_kernel": f"cuSPARSELt alg {alg if alg is not None else 0} ({'searched' if alg is not None else 'default'})",
        "dense_rel_err": float(f"{dense_err:.3g}"),
        "sparse_rel_err": float(f"{sparse_err:.3g}"),
    }
    ok = dense_err <= tol and sparse_err <= tol
    if not ok:
        notes.append(f"CORRECTNESS CHECK FAILED: tolerance {tol:g}")
    notes.append(f"{sets} operand set(s) rotated")
    extra["notes"] = "; ".join(notes)
    row = make_row(shape, spec, dense, sparse, extra)
    row["_ok"] = ok
    return row


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# ------------------------------------------------------------------------------------ environment


def check_environment() -> str | None:
    """One line saying why no measurement can run here, or None when a usable GPU is present."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (install a CUDA build of torch to measure)"
    if not torch.cuda.is_available():
        built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
        return f"no CUDA GPU is visible to PyTorch {torch.__version__} (built with {built}); nothing measured"
    cap = torch.cuda.get_device_capability()
    if cap < (8, 0):
        name = torch.cuda.get_device_name()
        return f"2:4 sparse tensor cores need compute capability >= 8.0; {name} is {cap[0]}.{cap[1]}"
    cusparselt = getattr(torch.backends, "cusparselt", None)
    if cusparselt is None or not cusparselt.is_available():
        return f"PyTorch {torch.__version__} was built without cuSPARSELt; nothing measured"
    return None


def gpu_meta(ops: CudaOps) -> dict[str, Any]:
    """Machine, library versions and the back ends used."""
    torch = ops.torch
    meta: dict[str, Any] = {
        "torch": torch.__version__,
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "script": "benchmarks/gpu/measure_nm.py",
        "argv": sys.argv[1:],
    }
    if ops.device == "cpu":
        meta["gpu"] = "none (emulated on CPU: timings are meaningless)"
        return meta
    props = torch.cuda.get_device_properties(0)
    meta.update(
        {
            "gpu": props.name,
            "capability": list(torch.cuda.get_device_capability()),
            "sm_count": props.multi_processor_count,
            "l2_MB": round(getattr(props, "L2_cache_size", 0) / 1e6, 1) or None,
            "mem_GiB": round(props.total_memory / 2**30, 1),
            "cuda": torch.version.cuda,
            "cusparselt_version": torch.backends.cusparselt.version(),
            "backend": (
                "sparse: cuSPARSELt through torch (to_sparse_semi_structured with "
                "SparseSemiStructuredTensor._FORCE_CUTLASS=False; torch._cslt_sparse_mm with alg_id from "
                "torch._cslt_sparse_mm_search). dense: cuBLAS via torch.mm (fp16/bf16), torch._int_mm (int8, "
                "int32 out), torch._scaled_mm (fp8 e4m3, scale 1, bf16 out)."
            ),
        }
    )
    try:
        smi = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=power.limit,clocks.max.sm,driver_version",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()[0]
        power, clock, driver = (v.strip() for v in smi.split(","))
        meta.update({"power_limit_W": float(power), "max_sm_MHz": float(clock), "driver": driver})
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        pass
    return meta


# ------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shapes = shape_list(args)
    if args.list:
        for s in shapes:
            print(f"{s.label:28s} M={s.M:6d} N={s.N:6d} K={s.K:6d}")
        return 0
    if args.emulate_cpu:
        try:
            ops: CudaOps = EmulatedOps(args)
        except ImportError:
            print("measure_nm: PyTorch is not installed", file=sys.stderr)
            return 2
    else:
        reason = check_environment()
        if reason is not None:
            print(f"measure_nm: {reason}", file=sys.stderr)
            return 2
        ops = CudaOps(args)
    torch = ops.torch
    meta = gpu_meta(ops)
    ops.meter = WallClockMeter() if args.emulate_cpu else NvmlMeter()  # type: ignore[attr-defined]
    meta["clock_state"] = "burst" if args.cooldown_s > 0 else "sustained"
    if args.energy_s > 0:
        if not ops.meter.available:  # type: ignore[attr-defined]
            print(f"measure_nm: --energy-s: {ops.meter.why}; energy not measured", file=sys.stderr)  # type: ignore[attr-defined]
        else:
            if ops.device == "cuda":
                torch.cuda.synchronize()
            e0, t0 = ops.meter.energy_mj(), time.perf_counter()  # type: ignore[attr-defined]
            time.sleep(args.idle_s)
            meta["idle_power_w"] = round(
                idle_power_w(e0, ops.meter.energy_mj(), time.perf_counter() - t0),
                2,  # type: ignore[attr-defined]
            )
            meta["energy"] = (
                f"NVML total-energy counter around >= {args.energy_s:g} s of back-to-back CUDA-graph replays per op "
                f"(board energy, idle power included); idle power over {args.idle_s:g} s before the first shape"
            )
    cap = tuple(meta.get("capability", (9, 0)))
    layouts = {"col": (False,), "row": (True,), "both": (False, True)}[args.b_layout]
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    failed: list[str] = []
    t_start = time.perf_counter()
    print(f"measure_nm: {len(shapes)} shapes × {len(args.dtypes)} dtypes on {meta['gpu']}", flush=True)
    for i, shape in enumerate(shapes):
        for key in args.dtypes:
            spec = DTYPES[key]
            for b_row in layouts:
                label = shape.label + (".Brow" if b_row else "")
                where = {"label": label, "M": shape.M, "N": shape.N, "K": shape.K, "dtype": spec.torch_name}
                problem = shape_problem(shape)
                if problem is None and cap < spec.min_capability:
                    problem = f"{spec.key} needs compute capability {spec.min_capability}, device is {cap}"
                if (
                    problem is None
                    and args.budget_s is not None
                    and time.perf_counter() - t_start > args.budget_s
                ):
                    problem = f"time budget of {args.budget_s:g} s spent"
                if problem is not None:
                    skipped.append({**where, "reason": problem})
                    continue
                try:
                    row = measure_one(
                        ops, Shape(label, shape.M, shape.N, shape.K), spec, b_row, args.seed + i
                    )
                except (RuntimeError, MemoryError, NotImplementedError, TypeError) as exc:
                    skipped.append({**where, "reason": f"{type(exc).__name__}: {_first_line(exc)}"})
                    print(f"  skip {label} {spec.key}: {_first_line(exc)}", flush=True)
                else:
                    if not row.pop("_ok"):
                        failed.append(f"{label} {spec.key}")
                    rows.append(row)
                    print(
                        f"  {label:28s} {spec.key:5s} dense {row['dense_ms']:9.4f} ms  sparse "
                        f"{row['sparse_ms']:9.4f} ms  speedup {row['speedup']:.3f}",
                        flush=True,
                    )
                finally:
                    if ops.device == "cuda":
                        torch.cuda.empty_cache()
                if rows:
                    write_output(build_document(rows, meta, skipped), args.out)
    if not rows:
        print(f"measure_nm: nothing measured ({len(skipped)} skipped); no file written", file=sys.stderr)
        return 1
    write_output(build_document(rows, meta, skipped), args.out)
    print(f"measure_nm: wrote {len(rows)} rows to {args.out} ({len(skipped)} skipped)", flush=True)
    if failed:
        print(f"measure_nm: correctness check failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
