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
    context_id: str | None  # the paragraph (SQuAD) or document (a question set's doc_id); None: not named
    answers: tuple[str, ...]  # every reference, duplicates kept as in the file
    answer_starts: tuple[int, ...]
    is_impossible: bool
    tags: tuple[str, ...] = ()  # optional labels of our gold set ("paraphrase", "cross-sentence", ...)
    line: int = 0  # of a CSV/JSONL question set, for errors that name it (0: a SQuAD file)


@dataclass(frozen=True)
class Dataset:
    path: str
    version: str  # SQuAD's version field, or "csv" / "jsonl" for a question set (eval.questions)
    sha256: str  # of the file's bytes (and the split chosen): part of the eval index cache key
    contexts: tuple[Context, ...]  # all paragraphs of the file, whatever the limit; () for a question set
    items: tuple[QAItem, ...]  # questions in file order, cut to the limit
    notes: tuple[str, ...] = ()  # what was skipped while reading, for the user to see

    @property
    def has_own_corpus(self) -> bool:
        """A SQuAD file is its own corpus; a question set is asked against an index (``--index``)."""
        return bool(self.contexts)

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


def parse_squad(raw: dict, path: str | Path = "<inline>", limit: int | None = None, sha256: str = "",
                split: Split | None = None) -> Dataset:  # fmt: skip
    """A Dataset from already-parsed SQuAD JSON; ``limit`` keeps the first N questions in file order.

    With a ``split``, only its articles are read (questions and corpus); context ids keep the
    article's position in the whole file, so they are the same with or without a split.
    """
    path = Path(path)
    _require(isinstance(raw, dict) and isinstance(raw.get("data"), list), path, "no 'data' list")
    if limit is not None and limit < 0:
        raise DatasetError(f"--limit must be a positive number of questions, not {limit}.")
    if split is not None:
        titles = {str(article.get("title")) for article in raw["data"] if isinstance(article, dict)}
        missing = sorted(set(split.titles) - titles)
        if missing:
            raise DatasetError(f"Split {split.name!r} ({split.path}) names {len(missing)} article(s) that {path} does "
                               f"not have ({', '.join(missing[:3])}): check that the split belongs to this file.")
    contexts: list[Context] = []
    items: list[QAItem] = []
    for a, article in enumerate(raw["data"]):
        _require(isinstance(article, dict) and isinstance(article.get("paragraphs"), list), path,
                 f"article {a} has no 'paragraphs'")
        title = str(article.get("title", f"article {a}"))
        if split is not None and title not in split.titles:
            continue
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


def _read_json(path: Path, what: str, example: str = "../shared/data/squad/dev-v1.1.json") -> tuple[object, bytes]:
    if not path.is_file():
        raise DatasetError(f"There is no {what} at {path}: check the path (e.g. {example}).")
    data = path.read_bytes()
    try:
        return json.loads(data.decode("utf-8-sig")), data
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path} is not valid UTF-8 JSON ({exc}): check that the file is complete.") from None


def load_squad(path: str | Path, limit: int | None = None, split: Split | None = None) -> Dataset:
    """Read a SQuAD-format JSON file, all of it or a split's articles; errors are one-sentence ``DatasetError``s."""
    path = Path(path)
    raw, data = _read_json(path, "dataset file")
    digest = hashlib.sha256(data)
    if split is not None:  # another corpus, so another eval index
        digest.update(f"\0split:{split.name}:{sorted(split.titles)}".encode())
    return parse_squad(raw, path, limit, digest.hexdigest(), split)


@dataclass(frozen=True)
class Split:
    """A named list of article titles from a split file (``{"train": [titles], "report": [titles], ...}``)."""

    path: str
    name: str
    titles: frozenset[str]


def load_split(spec: str) -> Split:
    """``FILE:NAME`` (``--split``) as the titles of that split, e.g. ``dev-v2.0-split.json:report``."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file or not name:
        raise DatasetError(f"--split {spec!r} is not FILE:NAME (e.g. ../shared/data/squad/dev-v2.0-split.json:report).")
    raw, _ = _read_json(Path(file), "split file", "../shared/data/squad/dev-v2.0-split.json")
    names = [k for k, v in raw.items() if isinstance(v, list)] if isinstance(raw, dict) else []
    if name not in names:
        raise DatasetError(f"{file} has no split {name!r}; its splits are: {', '.join(names) or 'none'}.")
    if not all(isinstance(t, str) for t in raw[name]):
        raise DatasetError(f"{file}: split {name!r} must be a list of article titles.")
    return Split(file, name, frozenset(raw[name]))
