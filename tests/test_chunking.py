"""Sentence spans and chunks: exact offsets, whole sentences, overlap, tables, over-long text, estimates."""

from __future__ import annotations

import re

import pytest

from corpus.blocks import blocks
from corpus.chunking import chunk_document, estimate_chunk_count, sentence_spans
from corpus.document import Document


def texts_of(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_simple_sentences_with_exact_offsets():
    assert sentence_spans("Kirby spoke. He left.") == [(0, 12), (13, 21)]


def test_a_headline_never_merges_with_the_first_sentence():
    assert texts_of("Alarm Bells Ring\n\nTroops massed. Talks failed.") == [
        "Alarm Bells Ring", "Troops massed.", "Talks failed.",
    ]  # fmt: skip
    assert texts_of("Alarm Bells Ring\nTroops massed.") == ["Alarm Bells Ring", "Troops massed."]


def test_hard_wrapped_prose_is_joined_across_line_breaks():
    text = (
        "The peacekeeping force has been reinforced with British troops in\n"
        "response to the growing threat along the border. It has been there\n"
        "since 1999 to keep the peace between the two communities of Kosovo.\n"
    )
    assert texts_of(text) == [
        "The peacekeeping force has been reinforced with British troops in\n"
        "response to the growing threat along the border.",
        "It has been there\nsince 1999 to keep the peace between the two communities of Kosovo.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Vučić met Kurti. In Banjskë, three gunmen were killed.",
        "Flags 🇽🇰 and 🇷🇸 flew. Kirby 👍 agreed.\r\nNext line here.\r\n\r\nNew paragraph.",
        "  Leading space.   “Quoted,” he said.  Trailing.  ",
        "No final punctuation",
    ],
)
def test_spans_are_exact_trimmed_and_cover_every_word(text):
    spans = sentence_spans(text)
    for start, end in spans:
        piece = text[start:end]
        assert piece == piece.strip() and piece
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # ordered, no overlap
    covered = "".join(text[s:e] for s, e in spans)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)


def test_crlf_sentences_keep_their_offsets():
    text = "First line here.\r\nSecond one.\r\n\r\nThird."
    assert texts_of(text) == ["First line here.", "Second one.", "Third."]


@pytest.mark.parametrize(
    "text",
    [
        "Vučić spoke. " * 40 + "\r\n\r\nBanjskë 😀 was quiet. " * 30,
        "Kirby 👍 agreed.\r\n" * 100,
    ],
)
def test_chunk_offsets_round_trip_on_tricky_text(text):
    doc = Document("d", "T", text, "mem")
    chunks = chunk_document(doc, max_words=20)
    assert len(chunks) > 1
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_every_chunk_of_the_article_round_trips(article):
    chunks = chunk_document(article)
    assert [c.chunk_id for c in chunks] == [f"{article.doc_id}#{i}" for i in range(len(chunks))]
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == article.doc_id
        assert len(chunk.text.split()) <= 120
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)


def test_chunks_are_whole_sentences_sharing_one_with_the_next(article):
    spans = sentence_spans(article.text)
    starts, ends = {s for s, _ in spans}, {e for _, e in spans}
    chunks = chunk_document(article, max_words=120, overlap_sentences=1)
    for chunk, after in zip(chunks, chunks[1:]):
        assert chunk.start in starts and chunk.end in ends
        last_sentence = next(s for s in spans if s[1] == chunk.end)
        assert after.start == last_sentence[0]


def test_without_overlap_chunks_tile_the_sentences():
    doc = Document("d", "T", "One two three. Four five six. Seven eight nine. Ten.", "mem")
    chunks = chunk_document(doc, max_words=6, overlap_sentences=0)
    assert [c.text for c in chunks] == ["One two three. Four five six.", "Seven eight nine. Ten."]


def test_overlap_is_dropped_when_it_leaves_no_room():
    doc = Document("d", "T", "One two three four. Five six seven eight. Nine.", "mem")
    # with the shared sentence, "Five six seven eight." (4) + next (4) would exceed 5 words
    chunks = chunk_document(doc, max_words=5, overlap_sentences=1)
    assert [c.text for c in chunks] == ["One two three four.", "Five six seven eight. Nine."]


def test_a_long_sentence_is_its_own_chunk_and_a_huge_one_is_split():
    long_sentence = " ".join(["word"] * 150) + "."
    huge_sentence = " ".join(["term"] * 300) + "."
    doc = Document("d", "T", f"Short one. {long_sentence} {huge_sentence} Short two.", "mem")
    chunks = chunk_document(doc, max_words=120, overlap_sentences=1)
    sizes = [len(c.text.split()) for c in chunks]
    # 150 words: alone; 300 words: three pieces of 100, the last sharing a chunk with "Short two."
    assert sizes == [2, 150, 100, 100, 102]
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_precomputed_sentences_are_used():
    doc = Document("d", "T", "Alpha beta. Gamma delta.", "mem")
    (only,) = chunk_document(doc, max_words=2, sentences=[(0, 24)])  # one 4-word "sentence"
    assert only.text == "Alpha beta. Gamma delta."


