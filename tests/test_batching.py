"""qa.batching: concurrent callers share one call, and each gets exactly its own results back; a memo computes each item once."""

import threading
import time

import pytest

from qa.batching import Coalescer, Memo


def test_a_lone_caller_runs_at_once():
    calls = []
    square = Coalescer(lambda xs: calls.append(list(xs)) or [x * x for x in xs], max_items=8)
    assert square.run([1, 2, 3]) == [1, 4, 9]
    assert square.run([]) == [] and calls == [[1, 2, 3]]


def test_concurrent_callers_share_calls_and_get_their_own_results():
    started = threading.Event()

    def slow_double(xs):
        started.set()
        time.sleep(0.05)  # long enough for the other callers to queue up behind the first call
        return [2 * x for x in xs]

    double = Coalescer(slow_double, max_items=64)
    results: dict[int, list[int]] = {}

    def caller(i):
        results[i] = double.run([i * 10 + k for k in range(3)])

    first = threading.Thread(target=caller, args=(0,))
    first.start()
    started.wait()
    others = [threading.Thread(target=caller, args=(i,)) for i in range(1, 9)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert results == {i: [2 * (i * 10 + k) for k in range(3)] for i in range(9)}
    assert double.calls < 9 and double.items == 27  # the queued callers were served together


def test_an_error_reaches_every_caller_of_that_call_and_the_next_call_works():
    def fail_on_negative(xs):
        if any(x < 0 for x in xs):
            raise ValueError("negative")
        return xs

    same = Coalescer(fail_on_negative)
    with pytest.raises(ValueError, match="negative"):
        same.run([-1])
    assert same.run([5]) == [5]


def test_a_memo_computes_each_distinct_item_once_and_forgets_the_oldest():
    calls = []
    square = Memo(lambda xs: calls.append(list(xs)) or [x * x for x in xs], key=lambda x: x, capacity=3)
    assert square.run([2, 3, 2]) == [4, 9, 4] and calls == [[2, 3]]  # a repeat within one call is computed once
    assert square.run([3, 2]) == [9, 4] and calls == [[2, 3]]  # both remembered
    assert square.run([5, 6]) == [25, 36] and calls[-1] == [5, 6] and len(square) == 3  # 3 is the oldest now
    assert square.run([3]) == [9] and calls[-1] == [3]  # forgotten, so computed again
    assert square.hits == 3 and square.computed == 5
    square.forget()
    assert len(square) == 0 and square.run([6]) == [36] and calls[-1] == [6]


def test_a_memo_of_capacity_zero_computes_everything_and_keeps_nothing():
    calls = []
    ident = Memo(lambda xs: calls.append(list(xs)) or list(xs), key=lambda x: x, capacity=0)
    assert ident.run([1, 1]) == [1, 1] and ident.run([1]) == [1]
    assert calls == [[1], [1]] and len(ident) == 0
    with pytest.raises(ValueError, match="0 or more"):
        Memo(list, key=lambda x: x, capacity=-1)


def test_a_memo_under_a_coalescer_serves_concurrent_identical_requests_from_one_computation():
    computed = []
    gate = threading.Event()

    def slow_square(xs):
        computed.extend(xs)
        gate.wait(5)  # the first call holds the model while the other callers queue up behind it
        return [x * x for x in xs]

    shared = Coalescer(Memo(slow_square, key=lambda x: x, capacity=16).run, max_items=64)
    results: dict[int, list[int]] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, shared.run([7, 8]))) for i in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert all(results[i] == [49, 64] for i in range(6))
    assert sorted(computed) == [7, 8]  # six callers, two distinct items, each computed once
