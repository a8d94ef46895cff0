"""What the corpus does with inputs that are wrong, huge, unreadable or odd: one clear error, or exact offsets."""

from __future__ import annotations

import os

import pytest

from corpus.chunking import chunk_document, estimate_chunk_count, sentence_spans
from corpus.cleaning import clean_text
from corpus.document import Document
from corpus.loading import LoadError, load_bytes, load_path, load_paths

as_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")


def assert_exact(doc: Document, **chunking) -> list:
    chunks = chunk_document(doc, **chunking)
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
    return chunks


# --- arguments of the wrong kind: a TypeError or ValueError that says what was expected ---


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: load_bytes("notes.txt", None), TypeError, "contents as bytes, not NoneType"),
        (lambda: load_bytes(None, b"Kirby spoke."), TypeError, "file name as a str, not NoneType"),
        (lambda: load_bytes("notes.txt", "Kirby spoke."), TypeError, "contents as bytes, not str"),
        (lambda: load_path(None), TypeError, "path as a str or Path, not NoneType"),
        (lambda: load_path(42), TypeError, "path as a str or Path, not int"),
        (lambda: load_paths("corpus/data"), TypeError, "a list of paths"),
        (lambda: load_bytes("a.txt", b"x", max_mb="20"), TypeError, "max_mb must be a number"),
        (lambda: load_bytes("a.txt", b"x", max_mb=0), ValueError, "max_mb must be a positive number"),
        (lambda: sentence_spans(None), TypeError, "text as a str, not NoneType"),
        (lambda: estimate_chunk_count(b"bytes"), TypeError, "text as a str, not bytes"),
        (lambda: chunk_document("Kirby spoke."), TypeError, "expects a corpus.document.Document, not str"),
        (lambda: chunk_document(Document("d", "T", "x", "m"), max_words=1.5), TypeError, "max_words as an int"),
    ],
)
def test_wrong_argument_types_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_empty_path_is_an_error_not_the_current_folder():
    for path in ("", "   "):
        with pytest.raises(LoadError, match="empty path"):
            load_path(path)


def test_an_upload_without_a_name_is_refused():
    for name in ("", "C:\\fakepath\\", "uploads/.."):
        with pytest.raises(LoadError, match="needs a file name"):
            load_bytes(name, b"Kirby spoke.")


# --- files and folders that cannot be read ---


@as_root
def test_an_unreadable_file_in_a_folder_fails_the_load_naming_it(tmp_path):
    (tmp_path / "ok.txt").write_text("Kirby spoke.")
    secret = tmp_path / "secret.txt"
    secret.write_text("Hidden.")
    secret.chmod(0)
    with pytest.raises(LoadError, match=r"^Cannot read .*secret\.txt: permission denied") as caught:
        load_path(tmp_path)
    assert "\n" not in str(caught.value)


@as_root
def test_an_unreadable_folder_says_permission_denied(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("Kirby spoke.")
    locked.chmod(0)
    try:
        with pytest.raises(LoadError, match="permission denied"):
            load_path(locked)
        with pytest.raises(LoadError, match=r"Cannot read the folder .*locked: permission denied"):
            load_path(tmp_path)  # a locked folder inside: not "no loadable files"
    finally:
        locked.chmod(0o700)


def test_a_link_loop_in_a_folder_is_not_followed(tmp_path):
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "a.txt").write_text("Kirby spoke.")
    (tmp_path / "loop" / "again").symlink_to(tmp_path / "loop", target_is_directory=True)
    assert [d.doc_id for d in load_path(tmp_path / "loop")] == ["a.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_like_a_document_is_left_out_not_read_forever(tmp_path):
    (tmp_path / "a.txt").write_text("Kirby spoke.")
    os.mkfifo(tmp_path / "pipe.txt")
    assert [d.doc_id for d in load_path(tmp_path)] == ["a.txt"]
    with pytest.raises(LoadError, match="neither a regular file nor a folder"):
        load_path(tmp_path / "pipe.txt")


def test_a_folder_of_hidden_or_unsupported_files_has_nothing_to_load(tmp_path):
    (tmp_path / ".notes.txt").write_text("Hidden.")
    (tmp_path / "data.csv").write_text("a,b")
    with pytest.raises(LoadError, match="No loadable files"):
        load_path(tmp_path)


# --- texts that used to be slow or odd: bounded time, exact offsets ---


def test_a_big_one_table_markdown_file_chunks_in_seconds_into_cited_rows():
    rows = [f"| {i} | " + " | ".join(["alpha 12 bravo 34 charlie 56 delta"] * 6) + " |" for i in range(3000)]
    data = ("# Log\n\n| n | a | b | c | d | e | f |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)).encode()
    doc = load_bytes("log.md", data)  # about 750 kB; as one paragraph this took minutes (speed: bench/ingest_speed.py)
    chunks = assert_exact(doc)
    assert all(c.text.startswith("| ") and c.text.endswith(" |") for c in chunks[1:])


def test_a_long_line_without_spaces_or_punctuation_is_bounded():
    doc = Document("blob.txt", "T", "QUJD" * 50_000, "mem")  # 200,000 characters of base64-like text
    spans = sentence_spans(doc.text)
    assert max(e - s for s, e in spans) <= 8_000 and "".join(doc.text[s:e] for s, e in spans) == doc.text
    assert_exact(doc)


def test_text_with_nul_bytes_and_control_characters_keeps_exact_offsets():
    doc = load_bytes("odd.txt", "Kirby\x00 spoke.\x07 He left\x1b[0m. Done\u2028now.".encode())
    assert_exact(doc, max_words=2, overlap_sentences=0)


def test_cleaning_a_long_text_is_linear(tmp_path):
    text = "Troops \u00a0 massed\t on the border. \r\n" * 100_000  # 3.5 MB of odd whitespace
    cleaned = clean_text(text)  # about 1 s; speed is measured by bench/ingest_speed.py, not asserted here
    assert cleaned.startswith("Troops massed on the border.\nTroops")
