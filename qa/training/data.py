"""Training data for the reader: SQuAD-format examples, negatives, windows with token labels, batches.

Pure data preparation (no model), so it can be checked without training:

    examples = build_examples("train-v1.1.json", limit=1000, neg_ratio=0.2, extras=[], seed=13)
    windows = featurize(examples, tokenizer, max_length=384, stride=128)
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qa.training.perturb import entity_pool, perturb
from qa.windows import Window, pad_windows, tokenize_windows

_WORD = re.compile(r"\w+")
CALIBRATION_N = 3000
V2_CALIBRATION_EVERY = 3


@dataclass(frozen=True)
class Example:
    qid: str
    question: str
    context: str
    answer: str  # "" means the context does not answer the question
    answer_start: int


def load_examples(path: str | Path) -> tuple[list[Example], dict[str, list[str]]]:
    """SQuAD-format file -> examples (first reference answer) and each article's paragraphs.

    Parsed once per process: rebuilding a continued run's earlier stages reads the same file
    several times. The list is a fresh copy (callers shuffle it); the paragraph map is shared."""
    examples, by_title = _parse_examples(str(Path(path).resolve()))
    return list(examples), by_title


@functools.lru_cache(maxsize=4)
def _parse_examples(path: str) -> tuple[tuple[Example, ...], dict[str, list[str]]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    examples, by_title = [], {}
    for art_i, article in enumerate(data):
        title = f"{art_i}:{article.get('title', '')}"
        by_title[title] = [p["context"] for p in article["paragraphs"]]
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if not qa.get("answers"):
                    continue
                ans = qa["answers"][0]
                examples.append(
                    Example(qa["id"] + "|" + title, qa["question"], para["context"], ans["text"], ans["answer_start"])
                )
    return tuple(examples), by_title


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3}


def make_negative(ex: Example, paragraphs: list[str]) -> Example | None:
    """The other paragraph of the article that looks most like it answers, but cannot."""
    q = _words(ex.question)
    best, best_overlap = None, -1
    for para in paragraphs:
        if para == ex.context or ex.answer.lower() in para.lower():
            continue
        overlap = len(q & _words(para))
        if overlap > best_overlap:
            best, best_overlap = para, overlap
    if best is None:
        return None
    return Example(ex.qid + "|neg", ex.question, best, "", 0)


def build_examples(train: str | Path, limit: int, neg_ratio: float, extras: list[tuple[str, int]], seed: int,
                   exclude: frozenset[str] | set[str] = frozenset(), adv_ratio: float = 0.0,
                   unanswerable: list[Example] = ()) -> list[Example]:
    """A seeded sample: ``limit`` SQuAD questions, ``neg_ratio`` negatives per question, and more sets.

    ``extras`` are further answerable SQuAD-format sets as (path, how many); the first draws from
    the main random stream (as TyDi always has), the others from streams of their own, so that
    adding a set never changes which SQuAD questions an earlier recipe sampled. ``exclude`` drops
    question ids before sampling (what an earlier stage trained on, and the calibration questions),
    so a continued run only sees new questions. ``adv_ratio`` adds that many perturbed unanswerable
    look-alikes per question (``qa.training.perturb``), paired with the question's own paragraph.
    ``unanswerable`` examples (SQuAD v2's adversarial questions, ``load_unanswerable``) join as they are.
    """
    rng = random.Random(seed)
    squad, paragraphs = load_examples(train)
    pool = entity_pool([e.question for e in squad]) if adv_ratio else []
    if exclude:
        squad = [e for e in squad if e.qid not in exclude]
    rng.shuffle(squad)
    squad = squad[:limit] if limit else squad
    chosen = list(squad)
    n_neg = int(len(squad) * neg_ratio)
    for ex in squad[:n_neg]:
        neg = make_negative(ex, paragraphs[ex.qid.split("|", 1)[1]])
        if neg is not None:
            chosen.append(neg)
    adv_rng = random.Random(seed + 3)
    for ex in squad[max(0, len(squad) - int(len(squad) * adv_ratio)) :] if adv_ratio else []:
        question = perturb(ex.question, ex.context, adv_rng, pool)
        if question is not None:
            chosen.append(Example(ex.qid + "|adv", question, ex.context, "", 0))
    for n, (path, how_many) in enumerate(extras):
        if not how_many:
            continue
        more, _ = load_examples(path)
        (rng if n == 0 else random.Random(seed + 10 + n)).shuffle(more)
        chosen.extend(more[:how_many])
    chosen.extend(unanswerable)
    rng.shuffle(chosen)
    return chosen


def load_unanswerable(v2_file: str | Path, split_file: str | Path, split: str = "train",
                      exclude_titles: frozenset[str] | set[str] = frozenset()) -> list[Example]:  # fmt: skip
    """SQuAD v2's unanswerable questions of the articles ``split_file`` puts in ``split``.

    Only these may be trained on (shared/data/README.md): the answerable questions of the
    same articles are SQuAD v1.1 dev questions, and the ``report`` articles are where v2 is scored.
    ``exclude_titles`` leaves articles out (``v2_calibration_titles``: kept for calibration)."""
    titles = set(json.loads(Path(split_file).read_text(encoding="utf-8"))[split]) - set(exclude_titles)
    data = json.loads(Path(v2_file).read_text(encoding="utf-8"))["data"]
    return [
        Example(qa["id"] + "|v2-" + article["title"], qa["question"], para["context"], "", 0)
        for article in data if article["title"] in titles
        for para in article["paragraphs"]
        for qa in para["qas"] if qa.get("is_impossible")
    ]


def v2_calibration_titles(split_file: str | Path) -> set[str]:
    """The SQuAD v2 ``train`` articles that ``--v2-holdout`` keeps out of training, to calibrate abstention on.

    Every third title in sorted order (positions 2, 5, 8, ...: 6 of the 18 articles). Why: the
    other-paragraph and perturbed negatives of the calibration set are easier than questions
    written to look answerable, and a threshold chosen on easy negatives answers the hard ones."""
    return set(sorted(json.loads(Path(split_file).read_text(encoding="utf-8"))["train"])[2::V2_CALIBRATION_EVERY])


def stage_examples(train: str | Path, recipe: dict, v2_file: str | Path, split_file: str | Path,
                   exclude: set[str] | None = None) -> list[Example]:  # fmt: skip
    """The examples of one stage (``training.json``'s fields), as training builds them and to rebuild them (seeded).

    ``exclude``: the question ids earlier stages made unavailable, when the caller has them already."""
    earlier = recipe.get("continued_from")
    if exclude is None:
        exclude = unavailable_ids(train, earlier) if earlier else set()
    holdout = v2_calibration_titles(split_file) if recipe.get("v2_holdout") else frozenset()
    unanswerable = load_unanswerable(v2_file, split_file, exclude_titles=holdout) if recipe["v2_unanswerable"] else []
    extras = [(spec.rsplit(":", 1)[0], int(spec.rsplit(":", 1)[1])) for spec in recipe["extra"]]
    return build_examples(train, recipe["squad_limit"], recipe["neg_ratio"], extras, recipe["seed"], exclude=exclude,
                          adv_ratio=recipe["adv_ratio"], unanswerable=unanswerable)  # fmt: skip


def trained_v2_ids(train: str | Path, recipe: dict, tokenizer, v2_file: str | Path, split_file: str | Path) -> set[str]:
    """Ids of the SQuAD v2 no-answer questions any stage of ``recipe`` took a training step on.

    A stage cut short by ``max_steps`` saw only the windows of its first steps; which ones is
    fixed by its seed, so they are found by rebuilding its batches (a minute or two)."""
    earlier = recipe.get("continued_from")
    seen = trained_v2_ids(train, earlier, tokenizer, v2_file, split_file) if earlier else set()
    if not recipe["v2_unanswerable"]:
        return seen
    examples = stage_examples(train, recipe, v2_file, split_file)
    owner, lengths = [], []
    for lo in range(0, len(examples), 1000):
        for win, _, _ in featurize(examples[lo : lo + 1000], tokenizer, recipe["max_length"], recipe["stride"]):
            owner.append(lo + win.pair)
            lengths.append(len(win.input_ids))
    batches = make_batches(lengths, recipe["batch_size"], recipe["seed"]) * recipe.get("epochs", 1)
    steps = recipe.get("steps") or len(batches)
    return seen | {examples[owner[i]].qid for batch in batches[:steps] for i in batch if "|v2-" in examples[owner[i]].qid}


def trained_ids(train: str | Path, recipe: dict) -> set[str]:
    """Ids of the SQuAD questions a recorded training run (``training.json``) learnt from, all stages."""
    earlier = recipe.get("continued_from")
    before = trained_ids(train, earlier) if earlier else set()
    exclude = before | set(calibration_ids(train, earlier)) if earlier else set()
    # negatives draw no random numbers, so leaving them out (neg_ratio 0) samples the same questions, faster
    return before | {e.qid for e in build_examples(train, recipe["squad_limit"], 0.0, [], recipe["seed"],
                                                   exclude=exclude)}


def unavailable_ids(train: str | Path, recipe: dict) -> set[str]:
    """What a run continuing ``recipe`` must not train on: every earlier stage's questions and the calibration set."""
    return trained_ids(train, recipe) | set(calibration_ids(train, recipe))


def first_stage(recipe: dict) -> dict:
    while recipe.get("continued_from"):
        recipe = recipe["continued_from"]
    return recipe


def calibration_ids(train: str | Path, recipe: dict, n: int | None = None) -> list[str]:
    """The SQuAD-train questions kept out of every training stage to calibrate the score on.

    Fixed by the first stage's recipe (its ``calibration_n``, default 3000), so a continued run
    keeps the same calibration set; asking for more than were kept out is an error."""
    recipe = first_stage(recipe)
    kept_out = recipe.get("calibration_n", CALIBRATION_N)
    n = kept_out if n is None else n
    if n > kept_out:
        raise ValueError(
            f"only {kept_out} questions were kept out of training for calibration; ask for {kept_out} or fewer."
        )
    used = trained_ids(train, recipe)
    unseen = [e.qid for e in load_examples(train)[0] if e.qid not in used]
    random.Random(recipe["seed"] + 2).shuffle(unseen)
    return unseen[:n]


def featurize(examples: list[Example], tokenizer, max_length: int, stride: int) -> list[tuple[Window, int, int]]:
    """Windows as the reader cuts them (``qa.windows``), each labelled with the answer's token span or [CLS] (0, 0)."""
    feats = []
    for lo in range(0, len(examples), 1000):
        batch = examples[lo : lo + 1000]
        for win in tokenize_windows(tokenizer, [e.question.strip() for e in batch], [e.context for e in batch],
                                    max_length, stride):
            ex = batch[win.pair]
            start = end = 0
            if ex.answer:
                a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer)
                ctx = [t for t, inside in enumerate(win.context) if inside]
                if win.offsets[ctx[0]][0] <= a0 and win.offsets[ctx[-1]][1] >= a1:
                    start = next(t for t in ctx if win.offsets[t][1] > a0)
                    end = next(t for t in reversed(ctx) if win.offsets[t][0] < a1)
            feats.append((win, start, end))
    return feats


def make_batches(n_feats: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Length-bucketed batches in a seeded order: similar lengths pad little, order stays random."""
    rng = random.Random(seed + 1)
    order = list(range(len(n_feats)))
    rng.shuffle(order)
    batches = []
    group = batch_size * 64
    for lo in range(0, len(order), group):
        chunk = sorted(order[lo : lo + group], key=lambda i: n_feats[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def collate(feats, idx, pad_id: int) -> dict:
    """One training batch: the reader's padded inputs plus start/end labels."""
    import torch

    batch = pad_windows([feats[i][0] for i in idx], pad_id)
    batch["start_positions"] = torch.tensor([feats[i][1] for i in idx])
    batch["end_positions"] = torch.tensor([feats[i][2] for i in idx])
    return batch
