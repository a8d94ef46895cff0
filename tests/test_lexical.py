"""BM25 from per-segment postings: the same scores as bm25s, however the postings were split or merged."""

from __future__ import annotations

import random

import bm25s
import numpy as np

from index.lexical import Postings, idf, term_hash, term_scores, tokenize

WORDS = "kirby tanks border serbia kosovo troops nato army the of vucic alarm white house council".split()


def scores_from_postings(parts: list[Postings], query: str, n_docs: int) -> np.ndarray:
    """BM25 of every text over several postings (texts numbered across them), as the index sums it."""
    total_length = sum(int(p.lengths.sum()) for p in parts)
    offsets = np.cumsum([0] + [len(p.lengths) for p in parts])
    out = np.zeros(n_docs, dtype=np.float32)
    known = [t for t in tokenize(query) if any(len(p.lookup(term_hash(t))[0]) for p in parts)]
    for token in known:
        df = sum(len(p.lookup(term_hash(token))[0]) for p in parts)
        for offset, p in zip(offsets, parts):
            rows, tfs = p.lookup(term_hash(token))
            out[offset + rows] += term_scores(tfs, p.lengths[rows], total_length / n_docs, idf(df, n_docs))
    return out


def test_tokenize_folds_case_accents_and_stopwords():
    assert tokenize("Vučić said the KFOR troops") == ["vucic", "said", "kfor", "troops"]


def test_scores_equal_bm25s_bit_for_bit():
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25))) for _ in range(200)]
    reference = bm25s.BM25()
    reference.index([tokenize(t) for t in texts], show_progress=False)
    whole, split = [Postings.build(texts)], [Postings.build(texts[:70]), Postings.build(texts[70:])]
    for query in ["kirby tanks tanks border", "white house", "vucic", "nato army kosovo alarm"]:
        expected = reference.get_scores([t for t in tokenize(query) if t in reference.vocab_dict])
        assert np.array_equal(scores_from_postings(whole, query, len(texts)), expected)
        assert np.array_equal(scores_from_postings(split, query, len(texts)), expected)


def test_merged_postings_equal_postings_built_from_the_kept_texts():
    rng = random.Random(1)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))) for _ in range(60)]
    keep = np.array([i % 5 != 2 for i in range(30)])
    merged = Postings.merge([(Postings.build(texts[:30]), keep), (Postings.build(texts[30:]), np.ones(30, bool))])
    rebuilt = Postings.build([t for t, k in zip(texts[:30], keep) if k] + texts[30:])
    for field in ("terms", "starts", "rows", "tfs", "lengths"):
        assert np.array_equal(getattr(merged, field), getattr(rebuilt, field))


def test_lookup_of_an_unknown_term_is_empty():
    postings = Postings.build(["Kirby spoke for the NSC."])
    rows, tfs = postings.lookup(term_hash("tanks"))
    assert rows.tolist() == [] and tfs.tolist() == []
    assert Postings.build([]).lookup(term_hash("x"))[0].tolist() == []
