"""Query vectors without importing sentence-transformers: the same model, the same vectors, a faster start.

Why: a question asked from a cold process (``python -m qa ask``) embeds one short query, and
importing sentence-transformers for it (it pulls in scikit-learn, SciPy and pandas) took
longer than importing torch and transformers together (14.4 s against 5.6 s of wall time on
a busy two-core machine). A sentence-transformers folder that is a plain
Transformer -> Pooling (mean or CLS) -> optional Normalize stack, as all-MiniLM-L6-v2 is, is
replayed here with transformers alone; anything else (a hub name, other modules, other
pooling) gets ``None`` from ``plain_stack`` and keeps sentence-transformers. Documents are
still embedded by sentence-transformers (``index.embedder``); ``tests/test_embedder.py``
checks that both give the same vectors.

    >>> enc = QueryEncoder(folder, plain_stack(folder))
    >>> enc.encode(["Who is John Kirby?"]).shape
    (1, 384)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_OTHER_POOLING = ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                  "pooling_mode_lasttoken")  # fmt: skip


@dataclass(frozen=True)
class PlainStack:
    """What a plain sentence-transformers folder does to a text, read from its own config files."""

    max_seq_length: int
    do_lower_case: bool
    pooling: str  # "mean" or "cls"
    dimension: int
    normalize: bool


def plain_stack(folder: str | Path) -> PlainStack | None:
    """The folder's stack if it is Transformer (in the folder itself) -> Pooling -> [Normalize], else None."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        types = [m["type"] for m in modules]
        if types not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]) or modules[0]["path"]:
            return None
        bert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        pool = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    mean, cls = bool(pool.get("pooling_mode_mean_tokens")), bool(pool.get("pooling_mode_cls_token"))
    if mean == cls or any(pool.get(k) for k in _OTHER_POOLING) or pool.get("include_prompt") is False:
        return None
    if not isinstance(bert.get("max_seq_length"), int) or set(bert) - {"max_seq_length", "do_lower_case"}:
        return None
    return PlainStack(bert["max_seq_length"], bool(bert.get("do_lower_case")), "mean" if mean else "cls",
                      int(pool["word_embedding_dimension"]), len(types) == 3)  # fmt: skip


class QueryEncoder:
    """A plain stack run with transformers: tokenise as sentence-transformers does, pool, normalise."""

    def __init__(self, folder: str | Path, stack: PlainStack, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.stack = stack
        self.device = device
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self._model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).to(device).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length (if the stack normalises) float32 vectors, shape (len(texts), dimension)."""
        import torch

        texts = [t.strip() for t in texts]
        if self.stack.do_lower_case:
            texts = [t.lower() for t in texts]
        batch = self._tokenizer(texts, padding=True, truncation="longest_first", max_length=self.stack.max_seq_length,
                                return_tensors="pt").to(self.device)  # fmt: skip
        with torch.inference_mode():
            tokens = self._model(**batch).last_hidden_state
        if self.stack.pooling == "cls":
            vecs = tokens[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            vecs = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.stack.normalize:
            vecs = torch.nn.functional.normalize(vecs, p=2, dim=1)
        return vecs.float().cpu().numpy()
