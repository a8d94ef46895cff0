"""What the reader's window memo costs and saves: its memory when full, and a question asked again.

The reader keeps the logits of its last ``QA_READ_MEMO`` (default 4,096) distinct windows
(``qa.batching.Memo``), so a question asked again, or a window two questions share, needs no
forward pass. This prints:

  1. the memory of a full memo (tracemalloc) for windows of ``--tokens`` tokens;
  2. for the first ``--questions`` gold questions over the article, with the configured reader:
     each answered once with the memo emptied first, then asked again: p50/p95 of both, the ratio,
     and whether every answer came back the same.

    python bench/read_memo.py [--reader accurate] [--questions 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from eval.datasets import load_squad  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from qa.batching import Memo  # noqa: E402
from qa.config import READ_MEMO_WINDOWS, Config, reader_path  # noqa: E402
from qa.reader import window_key  # noqa: E402
from qa.windows import Window  # noqa: E402

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold" / "article.json"


def full_memo_bytes(windows: int, tokens: int) -> int:
    """Bytes held by a memo of ``windows`` windows of ``tokens`` tokens (keys, start and end logits, bookkeeping)."""
    rng = np.random.default_rng(0)
    fake = [Window(0, rng.integers(1000, 30000, tokens).tolist(), None, [], []) for _ in range(windows)]
    logits = lambda ws: [(rng.standard_normal(tokens).astype(np.float32),  # noqa: E731 - as Reader._forward returns
                          rng.standard_normal(tokens).astype(np.float32)) for _ in ws]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    memo = Memo(logits, key=window_key, capacity=windows)
    memo.run(fake)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", default="accurate", help="fast, accurate, or a model folder")
    ap.add_argument("--questions", type=int, default=20, help="gold questions to ask twice")
    ap.add_argument("--tokens", type=int, default=256, help="window length for the memory figure")
    args = ap.parse_args()
    import torch

    from qa.pipeline import Pipeline

    size = full_memo_bytes(READ_MEMO_WINDOWS, args.tokens)
    print(f"a full memo: {READ_MEMO_WINDOWS} windows of {args.tokens} tokens hold {size / 1e6:.1f} MB "
          f"({size / READ_MEMO_WINDOWS / 1e3:.1f} kB a window)")
    pipe = Pipeline.from_config(Config(reader_model=reader_path(args.reader)), progress=False)
    questions = [it.question for it in load_squad(GOLD).items[: args.questions]]
    pipe.ask(questions[0])  # warm
    first, again, same = [], [], 0
    for q in questions:
        pipe.reader.forget()
        t = time.perf_counter()
        a = pipe.ask(q)
        first.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        b = pipe.ask(q)
        again.append(1000 * (time.perf_counter() - t))
        same += (a.text, a.score) == (b.text, b.score)
    memo = pipe.reader.memo
    print(f"{args.reader} reader ({pipe.reader.precision}), {torch.get_num_threads()} threads, {len(questions)} "
          f"gold questions, each asked with the memo emptied, then again")
    for name, times in (("computed", first), ("asked again", again)):
        print(f"{name:<12} p50 {statistics.median(times):8.1f} ms   p95 {percentile(times, 95):8.1f} ms")
    print(f"ratio again / computed at the median: {statistics.median(again) / statistics.median(first):.3f}; "
          f"same answer and score: {same} of {len(questions)}; windows from memory {memo.hits}, computed {memo.computed}")


if __name__ == "__main__":
    main()
