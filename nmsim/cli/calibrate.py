"""``nmsim calibrate``: fit a hardware config's parameters to measured GEMM latencies."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer
import yaml
from rich.table import Table

from nmsim.calibration.fit import Sample, fit, predict, speedup_stats, speedups
from nmsim.calibration.measurements import load_measurements
from nmsim.cli import fail
from nmsim.cli.common import console
from nmsim.errors import NmsimInputError
from nmsim.io.atomic import check_output_path, write_text_atomic
from nmsim.io.loaders import hardware_from_document, read_document, resolve_hardware_path


def _load_samples(paths: list[Path], sustained: bool) -> list[Sample]:
    """Every file's samples; with several files each label is prefixed by its file's stem."""
    out: list[Sample] = []
    for path in paths:
        for s in load_measurements(path).samples(sustained=sustained):
            out.append(replace(s, label=f"{path.stem}:{s.label}") if len(paths) > 1 else s)
    return out


def calibrate(
    measurements: list[Path] = typer.Option(
        ..., "--measurements", help="measurement file (docs/calibration.md); repeat to fit several"
    ),
    hw: str = typer.Option(..., "--hw", help="base hardware config: shipped name or YAML path"),
    fit_params: str = typer.Option(
        ..., "--fit", help="comma-separated dotted parameters, e.g. array.clock_ghz,sparse.efficiency.fp16"
    ),
    out: Path = typer.Option(..., "--out", help="the calibrated config to write (YAML, atomic)"),
    holdout: str | None = typer.Option(
        None, "--holdout", help="regex on row labels: kept out of the fit, checked"
    ),
    sustained: bool = typer.Option(
        False, "--sustained", help="fit the sustained_* latencies (power-limited)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the residuals as JSON"),
) -> None:
    """Least-squares fit of PARAMs to measured latencies; prints the residual table; writes NEW.yaml."""
    check_output_path(out)
    try:
        pattern = re.compile(holdout) if holdout else None
    except re.error as exc:
        raise NmsimInputError("--holdout", f"a regular expression ({exc})", holdout) from None
    params = [p.strip() for p in fit_params.split(",") if p.strip()]
    if not params:
        fail("--fit: at least one dotted parameter, e.g. array.clock_ghz")
    samples = _load_samples(measurements, sustained)
    if not samples:
        fail("measurements: no latencies to fit (sustained_* missing?)")
    fitted = [s for s in samples if not (pattern and pattern.search(s.label))]
    checked = [s for s in samples if pattern and pattern.search(s.label)]
    if not fitted:
        fail(f"holdout: '{holdout}' leaves no samples to fit")
    base_path = resolve_hardware_path(hw)
    doc = read_document(base_path)
    names = " + ".join(p.name for p in measurements)
    note = f"fitted by nmsim calibrate to {names} ({len(fitted)} latencies)"
    result = fit(doc, fitted, params, note=note)
    hw_before = hardware_from_document(doc, str(base_path))
    hw_after = hardware_from_document(result.document, "calibrated config")
    everything = fitted + checked
    before = predict(hw_before, everything)
    after = predict(hw_after, everything)
    measured = np.array([s.seconds for s in everything])
    err = after / measured - 1
    rms = float(np.sqrt(np.mean(np.log(after[: len(fitted)] / measured[: len(fitted)]) ** 2)))
    header = f"# calibrated by `nmsim calibrate` from {base_path.name} to {names}; rms log error {rms:.4f}\n"
    write_text_atomic(
        out, header + yaml.safe_dump(result.document, sort_keys=False, width=120, allow_unicode=True)
    )
    sp_meas, sp_pred = speedups(everything, measured), speedups(everything, after)
    checked_keys = {s.label.rsplit(" ", 1)[0] for s in checked}
    rows = [
        {
            "label": s.label,
            "role": "fit" if i < len(fitted) else "check",
            "measured_ms": float(measured[i] * 1e3),
            "before_ms": float(before[i] * 1e3),
            "after_ms": float(after[i] * 1e3),
            "error": float(err[i]),
        }
        for i, s in enumerate(everything)
    ]
    summary = {
        "params": result.params,
        "initial": result.initial,
        "rms_log_error_fit": rms,
        "median_abs_error_check": float(np.median(np.abs(err[len(fitted) :]))) if checked else None,
        "speedups": {k: {"measured": sp_meas[k], "predicted": sp_pred.get(k)} for k in sp_meas},
        "speedup_fit": speedup_stats(sp_meas, sp_pred, [k for k in sp_meas if k not in checked_keys]),
        "speedup_check": speedup_stats(sp_meas, sp_pred, [k for k in sp_meas if k in checked_keys]),
        "rows": rows,
        "out": str(out),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=1))
        return
    c = console()
    pt = Table(title=f"fitted parameters ({result.iterations} iterations)", title_justify="left")
    for col in ("parameter", "start", "fitted"):
        pt.add_column(col)
    for p in params:
        pt.add_row(p, f"{result.initial[p]:.4g}", f"{result.params[p]:.4g}")
    c.print(pt)
    rt = Table(title="residuals: predicted vs measured latency", title_justify="left")
    for col, just in (
        ("sample", "left"),
        ("role", "left"),
        ("measured ms", "right"),
        ("before ms", "right"),
        ("after ms", "right"),
        ("error", "right"),
    ):
        rt.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        rt.add_row(
            r["label"],
            r["role"],
            f"{r['measured_ms']:.4g}",
            f"{r['before_ms']:.4g}",
            f"{r['after_ms']:.4g}",
            f"{r['error']:+.1%}",
        )
    c.print(rt)
    st = Table(title="2:4 speedup (dense / sparse)", title_justify="left")
    for col in ("GEMM", "measured", "predicted", "error"):
        st.add_column(col)
    for key, value in sp_meas.items():
        pred = sp_pred.get(key)
        st.add_row(
            key, f"{value:.3f}", f"{pred:.3f}" if pred else "", f"{pred / value - 1:+.1%}" if pred else ""
        )
    c.print(st)
    for role in ("fit", "check"):
        stats = summary[f"speedup_{role}"]
        if stats["count"]:
            c.print(
                f"speedup, {role} rows: median |error| {stats['median_abs_error']:.1%}, max "
                f"{stats['max_abs_error']:.1%}, faster/slower right on {stats['verdict_right']}/{stats['count']}"
            )
    c.print(f"rms log error (fitted rows): {rms:.4f}; wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
