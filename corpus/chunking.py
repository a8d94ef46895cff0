"""Sentence spans and sentence-aligned chunks with exact character offsets (pure functions).

Chunks are runs of whole sentences, so the reader never sees half a sentence and a citation can
always point at a complete one. Offsets come from locating each sentence in the text rather than
from the splitter's own spans, which drift on quotes, emoji and CRLF. Tables and over-long text
are cut into blocks first (``corpus.blocks``): a table row is a unit of its own, and the splitter
never sees more than ``MAX_BLOCK_CHARS`` at once, so splitting takes time linear in the text.

    >>> doc = Document("d", "T", "Kirby spoke. He left.", "mem")
    >>> [c.text for c in chunk_document(doc, max_words=2, overlap_sentences=0)]
    ['Kirby spoke.', 'He left.']
    >>> estimate_chunk_count(doc.text, max_words=2, overlap_sentences=0)
    2
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

from corpus.blocks import blocks, trimmed_span
from corpus.document import Chunk, Document

Span = tuple[int, int]

_NEWLINE = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"\S+")
_PROGRESS_MIN_CHARS = 500_000  # 2 s or more of splitting prose: below that a bar is noise
_SAMPLE_CHARS = 20_000  # each of the three samples an estimate chunks


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # lazily: only ingestion needs it

    return pysbd.Segmenter(language="en", clean=False)


def _sentences_in_block(text: str, start: int, end: int) -> list[Span]:
    # Newlines become spaces (same length, so offsets hold) because inside a block they are wraps.
    flat = _NEWLINE.sub(lambda m: " " * len(m.group()), text[start:end])
    spans: list[Span] = []
    cursor = 0
    for sentence in _segmenter().segment(flat):
        needle = sentence.strip()
        found = flat.find(needle, cursor) if needle else -1
        if found < 0:
            continue  # not verbatim in the text: whatever it covered is picked up as a gap below
        for a, b in ((cursor, found), (found, found + len(needle))):
            span = trimmed_span(flat, a, b)  # a gap is text the splitter dropped: never lose it
            if span is not None:
                spans.append((start + span[0], start + span[1]))
        cursor = found + len(needle)
    tail = trimmed_span(flat, cursor, len(flat))
    if tail is not None:
        spans.append((start + tail[0], start + tail[1]))
    return spans


def sentence_spans(text: str, progress: bool = False) -> list[Span]:
    """Half-open ``(start, end)`` spans of the sentences of ``text``, in order, whitespace-trimmed.

    Every non-whitespace character lies in exactly one span, and ``text[start:end]`` is the
    sentence exactly as written (CRLF, emoji and accents included). A table row is one span, and
    so is each line of over-long text that has no sentence ends (``corpus.blocks``).

    Args:
        text: the document text.
        progress: show a progress bar with an ETA (tqdm, on stderr) when the text is long.
    """
    if not isinstance(text, str):
        raise TypeError(f"sentence_spans expects the document text as a str, not {type(text).__name__}.")
    spans: list[Span] = []
    pieces = blocks(text)
    if progress:
        _segmenter()  # importing pysbd takes a second or two: not part of the rate the ETA is made from
    with _bar(sum(b.end - b.start for b in pieces), progress, "Splitting sentences") as bar:
        for block in pieces:
            if block.prose:
                spans.extend(_sentences_in_block(text, block.start, block.end))
            else:
                spans.append((block.start, block.end))
            bar.update(block.end - block.start)
    return spans


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _bar(total: int, progress: bool, desc: str):
    """A tqdm bar counting characters when asked for and worth it; otherwise one that does nothing."""
    if not progress or total < _PROGRESS_MIN_CHARS:
        return _NoBar()
    from tqdm import tqdm  # lazily: only long texts with progress need it

    return tqdm(total=total, desc=desc, unit="char", unit_scale=True, leave=False)


def _word_count(text: str, span: Span) -> int:
    return len(_WORD.findall(text, span[0], span[1]))


def _split_long(text: str, span: Span, max_words: int) -> list[Span]:
    """A sentence over ``2 * max_words`` words cut at word boundaries into near-equal pieces."""
    words = list(_WORD.finditer(text, span[0], span[1]))
    if len(words) <= 2 * max_words:
        return [span]
    pieces = -(-len(words) // max_words)
    size = -(-len(words) // pieces)
    groups = [words[i : i + size] for i in range(0, len(words), size)]
    return [(g[0].start(), g[-1].end()) for g in groups]


def _chunk_ranges(counts: Sequence[int], max_words: int, overlap: int) -> list[Span]:
    """Index ranges ``[i, j)`` of units per chunk: greedy packing, then step back ``overlap`` units.

    The overlap shrinks when it would not leave room for at least one new unit, so no chunk is a
    mere copy of the end of the previous one and an overlong unit stands alone.
    """
    ranges, i = [], 0
    while i < len(counts):
        j, words = i + 1, counts[i]
        while j < len(counts) and words + counts[j] <= max_words:
            words += counts[j]
            j += 1
        ranges.append((i, j))
        if j == len(counts):
            break
        back = min(overlap, j - i - 1)
        while back > 0 and sum(counts[j - back : j + 1]) > max_words:
            back -= 1
        i = j - back
    return ranges


def chunk_document(
    doc: Document,
    max_words: int = 120,
    overlap_sentences: int = 1,
    sentences: Sequence[Span] | None = None,
    progress: bool = False,
) -> list[Chunk]:
    """Consecutive whole sentences of ``doc`` grouped into chunks of about ``max_words`` words.

    Args:
        doc: the document; chunk offsets index ``doc.text``.
        max_words: target size; a single longer sentence is a chunk of its own, and one over
            twice this is cut at word boundaries.
        overlap_sentences: sentences shared by consecutive chunks, so an answer that straddles
            a chunk border is still whole in one of them.
        sentences: precomputed ``sentence_spans(doc.text)``, to avoid splitting twice.
        progress: show a progress bar for splitting a long text (when ``sentences`` is None).

    Returns:
        Chunks ``f"{doc.doc_id}#{i}"`` with ``doc.text[c.start:c.end] == c.text``.
    """
    if not isinstance(doc, Document):
        raise TypeError(f"chunk_document expects a corpus.document.Document, not {type(doc).__name__}.")
    _check_sizes(max_words, overlap_sentences)
    spans = sentence_spans(doc.text, progress) if sentences is None else sentences
    units = [piece for span in spans for piece in _split_long(doc.text, span, max_words)]
    counts = [_word_count(doc.text, unit) for unit in units]
    chunks = []
    for n, (i, j) in enumerate(_chunk_ranges(counts, max_words, overlap_sentences)):
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(f"{doc.doc_id}#{n}", doc.doc_id, start, end, doc.text[start:end]))
    return chunks


def _check_sizes(max_words: int, overlap_sentences: int) -> None:
    for name, value in (("max_words", max_words), ("overlap_sentences", overlap_sentences)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"Chunking expects {name} as an int, not {type(value).__name__}.")
    if max_words < 1 or overlap_sentences < 0:
        raise ValueError("Chunking needs max_words >= 1 and overlap_sentences >= 0.")


def _rough_words(text: str) -> int:
    """Words of cleaned text (single spaces, at most one blank line) counted without a regex: fast."""
    return text.count(" ") + text.count("\n") - text.count("\n\n") + 1 if text.strip() else 0


def _samples(text: str) -> list[str]:
    """Three stretches of about ``_SAMPLE_CHARS`` (start, middle, end), cut at line breaks where there are some."""
    out = []
    for at in (0, (len(text) - _SAMPLE_CHARS) // 2, len(text) - _SAMPLE_CHARS):
        end = min(len(text), at + _SAMPLE_CHARS)
        first = text.find("\n", at, at + _SAMPLE_CHARS // 2) if at else -1
        first = first + 1 if first >= 0 else at
        last = text.rfind("\n", first + _SAMPLE_CHARS // 2, end) if end < len(text) else -1
        out.append(text[first : last if last >= 0 else end])
    return out


def estimate_chunk_count(text: str, max_words: int = 120, overlap_sentences: int = 1) -> int:
    """About how many chunks ``chunk_document`` makes of ``text``, cheaply, so a caller can print an ETA.

    Exact for texts up to three samples long (60,000 characters); longer ones are chunked in three
    samples (start, middle, end) and extrapolated by word count: within a few percent on uniform
    text, a rough figure on mixed text. Costs at most about as much as chunking 60,000 characters.
    """
    if not isinstance(text, str):
        raise TypeError(f"estimate_chunk_count expects the document text as a str, not {type(text).__name__}.")
    _check_sizes(max_words, overlap_sentences)
    if len(text) <= 3 * _SAMPLE_CHARS:
        return len(chunk_document(Document("estimate", "", text, ""), max_words, overlap_sentences))
    samples = _samples(text)
    chunks = sum(len(chunk_document(Document("estimate", "", s, ""), max_words, overlap_sentences)) for s in samples)
    words = sum(_rough_words(s) for s in samples)
    return max(1, math.ceil(_rough_words(text) * chunks / max(words, 1)))
