"""On-chip port widths carry their source: every shipped config either cites a width or says why unlimited.

A level's ``read_bytes_per_cycle`` / ``write_bytes_per_cycle`` and the sparse datapath's
``metadata_bits_per_cycle`` are unlimited when omitted (docs/model.md, "On-chip ports"). An omitted port
must still say so in its section's ``sources`` with a note starting ``unlimited:`` (why: not published in
the machine's source, a calibrated abstraction, …), or ``unlimited: as <level or field>`` pointing at a
note of the same config. The off-chip level is bounded by its ``bandwidth_gbps`` instead.
"""

from __future__ import annotations

import copy
import re

import pytest

import nmsim
from nmsim.io.loaders import hardware_from_document, read_document
from nmsim.io.registry import shipped_hardware
from nmsim.schemas.hardware import HardwareConfig

UNLIMITED = "unlimited:"
PORTS = ("read_bytes_per_cycle", "write_bytes_per_cycle")
PENDING: set[str] = set()  # configs not yet carrying their notes (none)
_AS = re.compile(r"^unlimited: as (\w+)$")


def port_gaps(hw: HardwareConfig) -> list[str]:
    """Ports of ``hw`` with neither a cited width nor an ``unlimited:`` note (empty: every port accounted for)."""
    notes: dict[str, dict[str, str]] = {}  # owner (level name or 'sparse') -> port -> note
    ports: list[tuple[str, str, float | None]] = []
    for lv in hw.memory.levels[:-1]:
        notes[lv.name] = lv.sources
        ports += [(lv.name, port, getattr(lv, port)) for port in PORTS]
    if hw.sparse.kind != "none":
        notes["sparse"] = hw.sparse.sources
        ports.append(("sparse", "metadata_bits_per_cycle", hw.sparse.metadata_bits_per_cycle))
    gaps = []
    for owner, port, value in ports:
        note = notes[owner].get(port, "").strip()
        if value is not None:
            if not note or note.startswith(UNLIMITED):
                gaps.append(f"{owner}.{port} = {value} has no source")
            continue
        if not note.startswith(UNLIMITED):
            gaps.append(f"{owner}.{port} is unlimited without an 'unlimited:' note")
            continue
        where, base = (owner, port), note
        for _ in range(len(ports)):  # follow 'as <field>' (same level) / 'as <level>' (same field there)
            ref = _AS.match(base)
            if not ref:
                break
            target = ref.group(1)
            where = (where[0], target) if target in PORTS else (target, where[1])
            base = notes.get(where[0], {}).get(where[1], "")
        if not base.startswith(UNLIMITED) or _AS.match(base):
            gaps.append(f"{owner}.{port}: '{note}' points at no full unlimited note")
    return gaps


@pytest.mark.parametrize("name", sorted(set(shipped_hardware()) - PENDING))
def test_every_port_has_a_width_with_a_source_or_an_unlimited_note(name: str) -> None:
    assert port_gaps(nmsim.load_hardware(name)) == []


def test_the_check_finds_a_missing_note() -> None:
    """The check can fail: tpu_v1 without its Unified Buffer write note, and with a dangling 'as'."""
    doc = read_document(shipped_hardware()["tpu_v1_dense"])
    bare = copy.deepcopy(doc)
    del bare["memory"]["levels"][0]["sources"]["write_bytes_per_cycle"]
    assert port_gaps(hardware_from_document(bare, "t")) == [
        "unified_buffer.write_bytes_per_cycle is unlimited without an 'unlimited:' note"
    ]
    dangling = copy.deepcopy(doc)
    dangling["memory"]["levels"][0]["sources"]["write_bytes_per_cycle"] = "unlimited: as nowhere"
    assert port_gaps(hardware_from_document(dangling, "t")) == [
        "unified_buffer.write_bytes_per_cycle: 'unlimited: as nowhere' points at no full unlimited note"
    ]


@pytest.mark.parametrize(
    ("m", "expected_port", "expected_work"),
    [
        # M = 512, K = 1024, N = 512, int8 (1 B), weight-stationary 256x256, one weight per PE, 32-bit accumulators:
        #   Unified Buffer read: every activation once per 256-column weight tile, M*K*ceil(N/256) = 512*1024*2
        #     = 1,048,576 B / 256 B/cycle = 4096 cycles
        #   Weight FIFO read: each weight once, K*N = 524,288 B / 256 B/cycle = 2048 cycles
        #   accumulators: K passes the array in ceil(1024/256) = 4 chunks, so 3 partial-sum read-modify-writes per
        #     output: read M*N*4*3 = 3,145,728 B / 1024 = 3072 cycles; write that + the final M*N*1 B
        #     = 3,407,872 B / 1024 = 3328 cycles
        #   port cycles = max = 4096 (the Unified Buffer), = the fold work 8 folds x max(M, 256) = 4096
        (512, 4096, 4096),
        # M = 64: UB 64*1024*2/256 = 512; FIFO 524,288/256 = 2048; accumulators read 64*512*12/1024 = 384,
        #   write (393,216 + 32,768)/1024 = 416 -> 2048 (the Weight FIFO), = 8 folds x max(64, 256) = 2048
        (64, 2048, 2048),
    ],
)
def test_tpu_v1_ports_give_the_hand_worked_port_cycles(
    m: int, expected_port: int, expected_work: int
) -> None:
    """[TPUv1]'s published rates (256 B of activations and of weights, 256 x 32-bit partial sums per cycle) feed
    the 256x256 array exactly: the ports' cycles equal the fold work, so they never throttle a dense GEMM."""
    r = nmsim.simulate_gemm(m, 512, 1024, nmsim.load_hardware("tpu_v1_dense"))
    assert r.mapping["port_cycles"] == expected_port
    assert r.mapping["work_cycles"] == expected_work
    assert r.bound != "port"
    halved = nmsim.load_hardware("tpu_v1_dense", **{"memory.levels.unified_buffer.read_bytes_per_cycle": 128})
    r_half = nmsim.simulate_gemm(512, 512, 1024, halved)
    assert r_half.mapping["port_cycles"] == 8192  # 1,048,576 B / 128 B/cycle
    assert (
        r_half.mapping["work_cycles"] == 8192
    )  # the half-width port now paces the array, not its 4096 cycles
