"""``nmsim calibrate``: fit a hardware config's parameters to measured GEMM latencies."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import typer
import yaml
from rich.console import Console
from rich.table import Table

from nmsim.calibration.energy_fit import (
    EnergySample,
    ExcludedReading,
    apply_energy_fit,
    ceiling_energy_samples,
    energy_samples,
    fit_energy,
    leave_one_out,
    parse_hold,
    scale_unfitted_macs,
)
from nmsim.calibration.fit import Sample, fit, predict, speedup_stats, speedups
from nmsim.calibration.measurements import load_measurements
from nmsim.cli import fail
from nmsim.cli.common import console
from nmsim.errors import NmsimInputError
from nmsim.io.atomic import check_output_path, write_text_atomic
from nmsim.io.loaders import hardware_from_document, read_document, resolve_hardware_path

STATE_CHOICES = {"burst": ("burst",), "sustained": ("sustained",), "both": ("burst", "sustained")}


def _pairs(items: list[str], option: str, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    """``KEY=VALUE`` options as a mapping (one-line error naming ``option`` otherwise)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            fail(f"{option}: expected KEY=VALUE (got '{item}')")
        if allowed is not None and value.strip() not in allowed:
            fail(f"{option}: {key.strip()}: one of {', '.join(allowed)} (got '{value.strip()}')")
        out[key.strip()] = value.strip()
    return out


def _load_samples(paths: list[Path], states: tuple[str, ...], measured_in: dict[str, str]) -> list[Sample]:
    """Every file's samples in ``states``; with several files each label is prefixed by its file's stem."""
    out: list[Sample] = []
    for path in paths:
        for s in load_measurements(path).samples_in(states, measured_in.get(path.stem)):
            out.append(replace(s, label=f"{path.stem}:{s.label}") if len(paths) > 1 else s)
    return out


def _console_unless_json(summary: dict, as_json: bool) -> Console | None:
    """Print ``summary`` as JSON and return None, or return the console for the tables."""
    if as_json:
        typer.echo(json.dumps(summary, indent=1))
        return None
    return console()


