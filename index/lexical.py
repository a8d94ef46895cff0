"""Lexical retrieval: BM25 over chunk texts, from postings that are written once per segment.

Dense vectors miss rare exact words (names, numbers, "KFOR"); BM25 catches them, and fusion
combines both. Each segment stores its postings (term, chunk row, term frequency) and the
token count of every chunk; the collection statistics BM25 needs (number of chunks, average
length, document frequency of each query term) are summed over the live chunks of all segments
at query time. So adding a document writes only its own postings, and an index built in ten
steps scores exactly like one built at once. The formula is bm25s's default (Lucene's
variant, k1 1.5, b 0.75) with the same float32 rounding, so scores equal ``bm25s.BM25``'s.

    >>> postings = Postings.build(["Kirby spoke for the NSC.", "Tanks moved to the border."])
    >>> rows, tfs = postings.lookup(term_hash("nsc"))
    >>> rows.tolist(), tfs.tolist()
    ([0], [1])
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1, B = 1.5, 0.75  # bm25s's defaults

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


def term_hash(token: str) -> int:
    """A token's 64-bit id (stable across processes; a collision needs ~4 billion distinct words)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def idf(df: int, n: int) -> np.float32:
    """Lucene's idf, rounded to float32 as bm25s stores it."""
    return np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))


def term_scores(tfs: np.ndarray, lengths: np.ndarray, avg_length: float, term_idf: np.float32) -> np.ndarray:
    """BM25 contribution of one term to each chunk holding it (float32, bit-equal to bm25s)."""
    tf = tfs.astype(np.float64)
    tfc = tf / (K1 * ((1 - B) + B * lengths.astype(np.float64) / avg_length) + tf)
    return (np.float64(term_idf) * tfc).astype(np.float32)


@dataclass(frozen=True)
class Postings:
    """BM25 postings of one segment; term ``i``'s chunks are ``rows[starts[i]:starts[i + 1]]``."""

    terms: np.ndarray  # uint64, sorted, unique term hashes
    starts: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32 chunk rows, ascending within a term
    tfs: np.ndarray  # int32 term frequency of the term in that chunk
    lengths: np.ndarray  # int32 tokens per chunk (stopwords left out, as BM25 sees them)

    @classmethod
    def build(cls, texts: Sequence[str]) -> Postings:
        lengths = np.zeros(len(texts), dtype=np.int32)
        ids: dict[str, int] = {}
        token_ids: list[int] = []
        token_rows: list[int] = []
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            token_ids.extend(ids.setdefault(tok, len(ids)) for tok in tokens)
            token_rows.extend([row] * len(tokens))
        hashes = np.array([term_hash(tok) for tok in ids], dtype=np.uint64)
        return cls._from_triples(hashes[np.array(token_ids, dtype=np.int64)], np.array(token_rows, np.int64),
                                 np.ones(len(token_ids), np.int64), lengths)  # fmt: skip

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """The postings of the kept chunks (``keep``: bool per chunk row) of several segments, renumbered."""
        hashes, rows, tfs, lengths, offset = [], [], [], [], 0
        for postings, keep in parts:
            new_row = np.cumsum(keep, dtype=np.int64) - 1 + offset
            term_of = np.repeat(np.arange(len(postings.terms)), np.diff(postings.starts))
            alive = keep[postings.rows]
            hashes.append(postings.terms[term_of[alive]])
            rows.append(new_row[postings.rows[alive]])
            tfs.append(postings.tfs[alive].astype(np.int64))
            lengths.append(postings.lengths[keep])
            offset += int(keep.sum())
        empty = [np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)]
        pieces = [np.concatenate(p) if p else e for p, e in zip((hashes, rows, tfs, lengths), empty)]
        return cls._from_triples(*pieces)

    @classmethod
    def _from_triples(cls, hashes: np.ndarray, rows: np.ndarray, counts: np.ndarray, lengths: np.ndarray) -> Postings:
        """Sum ``counts`` per (term, row) and lay the result out by term, rows ascending."""
        order = np.lexsort((rows, hashes))
        hashes, rows, counts = hashes[order], rows[order], counts[order]
        new = np.ones(len(hashes), dtype=bool)
        new[1:] = (hashes[1:] != hashes[:-1]) | (rows[1:] != rows[:-1])
        firsts = np.flatnonzero(new)
        tfs = np.add.reduceat(counts, firsts) if len(firsts) else counts
        hashes, rows = hashes[firsts], rows[firsts]
        term_first = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if len(hashes) else np.zeros(0, np.int64)
        starts = np.append(term_first, len(hashes)).astype(np.int64)
        return cls(hashes[term_first].astype(np.uint64), starts, rows.astype(np.int32), tfs.astype(np.int32),
                   np.asarray(lengths, dtype=np.int32))  # fmt: skip

    def lookup(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and term frequencies of the chunks holding ``term`` (empty arrays when none)."""
        i = int(np.searchsorted(self.terms, np.uint64(term)))
        if i == len(self.terms) or int(self.terms[i]) != term:
            return self.rows[:0], self.tfs[:0]
        s, e = int(self.starts[i]), int(self.starts[i + 1])
        return self.rows[s:e], self.tfs[s:e]
