"""Concurrent callers' work run as one call: how questions asked at the same time share forward passes.

Why: on two cores one question's forward pass already uses both, so answering questions one
after another leaves only batching to gain — a batch of 16 windows costs far less than 16
batches of one. ``Coalescer.run`` needs no thread of its own: the first caller to find the
model idle becomes the leader, takes every request waiting (up to ``max_items`` items), runs
them in one call and hands each caller its share; callers that arrived meanwhile wait and the
next of them leads the following call. A lone caller runs at once, with no added wait.

    >>> square_all = Coalescer(lambda xs: [x * x for x in xs], max_items=64)
    >>> square_all.run([1, 2, 3])            # from any number of threads at once
    [1, 4, 9]
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Request(Generic[In, Out]):
    items: list[In]
    result: list[Out] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class Coalescer(Generic[In, Out]):
    """Runs ``fn`` over the items of every request waiting, one call at a time, and splits the results."""

    def __init__(self, fn: Callable[[list[In]], Sequence[Out]], max_items: int = 64) -> None:
        self._fn = fn
        self.max_items = max_items
        self._cond = threading.Condition()
        self._queue: deque[_Request[In, Out]] = deque()
        self._busy = False
        self.calls = 0  # how many times fn ran (bench/ui_latency.py reports items per call)
        self.items = 0

    def run(self, items: Sequence[In]) -> list[Out]:
        """``fn(items)`` as this caller's share of one call, possibly together with other callers' items."""
        request: _Request[In, Out] = _Request(list(items))
        if not request.items:
            return []
        with self._cond:
            self._queue.append(request)
            while not request.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch = self._take()
                self._cond.release()
                try:
                    self._execute(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        return request.result

    def _take(self) -> list[_Request[In, Out]]:
        """Requests in arrival order while they fit in ``max_items`` (always at least one)."""
        batch = [self._queue.popleft()]
        size = len(batch[0].items)
        while self._queue and size + len(self._queue[0].items) <= self.max_items:
            size += len(self._queue[0].items)
            batch.append(self._queue.popleft())
        return batch

    def _execute(self, batch: list[_Request[In, Out]]) -> None:
        flat = [item for request in batch for item in request.items]
        try:
            out = list(self._fn(flat))
            if len(out) != len(flat):
                raise RuntimeError(f"coalesced call returned {len(out)} results for {len(flat)} items")
        except BaseException as exc:  # every caller of this call sees the error, not only the leader
            for request in batch:
                request.error, request.done = exc, True
            return
        self.calls += 1
        self.items += len(flat)
        at = 0
        for request in batch:
            request.result, request.done = out[at : at + len(request.items)], True
            at += len(request.items)
