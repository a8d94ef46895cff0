"""Loading .txt, .md, .html and .pdf files (and uploads) into cleaned documents."""

from __future__ import annotations

import pytest

from corpus.loading import DocumentTooLargeError, DuplicateDocumentError, LoadError, doc_id_for, load_bytes, load_path, load_paths


def make_pdf(text: str | None, title: str | None = None) -> bytes:
    """A one-page PDF written by hand: Helvetica ``text`` (none: a page with no text at all)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text is not None else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>".encode() if title else b"<< >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_the_bundled_article_loads_clean(article_path):
    (doc,) = load_path(article_path)
    assert doc.doc_id == "serbian-military-buildup-kosovo-border.txt"
    assert doc.title == "Serbian Military Buildup on Kosovo Border Raises Alarm Bells"
    assert doc.source == str(article_path)
    assert "top of page" not in doc.text and "John Kirby, spokesperson" in doc.text


def test_txt_title_is_a_short_first_line_or_the_file_name():
    assert load_bytes("a.txt", b"Alarm Bells\n\nKirby spoke.").title == "Alarm Bells"
    assert load_bytes("a.txt", b"Kirby spoke to the press.\nThen left.").title == "a.txt"


def test_markdown_heading_becomes_the_title():
    doc = load_bytes("notes.md", "# Notes on Vučić\n\nKirby spoke.".encode())
    assert (doc.doc_id, doc.title, doc.text) == ("notes.md", "Notes on Vučić", "# Notes on Vučić\n\nKirby spoke.")


def test_html_keeps_text_in_blocks_and_drops_scripts_styles_and_navigation():
    html = b"""<!DOCTYPE html><html><head><title>Kosovo  news</title><style>p {}</style></head>
    <body><nav>Home | About</nav><h1>Alarm</h1><p>Kirby
       spoke <b>today</b>.<br>Troops moved.</p><script>var x = 1;</script>
    <ul><li>One</li><li>Two</li></ul><!-- a comment --><p>Back to top</p></body></html>"""
    doc = load_bytes("page.html", html)
    assert doc.title == "Kosovo news"
    assert doc.text == "Alarm\n\nKirby spoke today.\nTroops moved.\n\nOne\n\nTwo"


def test_html_title_falls_back_to_h1_then_file_name():
    assert load_bytes("p.htm", b"<h1>Big  News</h1><p>Text.</p>").title == "Big News"
    assert load_bytes("p.htm", b"<p>Text.</p>").title == "p.htm"


def test_pdf_text_and_metadata_title():
    doc = load_bytes("report.pdf", make_pdf("Kirby spoke about Kosovo.", title="NSC Briefing"))
    assert (doc.doc_id, doc.title) == ("report.pdf", "NSC Briefing")
    assert "Kirby spoke about Kosovo." in doc.text
    assert load_bytes("report.pdf", make_pdf("Kirby spoke.")).title == "report.pdf"


def test_pdf_without_text_is_refused():
    with pytest.raises(LoadError, match="no extractable text"):
        load_bytes("scan.pdf", make_pdf(None))


def test_broken_pdf_is_refused():
    with pytest.raises(LoadError, match="could not be read as a PDF"):
        load_bytes("broken.pdf", b"%PDF-1.4 this is not really a pdf")


def test_non_utf8_text_is_refused():
    with pytest.raises(LoadError, match="not UTF-8"):
        load_bytes("latin1.txt", "Vučić".encode("cp1250"))


@pytest.mark.parametrize("data", [b"", b"  \n\n ", b"top of page\n\nbottom of page\n"])
def test_empty_files_are_refused(data):
    with pytest.raises(LoadError, match="empty"):
        load_bytes("empty.txt", data)


def test_unsupported_extension_lists_the_supported_ones():
    with pytest.raises(LoadError, match=r"unsupported extension.*\.pdf, \.txt"):
        load_bytes("slides.pptx", b"whatever")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(LoadError, match="no file or folder"):
        load_path(tmp_path / "nope.txt")


def test_folder_load_is_recursive_sorted_and_skips_what_it_cannot_read(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "inner.md").write_text("# Inner\n\nText one.")
    (tmp_path / "a.txt").write_text("Text two.")
    (tmp_path / "a.html").write_text("<p>Text three.</p>")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("Not me.")
    docs = load_path(tmp_path)
    assert [d.doc_id for d in docs] == ["a.html", "a.txt", "b/inner.md"]  # relative paths, extension included
    assert [d.source for d in docs] == [str(tmp_path / "a.html"), str(tmp_path / "a.txt"), str(tmp_path / "b" / "inner.md")]
    assert [d.text for d in docs] == ["Text three.", "Text two.", "# Inner\n\nText one."]
    assert load_path(tmp_path) == docs


def test_folder_without_loadable_files_is_refused(tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(LoadError, match="No loadable files"):
        load_path(tmp_path)


def test_upload_names_are_reduced_to_a_safe_id():
    doc = load_bytes("C:\\fakepath\\my notes#1.txt", b"Kirby spoke.")
    assert (doc.doc_id, doc.source) == ("my-notes-1.txt", "my notes#1.txt")
    assert doc_id_for("sub dir/Vučić report.md") == "sub-dir/Vučić-report.md"


def test_a_file_loaded_on_its_own_is_named_by_its_file_name_and_sourced_by_its_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("Kirby spoke.")
    monkeypatch.chdir(tmp_path)
    (doc,) = load_path("a/x.txt")
    assert (doc.doc_id, doc.source) == ("x.txt", str(tmp_path / "a" / "x.txt"))


def test_the_same_name_with_two_extensions_is_two_documents(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.html").write_text("<p>From the page.</p>")
    (tmp_path / "a" / "x.txt").write_text("From the notes.")
    docs = load_paths([tmp_path / "a" / "x.html", tmp_path / "a" / "x.txt"])
    assert [(d.doc_id, d.text) for d in docs] == [("x.html", "From the page."), ("x.txt", "From the notes.")]
    assert [d.doc_id for d in load_path(tmp_path)] == ["a/x.html", "a/x.txt"]


def test_two_files_that_would_share_an_id_are_an_error_naming_both(tmp_path):
    (tmp_path / "my notes.txt").write_text("One.")
    (tmp_path / "my-notes.txt").write_text("Two.")
    with pytest.raises(DuplicateDocumentError, match=r"my notes\.txt and .*my-notes\.txt would both be document 'my-notes\.txt'"):
        load_path(tmp_path)


def test_one_load_of_several_paths_refuses_a_collision_and_loads_a_repeated_file_once(tmp_path):
    for folder, text in (("a", "First."), ("b", "Second.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(text)
    with pytest.raises(DuplicateDocumentError) as caught:
        load_paths([tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"])
    assert str(tmp_path / "a" / "x.txt") in str(caught.value) and str(tmp_path / "b" / "x.txt") in str(caught.value)
    docs = load_paths([tmp_path / "a", str(tmp_path / "a" / "x.txt")])  # a folder, then a file in it
    assert [(d.doc_id, d.text) for d in docs] == [("x.txt", "First.")]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(30_000_000)  # sparse: 30 MB that would take a while to read and clean
    with pytest.raises(DocumentTooLargeError, match=r"big\.txt is 30\.0 MB, over the 20 MB limit") as caught:
        load_path(big)
    assert (caught.value.size_mb, caught.value.max_mb) == (30.0, 20.0)
    with pytest.raises(DocumentTooLargeError, match="over the 0.5 MB limit"):
        load_bytes("big.txt", b"Kirby spoke. " * 50_000, max_mb=0.5)
    assert load_bytes("small.txt", b"Kirby spoke.", max_mb=0.5).text == "Kirby spoke."
