"""SQuAD-format files (v1.1, v2.0, TyDi GoldP, our gold set) into frozen dataclasses.

One reader for every file, so the article's gold set and public benchmarks go
through the same code. Each paragraph becomes a ``Context`` (the open-domain
corpus is all of them); each question a ``QAItem`` pointing at its context.

    >>> ds = load_squad("../shared/data/squad/dev-v2.0.json", limit=100)
    >>> ds.items[0].question, ds.context(ds.items[0].context_id).title
    ('In what country is Normandy located?', 'Normandy')
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from corpus.document import Document


GOLD_ARTICLE = Path(__file__).resolve().parent / "gold" / "article.json"  # the seed article's gold set


class DatasetError(ValueError):
    """A dataset file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Context:
    context_id: str  # "<article index>.<paragraph index>", stable for a given file
    title: str
    text: str


@dataclass(frozen=True)
class QAItem:
    qid: str
    question: str
    context_id: str
    answers: tuple[str, ...]  # every reference, duplicates kept as in the file
    answer_starts: tuple[int, ...]
    is_impossible: bool
    tags: tuple[str, ...] = ()  # optional labels of our gold set ("paraphrase", "cross-sentence", ...)


@dataclass(frozen=True)
class Dataset:
    path: str
    version: str
    sha256: str  # of the file's bytes: part of the eval index cache key
    contexts: tuple[Context, ...]  # all paragraphs of the file, whatever the limit
    items: tuple[QAItem, ...]  # questions in file order, cut to the limit

    @cached_property
    def _by_id(self) -> dict[str, Context]:
        return {c.context_id: c for c in self.contexts}

    def context(self, context_id: str) -> Context:
        return self._by_id[context_id]

    @property
    def has_unanswerable(self) -> bool:
        return any(item.is_impossible for item in self.items)

    def documents(self) -> list[Document]:
        """One Document per paragraph (doc_id = context_id), the corpus of an open-domain run."""
        source = f"squad:{Path(self.path).name}"
        return [Document(c.context_id, c.title, c.text, source) for c in self.contexts]


def _require(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise DatasetError(f"{path} is not a SQuAD-format file ({what}): expected data[].paragraphs[].qas[].")


def parse_squad(raw: dict, path: str | Path = "<inline>", limit: int | None = None, sha256: str = "") -> Dataset:
    """A Dataset from already-parsed SQuAD JSON; ``limit`` keeps the first N questions in file order."""
    path = Path(path)
    _require(isinstance(raw, dict) and isinstance(raw.get("data"), list), path, "no 'data' list")
    if limit is not None and limit < 0:
        raise DatasetError(f"--limit must be a positive number of questions, not {limit}.")
    contexts: list[Context] = []
    items: list[QAItem] = []
    for a, article in enumerate(raw["data"]):
        _require(isinstance(article, dict) and isinstance(article.get("paragraphs"), list), path,
                 f"article {a} has no 'paragraphs'")
        title = str(article.get("title", f"article {a}"))
        for p, para in enumerate(article["paragraphs"]):
            _require(isinstance(para, dict) and isinstance(para.get("context"), str), path,
                     f"paragraph {a}.{p} has no 'context'")
            cid = f"{a}.{p}"
            contexts.append(Context(cid, title, para["context"]))
            for q, qa in enumerate(para.get("qas", [])):
                if limit is not None and len(items) >= limit:
                    continue  # keep reading contexts: the corpus is the whole file
                items.append(_item(qa, cid, path, f"{a}.{p}.{q}"))
    return Dataset(str(path), str(raw.get("version", "")), sha256, tuple(contexts), tuple(items))


def _item(qa: dict, cid: str, path: Path, where: str) -> QAItem:
    _require(isinstance(qa, dict) and isinstance(qa.get("question"), str), path, f"question {where} has no text")
    answers = qa.get("answers") or []
    _require(isinstance(answers, list) and all(isinstance(x, dict) and "text" in x for x in answers), path,
             f"question {where} has malformed answers")
    texts = tuple(str(x["text"]) for x in answers)
    starts = tuple(int(x.get("answer_start", -1)) for x in answers)
    # v1.1 and TyDi have no is_impossible: a question without answers is unanswerable there too
    impossible = bool(qa.get("is_impossible", not texts))
    return QAItem(str(qa.get("id", where)), qa["question"], cid, () if impossible else texts,
                  () if impossible else starts, impossible, tuple(qa.get("tags", ())))


def load_squad(path: str | Path, limit: int | None = None) -> Dataset:
    """Read a SQuAD-format JSON file; errors users can meet are one-sentence ``DatasetError``s."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"There is no dataset file at {path}: check the path (e.g. ../shared/data/squad/dev-v1.1.json)."
        )
    data = path.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is not valid UTF-8 JSON ({exc}): check that the file is complete.") from None
    return parse_squad(raw, path, limit, hashlib.sha256(data).hexdigest())
