"""Metric functions against hand-computed cases."""

import math

import pytest

from eval.metrics import (
    QuestionResult,
    best_threshold,
    calibration_bins,
    contains_any,
    exact_match,
    f1_score,
    find_occurrences,
    mean_reciprocal_rank,
    normalize_answer,
    overlaps_any,
    percentile,
    recall_at_k,
    summarize,
)


def test_normalize_drops_case_punctuation_articles_and_extra_spaces():
    assert normalize_answer("The  Serb List!") == "serb list"
    assert normalize_answer('a "very destabilizing" development.') == "very destabilizing development"
    assert normalize_answer("An apple, the pear") == "apple pear"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("de-escalation") == "deescalation"  # as the official script does
    assert normalize_answer(None) == ""


def test_exact_match_uses_normalisation_and_the_best_reference():
    assert exact_match("the Serb List", ["Serb List"]) == 1.0
    assert exact_match("Kirby.", ["John Kirby", "Kirby"]) == 1.0
    assert exact_match("John", ["John Kirby", "Kirby"]) == 0.0
    assert exact_match("Vučić", ["Aleksandar Vučić", "Vučić"]) == 1.0


def test_f1_partial_overlap_computed_by_hand():
    # pred tokens [serb, list, party], gold [serb, list]: P = 2/3, R = 1, F1 = 0.8
    assert f1_score("the Serb List party", ["Serb List"]) == pytest.approx(0.8)
    # pred [john], gold [john, kirby]: P = 1, R = 1/2, F1 = 2/3
    assert f1_score("John", ["John Kirby"]) == pytest.approx(2 / 3)
    assert f1_score("tanks", ["artillery"]) == 0.0


def test_f1_takes_the_maximum_over_references():
    # against "US National Security Council": P = 3/3, R = 3/4 -> 6/7; against "National Security Council": 1.0
    assert f1_score("National Security Council", ["US National Security Council"]) == pytest.approx(6 / 7)
    assert f1_score("National Security Council", ["US National Security Council", "National Security Council"]) == 1.0


def test_f1_counts_repeated_tokens_once_each():
    # pred [kosovo, kosovo], gold [kosovo]: common = 1, P = 1/2, R = 1 -> 2/3
    assert f1_score("Kosovo Kosovo", ["Kosovo"]) == pytest.approx(2 / 3)


def test_empty_prediction_against_empty_reference():
    assert exact_match(None, []) == 1.0 and f1_score(None, []) == 1.0  # abstaining on an unanswerable question
    assert exact_match("", []) == 1.0
    assert exact_match("2008", []) == 0.0 and f1_score("2008", []) == 0.0  # answering it is wrong
    assert exact_match(None, ["2008"]) == 0.0 and f1_score(None, ["2008"]) == 0.0  # abstaining on an answerable one
    assert f1_score("the", ["2008"]) == 0.0  # normalises to empty
    assert exact_match(None, ["", "  "]) == 1.0  # references that normalise to nothing: unanswerable


def test_occurrences_containment_and_overlap():
    text = "KFOR and KFOR's force; KFORKFOR"
    assert find_occurrences(text, "KFOR") == [(0, 4), (9, 13), (23, 27), (27, 31)]
    assert find_occurrences("aaa", "aa") == [(0, 2), (1, 3)]  # overlapping occurrences count
    assert find_occurrences(text, "") == []
    assert contains_any(0, 10, [(9, 13)]) is False and contains_any(0, 13, [(9, 13)]) is True
    assert overlaps_any(12, 20, [(9, 13)]) is True and overlaps_any(13, 20, [(9, 13)]) is False  # half-open


def test_recall_and_mrr_over_ranks():
    ranks = [1, 3, None, 2]
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 3) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert recall_at_k([], 5) == 0.0 and mean_reciprocal_rank([]) == 0.0


def test_percentile_interpolates_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(48.0)  # position 3.8 -> 40 + 0.8 * 10
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


def test_calibration_bins():
    bins = calibration_bins([0.05, 0.15, 0.12, 1.0], [False, True, False, True], n_bins=10)
    assert [(b.lo, b.n, b.accuracy) for b in bins] == [(0.0, 1, 0.0), (0.1, 2, 0.5), (0.9, 1, 1.0)]
    assert bins[1].mean_score == pytest.approx(0.135)


def test_best_threshold_maximises_mean_f1():
    # q0 answerable & right (0.9), q1 unanswerable (0.3), q2 answerable & wrong (0.2)
    scores, answered, abstained = [0.9, 0.3, 0.2], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    t, f1 = best_threshold(scores, answered, abstained)
    assert t == pytest.approx(0.6) and f1 == pytest.approx(2 / 3)  # midpoint of 0.3 and 0.9
    assert best_threshold([0.5, 0.5], [1.0, 1.0], [0.0, 0.0]) == (0.0, 1.0)  # never abstain wins ties
    t, f1 = best_threshold([0.4], [0.0], [1.0])
    assert t > 0.4 and f1 == 1.0  # always abstain


def _result(qid, refs, prediction, top, score, rank=None, retrieve_ms=None, read_ms=None):
    return QuestionResult(qid, "q?", tuple(refs), prediction, top, score, exact_match(prediction, refs),
                          f1_score(prediction, refs), f1_score(top, refs), rank=rank, paragraph_rank=rank,
                          citation_ok=True if prediction and refs else None, retrieve_ms=retrieve_ms, read_ms=read_ms)


def test_summarize_splits_answerable_and_unanswerable():
    results = [
        _result("a", ["John Kirby"], "John Kirby", "John Kirby", 0.9, rank=1, retrieve_ms=10, read_ms=90),
        _result("b", ["2008"], None, "2008", 0.2, rank=4, retrieve_ms=20, read_ms=80),  # abstained wrongly
        _result("c", [], None, "Belgrade", 0.1, rank=None, retrieve_ms=30, read_ms=170),  # abstained rightly
        _result("d", [], "Kurti", "Kurti", 0.7, rank=None, retrieve_ms=40, read_ms=170),  # answered wrongly
    ]
    s = summarize(results)
    assert (s.n, s.n_answerable, s.n_no_answer) == (4, 2, 2)
    assert s.has_ans_em == 50.0 and s.has_ans_f1 == 50.0 and s.has_ans_f1_raw == 100.0
    assert s.overall_em == 50.0 and s.no_ans_acc == 50.0 and s.abstain_rate == 50.0
    assert s.recall_at(1) == 0.5 and s.recall_at(3) == 0.5 and s.recall_at(5) == 1.0
    assert s.mrr == pytest.approx((1 + 1 / 4) / 2)  # unanswerable questions are left out of retrieval figures
    assert s.citation_acc == 100.0
    assert s.latency("total") == (pytest.approx(150.0), pytest.approx(208.5))  # [100, 100, 200, 210]: 200 + 0.85 * 10
    js = s.to_json()
    for key in ("n", "n_no_answer", "em", "f1", "no_ans_acc", "recall@1", "recall@3", "recall@5", "mrr",
                "latency_ms_p50", "latency_ms_p95"):
        assert key in js
    assert s.to_json("all")["f1"] == 50.0 and js["f1"] == 50.0


def test_summarize_without_retrieval_or_unanswerables():
    s = summarize([_result("a", ["Banjskë"], "Banjskë", "Banjskë", 0.8)])
    assert s.recall is None and s.mrr is None and s.latency_ms is None and s.no_ans_acc is None
    assert s.to_json("all")["no_ans_acc"] is None and "recall@1" not in s.to_json("all")
