"""qa.batching: concurrent callers share one call, and each gets exactly its own results back."""

import threading
import time

import pytest

from qa.batching import Coalescer


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
