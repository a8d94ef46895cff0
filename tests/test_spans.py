"""Span decoding and calibration, computed by hand on tiny logit vectors."""

import math

import numpy as np

from qa.spans import Calibration, calibrated_score, decode_window, load_calibration, save_calibration


def test_best_span_is_joint_not_independent_argmax():
    # the independent argmax would be start=3, end=1 (end before start)
    start = np.array([0.0, 1.0, 0.0, 5.0])
    end = np.array([0.0, 4.0, 2.0, 0.0])
    mask = np.array([False, True, True, True])
    best = decode_window(start, end, mask, max_answer_tokens=5, top_n=3)
    assert (best[0].start, best[0].end, best[0].logit) == (1, 1, 5.0)
    assert all(s.end >= s.start for s in best)
    # 3 + 0 = 5 too, ranked after the earlier-found tie by stable sort of the flattened matrix
    assert {(s.start, s.end) for s in best[:2]} == {(1, 1), (3, 3)}


def test_spans_never_leave_the_context():
    start = np.array([9.0, 9.0, 1.0, 0.0, 9.0])  # [CLS], question token, ctx, ctx, [SEP]/padding
    end = np.array([9.0, 9.0, 0.0, 1.0, 9.0])
    mask = np.array([False, False, True, True, False])
    spans = decode_window(start, end, mask, max_answer_tokens=30, top_n=10)
    assert [(s.start, s.end) for s in spans] == [(2, 3), (2, 2), (3, 3)]


def test_max_answer_length_is_a_band():
    start = np.array([5.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 5.0])
    spans = decode_window(start, end, np.ones(4, bool), max_answer_tokens=2, top_n=1)
    assert spans[0].end - spans[0].start < 2


def test_empty_context_gives_nothing():
    assert decode_window(np.zeros(3), np.zeros(3), np.zeros(3, bool)) == []


def test_calibrated_score_is_a_sigmoid_of_both_logits():
    cal = Calibration(w_span=0.5, w_null=-0.25, bias=1.0, threshold=0.4)
    assert math.isclose(calibrated_score(4.0, 2.0, cal), 1 / (1 + math.exp(-(2.0 - 0.5 + 1.0))))
    assert 0.0 < calibrated_score(-1e9, 0.0, cal) < 1e-20  # clipped, no overflow


def test_calibration_round_trip(tmp_path):
    assert load_calibration(tmp_path) == Calibration()  # an uncalibrated model gets the default
    cal = Calibration(0.3, -0.2, 0.1, 0.55)
    save_calibration(tmp_path, cal, {"fitted_on": "test"})
    assert load_calibration(tmp_path) == cal
