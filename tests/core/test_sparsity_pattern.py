"""The typed sparsity pattern: one parser, and one rule for what a hardware format holds
(docs/references.md#nm-fit-rule, worked by hand)."""

from __future__ import annotations

import pytest

from nmsim.errors import NmsimInputError
from nmsim.schemas.trace import Layer, PhaseLayerState, TrainingRecord
from nmsim.sparsity import (
    DENSE,
    NM,
    Dense,
    Unstructured,
    cheapest_mode,
    holds,
    parse_pattern,
    try_pattern,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dense", DENSE),
        (" Dense ", DENSE),
        ("2:4", NM(2, 4)),
        (" 1 : 8 ", NM(1, 8)),
        ("4:4", DENSE),  # keeps every weight
        ("8:8", DENSE),
        ("unstructured", Unstructured(None)),
    ],
)
def test_parse_pattern(text: str, expected: object) -> None:
    assert parse_pattern(text) == expected


def test_parse_keeps_the_unstructured_density_and_spells_the_file_form() -> None:
    p = parse_pattern("unstructured", density=0.125)
    assert p == Unstructured(0.125) and p.density == 0.125 and p.is_unstructured and p.nm is None
    assert [str(parse_pattern(t)) for t in ("dense", "2:4", "4:4", "unstructured")] == [
        "dense",
        "2:4",
        "dense",
        "unstructured",
    ]
    assert isinstance(parse_pattern("dense"), Dense) and DENSE.density == 1.0 and DENSE.nm is None
    assert NM(1, 8).nm == NM(1, 8) and NM(1, 8).density == 0.125


@pytest.mark.parametrize("text", ["5:4", "0:4", "sparse", "", "2:4:8", "unstructured:0.5"])
def test_parse_rejects_with_the_field(text: str) -> None:
    with pytest.raises(NmsimInputError) as err:
        parse_pattern(text, "layers[3].pattern")
    assert err.value.field == "layers[3].pattern"
    assert try_pattern(text) is None


# Hand-worked from the rule "n:m fits n′:m′ when no aligned m′-block holds more than n′ nonzeros":
@pytest.mark.parametrize(
    ("mode", "pattern", "expected"),
    [
        (NM(2, 4), NM(2, 4), True),  # the format itself
        (NM(1, 4), NM(1, 8), True),  # a 4-block of 1:8 holds ≤ 1 nonzero (VEGETA-like 1:4 runs 1:8)
        (NM(2, 4), NM(1, 8), True),  # ≤ 1 ≤ 2
        (NM(1, 4), NM(2, 4), False),  # a 4-block holds 2 > 1
        (NM(2, 4), NM(2, 8), True),  # a 4-block is half a group: ≤ min(2, 4) = 2
        (NM(1, 4), NM(2, 8), False),  # both nonzeros may share a half
        (NM(2, 4), NM(4, 8), False),  # a half may hold 4
        (NM(2, 4), NM(3, 4), False),
        (NM(2, 8), NM(1, 4), True),  # an 8-block spans two groups of 1:4: ≤ 2
        (NM(2, 4), DENSE, False),  # nothing to skip
        (NM(2, 4), Unstructured(0.01), False),  # no bound on a block, however sparse
        (NM(1, 8), Unstructured(0.5), False),
        (NM(4, 4), NM(2, 4), False),  # a dense "mode" holds nothing sparse
    ],
)
def test_holds(mode: NM, pattern: object, expected: bool) -> None:
    assert holds(mode, pattern) is expected  # type: ignore[arg-type]


def test_cheapest_mode_over_patterns() -> None:
    vegeta = (NM(1, 4), NM(2, 4))
    assert cheapest_mode(NM(1, 8), vegeta) == NM(1, 4)
    assert cheapest_mode(NM(2, 4), vegeta) == NM(2, 4)
    assert cheapest_mode(Unstructured(0.1), vegeta) is None
    assert cheapest_mode(DENSE, vegeta) is None


def test_trace_records_parse_once_into_the_type() -> None:
    layer = Layer(name="a", m=4, k=8, n=8, pattern="unstructured", density=0.25)
    assert layer.sparsity == Unstructured(0.25) and layer.nm is None
    assert Layer(name="b", m=4, k=8, n=8, pattern="2:8").sparsity == NM(2, 8)
    assert Layer(name="c", m=4, k=8, n=8, pattern="4:4").pattern == "dense"  # canonical on disk
    assert PhaseLayerState(pattern="1:8").sparsity == NM(1, 8)
    rec = TrainingRecord.model_validate(
        {
            "recipe": "gmp",
            "target": "unstructured",
            "target_density": 0.0625,
            "total_steps": 2,
            "phases": [{"name": "p", "start_step": 0, "end_step": 2}],
        }
    )
    assert rec.target_sparsity == Unstructured(0.0625)
