"""Every index eval opens, in one place: a SQuAD file's own paragraphs, or the user's index.

These are eval's only calls into ``index/`` (the Evaluate tab reaches them through here too), so
a change to how indexes are opened or built is made here once.

    >>> store = open_eval_index(load_squad("eval/gold/article.json"), Config())   # cached in .cache/eval-index
    >>> store = open_question_index(load_questions("mine.csv"), Config(index_dir=Path("my-index")))
"""

from __future__ import annotations

import hashlib
import shutil
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
    """Reuse the cached index of the dataset's paragraphs, or build it (a partial build is redone)."""
    from index.embedder import Embedder
    from index.store import IndexStore, StoreError

    path = index_cache_dir(dataset, config)
    done = path.with_name(path.name + ".done")  # written only after every document is in
    embedder = Embedder(config.embed_model)
    if done.is_file():
        try:
            return IndexStore.open(path, embedder=embedder)
        except StoreError:
            done.unlink()  # damaged cache: build it again
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = IndexStore.create(path, embedder, chunk_words=config.chunk_words,
                              overlap_sentences=config.chunk_overlap_sentences)  # fmt: skip
    store.add_documents(dataset.documents(), progress=progress)
    done.write_text(f"{dataset.path}\n{len(dataset.contexts)} paragraphs\n", encoding="utf-8")
    return store


def open_user_index(config: Config, progress: bool = True):
    """The index a user's questions are asked against, opened as the chat opens it (the default built on first use)."""
    from index.embedder import Embedder
    from index.store import IndexStore, ensure_default_index

    embedder = Embedder(config.embed_model)
    if config.index_dir is None:
        return ensure_default_index(config.default_index, list(config.corpus_paths), embedder, progress=progress,
                                    chunk_words=config.chunk_words,
                                    overlap_sentences=config.chunk_overlap_sentences)  # fmt: skip
    return IndexStore.open(config.index_dir, embedder=embedder)


def document_ids(store) -> set[str]:
    """The ids of the documents an index holds (what a question set's doc_id column may name)."""
    return {d.doc_id for d in store.documents()}


def open_question_index(dataset: Dataset, config: Config, progress: bool = True):
    """``open_user_index``, after checking that every document the set names is in it."""
    from eval.questions import check_documents

    store = open_user_index(config, progress)
    check_documents(dataset, document_ids(store), config.index_path)
    return store