def test_empty_text_and_bad_arguments():
    assert chunk_document(Document("d", "T", "", "mem")) == []
    assert sentence_spans(" \n\r\n ") == []
    with pytest.raises(ValueError):
        chunk_document(Document("d", "T", "x", "mem"), max_words=0)


def test_a_markdown_table_is_one_unit_per_row_with_its_header_kept_whole():
    text = "Troop numbers:\n\n| Unit | Men |\n|------|----:|\n| Alpha | 120 |\n| Bravo | 80 |\n\nTalks failed."
    assert texts_of(text) == [
        "Troop numbers:", "| Unit | Men |\n|------|----:|", "| Alpha | 120 |", "| Bravo | 80 |", "Talks failed.",
    ]  # fmt: skip


def test_a_table_without_outer_pipes_is_found_by_its_delimiter_row():
    text = "Unit | Men\n--- | ---\nAlpha | 120\nBravo | 80"
    assert texts_of(text) == ["Unit | Men\n--- | ---", "Alpha | 120", "Bravo | 80"]


def test_table_rows_are_packed_into_chunks_that_cite_exact_rows():
    rows = "\n".join(f"| row {i} | alpha beta gamma | {i * 7} |" for i in range(30))
    doc = Document("t.md", "T", f"| name | words | n |\n|---|---|---|\n{rows}\r\n", "mem")
    chunks = chunk_document(doc, max_words=40, overlap_sentences=1)
    assert len(chunks) > 3
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.startswith("| ") and chunk.text.endswith(" |")  # whole rows, never half of one
    assert chunks[1].text.split("\n")[0] == chunks[0].text.split("\n")[-1]  # one row shared


def test_an_overlong_paragraph_is_cut_at_sentence_ends_but_not_after_abbreviations():
    text = "Mr. Kirby spoke at length. Troops moved. Dr. Vučić replied."
    cut = [(text[b.start : b.end], b.prose) for b in blocks(text, max_chars=30)]
    assert cut == [("Mr. Kirby spoke at length.", True), ("Troops moved.", True), ("Dr. Vučić replied.", True)]
    assert blocks(text) == [blocks(text)[0]] and blocks(text)[0].prose  # under the limit: untouched


def test_overlong_text_without_sentence_ends_becomes_one_unit_per_line():
    text = "\n".join(f"station {i} sector north status active convoy {i * 3}" for i in range(10))  # hard-wrap-like
    assert [text[s:e] for s, e in sentence_spans(text)] == [text]  # short enough: one paragraph, as before
    cut = blocks(text, max_chars=200)
    assert [text[b.start : b.end] for b in cut] == text.split("\n") and not any(b.prose for b in cut)


def test_a_run_without_spaces_is_cut_at_the_limit():
    text = "x" * 25 + " and a tail"
    cut = [(text[b.start : b.end], b.prose) for b in blocks(text, max_chars=10)]
    assert cut == [("x" * 10, False), ("x" * 10, False), ("xxxxx and", False), ("a tail", False)]


def test_no_block_given_to_the_sentence_splitter_is_over_the_limit():
    prose = "Troops massed on the border near Jarinje while talks failed again " * 400  # 26,000 chars, no full stop
    table = "\n".join("| " + " | ".join(["alpha 12 bravo 34"] * 6) + " |" for _ in range(2000))
    for text in (prose, table, prose + ". Kirby spoke.\n\n" + table):
        pieces = blocks(text)
        assert max(b.end - b.start for b in pieces) <= 8_000
        spans = sentence_spans(text)
        assert re.sub(r"\s", "", "".join(text[s:e] for s, e in spans)) == re.sub(r"\s", "", text)


def test_estimate_is_exact_for_short_texts_and_close_for_long_ones():
    doc = Document("d", "T", "One two three. Four five six. Seven eight nine. Ten.", "mem")
    assert estimate_chunk_count(doc.text, max_words=6, overlap_sentences=0) == len(chunk_document(doc, 6, 0))
    table = "\n".join(f"| {i} | " + " | ".join(["alpha bravo charlie delta echo"] * 5) + " |" for i in range(3000))
    real = len(chunk_document(Document("t", "T", table, "mem")))
    assert abs(estimate_chunk_count(table) - real) <= 0.05 * real
    assert estimate_chunk_count("") == 0


def test_progress_shows_a_bar_with_an_eta_only_for_long_texts(capsys):
    table = "\n".join(f"| {i} | alpha bravo | charlie delta |" for i in range(20_000))  # about 700,000 chars
    assert sentence_spans(table, progress=True) == sentence_spans(table)
    err = capsys.readouterr().err
    assert "Splitting sentences" in err and "<" in err  # tqdm's "elapsed<remaining"
    sentence_spans("Kirby spoke. He left.", progress=True)
    assert capsys.readouterr().err == ""
