"""Blocks that no sentence may cross, cut so that sentence splitting stays linear (pure functions).

A block is a paragraph, a headline, a list item, a Markdown table row, or a piece of an over-long
paragraph. Prose blocks go to the sentence splitter; every other block is one unit as it stands.
The splitter (pysbd) costs time in the square of its input beyond a few thousand characters
(0.3 s for 16,000 characters of table text, 3.7 s for 64,000: a 2.3 MB table sent as one paragraph
ran for hours), so no prose block is longer than ``MAX_BLOCK_CHARS``:

- a Markdown table is one unit per row (the header row together with its ``|---|`` row): a row is
  what a reader cites, and it never goes through the splitter;
- a paragraph over the limit is cut at the last likely sentence end before it; a stretch with no
  sentence end (lines of data, not prose) becomes one unit per line; a line still over the limit
  is cut at its last space before it, and a run with no space at the limit itself.

Blocks are trimmed spans of the text: nothing is rewritten, so offsets stay exact.

    >>> text = "| a | b |\\n|---|---|\\n| 1 | 2 |"
    >>> [(text[b.start : b.end], b.prose) for b in blocks(text)]
    [('| a | b |\\n|---|---|', False), ('| 1 | 2 |', False)]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Longest block handed to the sentence splitter: well past any paragraph of the bundled article or
# of SQuAD (4,230 characters at most), short enough that the splitter's cost is still linear.
MAX_BLOCK_CHARS = 8_000

_LINE = re.compile(r"[^\r\n]*\S[^\r\n]*")  # a line holding something other than whitespace
_NEWLINE = re.compile(r"\r\n|\r|\n")
_TERMINAL = re.compile(r"[.!?:;…][\"'”’»)\]]*$")
_LIST_MARKER = re.compile(r"(?:[-*•#>+]|\d{1,3}[.)])\s")
_PIPE_ROW = re.compile(r"\s*\|.*\|")  # "| a | b |" (the outer pipes of GFM tables)
_DELIMITER_ROW = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")  # "|---|:-:|" or "--- | ---"
# A likely sentence end inside an over-long paragraph: end punctuation (and closing quotes), then
# space and a capital or digit. "Mr." or "U.S." before it is an abbreviation, not an end.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"[A-Z][a-z]{0,2}\.|(?:[A-Za-z]\.)+")
_WORD_BEFORE = re.compile(r"\S+$")
# A line that stops mid-sentence is a hard wrap (not a headline) when it is about as long as the
# text's usual line and not short in absolute terms.
_WRAPPED_FRACTION = 0.6
_WRAPPED_MIN_CHARS = 40


@dataclass(frozen=True)
class Block:
    """A trimmed span ``[start, end)`` of the text; ``prose`` blocks go to the sentence splitter."""

    start: int
    end: int
    prose: bool


def _is_delimiter(line: str) -> bool:
    return "|" in line and "-" in line and _DELIMITER_ROW.fullmatch(line) is not None


def _table_lines(lines: Sequence[re.Match]) -> list[bool]:
    """Which lines are Markdown table rows: ``| a | b |`` lines, and GFM tables without outer pipes."""
    table = [_PIPE_ROW.fullmatch(m.group()) is not None for m in lines]
    for i in range(1, len(lines)):
        if not table[i] and _is_delimiter(lines[i].group()) and "|" in lines[i - 1].group():
            table[i - 1] = table[i] = True
            j = i + 1
            while j < len(lines) and "|" in lines[j].group():  # body rows: "1 | 2"
                table[j] = True
                j += 1
    return table


def _typical_line_length(lines: Sequence[re.Match]) -> int:
    """The 90th percentile of line lengths: the wrap width of hard-wrapped text."""
    lengths = sorted(len(m.group().strip()) for m in lines)
    return lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))]


def _breaks_between(text: str, prev: re.Match, nxt: re.Match, wrap: int) -> bool:
    """Whether the newline(s) between two prose lines end a sentence.

    A blank line always does; so does a single newline after a headline or before a list item.
    A single newline inside hard-wrapped prose (a long line that stops mid-sentence) does not.
    """
    if len(_NEWLINE.findall(text, prev.end(), nxt.start())) >= 2:
        return True
    before, after = prev.group().strip(), nxt.group().strip()
    if _TERMINAL.search(before) or _LIST_MARKER.match(after):
        return True
    return len(before) < max(_WRAPPED_MIN_CHARS, _WRAPPED_FRACTION * wrap)


def trimmed_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``[start, end)`` without leading and trailing whitespace; None when nothing else is left."""
    piece = text[start:end]
    if not piece.strip():
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())


