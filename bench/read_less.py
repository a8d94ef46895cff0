"""Benchmark reading less: answers, tokens read and read time for each ``--settle`` value, side by side.

The reader reads passages best-ranked first and stops once an answer scores at least the
settle value (``Reader.read_ranked``). This asks every question of each set once per value,
interleaved question by question (so load on the machine hits every value alike), and prints
per value: EM/F1 over answerable questions, NoAns accuracy, how many answers differ from
reading every passage ("none"), median/p95 tokens read and median/p95 read time.

    python bench/read_less.py                                  # the article's gold and tune sets
    python bench/read_less.py --settle none,0.95,0.9,0.8 --reader accurate
    python bench/read_less.py --squad ../shared/data/squad/dev-v1.1.json --limit 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})

from eval.datasets import GOLD_ARTICLE, load_squad  # noqa: E402
from eval.metrics import exact_match, f1_score, percentile  # noqa: E402
from qa.config import Config, reader_path  # noqa: E402

TUNE = GOLD_ARTICLE.with_name("article-tune.json")


def settle_values(text: str) -> list[float | None]:
    return [None if v.strip().lower() == "none" else float(v) for v in text.split(",") if v.strip()]


def run_set(name: str, pipelines: dict[str, object], items) -> None:
    """Ask each question with every pipeline in turn; print one row per settle value."""
    from tqdm import tqdm

    answers: dict[str, list] = {label: [] for label in pipelines}
    for item in tqdm(items, desc=name, unit="q", leave=False):
        for label, pipe in pipelines.items():
            pipe.reader.forget()  # the variants share one reader: each reads for itself, not from its memo
            answers[label].append(pipe.ask(item.question))
    base = answers["none"] if "none" in answers else None
    answerable = [i for i, it in enumerate(items) if not it.is_impossible]
    no_answer = [i for i, it in enumerate(items) if it.is_impossible]
    print(f"\n{name}: {len(items)} questions ({len(no_answer)} unanswerable)")
    print(f"{'settle':>7}{'EM':>7}{'F1':>7}{'NoAns':>7}{'changed':>9}{'tok p50':>9}{'tok p95':>9}"
          f"{'pass p50':>9}{'read p50':>10}{'read p95':>10}")
    for label, got in answers.items():
        em = 100 * statistics.fmean(exact_match(got[i].text, items[i].answers) for i in answerable) if answerable else 0
        f1 = 100 * statistics.fmean(f1_score(got[i].text, items[i].answers) for i in answerable) if answerable else 0
        noans = (100 * statistics.fmean(got[i].text is None for i in no_answer)) if no_answer else float("nan")
        changed = sum(a.text != b.text for a, b in zip(got, base)) if base else 0
        tokens = [a.timings.tokens_read for a in got]
        passages = [a.timings.passages_read for a in got]
        read = [a.timings.read_ms for a in got]
        print(f"{label:>7}{em:>7.1f}{f1:>7.1f}{noans:>7.1f}{changed:>9}{statistics.median(tokens):>9.0f}"
              f"{percentile(tokens, 95):>9.0f}{statistics.median(passages):>9.0f}{statistics.median(read):>10.1f}"
              f"{percentile(read, 95):>10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--settle", default="none,0.95,0.9,0.8,0.7", help="comma-separated values; none = read all")
    ap.add_argument("--reader", default="fast", help="fast, accurate, or a model folder")
    ap.add_argument("--squad", help="also a SQuAD-format file, open-domain over all its paragraphs")
    ap.add_argument("--limit", type=int, default=1000, help="questions of --squad")
    ap.add_argument("--no-article", action="store_true", help="skip the article's gold and tune sets")
    args = ap.parse_args()
    import torch

    from qa.pipeline import Pipeline

    base = Config(reader_model=reader_path(args.reader))
    first = Pipeline.from_config(base, progress=False)
    print(f"reader {args.reader}, threads {torch.get_num_threads()}")

    def variants(retriever) -> dict[str, object]:
        return {("none" if v is None else f"{v:g}"): Pipeline(retriever, first.reader, dataclasses.replace(base, settle_score=v))
                for v in settle_values(args.settle)}  # fmt: skip

    if not args.no_article:
        pipes = variants(first.retriever)
        for item in load_squad(GOLD_ARTICLE).items[:2]:  # warm-up
            first.ask(item.question)
        run_set("gold", pipes, load_squad(GOLD_ARTICLE).items)
        run_set("tune", pipes, load_squad(TUNE).items)
    if args.squad:
        from eval.indexes import open_eval_index

        dataset = load_squad(args.squad, limit=args.limit)
        run_set(Path(args.squad).name, variants(open_eval_index(dataset, base)), dataset.items)


if __name__ == "__main__":
    main()
