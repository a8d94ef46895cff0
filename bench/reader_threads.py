"""Why more chat clients cannot mean much more throughput here: the reader's cost per window, four ways.

The chat batches the windows of questions asked at the same time into one forward pass
(``qa.batching.Coalescer``). That pays where a batch of two costs much less than two passes;
on a CPU whose cores one pass already keeps busy it cannot. This measures, for one window of
the article (``--tokens`` long) and the configured reader, the wall time per window of:

  1 thread, batch 1  |  2 threads, batch 1  |  2 threads, batch 2  |  two 1-thread passes side by side

The last is two processes, each with one thread, each reading its own window at the same time:
what two clients get when neither waits for the other's pass. Each figure is the median and p95
over ``--runs`` passes, the cases interleaved round by round so that a noisy moment hits them all.

    python bench/reader_threads.py [--reader accurate] [--tokens 220] [--runs 10]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eval.metrics import percentile  # noqa: E402
from qa.config import DEFAULT_CORPUS, PRECISIONS, reader_path  # noqa: E402

QUESTION = "Which weapon did the Serbian army allegedly supply to the gunmen?"


def window_batch(reader, tokens: int, n: int) -> dict:
    """``n`` copies of one window of the article about ``tokens`` long, padded as the reader pads them."""
    from corpus.loading import load_path
    from qa.windows import pad_windows, tokenize_windows

    text = " ".join(d.text for d in load_path(DEFAULT_CORPUS))
    (window, *_) = tokenize_windows(reader._tokenizer, [QUESTION], [text], tokens, 0)
    return pad_windows([window] * n, reader._tokenizer.pad_token_id)


def timed_pass(reader, batch: dict) -> float:
    import torch

    t = time.perf_counter()
    with torch.inference_mode():
        reader._model(**batch)
    return time.perf_counter() - t


def side_worker(model: str, precision: str, tokens: int, go, done, out) -> None:
    """One process of the side-by-side case: one thread, one window per pass, started by ``go``."""
    import torch

    from qa.reader import Reader

    torch.set_num_threads(1)
    reader = Reader(model, precision=precision).load()
    batch = window_batch(reader, tokens, 1)
    timed_pass(reader, batch)  # warm
    out.put("ready")
    while go.get() is not None:
        out.put(timed_pass(reader, batch))
    done.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reader", default="accurate", help="fast, accurate, or a model folder")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS)
    ap.add_argument("--tokens", type=int, default=220, help="window length in tokens (the article's windows: ~220)")
    ap.add_argument("--runs", type=int, default=10, help="passes per case")
    args = ap.parse_args()
    import torch

    from qa.reader import Reader

    model = reader_path(args.reader)
    reader = Reader(model, precision=args.precision).load()
    one, two = window_batch(reader, args.tokens, 1), window_batch(reader, args.tokens, 2)
    ctx = mp.get_context("spawn")
    queues = [(ctx.Queue(), ctx.Queue(), ctx.Event()) for _ in range(2)]
    workers = [ctx.Process(target=side_worker, args=(model, args.precision, args.tokens, go, done, out), daemon=True)
               for go, out, done in queues]  # fmt: skip
    for w in workers:
        w.start()
    for _, out, _ in queues:
        out.get(timeout=300)
    cases: dict[str, list[float]] = {"1 thread, batch 1": [], "2 threads, batch 1": [], "2 threads, batch 2": [],
                                     "two 1-thread passes side by side": []}  # fmt: skip
    for _ in range(3):
        timed_pass(reader, two)  # warm both shapes
    for _ in range(args.runs):
        torch.set_num_threads(1)
        cases["1 thread, batch 1"].append(timed_pass(reader, one))
        torch.set_num_threads(2)
        cases["2 threads, batch 1"].append(timed_pass(reader, one))
        cases["2 threads, batch 2"].append(timed_pass(reader, two) / 2)
        for go, _, _ in queues:
            go.put(1)
        cases["two 1-thread passes side by side"].append(max(out.get(timeout=300) for _, out, _ in queues) / 2)
    for go, _, done in queues:
        go.put(None)
        done.wait(30)
    print(f"{args.reader} reader ({reader.precision}), one window of {args.tokens} tokens, {args.runs} runs a case, "
          f"{os.cpu_count()} CPUs")
    base = statistics.median(cases["2 threads, batch 1"])
    print(f"{'case':<36}{'ms/window p50':>15}{'p95':>9}{'vs 2 threads, batch 1':>24}")
    for name, times in cases.items():
        p50 = statistics.median(times)
        print(f"{name:<36}{1000 * p50:>15.0f}{1000 * percentile(times, 95):>9.0f}{p50 / base:>23.2f}x")


if __name__ == "__main__":
    main()