def _block(text: str, start: int, end: int, prose: bool) -> Block | None:
    span = trimmed_span(text, start, end)
    return Block(span[0], span[1], prose) if span is not None else None


def _line_groups(text: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, is_table)`` of each paragraph, headline, list item or table row, in order."""
    lines = list(_LINE.finditer(text))
    if not lines:
        return
    table = _table_lines(lines)
    prose = [m for m, t in zip(lines, table) if not t]
    wrap = _typical_line_length(prose) if prose else 0  # table rows say nothing about wrapping
    first = 0
    for i in range(1, len(lines)):
        if table[i - 1] or table[i]:
            # every table row stands alone, except that a header keeps its delimiter row
            cut = not (table[i - 1] and table[i] and _is_delimiter(lines[i].group()))
        else:
            cut = _breaks_between(text, lines[i - 1], lines[i], wrap)
        if cut:
            yield trimmed_span(text, lines[first].start(), lines[i - 1].end()) + (table[first],)
            first = i
    yield trimmed_span(text, lines[first].start(), lines[-1].end()) + (table[first],)


def _units_by_line(text: str, start: int, end: int, limit: int) -> Iterator[Block]:
    """Each line of ``[start, end)`` as a unit; a line over ``limit`` cut at spaces (or hard)."""
    for line in _LINE.finditer(text, start, end):
        a, b = line.start(), line.end()
        while b - a > limit:
            cut = text.rfind(" ", a + 1, a + limit + 1)
            cut = cut if cut > a else a + limit  # no space at all: cut at the limit itself
            piece = _block(text, a, cut, prose=False)
            if piece is not None:
                yield piece
            a = cut
        piece = _block(text, a, b, prose=False)
        if piece is not None:
            yield piece


def _cut(text: str, start: int, end: int, prose: bool, limit: int) -> Iterator[Block]:
    """``[start, end)`` as blocks of at most ``limit`` characters, cut as described in the module doc.

    Linear in the length: sentence ends are found in one pass, and every step moves ``start`` on.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text, start, end) if not _is_abbreviation(text, m)] if prose else []
    k = 0
    while True:
        while start < end and text[start].isspace():  # a cut leaves us on a line break or a space
            start += 1
        if end - start <= limit:
            break
        while k < len(ends) and ends[k] <= start + limit:
            k += 1
        if k and ends[k - 1] > start:  # prose: up to the last sentence end in reach
            yield Block(start, ends[k - 1], prose=True)
            start = ends[k - 1]
            continue
        # no sentence end in reach, so not prose: one unit per line, up to the last line break in reach
        newline = max(text.rfind("\n", start, start + limit), text.rfind("\r", start, start + limit))
        cut = newline if newline > start else _next_line_end(text, start, end)
        yield from _units_by_line(text, start, cut, limit)
        start = cut
    if start >= end:
        return
    if prose and ((ends and ends[-1] > start) or _TERMINAL.search(text, start, end)):
        yield Block(start, end, prose=True)  # the rest has sentences and fits: the splitter may have it
    else:
        yield from _units_by_line(text, start, end, limit)


def _next_line_end(text: str, start: int, end: int) -> int:
    match = _NEWLINE.search(text, start, end)
    return match.start() if match else end


def _is_abbreviation(text: str, end_match: re.Match) -> bool:
    word = _WORD_BEFORE.search(text, max(0, end_match.start() - 20), end_match.start() + 1)
    return word is not None and _ABBREVIATION.fullmatch(word.group()) is not None


def blocks(text: str, max_chars: int = MAX_BLOCK_CHARS) -> list[Block]:
    """The blocks of ``text`` in order: trimmed, non-overlapping, and covering every non-space character.

    Args:
        text: the document text; offsets index it.
        max_chars: no block is longer than this (prose blocks are what the sentence splitter gets).

    Returns:
        Blocks; ``prose`` is False for table rows and for lines of over-long text without sentence ends.
    """
    out: list[Block] = []
    for start, end, is_table in _line_groups(text):
        if end - start <= max_chars:
            out.append(Block(start, end, prose=not is_table))
        else:
            out.extend(_cut(text, start, end, prose=not is_table, limit=max_chars))
    return out
