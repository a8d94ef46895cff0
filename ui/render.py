"""Pure rendering: Answer -> HTML for the chat, Document -> HTML for the document view.

Document text is untrusted (users upload files), so every piece of it is cut at the character
offsets first and ``html.escape``d second; only then are our own ``<mark>`` tags put around
the escaped pieces. Escaping the whole text first would shift the offsets ("<" becomes "&lt;"),
and highlighting before escaping would let a document's ``<script>`` through.

The output never contains a blank line, so that Markdown renderers (the Gradio chatbot's) take
it as one raw HTML block and do not reinterpret ``*`` or ``_`` in the document text.

    >>> highlight("Ask <b>John Kirby</b>.", base=100, spans=[(107, 117)])
    'Ask &lt;b&gt;<mark>John Kirby</mark>&lt;/b&gt;.'
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence

from qa.answer import Answer, Citation, Passage

ABSTAIN_MESSAGE = "The documents don't say."
CLOSEST_PASSAGES = 3  # shown openly when abstaining
# Confidence words: the reader's score is a calibrated probability that the span is right.
CONFIDENCE_LEVELS = ((0.8, "high"), (0.5, "medium"), (0.0, "low"))


def esc(text: str) -> str:
    """Escape for HTML text and attribute values; newlines become <br> so no blank line survives."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def confidence_label(score: float) -> str:
    """'high (0.91)': words for people, the number for those who compare."""
    word = next((name for floor, name in CONFIDENCE_LEVELS if score >= floor), "low")
    return f"{word} ({score:.2f})"


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching ``[start, end)`` spans; drop empty ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, base: int, spans: Iterable[tuple[int, int]]) -> str:
    """Escaped ``text`` (which starts at document offset ``base``) with every span in <mark>.

    Spans are in document coordinates; the parts outside ``text`` are clipped away.
    """
    pieces: list[str] = []
    cursor = 0
    for start, end in merge_spans(spans):
        lo, hi = max(start - base, cursor), min(end - base, len(text))
        if hi <= lo:
            continue
        pieces.append(esc(text[cursor:lo]))
        pieces.append(f"<mark>{esc(text[lo:hi])}</mark>")
        cursor = hi
    pieces.append(esc(text[cursor:]))
    return "".join(pieces)


def render_answer(answer: Answer, asked: str | None = None) -> str:
    """The chat reply: answer in bold, confidence, citations, and the passages that were read.

    Args:
        answer: what the pipeline returned.
        asked: what the user typed; when the question was read otherwise (a resolved follow-up,
            spelled-out acronyms), "Question as understood" shows how.
    """
    parts = ['<div class="qa-reply">']
    understood = answer.question_as_read
    if asked is not None and understood != asked:
        parts.append(f'<div class="qa-understood">Question as understood: <em>{esc(understood)}</em></div>')
    if answer.abstained:
        parts.append(f'<div class="qa-abstain"><strong>{ABSTAIN_MESSAGE}</strong></div>')
        parts.append(f'<div class="qa-confidence">Best candidate: {confidence_label(answer.score)}</div>')
        parts.append(_closest_passages(answer.passages[:CLOSEST_PASSAGES]))
    else:
        parts.append(f'<div class="qa-answer"><strong>{esc(answer.text or "")}</strong></div>')
        parts.append(f'<div class="qa-confidence">Confidence: {confidence_label(answer.score)}</div>')
        parts.extend(render_citation(c) for c in answer.citations)
    parts.append(render_passages(answer.passages, answer.citations))
    parts.append("</div>")
    return "".join(parts)


def render_citation(citation: Citation) -> str:
    """Source title, character range, and the supporting sentence with the answer highlighted."""
    sentence = highlight(citation.sentence, citation.sentence_start, [(citation.start, citation.end)])
    return (
        '<div class="qa-citation">'
        f'<div class="qa-source">Source: <strong>{esc(citation.title)}</strong> '
        f'<span class="qa-offsets">(characters {citation.start}\u2013{citation.end})</span></div>'
        f'<blockquote class="qa-sentence">{sentence}</blockquote>'
        "</div>"
    )


def render_passages(passages: Sequence[Passage], citations: Sequence[Citation] = (), open_: bool = False) -> str:
    """A collapsible "Passages read" panel: each passage with its rank and per-retriever ranks."""
    if not passages:
        return '<div class="qa-passages-empty">No passages were retrieved.</div>'
    items = "".join(f"<li>{_passage(p, citations)}</li>" for p in passages)
    state = " open" if open_ else ""
    return (
        f'<details class="qa-passages"{state}><summary>Passages read ({len(passages)})</summary>'
        f"<ol>{items}</ol></details>"
    )


def render_document(title: str, text: str, spans: Iterable[tuple[int, int]] = ()) -> str:
    """A whole document with every cited span highlighted, for the Documents tab."""
    spans = list(spans)
    note = f"{len(merge_spans(spans))} cited span(s) highlighted" if spans else "no cited spans yet"
    return (
        '<div class="qa-document">'
        f"<h3>{esc(title)}</h3>"
        f'<div class="qa-doc-note">{len(text):,} characters; {note}.</div>'
        f'<div class="qa-doc-text">{highlight(text, 0, spans)}</div>'
        "</div>"
    )


def render_error(message: str) -> str:
    """A user-facing error (bad question, bad file) in the same visual language as replies."""
    return f'<div class="qa-error"><strong>Sorry:</strong> {esc(message)}</div>'


def document_rows(stats: Iterable) -> list[list]:
    """Rows for the documents table from ``Retriever.stats()`` (title, id, characters, chunks)."""
    return [[s.title, s.doc_id, s.chars, s.chunks] for s in stats]


def _closest_passages(passages: Sequence[Passage]) -> str:
    if not passages:
        return ""
    quotes = "".join(
        f'<div class="qa-closest-item"><div class="qa-source">{_rank_line(p)}</div>'
        f'<blockquote>{highlight(p.text, p.start, [])}</blockquote></div>'
        for p in passages
    )
    return f'<div class="qa-closest"><div>The closest passages:</div>{quotes}</div>'


def _passage(passage: Passage, citations: Sequence[Citation]) -> str:
    spans = [(c.start, c.end) for c in citations if c.doc_id == passage.doc_id]
    return (
        f'<div class="qa-source">{_rank_line(passage)}</div>'
        f'<div class="qa-passage">{highlight(passage.text, passage.start, spans)}</div>'
    )


def _rank_line(passage: Passage) -> str:
    sources = ", ".join(f"{esc(name)} #{rank}" for name, rank in sorted(passage.source_ranks.items()))
    extra = f" ({sources})" if sources else ""
    return (
        f'<span class="qa-rank">#{passage.rank}</span> <strong>{esc(passage.title)}</strong> '
        f"\u00b7 score {passage.retrieval_score:.3f}{extra}"
    )
