"""Page furniture removal and whitespace normalisation."""

from __future__ import annotations

import pytest

from corpus.cleaning import clean_text, is_furniture, normalize_whitespace


@pytest.mark.parametrize(
    "line",
    ["top of page", "Bottom of Page", "Skip to main content", "↑ Back to top", "[Skip to content]",
     "  Return to top of page  ", "Advertisement", "Toggle navigation", "^ top of the page ^"],
)  # fmt: skip
def test_navigation_lines_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    ["He scrolled to the top of the page.", "Back to top form, the team won.", "Kirby spoke.", "", "Menu prices rose."],
)
def test_content_lines_are_not_furniture(line):
    assert not is_furniture(line)


def test_furniture_is_removed_from_the_bundled_article(article_path):
    raw = article_path.read_text(encoding="utf-8")
    assert raw.startswith("top of page") and raw.rstrip().endswith("bottom of page")
    text = clean_text(raw)
    assert "top of page" not in text and "bottom of page" not in text
    assert text.startswith("Serbian Military Buildup on Kosovo Border Raises Alarm Bells\n\nThe situation")
    assert text.endswith("to avoid further destabilization in the region.")


def test_furniture_in_the_middle_goes_but_its_neighbours_stay():
    assert clean_text("Intro.\n\nSkip to main content\n\nBody.\nBack to top") == "Intro.\n\nBody."


def test_whitespace_is_normalised():
    raw = "\ufeffTitle\r\n\r\n\r\n\r\nA\tline  with\u00a0odd   spaces. \r\nNext\u200bline.\n\n\n"
    assert normalize_whitespace(raw) == "Title\n\nA line with odd spaces.\nNextline."


def test_combining_accents_become_precomposed():
    decomposed = "Vuc\u030cic\u0301 in Banjske\u0308"
    assert normalize_whitespace(decomposed) == "Vučić in Banjskë"


def test_clean_text_is_idempotent(article_path):
    once = clean_text(article_path.read_text(encoding="utf-8"))
    assert clean_text(once) == once


def test_mixed_whitespace_at_line_edges_and_between_words():
    raw = " \t a \u00a0\u2009 b\t\n \u3000c  \x0c\n\n \n\n\u200b d \u00ad"
    assert normalize_whitespace(raw) == "a b\nc\n\nd"
