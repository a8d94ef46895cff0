"""Lexical retrieval: BM25 (``bm25s``) over chunk texts.

Dense vectors miss rare exact words (names, numbers, "KFOR"); BM25 catches them, and fusion
combines both. Building it takes milliseconds for a personal corpus, so the store rebuilds it
from the chunk texts on load instead of persisting a second index that could drift.

    >>> bm25 = LexicalIndex.build(["Kirby spoke for the NSC.", "Tanks moved to the border."])
    >>> bm25.search("who spoke for the NSC?", k=5)[0]
    [0]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

# A short English list: words that match everywhere and only dilute BM25 scores.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves""".split()
)
_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stopwords, accents folded so "Vucic" finds "Vučić"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [tok for tok in _TOKEN.findall(folded) if tok not in STOPWORDS]


class LexicalIndex:
    """BM25 over a fixed list of texts; ids returned are positions in that list."""

    def __init__(self, bm25, size: int) -> None:
        self._bm25 = bm25  # None when no text has a single indexable token
        self._size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        corpus = [tokenize(text) for text in texts]
        if not any(corpus):
            return cls(None, len(corpus))
        import bm25s  # lazily: only retrieval needs it

        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        return cls(bm25, len(corpus))

    def __len__(self) -> int:
        return self._size

    def search(self, query: str, k: int) -> tuple[list[int], list[float]]:
        """Positions and BM25 scores of the best ``k`` texts sharing a word with the query.

        Texts that share no word score 0 and are left out; equal scores keep corpus order.
        """
        if self._bm25 is None or k <= 0:
            return [], []
        known = [tok for tok in tokenize(query) if tok in self._bm25.vocab_dict]
        if not known:
            return [], []
        scores = np.asarray(self._bm25.get_scores(known), dtype=np.float64)
        order = np.argsort(-scores, kind="stable")[:k]
        best = [int(i) for i in order if scores[i] > 0]
        return best, [float(scores[i]) for i in best]
