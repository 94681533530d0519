"""`fuse`: the weighted fusion of the dense and BM25 rankings on the short lists that filters and rare terms
produce — near-ties stay near-tied, a lone candidate is not crowned, an empty side changes nothing, ties are
broken the same way every time. Pure functions over score lists: no index, no model."""
from __future__ import annotations

import math

import pytest

from rag.retrieve import fuse, normalise
from rag.settings import Settings

WEIGHTED = Settings(fusion="weighted", dense_weight=0.5)


def order(fused):
    return [row for row, _ in fused]


def test_a_tiny_bm25_gap_does_not_override_a_clear_dense_preference():
    # dense clearly prefers 1 over 2; BM25 has them 0.2 % apart, 2 ahead: min-max made that gap worth the
    # whole BM25 weight and put 2 first
    d = ([1, 2, 3], [0.90, 0.85, 0.60])
    b = ([2, 1], [10.02, 10.00])
    assert order(fuse(*d, *b, WEIGHTED))[0] == 1


def test_a_single_bm25_candidate_does_not_get_the_full_weight_for_free():
    d = ([1, 2, 3], [0.90, 0.85, 0.60])
    b = ([3], [0.4])
    fused = fuse(*d, *b, WEIGHTED)
    assert order(fused) == [1, 2, 3]
    assert all(math.isfinite(s) for _, s in fused)


def test_one_candidate_on_each_side_gives_finite_scores():
    fused = fuse([5], [0.7], [5], [3.2], WEIGHTED)
    assert order(fused) == [5] and math.isfinite(fused[0][1])


@pytest.mark.parametrize("side", ["dense", "bm25"])
def test_one_side_empty_keeps_the_other_sides_order(side):
    rows, scores = [4, 9, 2, 7], [12.0, 8.5, 8.4, 1.0]
    if side == "dense":
        fused = fuse(rows, [s / 20 for s in scores], [], [], WEIGHTED)
    else:
        fused = fuse([], [], rows, scores, WEIGHTED)
    assert order(fused) == rows


def test_both_sides_empty_is_an_empty_ranking():
    assert fuse([], [], [], [], WEIGHTED) == []


def test_ties_are_broken_by_row_every_time():
    fused = fuse([8, 3, 5], [0.5, 0.5, 0.5], [5, 8, 3], [2.0, 2.0, 2.0], WEIGHTED)
    assert order(fused) == [3, 5, 8]
    assert len({s for _, s in fused}) == 1


def test_agreeing_rankings_keep_their_order():
    fused = fuse([1, 2, 3, 4], [0.9, 0.8, 0.7, 0.6], [1, 2, 3, 4], [9.0, 7.0, 5.0, 3.0], WEIGHTED)
    assert order(fused) == [1, 2, 3, 4]


@pytest.mark.parametrize("how", ["tmm", "zscore"])
def test_normalisation_is_continuous_in_the_scores(how):
    # the same two-candidate list with a 0.2 % and then a 0 % gap: the normalised values barely move
    a, _ = normalise([10.02, 10.0], how, "bm25")
    b, _ = normalise([10.0, 10.0], how, "bm25")
    assert abs(a[0] - a[1]) < 0.25 and abs(b[0] - b[1]) == 0


def test_rrf_still_fuses_by_rank():
    fused = fuse([1, 2], [0.9, 0.1], [2, 1], [5.0, 1.0], Settings(fusion="rrf", rrf_k=10))
    assert order(fused) == [1, 2] and fused[0][1] == fused[1][1]


def test_unknown_normalisation_is_refused_clearly():
    from rag.errors import QueryError
    with pytest.raises(QueryError, match="Normalisation inconnue"):
        fuse([1], [0.5], [1], [1.0], WEIGHTED.with_(fusion_norm="softmax"))
