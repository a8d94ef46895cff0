"""Reciprocal rank fusion, checked against scores computed by hand."""

from __future__ import annotations

import pytest

from index.fusion import Fused, reciprocal_rank_fusion


def test_two_sources_hand_computed():
    fused = reciprocal_rank_fusion({"dense": ["a", "b", "c"], "bm25": ["c", "a"]}, k=60)
    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62
    assert [f.id for f in fused] == ["a", "c", "b"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2].score == pytest.approx(1 / 62)
    assert fused[0].ranks == {"dense": 1, "bm25": 2}
    assert fused[2].ranks == {"dense": 2}


def test_result_is_a_plain_tuple():
    (only,) = reciprocal_rank_fusion({"bm25": ["x"]}, k=0)
    assert only == Fused("x", 1.0, {"bm25": 1}) == ("x", 1.0, {"bm25": 1})


def test_equal_scores_prefer_the_better_single_rank():
    # k=0: "top" and "other" score 1/1, "twice" scores 1/2 + 1/2: all equal. "twice" was never
    # ranked first, so it comes last; "other" and "top" are then ordered by id.
    fused = reciprocal_rank_fusion({"dense": ["top", "twice"], "bm25": ["other", "twice"]}, k=0)
    assert [f.id for f in fused] == ["other", "top", "twice"]
    assert {f.score for f in fused} == {1.0}


def test_full_ties_are_broken_by_id_whatever_the_source_order():
    one = reciprocal_rank_fusion({"x": ["b"], "y": ["a"]})
    other = reciprocal_rank_fusion({"y": ["a"], "x": ["b"]})
    assert [f.id for f in one] == [f.id for f in other] == ["a", "b"]


def test_a_repeated_id_counts_once_at_its_first_rank():
    (only,) = reciprocal_rank_fusion({"dense": ["a", "a"]}, k=60)
    assert only.score == pytest.approx(1 / 61) and only.ranks == {"dense": 1}


def test_top_k_and_empty_inputs():
    rankings = {"dense": ["a", "b", "c"]}
    assert [f.id for f in reciprocal_rank_fusion(rankings, top_k=2)] == ["a", "b"]
    assert reciprocal_rank_fusion(rankings, top_k=0) == []
    assert reciprocal_rank_fusion({}) == []
    assert reciprocal_rank_fusion({"dense": [], "bm25": []}) == []


def test_negative_k_is_refused():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"dense": ["a"]}, k=-1)