def _table(
    title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]], right_from: int | None = None
) -> Table:
    """A rich table; columns from ``right_from`` on are right-justified (numbers)."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="right" if right_from is not None and i >= right_from else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _state_stats(samples: list[Sample], measured: np.ndarray, predicted: np.ndarray) -> dict[str, dict]:
    """Per clock state: latency median/max |error| and 2:4 speedup median/max |error|."""
    out: dict[str, dict] = {}
    for state in ("burst", "sustained"):
        idx = [i for i, s in enumerate(samples) if s.clock_state == state]
        if not idx:
            continue
        sub = [samples[i] for i in idx]
        err = np.abs(predicted[idx] / measured[idx] - 1)
        sp_m, sp_p = speedups(sub, measured[idx]), speedups(sub, predicted[idx])
        out[state] = {
            "latencies": len(idx),
            "latency_median_abs_error": float(np.median(err)),
            "latency_max_abs_error": float(np.max(err)),
            "speedup": speedup_stats(sp_m, sp_p, list(sp_m)),
        }
    return out


def calibrate(
    measurements: list[Path] = typer.Option(
        ..., "--measurements", help="measurement file (docs/calibration.md); repeat to fit several"
    ),
    hw: str = typer.Option(..., "--hw", help="base hardware config: shipped name or YAML path"),
    fit_params: str | None = typer.Option(
        None, "--fit", help="comma-separated dotted parameters, e.g. array.clock_ghz,sparse.efficiency.fp16"
    ),
    out: Path = typer.Option(..., "--out", help="the calibrated config to write (YAML, atomic)"),
    holdout: str | None = typer.Option(
        None, "--holdout", help="regex on row labels: kept out of the fit, checked"
    ),
    clock_state: str = typer.Option(
        "both",
        "--clock-state",
        help="which measured rows to use: burst, sustained (power-limited) or both; each is predicted "
        "in its own state (gpu section of the config)",
    ),
    measured_in: list[str] = typer.Option(
        [],
        "--measured-in",
        help="STEM=burst|sustained: the clock state of that file's plain dense_ms/sparse_ms columns "
        "(default: its meta.clock_state, else burst); sustained_* columns are always sustained",
    ),
    sustained: bool = typer.Option(False, "--sustained", help="same as --clock-state sustained"),
    tie: list[str] = typer.Option(
        [],
        "--tie",
        help="TARGET=SOURCE: TARGET takes SOURCE's value (e.g. array.efficiency.int8=array.efficiency.fp8)",
    ),
    energy: bool = typer.Option(
        False,
        "--energy",
        help="fit static power, MAC energy per dtype, DRAM energy per byte and (with 2:4 rows) the operand-mux "
        "energy to *_energy_j rows and "
        "ceiling power readings at the power limit",
    ),
    hold: str | None = typer.Option(
        None,
        "--hold",
        help="with --energy: comma-separated parameters kept at the config's values (static, dram, "
        "mac.<dtype>, mux)",
    ),
    scale_mac: str | None = typer.Option(
        None,
        "--scale-mac",
        help="with --energy: DT[,DT]=SOURCE scales those dtypes' MAC energy (no rows) by SOURCE's fitted factor",
    ),
    note: str | None = typer.Option(
        None, "--note", help="with --energy: text appended to the source of every entry the fit writes"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the residuals as JSON"),
) -> None:
    """Least-squares fit of PARAMs to measured latencies; prints the residual table; writes NEW.yaml."""
    check_output_path(out)
    try:
        pattern = re.compile(holdout) if holdout else None
    except re.error as exc:
        raise NmsimInputError("--holdout", f"a regular expression ({exc})", holdout) from None
    declared = _pairs(measured_in, "--measured-in", ("burst", "sustained"))
    if energy:
        options = EnergyOptions(parse_hold(hold), _scale_mac(scale_mac), note)
        calibrate_energy(measurements, hw, out, pattern, declared, as_json, options)
        return
    for value, option in ((hold, "--hold"), (scale_mac, "--scale-mac"), (note, "--note")):
        if value:
            fail(f"{option}: only with --energy")
    params = [p.strip() for p in (fit_params or "").split(",") if p.strip()]
    if not params:
        fail("--fit: at least one dotted parameter, e.g. array.clock_ghz (or --energy)")
    if clock_state not in STATE_CHOICES:
        fail(f"--clock-state: one of burst, sustained, both (got '{clock_state}')")
    states = STATE_CHOICES["sustained" if sustained else clock_state]
    samples = _load_samples(measurements, states, declared)
    if not samples:
        fail(f"measurements: no latencies measured in clock state {'/'.join(states)}")
    fitted = [s for s in samples if not (pattern and pattern.search(s.label))]
    checked = [s for s in samples if pattern and pattern.search(s.label)]
    if not fitted:
        fail(f"holdout: '{holdout}' leaves no samples to fit")
    base_path = resolve_hardware_path(hw)
    doc = read_document(base_path)
    names = " + ".join(p.name for p in measurements)
    note = f"fitted by nmsim calibrate to {names} ({len(fitted)} latencies)"
    ties = _pairs(tie, "--tie")
    result = fit(doc, fitted, params, note=note, ties=ties)
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
            "clock_state": s.clock_state,
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
        "by_clock_state": _state_stats(everything, measured, after),
    }
    c = _console_unless_json(summary | {"rows": rows, "out": str(out)}, as_json)
    if c is None:
        return
    params_rows = [(p, f"{result.initial[p]:.4g}", f"{result.params[p]:.4g}") for p in params]
    c.print(
        _table(
            f"fitted parameters ({result.iterations} iterations)",
            ("parameter", "start", "fitted"),
            params_rows,
        )
    )
    residual_rows = [
        (r["label"], r["clock_state"], r["role"], f"{r['measured_ms']:.4g}", f"{r['before_ms']:.4g}",
         f"{r['after_ms']:.4g}", f"{r['error']:+.1%}")
        for r in rows
    ]  # fmt: skip
    columns = ("sample", "state", "role", "measured ms", "before ms", "after ms", "error")
    c.print(_table("residuals: predicted vs measured latency", columns, residual_rows, right_from=3))
    speedup_rows = []
    for key, value in sp_meas.items():
        pred = sp_pred.get(key)
        speedup_rows.append(
            (key, f"{value:.3f}", f"{pred:.3f}" if pred else "", f"{pred / value - 1:+.1%}" if pred else "")
        )
    c.print(_table("2:4 speedup (dense / sparse)", ("GEMM", "measured", "predicted", "error"), speedup_rows))
    for role in ("fit", "check"):
        stats = summary[f"speedup_{role}"]
        if stats["count"]:
            c.print(
                f"speedup, {role} rows: median |error| {stats['median_abs_error']:.1%}, max "
                f"{stats['max_abs_error']:.1%}, faster/slower right on {stats['verdict_right']}/{stats['count']}"
            )
    for state, st_ in summary["by_clock_state"].items():
        sp = st_["speedup"]
        c.print(
            f"{state} rows ({st_['latencies']} latencies, predicted in the {state} state): latency median "
            f"|error| {st_['latency_median_abs_error']:.1%}, max {st_['latency_max_abs_error']:.1%}; 2:4 speedup "
            f"median {sp.get('median_abs_error', float('nan')):.1%}, max {sp.get('max_abs_error', float('nan')):.1%}"
        )
    c.print(f"rms log error (fitted rows): {rms:.4f}; wrote {out}")


@dataclass(frozen=True)
class EnergyOptions:
    """``--hold`` names, ``--scale-mac`` (target dtypes, source dtype) and ``--note`` of an energy fit."""

    hold: tuple[str, ...] = ()
    scale_mac: tuple[list[str], str] | None = None
    note: str | None = None


def _scale_mac(text: str | None) -> tuple[list[str], str] | None:
    """``"int8,fp8=fp16"`` → ``(["int8", "fp8"], "fp16")``."""
    if not text:
        return None
    targets, sep, source = text.partition("=")
    names = [t.strip() for t in targets.split(",") if t.strip()]
    if not sep or not names or not source.strip():
        fail(f"--scale-mac: expected DT[,DT]=SOURCE, e.g. int8,fp8=fp16 (got '{text}')")
    return names, source.strip()


def _energy_rows(
    paths: list[Path], measured_in: dict[str, str]
) -> tuple[list[EnergySample], list[ExcludedReading], dict[str, float], list[str]]:
    """Every file's energy rows and ceiling power readings at the power limit (labels prefixed by the
    file's stem when there are several), the readings left out, measured idle powers, and per file what
    its rows were (for the written sources)."""
    samples: list[EnergySample] = []
    excluded: list[ExcludedReading] = []
    idle: dict[str, float] = {}
    described: list[str] = []
    for path in paths:
        doc = load_measurements(path)
        if "idle_power_w" in doc.meta:
            idle[path.stem] = doc.meta["idle_power_w"]
        rows = energy_samples(doc, measured_in.get(path.stem))
        readings, left_out = ceiling_energy_samples(doc)
        prefix = f"{path.stem}:" if len(paths) > 1 else ""
        samples += [replace(s, label=prefix + s.label) for s in rows + readings]
        excluded += [replace(x, label=prefix + x.label) for x in left_out]
        parts = [f"{len(rows)} energy rows"] if rows else []
        if readings:
            shapes = sorted(
                {f"{s.m}x{s.n}x{s.k}" if len({s.m, s.n, s.k}) > 1 else f"{s.m}³" for s in readings}
            )
            counts = Counter(s.dtype for s in readings)
            per_dtype = ", ".join(f"{dt} ×{n}" for dt, n in sorted(counts.items()))
            parts.append(
                f"the {len(readings)} power readings at the power limit in its ceilings "
                f"(dense {', '.join(shapes)}: {per_dtype})"
            )
        if parts:
            described.append(f"{path.name}: {' and '.join(parts)}")
    return samples, excluded, idle, described


def calibrate_energy(
    paths: list[Path],
    hw: str,
    out: Path,
    pattern: re.Pattern[str] | None,
    measured_in: dict[str, str],
    as_json: bool,
    options: EnergyOptions = EnergyOptions(),
) -> None:
    """``nmsim calibrate --energy``: the linear energy fit (nmsim/calibration/energy_fit.py)."""
    samples, excluded, idle, described = _energy_rows(paths, measured_in)
    for x in excluded:
        typer.echo(f"excluded {x.label}: {x.reason}", err=True)
    if not samples:
        fail("measurements: no rows with measured energy (dense_energy_j / sparse_energy_j) and no ceiling "
             "power readings at the power limit; measure with benchmarks/gpu/measure_nm.py --energy-s")  # fmt: skip
    fitted = [s for s in samples if not (pattern and pattern.search(s.label))]
    checked = [s for s in samples if pattern and pattern.search(s.label)]
    if not fitted:
        fail(f"--holdout: '{pattern.pattern if pattern else ''}' leaves no energy rows to fit")
    base_path = resolve_hardware_path(hw)
    doc = read_document(base_path)
    base = hardware_from_document(doc, str(base_path))
    result = fit_energy(base, fitted, options.hold)
    if options.scale_mac:
        result = scale_unfitted_macs(base, result, *options.scale_mac)
    hold_flag = f" --hold {','.join(options.hold)}" if options.hold else ""
    what = (
        "; ".join(described) if not checked else f"{' + '.join(p.name for p in paths)} ({len(fitted)} GEMMs)"
    )
    note = f"fitted by nmsim calibrate --energy{hold_flag} to {what}" + (
        f"; {options.note}" if options.note else ""
    )
    new_doc = apply_energy_fit(doc, result, note)
    names = " + ".join(p.name for p in paths)
    history = [line for line in base_path.read_text().splitlines() if line.startswith("# calibrated by")]
    header = "".join(f"{line}\n" for line in history[:1])
    header += (
        f"# energy calibrated by `nmsim calibrate --energy{hold_flag}` from {base_path.name} to {names}\n"
    )
    write_text_atomic(out, header + yaml.safe_dump(new_doc, sort_keys=False, width=120, allow_unicode=True))
    everything = fitted + checked
    predicted = result.predict(base, everything)
    measured = np.array([s.joules for s in everything])
    err = predicted / measured - 1
    loo = {x.label: x for x in leave_one_out(base, fitted, options.hold)}
    rows = [{"label": s.label, "role": "fit" if i < len(fitted) else "check", "measured_j": float(measured[i]),
             "measured_w": float(measured[i] / s.seconds), "predicted_j": float(predicted[i]),
             "error": float(err[i]), "loo_error": loo[s.label].error if s.label in loo else None,
             "loo_note": loo[s.label].reason if s.label in loo else ""}
            for i, s in enumerate(everything)]  # fmt: skip
    summary = {
        "params": result.parameters(),
        "held": list(result.held),
        "held_no_rows": list(result.held_no_rows),
        "scaled": {dt: {"with": src, "factor": f} for dt, (src, f) in result.mac_scaled.items()},
        "excluded": [{"label": x.label, "reason": x.reason} for x in excluded],
        "idle_power_w_measured": idle,
        "median_abs_error_fit": float(np.median(np.abs(err[: len(fitted)]))),
        "median_abs_error_check": float(np.median(np.abs(err[len(fitted) :]))) if checked else None,
        "max_abs_error_check": float(np.max(np.abs(err[len(fitted) :]))) if checked else None,
        "source": note,
    }
    c = _console_unless_json(summary | {"rows": rows, "out": str(out)}, as_json)
    if c is None:
        return
    fitted_rows = []
    for name, value in summary["params"].items():
        key = name.removeprefix("energy.").rsplit(".", 1)[0]
        key = key.replace("dram_per_byte", "dram").replace("mux_select", "mux")
        how = ("held (config)" if key in result.held else "held (no sparse rows)" if key in result.held_no_rows
               else f"scaled with {result.mac_scaled[key[4:]][0]}" if key[4:] in result.mac_scaled
               else "fitted")  # fmt: skip
        fitted_rows.append((name, f"{value:.4g}", how))
    c.print(_table("energy parameters", ("parameter", "value", "how"), fitted_rows))
    for stem, watts in idle.items():
        c.print(f"{stem}: measured idle power {watts:.4g} W (fitted static power {result.static_w:.4g} W)")
    energy_rows = [
        (r["label"], r["role"], f"{r['measured_j']:.4g}", f"{r['measured_w']:.4g}", f"{r['predicted_j']:.4g}",
         f"{r['error']:+.1%}", "" if r["role"] == "check" else
         (f"{r['loo_error']:+.1%}" if r["loo_error"] is not None else f"n/a: {r['loo_note']}"))
        for r in rows
    ]  # fmt: skip
    columns = ("sample", "role", "measured J", "measured W", "predicted J", "error", "leave-one-out error")
    c.print(_table("energy per GEMM: predicted vs measured", columns, energy_rows, right_from=2))
    c.print(f"median |error|: fitted rows {summary['median_abs_error_fit']:.1%}" + (
        f", held-out rows {summary['median_abs_error_check']:.1%} (max {summary['max_abs_error_check']:.1%})"
        if checked else "") + f"; wrote {out}")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
