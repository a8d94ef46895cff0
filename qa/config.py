"""The one settings object, read by the entry points (CLI, UI, eval); components take explicit arguments.

Environment overrides: ``QA_INDEX_DIR`` (where the default index lives),
``QA_READER`` (a model name or path instead of the shipped reader) and
``QA_READER_PRECISION`` (``int8`` for the faster, slightly less accurate reader).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_READER = REPO_ROOT / "qa" / "models" / "minilm-squad"
DEFAULT_CORPUS = REPO_ROOT / "corpus" / "data"
DEFAULT_INDEX = REPO_ROOT / ".cache" / "index" / "default"


def default_index_dir() -> Path:
    """The index of the default corpus: built on first use wherever it is (``QA_INDEX_DIR`` moves it)."""
    return Path(os.environ.get("QA_INDEX_DIR", DEFAULT_INDEX))


@dataclass(frozen=True)
class Config:
    index_dir: Path = default_index_dir()
    corpus_paths: tuple[Path, ...] = (DEFAULT_CORPUS,)  # what the default index is built from
    embed_model: str = "bundled:all-MiniLM-L6-v2"
    reader_model: str = os.environ.get("QA_READER", str(SHIPPED_READER))
    # chunking
    chunk_words: int = 120  # a chunk holds whole sentences up to about this many words
    chunk_overlap_sentences: int = 1
    # retrieval
    retrieval: str = "hybrid"  # "dense", "bm25" or "hybrid" (reciprocal rank fusion)
    top_k: int = 5
    rrf_k: int = 60
    # reading
    window_sentences: int = 1  # neighbouring sentences added on each side of a hit before reading (chosen on the tune set)
    max_answer_tokens: int = 30
    reader_precision: str = os.environ.get("QA_READER_PRECISION", "bf16")  # "bf16", "fp32" or "int8" (qa.reader)
    max_question_chars: int = 1000
    abstain_threshold: float | None = None  # None: use the reader's calibrated threshold
