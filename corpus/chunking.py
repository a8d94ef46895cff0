"""Sentence spans and sentence-aligned chunks with exact character offsets (pure functions).

Chunks are runs of whole sentences, so the reader never sees half a sentence and a citation can
always point at a complete one. Offsets come from locating each sentence in the text rather than
from the splitter's own spans, which drift on quotes, emoji and CRLF.

    >>> doc = Document("d", "T", "Kirby spoke. He left.", "mem")
    >>> [c.text for c in chunk_document(doc, max_words=2, overlap_sentences=0)]
    ['Kirby spoke.', 'He left.']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from corpus.document import Chunk, Document

Span = tuple[int, int]

_LINE = re.compile(r"[^\r\n]*\S[^\r\n]*")  # a line holding something other than whitespace
_NEWLINE = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"\S+")
_TERMINAL = re.compile(r"[.!?:;…][\"'”’»)\]]*$")
_LIST_MARKER = re.compile(r"(?:[-*•#>+]|\d{1,3}[.)])\s")
# A line that stops mid-sentence is a hard wrap (not a headline) when it is about as long as the
# text's usual line and not short in absolute terms.
_WRAPPED_FRACTION = 0.6
_WRAPPED_MIN_CHARS = 40


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # lazily: only ingestion needs it

    return pysbd.Segmenter(language="en", clean=False)


def _typical_line_length(lines: Sequence[re.Match]) -> int:
    """The 90th percentile of line lengths: the wrap width of hard-wrapped text."""
    lengths = sorted(len(m.group().strip()) for m in lines)
    return lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))]


def _breaks_between(text: str, prev: re.Match, nxt: re.Match, wrap: int) -> bool:
    """Whether the newline(s) between two lines end a sentence.

    A blank line always does; so does a single newline after a headline or before a list item.
    A single newline inside hard-wrapped prose (a long line that stops mid-sentence) does not.
    """
    if len(_NEWLINE.findall(text, prev.end(), nxt.start())) >= 2:
        return True
    before, after = prev.group().strip(), nxt.group().strip()
    if _TERMINAL.search(before) or _LIST_MARKER.match(after):
        return True
    return len(before) < max(_WRAPPED_MIN_CHARS, _WRAPPED_FRACTION * wrap)


def _blocks(text: str) -> list[Span]:
    """Spans of paragraphs (and headlines), trimmed, that no sentence may cross."""
    lines = list(_LINE.finditer(text))
    if not lines:
        return []
    wrap = _typical_line_length(lines)
    blocks, first = [], lines[0]
    for prev, nxt in zip(lines, lines[1:]):
        if _breaks_between(text, prev, nxt, wrap):
            blocks.append((first, prev))
            first = nxt
    blocks.append((first, lines[-1]))
    spans = []
    for a, b in blocks:
        start = a.start() + len(a.group()) - len(a.group().lstrip())
        end = b.end() - (len(b.group()) - len(b.group().rstrip()))
        spans.append((start, end))
    return spans


def _trimmed(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    if not piece.strip():
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())


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
            span = _trimmed(flat, a, b)  # a gap is text the splitter dropped: never lose it
            if span is not None:
                spans.append((start + span[0], start + span[1]))
        cursor = found + len(needle)
    tail = _trimmed(flat, cursor, len(flat))
    if tail is not None:
        spans.append((start + tail[0], start + tail[1]))
    return spans


def sentence_spans(text: str) -> list[Span]:
    """Half-open ``(start, end)`` spans of the sentences of ``text``, in order, whitespace-trimmed.

    Every non-whitespace character lies in exactly one span, and ``text[start:end]`` is the
    sentence exactly as written (CRLF, emoji and accents included).
    """
    spans: list[Span] = []
    for start, end in _blocks(text):
        spans.extend(_sentences_in_block(text, start, end))
    return spans


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
) -> list[Chunk]:
    """Consecutive whole sentences of ``doc`` grouped into chunks of about ``max_words`` words.

    Args:
        doc: the document; chunk offsets index ``doc.text``.
        max_words: target size; a single longer sentence is a chunk of its own, and one over
            twice this is cut at word boundaries.
        overlap_sentences: sentences shared by consecutive chunks, so an answer that straddles
            a chunk border is still whole in one of them.
        sentences: precomputed ``sentence_spans(doc.text)``, to avoid splitting twice.

    Returns:
        Chunks ``f"{doc.doc_id}#{i}"`` with ``doc.text[c.start:c.end] == c.text``.
    """
    if max_words < 1 or overlap_sentences < 0:
        raise ValueError("Chunking needs max_words >= 1 and overlap_sentences >= 0.")
    spans = sentence_spans(doc.text) if sentences is None else sentences
    units = [piece for span in spans for piece in _split_long(doc.text, span, max_words)]
    counts = [_word_count(doc.text, unit) for unit in units]
    chunks = []
    for n, (i, j) in enumerate(_chunk_ranges(counts, max_words, overlap_sentences)):
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(f"{doc.doc_id}#{n}", doc.doc_id, start, end, doc.text[start:end]))
    return chunks
