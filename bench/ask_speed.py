"""Benchmark `ask` on the bundled article: warm time per question, split into retrieve and read.

Asks every question of the article's gold set (eval/gold/article.json) --rounds
times after a warm-up and prints median and p95 per stage.

    python bench/ask_speed.py [--rounds 3] [--reader accurate] [--settle 0.9] [--precision int8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eval.datasets import GOLD_ARTICLE, load_squad  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from qa.config import add_config_arguments, config_from, reader_name  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    add_config_arguments(ap)
    args = ap.parse_args()
    import torch

    from qa.pipeline import Pipeline

    config = config_from(args)

    questions = [item.question for item in load_squad(GOLD_ARTICLE).items]
    t0 = time.perf_counter()
    pipe = Pipeline.from_config(config, progress=False)
    load_s = time.perf_counter() - t0
    for q in questions[:3]:
        pipe.ask(q)
    stages: dict[str, list[float]] = {"retrieve": [], "read": [], "total": []}
    tokens: list[int] = []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            a = pipe.ask(q)
            stages["total"].append((time.perf_counter() - t) * 1000)
            stages["retrieve"].append(a.timings.retrieve_ms)
            stages["read"].append(a.timings.read_ms)
            tokens.append(a.timings.tokens_read)
    print(f"reader {reader_name(config.reader_model)} ({config.reader_precision}), settle {config.settle_score}, "
          f"{len(questions)} questions x {args.rounds} rounds, threads {torch.get_num_threads()}, "
          f"cold start (index + models) {load_s:.1f} s")
    print(f"tokens read per question: median {statistics.median(tokens):.0f}, p95 {percentile(tokens, 95):.0f}")
    print(f"{'stage':<10}{'median ms':>11}{'p95 ms':>9}")
    for name, xs in stages.items():
        print(f"{name:<10}{statistics.median(xs):>11.1f}{percentile(xs, 95):>9.1f}")


if __name__ == "__main__":
    main()
