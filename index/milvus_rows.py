"""How an index's documents and chunks are laid out as Milvus rows (pure: no pymilvus here).

``index.milvus`` writes and reads these rows; keys, pages and field lists live here so that the
layout can be read (and tested) in one place. A document is stored as JSON (title, text, source
and sentence offsets) cut into pages of ``PAGE_CHARS`` characters, because a VARCHAR holds at most
65,535 bytes; a chunk row carries its exact text, the words BM25 sees and its dense vector.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corpus.document import Chunk, Document
from index.errors import StoreError
from index.lexical import tokenize

PAGE_CHARS = 16_000  # at most 4 bytes a character: a page stays under a VARCHAR's 65,535 bytes
MAX_VARCHAR = 65_535
DOC_FIELDS = ["pk", "doc_id", "page", "pages", "chunks", "chars", "content_hash", "source", "title", "body"]
CHUNK_FIELDS = ["chunk_id", "doc_id", "content_hash", "seq", "start", "end", "text"]


def quote(text: str) -> str:
    """``text`` as a string literal of Milvus's filter expressions (pure)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def doc_key(doc_id: str, page: int = 0) -> str:
    return f"d:{doc_id}:{page}"


def chunk_key(content_hash: str, chunk_id: str) -> str:
    return f"{content_hash[:16]}:{chunk_id}"


def lexical_terms(text: str) -> str:
    """The words BM25 sees, as ``index.lexical.tokenize`` cuts them, joined by spaces for Milvus's analyzer."""
    return " ".join(tokenize(text))


def pages(doc: Document, sentences: Sequence[tuple[int, int]]) -> list[str]:
    """The document and its sentence offsets as JSON, cut into pages that fit a VARCHAR (pure)."""
    body = json.dumps({"title": doc.title, "text": doc.text, "source": doc.source,
                       "sentences": [int(x) for span in sentences for x in span]}, ensure_ascii=False)  # fmt: skip
    return [body[i : i + PAGE_CHARS] for i in range(0, len(body), PAGE_CHARS)] or [""]


@dataclass(frozen=True)
class StoredDocument:
    document: Document
    sentences: list[tuple[int, int]]
    content_hash: str
    chunks: int


def from_pages(rows: list[dict]) -> StoredDocument:
    data = json.loads("".join(r["body"] for r in sorted(rows, key=lambda r: r["page"])))
    flat = data["sentences"]
    doc = Document(rows[0]["doc_id"], data["title"], data["text"], data["source"])
    return StoredDocument(doc, list(zip(flat[0::2], flat[1::2])), rows[0]["content_hash"], int(rows[0]["chunks"]))


def chunk_row(content_hash: str, seq: int, c: Chunk, vector: np.ndarray) -> dict:
    terms = lexical_terms(c.text)
    if len(c.text.encode("utf-8")) > MAX_VARCHAR or len(terms.encode("utf-8")) > MAX_VARCHAR:
        raise StoreError(f"A chunk of '{c.doc_id}' is over Milvus's 65,535-byte text limit ({len(c.text):,} characters "
                         f"without a sentence break): split the document's text into sentences or lower chunk_words.")  # fmt: skip
    return {"pk": chunk_key(content_hash, c.chunk_id), "chunk_id": c.chunk_id, "doc_id": c.doc_id,
            "content_hash": content_hash, "seq": seq, "start": c.start, "end": c.end, "text": c.text,
            "terms": terms, "dense": np.asarray(vector, dtype=np.float32).tolist()}  # fmt: skip


def doc_row(doc: Document, page: int, parts: list[str], chunks: int) -> dict:
    return {"pk": doc_key(doc.doc_id, page), "doc_id": doc.doc_id, "page": page, "pages": len(parts), "chunks": chunks,
            "chars": len(doc.text), "content_hash": doc.content_hash, "source": doc.source[:PAGE_CHARS],
            "title": doc.title[:PAGE_CHARS], "body": parts[page], "v": [0.0, 0.0]}  # fmt: skip


def row_chunk(r: dict) -> Chunk:
    return Chunk(r["chunk_id"], r["doc_id"], int(r["start"]), int(r["end"]), r["text"])
