"""``nmsim gemm``: simulate one GEMM."""

from __future__ import annotations

import json

import typer

from nmsim.cli.clock_options import CLOCK_STATE_OPTION, LIBRARY_OPTION, clocked
from nmsim.cli.common import HW_OPTION, console, fmt_energy, fmt_si, fmt_time, kv_table, resolve_hw
from nmsim.schemas.hardware import HardwareConfig
from nmsim.sim.gemm import GemmResult, simulate_gemm
from nmsim.sim.software_mode import SOFTWARE

SPARSE_KERNEL_OPTION = typer.Option(
    None,
    "--sparse-kernel",
    help="tensor-core (default) | software: N:M weights through the config's software sparse kernel "
    "(CSR SpMM on the CUDA cores, gpu.software_sparse)",
)


def gemm(
    m: int = typer.Option(..., "--m", help="activation rows (tokens)"),
    n: int = typer.Option(..., "--n", help="weight columns (output features)"),
    k: int = typer.Option(..., "--k", help="reduction dim (input features)"),
    hw: str | None = HW_OPTION,
    rows: int | None = typer.Option(None, "--rows", help="override the array's rows"),
    cols: int | None = typer.Option(None, "--cols", help="override the array's columns"),
    dataflow: str | None = typer.Option(None, "--dataflow", help="override: os | ws | is"),
    sparsity: str | None = typer.Option(None, "--sparsity", help="weights' n:m along K"),
    dtype: str | None = typer.Option(None, "--dtype", help="int8 | fp8 | fp16 | bf16 | fp32"),
    compat: str | None = typer.Option(None, "--compat", help="'scalesim': SCALE-Sim v3 timing"),
    objective: str | None = typer.Option(
        None, "--objective", help="mapper objective: latency | energy | edp (default: the config's)"
    ),
    fallback: str | None = typer.Option(None, "--fallback", help="auto | never (default: the config's)"),
    sparse_kernel: str | None = SPARSE_KERNEL_OPTION,
    explain: bool = typer.Option(
        False, "--explain", help="show the mapping: tiles, loop order, bytes per level"
    ),
    clock_state: str | None = CLOCK_STATE_OPTION,
    library: bool = LIBRARY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Simulate activations M×K times weights K×N on one hardware config."""
    base = resolve_hw(hw, rows=rows, cols=cols, dataflow=dataflow)
    config, state, state_text = clocked(base, clock_state, library)
    r = simulate_gemm(
        m, n, k, config, sparsity=sparsity, compat=compat, dtype=dtype, objective=objective, fallback=fallback,  # type: ignore[arg-type]
        sparse_kernel=sparse_kernel,
    )  # fmt: skip
    if as_json:
        d = r.to_dict()
        d["hardware"] = base.name
        d["clock_state"] = state
        d["library"] = library
        d["compat"] = compat
        typer.echo(json.dumps(d, indent=1))
        return
    rows_out = [
        ("hardware", f"{base.name} ({config.array.rows}x{config.array.cols} {config.array.dataflow})"),
        ("clock state", state_text),
        ("GEMM (M×K · K×N)", f"{m}×{k} · {k}×{n} {r.dtype}, weights {r.pattern}"),
        ("hardware mode", f"{r.hw_mode} (K' = {r.k_compacted})"),
        ("cycles", f"{r.cycles:,} ({r.compute_cycles:,} compute + {r.stall_cycles:,} stall)"),
        ("latency", fmt_time(r.latency_s)),
        ("PE utilization", f"{r.pe_utilization:.1%}"),
        ("mapping efficiency", f"{r.mapping_efficiency:.1%}"),
        ("useful / issued MACs", f"{r.issued_mac_utilization:.1%}"),
        ("effective throughput", f"{fmt_si(r.effective_macs_per_cycle)} dense-equivalent MACs/cycle"),
        ("DRAM traffic", fmt_si(r.dram_bytes, "B")),
        ("energy", fmt_energy(r.energy_pj)),
    ]
    rows_out += [(f"  {k}", fmt_energy(v)) for k, v in r.energy_breakdown_pj.items() if v > 0]
    console().print(kv_table("nmsim gemm", rows_out))
    if explain:
        rows_x = (
            software_rows(r)
            if r.hw_mode.startswith(SOFTWARE + ":")
            else explain_rows(r, config, objective or config.mapper.objective)
        )
        console().print(kv_table("mapping", rows_x))


def software_rows(r: GemmResult) -> list[tuple[str, str]]:
    """--explain for a GEMM in the software sparse-kernel mode: the kernel and its time parts."""
    mp = r.mapping
    rows = [
        ("mode", f"{r.hw_mode}: {mp['kernel']}, not the tensor cores"),
        (
            "kernel",
            f"{fmt_time(mp['overhead_s'])} launch + max(compute {fmt_time(mp['compute_s'])}, DRAM {fmt_time(mp['memory_s'])})",
        ),
        ("CUDA-core utilization", f"{r.pe_utilization:.1%} of the dtype's peak"),
    ]
    for level, b in mp["bytes_per_level"].items():
        rows.append(
            (f"  {level}", f"read {fmt_si(b['read_bytes'], 'B')}, write {fmt_si(b['write_bytes'], 'B')}")
        )
    rows.append(("bound", r.bound))
    return rows


DENSE_SCHEDULE = "the dense layer's (n/m of each fold's rows hold weights)"


def explain_rows(r: GemmResult, hw: HardwareConfig, objective: str) -> list[tuple[str, str]]:
    """The mapper's choice and why the GEMM is bound where it is, as (label, text) rows."""
    mp = r.mapping
    rows = [
        ("objective", objective),
        ("mode", f"{r.hw_mode}" + (" (fell back: the sparse mode was worse)" if r.fell_back else "")),
        ("schedule", DENSE_SCHEDULE if mp["dense_schedule"] else "compacted K′ on all rows"),
        ("loop order", mp["loop_order"]),
        ("DRAM-level tile", f"M {mp['tile_m']} × N {mp['tile_n']}, K chunk {mp['tile_k']} rows"),
    ]
    inner = mp.get("inner_tile")
    if inner is not None:
        rows += [
            ("inner loop order", inner["loop_order"]),
            ("inner-level tile", f"M {inner['tile_m']} × N {inner['tile_n']} within each DRAM-level tile"),
            (
                "  outer → inner",
                f"activations {fmt_si(inner['fill_ifmap_bytes'], 'B')}, weights "
                f"{fmt_si(inner['fill_filter_bytes'], 'B')}; outputs inner → outer "
                f"{fmt_si(inner['drain_ofmap_bytes'], 'B')}",
            ),
        ]
    rows += [
        (
            "array tile",
            f"{hw.array.rows}×{hw.array.cols} ({hw.array.dataflow}), {r.folds:,} folds in {r.waves:,} waves",
        ),
        ("PE", f"{hw.pe.weights_per_pe} weight(s), {hw.pe.accumulator_bits}-bit accumulator"),
    ]
    for level, b in mp["bytes_per_level"].items():
        rows.append(
            (f"  {level}", f"read {fmt_si(b['read_bytes'], 'B')}, write {fmt_si(b['write_bytes'], 'B')}")
        )
    work, fixed, mem, port = mp["work_cycles"], mp["fixed_cycles"], mp["memory_cycles"], mp["port_cycles"]
    why = {
        "compute": f"fold work {work:,} cycles exceeds DRAM transfer {mem:,} and fixed latency {fixed:,}",
        "memory": f"DRAM transfer {mem:,} cycles exceeds fold work {work:,}",
        "latency": f"fixed latency (fill, launch, exposed first tile) {fixed:,} cycles exceeds fold work {work:,}",
        "port": f"on-chip ports / metadata path need {port:,} cycles, more than the folds' own work",
    }[r.bound]
    if mp.get("port_binding"):
        rows.append(("busiest port", f"{mp['port_binding']}: {port:,} cycles"))
    rows.append(("bound", f"{r.bound}: {why}"))
    return rows


def register(app: typer.Typer) -> None:
    app.command("gemm")(gemm)
