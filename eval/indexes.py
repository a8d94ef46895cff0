"""Every index eval opens, in one place: a SQuAD file's own paragraphs, or the user's index.

These are eval's only calls into ``index/`` (the Evaluate tab reaches them through here too), so
a change to how indexes are opened or built is made here once.

    >>> retriever = open_eval_index(load_squad("eval/gold/article.json"), Config())   # cached in .cache/eval-index
    >>> retriever = open_question_index(load_questions("mine.csv"), Config(index_dir=Path("my-index")))
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from eval.datasets import Dataset
from qa.config import REPO_ROOT, Config

EVAL_INDEX_ROOT = REPO_ROOT / ".cache" / "eval-index"


def index_cache_dir(dataset: Dataset, config: Config) -> Path:
    """Where the index of a file's paragraphs is cached: keyed by file content, embedder and chunking.

    The question limit is not part of the key: the corpus is always every paragraph of the file.
    """
    key = f"{dataset.sha256}|{config.embed_model}|{config.chunk_words}|{config.chunk_overlap_sentences}"
    return EVAL_INDEX_ROOT / hashlib.sha256(key.encode()).hexdigest()[:16]


def open_eval_index(dataset: Dataset, config: Config, progress: bool = True):
    """A retriever over the dataset's paragraphs: the cached index, built or brought up to date first.

    ``qa.indexes.open_index``, as every front end opens an index: a commit is atomic, so an
    interrupted build leaves either no index or a complete one, never a partial one to redo.
    """
    from qa.indexes import open_index

    path = index_cache_dir(dataset, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open_index(config, path=path, sources=dataset.documents(), progress=progress)


def open_user_index(config: Config, progress: bool = True):
    """The index a user's questions are asked against, opened as the chat opens it (the default built on first use)."""
    from qa.indexes import open_index

    return open_index(config, progress=progress)


def document_ids(store) -> set[str]:
    """The ids of the documents an index holds (what a question set's doc_id column may name)."""
    return {d.doc_id for d in store.documents()}


def open_question_index(dataset: Dataset, config: Config, progress: bool = True):
    """``open_user_index``, after checking that every document the set names is in it."""
    from eval.questions import check_documents

    store = open_user_index(config, progress)
    check_documents(dataset, document_ids(store), config.index_path)
    return store
