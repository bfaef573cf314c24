"""NB201 search space: strings, official index order, masks."""

import numpy as np
import pytest

from naslid.errors import ArchError
from naslid.spaces.nb201.encoding import (
    EDGES,
    NUM_ARCHS,
    OPS,
    Arch,
    all_archs,
    archs_in_mask,
    check_mask,
    full_mask,
    mask_contains,
    mask_from_lists,
    mask_to_lists,
)


def test_index_order_matches_the_official_table_for_all_archs(nb201_table):
    assert len(nb201_table) == NUM_ARCHS
    for index, text in zip(nb201_table["index"], nb201_table["arch"]):
        arch = Arch.from_str(text)
        assert arch.index == index
        assert Arch.from_index(index).to_str() == text


def test_index_zero_is_the_documented_arch():
    assert Arch.from_index(0).to_str() == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )


def test_the_order_is_a_lookup_not_an_enumeration():
    enumerated = sorted(all_archs())
    assert enumerated != all_archs()
    assert len(set(all_archs())) == NUM_ARCHS


def test_isomorphic_looking_strings_stay_distinct():
    # Same multiset of ops, and the same computed function up to node relabelling would be
    # plausible for a canonicaliser; NB201 indexes them separately and so must we.
    a = Arch.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")
    b = Arch.from_str("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert a != b and a.index != b.index
    assert len({arch.to_str() for arch in all_archs()}) == NUM_ARCHS


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("nor_conv_3x3~0|+|", "malformed"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "2 nodes instead of 3"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "node 2 needs 2 inputs"),
        (
            "|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "should be '<op>~0'",
        ),
        (
            "|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "unknown op 'conv_5x5'",
        ),
        ("", "malformed"),
    ],
)
def test_bad_strings_raise_a_clear_error(text, fragment):
    with pytest.raises(ArchError, match=fragment.replace("(", r"\(").replace("|", r"\|").replace("+", r"\+")):
        Arch.from_str(text)


def test_index_out_of_range():
    with pytest.raises(ArchError, match="out of range"):
        Arch.from_index(NUM_ARCHS)


def test_mask_enumeration_and_lists_round_trip():
    mask = full_mask()
    mask[0] = [False, True, False, True, False]
    mask[5] = [True, False, False, False, False]
    archs = archs_in_mask(mask)
    assert len(archs) == 2 * 5**4 * 1
    assert all(mask_contains(mask, a) for a in archs)
    assert sum(mask_contains(mask, a) for a in all_archs()) == len(archs)
    assert np.array_equal(mask_from_lists(mask_to_lists(mask)), mask)


def test_mask_with_an_empty_edge_is_rejected():
    mask = full_mask()
    mask[3] = False
    with pytest.raises(ArchError, match=f"edge.*{EDGES[3]}.*no op"):
        check_mask(mask)
    with pytest.raises(ArchError, match="unknown op"):
        mask_from_lists([["conv"]] + [list(OPS)] * 5)
