"""The two core types of the corpus: a document and a chunk of it.

Offsets are half-open ``[start, end)`` into ``Document.text``, which is never
rewritten once offsets have been taken: ``doc.text[c.start:c.end] == c.text``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    source: str  # where it came from: a path, an upload name or "squad:<file>"

    @property
    def content_hash(self) -> str:
        """Identifies the text, so that re-ingesting an unchanged document embeds nothing."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
