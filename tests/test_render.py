"""ui.render: Answer -> HTML, checked on tiny hand-made answers (no models)."""

from __future__ import annotations

import dataclasses
import re

from qa.answer import Answer, Citation, Passage
from ui.render import (
    ABSTAIN_MESSAGE,
    confidence_label,
    highlight,
    merge_spans,
    render_answer,
    render_document,
    render_passages,
)

DOC = "Kirby spoke. John Kirby, spokesperson for the NSC, warned Serbia. It was tense."
START = DOC.index("John Kirby")
SENT_START, SENT_END = DOC.index("John"), DOC.index(" It was")


def passage(text_start: int = 0, text_end: int = len(DOC), rank: int = 1, doc: str = DOC) -> Passage:
    return Passage("art", "Kosovo <b>news</b>", text_start, text_end, doc[text_start:text_end], rank, 0.0328,
                   {"bm25": 2, "dense": 1})


def kirby_answer(score: float = 0.91) -> Answer:
    cit = Citation("art", "Kosovo <b>news</b>", START, START + 10, SENT_START, SENT_END, DOC[SENT_START:SENT_END])
    return Answer("Who is the NSC spokesperson?", "John Kirby", score, (cit,), (passage(),))


def test_highlight_escapes_pieces_then_marks_by_offsets():
    text = "a<b>c"
    assert highlight(text, 0, [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c"
    # offsets are document offsets: the slice starts at 10
    assert highlight("xyz", 10, [(11, 12)]) == "x<mark>y</mark>z"


def test_highlight_clips_spans_outside_the_slice_and_merges_overlaps():
    assert highlight("abcdef", 100, [(90, 102), (101, 103), (200, 210)]) == "<mark>abc</mark>def"
    assert merge_spans([(5, 7), (1, 3), (2, 4), (9, 9)]) == [(1, 4), (5, 7)]


def test_highlight_never_leaves_a_blank_line():
    # a blank line would end the Markdown HTML block in the chatbot
    assert "\n" not in highlight("one\n\ntwo", 0, [(0, 3)])
    assert highlight("one\n\ntwo", 0, [(0, 3)]) == "<mark>one</mark><br><br>two"


def test_confidence_in_words_and_number():
    assert confidence_label(0.91) == "high (0.91)"
    assert confidence_label(0.5) == "medium (0.50)"
    assert confidence_label(0.123) == "low (0.12)"


def test_answer_is_bold_with_confidence_source_and_marked_sentence():
    out = render_answer(kirby_answer())
    assert "<strong>John Kirby</strong>" in out
    assert "Confidence: high (0.91)" in out
    assert "Kosovo &lt;b&gt;news&lt;/b&gt;" in out and "<b>news" not in out
    assert '<blockquote class="qa-sentence"><mark>John Kirby</mark>, spokesperson for the NSC, warned Serbia.' in out
    assert "\n" not in out


def test_passages_panel_is_collapsible_with_ranks():
    out = render_passages([passage(rank=1), passage(0, 12, rank=2)])
    assert out.startswith('<details class="qa-passages"><summary>Passages read (2)</summary>')
    assert "#1" in out and "#2" in out and "bm25 #2, dense #1" in out


def test_understood_question_shown_only_when_it_differs():
    answer = kirby_answer()  # asked and read as "Who is the NSC spokesperson?"
    assert "Question as understood" not in render_answer(answer, asked="Who is the NSC spokesperson?")
    followup = dataclasses.replace(answer, question="Who is John Kirby?")  # a resolved "Who is he?"
    out = render_answer(followup, asked="Who is he?")
    assert "Question as understood: <em>Who is John Kirby?</em>" in out
    spelled = dataclasses.replace(answer, read_as="Who is the National Security Council spokesperson?")
    out = render_answer(spelled, asked="Who is the NSC spokesperson?")
    assert "Question as understood: <em>Who is the National Security Council spokesperson?</em>" in out


def test_abstention_says_so_and_shows_closest_passages():
    answer = Answer("What is the population of Kosovo?", None, 0.04, (), (passage(), passage(0, 12, rank=2)))
    out = render_answer(answer)
    assert ABSTAIN_MESSAGE in out and "The closest passages" in out
    assert "low (0.04)" in out
    assert "<strong>None</strong>" not in out


def test_untrusted_document_text_renders_as_text():
    evil = 'Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> John Kirby.'
    at = evil.index("John")
    cit = Citation("evil", "<img src=x onerror=alert(3)>", at, at + 10, 0, len(evil), evil)
    answer = Answer("q", "John Kirby", 0.9, (cit,), (Passage("evil", "t", 0, len(evil), evil, 1, 0.1, {}),))
    for out in (render_answer(answer), render_document("<script>x</script>", evil, [(at, at + 10)])):
        assert "<script" not in out and "<img" not in out
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
        assert "onerror=&quot;alert(2)&quot;" in out
        assert "<mark>John Kirby</mark>" in out


def test_document_view_marks_every_cited_span():
    out = render_document("Kosovo", DOC, [(START, START + 10), (0, 5)])
    assert re.findall(r"<mark>(.*?)</mark>", out) == ["Kirby", "John Kirby"]
    assert "2 cited span(s) highlighted" in out
