"""N:M parsing, K compaction and the model-pattern → hardware-mode rule (docs/references.md#nm-fit-rule)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmsim.errors import NmsimInputError
from nmsim.sparsity import NM, cheapest_mode, compact_k, fits, max_nonzeros_per_block, parse_nm

STC = (NM(2, 4),)
VEGETA = (NM(1, 4), NM(2, 4))


@pytest.mark.parametrize("text", ["5:4", "0:4", "2:0", "-1:4", "2/4", "x", "", "2:4:8"])
def test_parse_rejects_bad_patterns(text: str) -> None:
    with pytest.raises(NmsimInputError) as err:
        parse_nm(text, "sparsity")
    assert err.value.field == "sparsity"


def test_compact_k_hand_worked() -> None:
    # K = 10 in groups of 4 keeping 2: two full groups (4 kept) + a tail of 2 keeping min(2, 2).
    assert compact_k(10, 2, 4) == 6
    # tail longer than n: K = 11, 1:4 → 2 + min(1, 3) = 3
    assert compact_k(11, 1, 4) == 3
    assert compact_k(4096, 1, 8) == 512
    assert compact_k(7, 4, 4) == 7


# The table of docs/references.md#nm-fit-rule (which hardware mode a model pattern runs in).
@pytest.mark.parametrize(
    ("model", "modes", "expected"),
    [
        (NM(2, 4), STC, NM(2, 4)),
        (NM(1, 4), STC, NM(2, 4)),
        (NM(2, 8), STC, NM(2, 4)),
        (NM(1, 8), STC, NM(2, 4)),
        (NM(3, 4), STC, None),
        (NM(4, 8), STC, None),
        (NM(2, 4), VEGETA, NM(2, 4)),
        (NM(1, 4), VEGETA, NM(1, 4)),
        (NM(2, 8), VEGETA, NM(2, 4)),  # not 1:4: both nonzeros may sit in one half
        (NM(1, 8), VEGETA, NM(1, 4)),
        (NM(1, 16), VEGETA, NM(1, 4)),
        (NM(3, 4), VEGETA, None),
        (NM(4, 8), VEGETA, None),
        (NM(1, 8), (NM(4, 8),), NM(4, 8)),  # DBB 4:8 holds anything at most half dense
        (NM(2, 4), (NM(4, 8),), NM(4, 8)),  # m | m': 2 per 4 → at most 4 per 8
        (NM(1, 2), STC, NM(2, 4)),
    ],
)
def test_cheapest_mode_table(model: NM, modes: tuple[NM, ...], expected: NM | None) -> None:
    assert cheapest_mode(model, modes) == expected


def _brute_force_worst(n: int, m: int, block: int) -> int:
    """Max nonzeros in an aligned block over every n:m mask of one lcm period (exhaustive)."""
    period = math.lcm(m, block)
    groups = period // m
    choices = list(itertools.combinations(range(m), n))
    worst = 0
    for pick in itertools.product(choices, repeat=groups):
        mask = [0] * period
        for g, kept in enumerate(pick):
            for i in kept:
                mask[g * m + i] = 1
        worst = max(worst, *(sum(mask[s : s + block]) for s in range(0, period, block)))
    return worst


@settings(max_examples=60, deadline=None)
@given(
    m=st.sampled_from([2, 3, 4, 6, 8]),
    block=st.sampled_from([2, 3, 4, 6, 8]),
    data=st.data(),
)
def test_worst_case_block_count_matches_brute_force(m: int, block: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, m))
    if len(list(itertools.combinations(range(m), n))) ** (math.lcm(m, block) // m) > 20000:
        return
    assert max_nonzeros_per_block(n, m, block) == _brute_force_worst(n, m, block)


def test_fits_reduces_to_the_documented_rule_when_mode_divides_model() -> None:
    # docs/references.md#nm-fit-rule: for m' | m, n:m fits n':m' iff min(n, m') <= n'
    for m in (4, 8, 16):
        for n in range(1, m + 1):
            for mp in (2, 4):
                for np_ in range(1, mp):
                    assert fits(NM(n, m), NM(np_, mp)) == (min(n, mp) <= np_)
