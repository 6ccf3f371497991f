"""Hardware documents of schema 1.x → 2.0, and override paths of either schema → a 2.0 path.

Schema 1.x described memory as three SRAM buffers (``memory.ifmap``, ``memory.filter``,
``memory.ofmap``: ``size_kb``, ``word_bytes``), one ``dram_bandwidth_gbps`` and one
``double_buffered`` flag, with their energies in ``energy.ifmap/filter/ofmap`` (per access) and
``energy.dram_per_byte``. Schema 2.0 lists the levels from the PEs outwards (``memory.levels``), each
with its operands, capacity, ports and read/write energies. :func:`migrate_hardware` maps one onto
the other without changing a number (KiB → bytes is exact), so a 1.x file loads unchanged.

Override paths (``load_hardware(..., **{path: value})``, sweep parameters) may name a level by name,
by an operand it holds (``@activations``, ``@weights``, ``@outputs``) or ``@dram``:
``memory.levels.@weights.capacity_bytes=65536``. The 1.x paths keep working
(``memory.ifmap.size_kb`` → ``memory.levels.@activations.capacity_bytes`` in bytes,
``memory.dram_bandwidth_gbps`` → ``memory.levels.@dram.bandwidth_gbps``).
"""

from __future__ import annotations

import copy
from typing import Any

from nmsim.errors import NmsimInputError

_BUFFERS: tuple[tuple[str, str], ...] = (
    ("ifmap", "activations"),
    ("filter", "weights"),
    ("ofmap", "outputs"),
)


def is_legacy(doc: dict[str, Any]) -> bool:
    """True when ``doc`` is a 1.x hardware document (no ``memory.levels``)."""
    mem = doc.get("memory")
    return str(doc.get("schema_version", "1.0")).startswith("1") and not (
        isinstance(mem, dict) and "levels" in mem
    )


def _level_energy(entry: Any) -> Any:
    if isinstance(entry, dict):
        return {**entry, "per": entry.get("per", "access")}
    return entry


def migrate_hardware(doc: dict[str, Any]) -> dict[str, Any]:
    """A schema 2.0 copy of the hardware document ``doc`` (returned as is when already 2.0).

    Malformed 1.x sections are carried over as they are, for validation to reject with its message.
    """
    if not is_legacy(doc):
        return doc
    out = copy.deepcopy(doc)
    out["schema_version"] = "2.0"
    mem = out.get("memory")
    energy = out.get("energy")
    if not isinstance(mem, dict) or not isinstance(energy, dict):
        return out
    sources = dict(mem.get("sources", {}))
    double = mem.get("double_buffered", True)
    levels: list[dict[str, Any]] = []
    for buf, operand in _BUFFERS:
        b = mem.get(buf)
        e = energy.pop(buf, None)
        if not isinstance(b, dict):
            return out
        bsrc = dict(b.get("sources", {}))
        level: dict[str, Any] = {"name": f"{buf}_sram", "operands": [operand]}
        if "size_kb" in b:
            level["capacity_bytes"] = _bytes(b["size_kb"])
            if "size_kb" in bsrc:
                bsrc["capacity_bytes"] = f"{bsrc.pop('size_kb')} (KiB x 1024)"
        if "word_bytes" in b:
            level["word_bytes"] = b["word_bytes"]
        if isinstance(e, dict):
            level["read_energy"] = _level_energy(e.get("read"))
            level["write_energy"] = _level_energy(e.get("write"))
        level["double_buffer"] = double
        level["sources"] = bsrc
        levels.append(level)
    dram_energy = energy.pop("dram_per_byte", None)
    dram: dict[str, Any] = {
        "name": "dram",
        "operands": ["activations", "weights", "outputs"],
        "bandwidth_gbps": mem.get("dram_bandwidth_gbps"),
        "double_buffer": False,
        "sources": {"bandwidth_gbps": sources["dram_bandwidth_gbps"]}
        if "dram_bandwidth_gbps" in sources
        else {},
    }
    if isinstance(dram_energy, dict):
        per_byte = {**dram_energy, "per": "byte"}
        dram["read_energy"] = per_byte
        dram["write_energy"] = dict(per_byte)
    levels.append(dram)
    rest = {k: v for k, v in sources.items() if k not in ("dram_bandwidth_gbps", "double_buffered")}
    out["memory"] = {"levels": levels, **({"sources": rest} if rest else {})}
    return out


def _bytes(size_kb: Any) -> Any:
    if isinstance(size_kb, int | float) and not isinstance(size_kb, bool):
        value = size_kb * 1024
        return int(value) if float(value).is_integer() else value
    return size_kb


# 1.x override path → (2.0 path, value transform)
_LEGACY_PATHS: dict[str, tuple[str, Any]] = {
    "memory.dram_bandwidth_gbps": ("memory.levels.@dram.bandwidth_gbps", None),
    **{f"memory.{buf}.size_kb": (f"memory.levels.@{op}.capacity_bytes", _bytes) for buf, op in _BUFFERS},
    **{f"memory.{buf}.word_bytes": (f"memory.levels.@{op}.word_bytes", None) for buf, op in _BUFFERS},
}


def resolve_override(doc: dict[str, Any], path: str, value: Any) -> tuple[str, Any]:
    """``(path, value)`` of an override as a concrete dotted path into the 2.0 document ``doc``.

    ``memory.levels.<selector>.<field>``: ``<selector>`` is a level's name, its index, ``@dram`` (the
    last level) or ``@<operand>`` (the on-chip level holding it; DRAM if none). 1.x paths are
    translated first. Returns e.g. ``("memory.levels.1.capacity_bytes", 65536)``.
    """
    legacy = _LEGACY_PATHS.get(path)
    if legacy is not None:
        path, transform = legacy
        value = transform(value) if transform is not None else value
    parts = path.split(".")
    if parts[:2] != ["memory", "levels"] or len(parts) < 4:
        return path, value
    levels = doc.get("memory", {}).get("levels")
    if not isinstance(levels, list) or not levels:
        raise NmsimInputError(path, "the config has no memory.levels")
    sel = parts[2]
    index: int | None = None
    if sel == "@dram":
        index = len(levels) - 1
    elif sel.startswith("@"):
        operand = sel[1:]
        if operand not in ("activations", "weights", "outputs"):
            raise NmsimInputError(path, "level selector @dram, @activations, @weights or @outputs", sel)
        index = next(
            (i for i, lv in enumerate(levels[:-1]) if operand in lv.get("operands", [])),
            len(levels) - 1,
        )
    elif sel.isdigit() and int(sel) < len(levels):
        index = int(sel)
    else:
        index = next((i for i, lv in enumerate(levels) if lv.get("name") == sel), None)
    if index is None:
        names = ", ".join(str(lv.get("name")) for lv in levels)
        raise NmsimInputError(path, f"a level name ({names}), an index, @dram or @<operand>", sel)
    return ".".join(["memory", "levels", str(index), *parts[3:]]), value
