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

``Memo`` keeps the results of recent items, so an item seen before (a reader window read for an
earlier question) costs nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
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


Key = TypeVar("Key")


class Memo(Generic[In, Out]):
    """``fn`` over items, each distinct item computed once while it is among the last ``capacity`` ones seen.

    Why: a reader window is a pure function of its token ids, and the same windows come back
    (a question asked again, the chat's warm-up question, a follow-up that reads the same
    passage, the same question under another setting in the Evaluate tab). Placed under a
    ``Coalescer``, it also computes identical items of concurrent callers once. Least recently
    used items go first; ``capacity`` 0 turns it off (every item computed, nothing kept).

        >>> memo = Memo(lambda xs: [x * x for x in xs], key=lambda x: x, capacity=2)
        >>> memo.run([3, 3, 4])                   # 3 computed once
        [9, 9, 16]
    """

    def __init__(self, fn: Callable[[list[In]], Sequence[Out]], key: Callable[[In], Key], capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"a memo's capacity is a number of items, 0 or more, not {capacity}")
        self._fn, self._key, self.capacity = fn, key, capacity
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # items answered from memory (tests and benchmarks read these)
        self.computed = 0

    def __len__(self) -> int:
        return len(self._kept)

    def run(self, items: Sequence[In]) -> list[Out]:
        keys = [self._key(item) for item in items]
        known: dict = {}
        with self._lock:
            for k in keys:
                if k in self._kept:
                    self._kept.move_to_end(k)
                    known[k] = self._kept[k]
        todo: dict = {}  # distinct keys to compute -> their first item, in order
        for k, item in zip(keys, items):
            if k not in known and k not in todo:
                todo[k] = item
        if todo:
            out = list(self._fn(list(todo.values())))
            if len(out) != len(todo):
                raise RuntimeError(f"memoised call returned {len(out)} results for {len(todo)} items")
            known.update(zip(todo, out))
        with self._lock:
            if self.capacity:
                for k in todo:
                    self._kept[k] = known[k]
                    self._kept.move_to_end(k)
                while len(self._kept) > self.capacity:
                    self._kept.popitem(last=False)
            self.computed += len(todo)
            self.hits += len(items) - len(todo)
        return [known[k] for k in keys]

    def forget(self) -> None:
        """Drop everything kept (benchmarks that time repeated questions call this between rounds)."""
        with self._lock:
            self._kept.clear()
