"""Benchmark `ask` on the bundled article: warm time per question, split into retrieve and read.

Asks every question of the article's gold set (eval/gold/article.json) --rounds times after a
warm-up and prints median and p95 per stage and the tokens read. With ``--versus`` a second
configuration (the baseline: the previous setting, another reader) is asked the same questions,
alternating question by question so that load on a shared machine hits both alike, and the
ratio of the two is printed next to the absolute figures.

    python bench/ask_speed.py [--rounds 3] [--reader accurate] [--settle 0.9] [--precision int8]
    python bench/ask_speed.py --reader accurate --settle 0.8 --versus "--settle none"
"""

from __future__ import annotations

import argparse
import os
import shlex
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

STAGES = ("retrieve", "read", "total")


def describe(pipe) -> str:
    c = pipe.config
    return f"reader {reader_name(c.reader_model)} ({pipe.reader.precision}), settle {c.settle_score}, top_k {c.top_k}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--versus", metavar="FLAGS", help='the baseline\'s settings flags, e.g. "--settle none" '
                    'or "--reader fast"; flags not given keep this run\'s values')  # fmt: skip
    add_config_arguments(ap)
    args = ap.parse_args()
    import torch

    from qa.pipeline import Pipeline
    from qa.reader import Reader

    config = config_from(args)
    questions = [item.question for item in load_squad(GOLD_ARTICLE).items]
    t0 = time.perf_counter()
    pipes = {"this": Pipeline.from_config(config, progress=False)}
    load_s = time.perf_counter() - t0
    if args.versus:
        base = config_from(ap.parse_args(shlex.split(args.versus)), base=config)
        same_reader = (base.reader_model, base.reader_precision) == (config.reader_model, config.reader_precision)
        reader = pipes["this"].reader if same_reader else Reader.from_config(base).load()
        pipes["baseline"] = Pipeline(pipes["this"].retriever, reader, base)
    for pipe in pipes.values():
        for q in questions[:3]:
            pipe.ask(q)
    stages = {label: {s: [] for s in STAGES} for label in pipes}
    tokens: dict[str, list[int]] = {label: [] for label in pipes}
    for _ in range(args.rounds):
        for q in questions:
            for label, pipe in pipes.items():  # alternate: the same moment of load for both
                pipe.reader.forget()  # computed, not recalled from the reader's window memo
                t = time.perf_counter()
                a = pipe.ask(q)
                stages[label]["total"].append((time.perf_counter() - t) * 1000)
                stages[label]["retrieve"].append(a.timings.retrieve_ms)
                stages[label]["read"].append(a.timings.read_ms)
                tokens[label].append(a.timings.tokens_read)
    print(f"{len(questions)} questions x {args.rounds} rounds, threads {torch.get_num_threads()}, "
          f"cold start of this (index + models) {load_s:.1f} s")
    for label, pipe in pipes.items():
        print(f"{label:<9} {describe(pipe)}; tokens read per question: median {statistics.median(tokens[label]):.0f}, "
              f"p95 {percentile(tokens[label], 95):.0f}")
    head = f"{'stage':<10}" + "".join(f"{label + ' p50':>15}{label + ' p95':>15}" for label in pipes)
    print(head + (f"{'ratio p50':>11}{'ratio p95':>11}" if len(pipes) == 2 else ""))
    for s in STAGES:
        row, p50, p95 = f"{s:<10}", [], []
        for label in pipes:
            xs = stages[label][s]
            p50.append(statistics.median(xs))
            p95.append(percentile(xs, 95))
            row += f"{p50[-1]:>15.1f}{p95[-1]:>15.1f}"
        if len(pipes) == 2:
            row += f"{p50[0] / p50[1]:>11.2f}{p95[0] / p95[1]:>11.2f}"
        print(row + "   (ms)")


if __name__ == "__main__":
    main()
