"""Benchmark the reader: load time, and one question over 5 passages of ~150 words, warm, on this CPU.

Compares bf16, fp32 and int8 (per-channel dynamic quantization) and, given --squad, checks what each
costs in scores (EM/F1 on the first --limit questions, gold paragraph given).

    python bench/reader_speed.py [--runs 50] [--squad ../shared/data/squad/dev-v1.1.json --limit 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from corpus.loading import load_path  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from qa.config import DEFAULT_CORPUS, reader_path  # noqa: E402
from qa.reader import PRECISIONS, Reader  # noqa: E402

QUESTION = "Which weapon did the Serbian army allegedly supply to the gunmen?"


def five_passages() -> list[str]:
    words = " ".join(d.text for d in load_path(DEFAULT_CORPUS)).split()
    words = (words * 2)[:750]
    return [" ".join(words[i : i + 150]) for i in range(0, 750, 150)]


def time_reader(model: str, precision: str, runs: int, passages: list[str]) -> dict:
    t0 = time.perf_counter()
    reader = Reader(model, precision=precision).load()
    load_s = time.perf_counter() - t0
    for _ in range(3):
        reader.read(QUESTION, passages)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        top = reader.read(QUESTION, passages)
        times.append((time.perf_counter() - t) * 1000)
    return {"reader": reader, "load_s": load_s, "median_ms": statistics.median(times), "p95_ms": percentile(times, 95),
            "answer": top[0].text if top else None}


def squad_scores(reader: Reader, path: str, limit: int) -> tuple[float, float]:
    """EM/F1 on the answerable questions of the first ``limit``, gold paragraph given (``eval.run``)."""
    from eval.datasets import load_squad
    from eval.run import evaluate_reader

    summary = evaluate_reader(reader, load_squad(path, limit=limit), progress=False).summary
    return summary.has_ans_em, summary.has_ans_f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--squad", help="SQuAD-format file to check that bf16 keeps the scores")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--reader", default="fast", help="fast, accurate, or a model folder (default: %(default)s)")
    args = ap.parse_args()
    import torch

    passages = five_passages()
    model = reader_path(args.reader)
    print(f"reader: {args.reader}  threads: {torch.get_num_threads()}  passages: 5 x 150 words")
    print(f"{'precision':<10}{'load s':>8}{'median ms':>11}{'p95 ms':>9}{'EM':>7}{'F1':>7}  answer")
    for precision in PRECISIONS[1:]:  # auto is one of the others
        r = time_reader(model, precision, args.runs, passages)
        em = f1 = float("nan")
        if args.squad:
            em, f1 = squad_scores(r["reader"], args.squad, args.limit)
        print(f"{precision:<10}{r['load_s']:>8.2f}{r['median_ms']:>11.1f}{r['p95_ms']:>9.1f}{em:>7.1f}{f1:>7.1f}  "
              f"{r['answer']}")


if __name__ == "__main__":
    main()
