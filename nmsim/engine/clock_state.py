"""A GPU config at a clock/power state, with or without its measured software stack.

The engine has one clock and one efficiency per dtype and mode; :func:`at_clock_state` folds a state
(``nmsim/schemas/gpu.py``) into them, so every path of the engine runs the state unchanged:

- ``burst``: the config as written (both kernels at ``array.clock_ghz``).
- ``sustained``: ``array.clock_ghz`` = ``gpu.sustained.dense_ghz``; a sparse kernel's work runs at
  ``gpu.sustained.sparse_ghz``, which, counted in dense-clock cycles, scales its efficiency by
  ``sparse_ghz / dense_ghz``. Fixed costs given in µs stay µs; DRAM bandwidth stays bytes/s.
- ``library``: every dtype's dense and sparse efficiencies are multiplied by ``gpu.library``'s.

A config without a ``gpu`` section (the non-GPU presets) has no states: it is returned unchanged
when no state is asked for, and a named state is a one-line input error.
"""

from __future__ import annotations

from nmsim.dtypes import DTYPES
from nmsim.errors import NmsimInputError
from nmsim.schemas.gpu import CLOCK_STATES
from nmsim.schemas.hardware import HardwareConfig

_CACHE: dict[tuple[int, str | None, bool], tuple[HardwareConfig, HardwareConfig]] = {}


def resolve_state(hw: HardwareConfig, state: str | None) -> str | None:
    """The state ``hw`` runs in: ``state`` if given (checked), else the config's default; None off GPUs."""
    if state is not None and state not in CLOCK_STATES:
        raise NmsimInputError("clock-state", "one of burst, sustained", state)
    if hw.gpu is None:
        if state is not None:
            raise NmsimInputError(
                "clock-state",
                f"hardware '{hw.name}' has no gpu section; clock states are for GPU configs",
                state,
            )
        return None
    return state or hw.gpu.default_clock_state


def clocks_ghz(hw: HardwareConfig, state: str | None) -> tuple[float, float]:
    """(dense, sparse) effective clock in GHz of ``hw`` in ``state`` (default state when None)."""
    resolved = resolve_state(hw, state)
    if resolved == "sustained":
        assert hw.gpu is not None
        if hw.gpu.sustained is None:
            raise NmsimInputError(
                "clock-state",
                f"hardware '{hw.name}' has no gpu.sustained clocks (not measured); burst only",
                state,
            )
        return hw.gpu.sustained.dense_ghz, hw.gpu.sustained.sparse_ghz
    return hw.array.clock_ghz, hw.array.clock_ghz


def describe_state(hw: HardwareConfig, state: str | None, library: bool = False) -> str:
    """One line naming the state and its clocks, e.g. ``sustained (dense 1.25 GHz, sparse 1.10 GHz)``."""
    resolved = resolve_state(hw, state)
    if resolved is None:
        return f"fixed clock {hw.array.clock_ghz:g} GHz (not a GPU config)"
    dense, sparse = clocks_ghz(hw, resolved)
    text = f"{resolved} (effective clocks: dense {dense:.3g} GHz, sparse {sparse:.3g} GHz)"
    if library and hw.gpu is not None and hw.gpu.library is not None:
        text += f", library {hw.gpu.library.name}"
    return text


def at_clock_state(hw: HardwareConfig, state: str | None = None, library: bool = False) -> HardwareConfig:
    """``hw`` as the engine should run it in ``state`` (default: the config's), with ``library`` effects.

    Memoised per config object, so repeated calls return the same object (and the engine's hardware
    vector cache hits).
    """
    resolved = resolve_state(hw, state)
    if library and (hw.gpu is None or hw.gpu.library is None):
        raise NmsimInputError("library", f"hardware '{hw.name}' has no gpu.library section to apply")
    if resolved in (None, "burst") and not library:
        return hw
    key = (id(hw), resolved, library)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is hw:
        return hit[1]
    out = _resolve(hw, resolved, library)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (hw, out)
    return out


def _resolve(hw: HardwareConfig, state: str | None, library: bool) -> HardwareConfig:
    assert hw.gpu is not None
    dense_ghz, sparse_ghz = clocks_ghz(hw, state)
    ratio = sparse_ghz / dense_ghz
    lib = hw.gpu.library if library else None
    arr_eff, sp_eff = {}, {}
    for dt in DTYPES:
        base = hw.array.efficiency.get(dt, 1.0)  # type: ignore[call-overload]
        base_sparse = hw.sparse.efficiency.get(dt, base)  # type: ignore[call-overload]
        lib_dense = lib.dense_efficiency.get(dt, 1.0) if lib else 1.0  # type: ignore[call-overload]
        lib_sparse = lib.sparse_efficiency.get(dt, 1.0) if lib else 1.0  # type: ignore[call-overload]
        arr_eff[dt] = min(1.0, base * lib_dense)
        sp_eff[dt] = min(1.0, base_sparse * lib_sparse * ratio)
    array = hw.array.model_copy(update={"clock_ghz": dense_ghz, "efficiency": arr_eff})
    sparse = hw.sparse.model_copy(update={"efficiency": sp_eff})
    tag = f"{hw.name}@{state or 'fixed'}{'+library' if library else ''}"
    return hw.model_copy(update={"array": array, "sparse": sparse, "name": tag})
