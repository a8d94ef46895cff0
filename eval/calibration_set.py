"""Build the set the reader's score is calibrated on: held-out SQuAD train questions, as the pipeline sees them.

In the product the reader is handed retrieved passages, and abstaining means "none of
these passages answers the question". So the calibration set pairs each question the
reader was *not* trained on (``qa.train_data.calibration_ids``: fixed by the first training
stage and excluded from every later one) with its own paragraph (answerable) and, as a second
item, with the most word-overlapping other paragraph of the same article (unanswerable) — the passage retrieval would most
likely hand over by mistake. Written in SQuAD v2 format for ``python -m eval calibrate``.

    python -m eval.calibration_set --out runs/calibration-set.json
    python -m eval calibrate --squad runs/calibration-set.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from qa.config import DEFAULT_READER
from qa.training.perturb import entity_pool, perturb
from qa.training.recipes import SQUAD_TRAIN as DEFAULT_TRAIN
from qa.training.data import (calibration_ids, load_examples, load_unanswerable, make_negative, trained_v2_ids,
                              v2_calibration_titles)
from qa.training.recipes import V2_DEV, V2_SPLIT


def calibration_items(train: str | Path, n: int, recipe: dict, perturbed: bool = False) -> dict:
    """SQuAD v2-format data: ``n`` unseen questions, each answerable and once more unanswerable.

    With ``perturbed``, a third item asks a perturbed look-alike of the question (``qa.perturb``)
    of its own paragraph: the "right passage, but it does not say that" case."""
    examples, paragraphs = load_examples(train)
    rng = random.Random(recipe.get("seed", 0) + 4)
    pool = entity_pool([e.question for e in examples]) if perturbed else []
    by_id = {e.qid: e for e in examples}
    unseen = [by_id[qid] for qid in calibration_ids(train, recipe, n)]
    articles: dict[str, list[dict]] = {}
    for ex in unseen:
        title = ex.qid.split("|", 1)[1]
        qid = ex.qid.split("|", 1)[0]
        paras = articles.setdefault(title, [])
        paras.append({"context": ex.context, "qas": [{"id": qid, "question": ex.question, "is_impossible": False,
                                                     "answers": [{"text": ex.answer, "answer_start": ex.answer_start}]}]})
        neg = make_negative(ex, paragraphs[title])
        if neg is not None:
            paras.append({"context": neg.context, "qas": [{"id": qid + "-neg", "question": ex.question,
                                                          "is_impossible": True, "answers": []}]})
        question = perturb(ex.question, ex.context, rng, pool) if perturbed else None
        if question is not None:
            paras.append({"context": ex.context, "qas": [{"id": qid + "-adv", "question": question,
                                                         "is_impossible": True, "answers": []}]})
    return {"version": "v2.0", "data": [{"title": t, "paragraphs": p} for t, p in sorted(articles.items())]}


def adversarial_items(train: str | Path, recipe: dict, reader_dir: str | Path) -> dict:
    """SQuAD v2-format data: the no-answer questions of SQuAD v2's calibration articles the reader never trained on.

    Written against their paragraph to look answerable, they are the negatives users meet ("Who is
    Kosovo's foreign minister?" of a text naming only its prime minister); a threshold chosen on
    easy negatives alone answers them. Which ones a reader trained on is read from its recipe
    (``qa.training.data.trained_v2_ids``)."""
    from transformers import AutoTokenizer

    from qa.adapters import tokenizer_folder

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder(str(reader_dir)))  # a delta reads with its base's
    seen = trained_v2_ids(train, recipe, tokenizer, V2_DEV, V2_SPLIT)
    titles = v2_calibration_titles(V2_SPLIT)
    everything = load_unanswerable(V2_DEV, V2_SPLIT)
    articles: dict[str, list[dict]] = {}
    for ex in everything:
        title = ex.qid.split("|v2-", 1)[1]
        if title in titles and ex.qid not in seen:
            articles.setdefault(f"v2:{title}", []).append({"context": ex.context, "qas": [
                {"id": ex.qid.split("|", 1)[0], "question": ex.question, "is_impossible": True, "answers": []}]})
    return {"version": "v2.0", "data": [{"title": t, "paragraphs": p} for t, p in sorted(articles.items())]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.calibration_set", description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", default=DEFAULT_TRAIN, help="the SQuAD v1.1 training file the reader was trained on")
    ap.add_argument("--out", required=True, help="where to write the SQuAD v2-format calibration set")
    ap.add_argument("--n", type=int, default=3000, help="unseen questions to take")
    ap.add_argument("--reader", default=str(DEFAULT_READER),
                    help="model folder whose training.json says which questions it was trained on")
    ap.add_argument("--perturbed", action="store_true",
                    help="add a perturbed unanswerable look-alike of each question on its own paragraph")
    ap.add_argument("--v2-unanswerable", action="store_true",
                    help="add the no-answer questions of SQuAD v2's calibration articles the reader never trained on")
    args = ap.parse_args(argv)
    recipe_path = Path(args.reader) / "training.json"
    if not recipe_path.is_file():
        raise SystemExit(f"error: {recipe_path} is missing: the calibration set needs the reader's training recipe.")
    recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
    try:
        data = calibration_items(args.train, args.n, recipe, args.perturbed)
        if args.v2_unanswerable:
            data["data"] += adversarial_items(args.train, recipe, args.reader)["data"]
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data), encoding="utf-8")
    n = sum(len(p["qas"]) for a in data["data"] for p in a["paragraphs"])
    print(f"{args.out}: {n} questions from {len(data['data'])} articles")


if __name__ == "__main__":
    main()
