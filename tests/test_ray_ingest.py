"""Ingest on Ray gives the serial ingest's index: the same documents, chunks and vectors (within float tolerance).

A real local Ray runtime and Milvus Lite; skipped when ray or Milvus Lite is not installed
(``make test-ray`` installs both).
"""

from __future__ import annotations

import numpy as np
import pytest

from corpus.loading import load_paths
from index import add_documents

TEXTS = {
    "memo.txt": "The memo says the tanks left on Friday. Kirby spoke for the council. He asked Serbia to withdraw.",
    "notes/border.md": "# Border\n\nDrones flew over the lake near Banjska. Three gunmen were killed. " * 6,
    "notes/talks.txt": "Talks resumed in Brussels on Monday. The EU envoy met both leaders. Nothing was signed.",
}


@pytest.fixture
def corpus(tmp_path):
    for name, text in TEXTS.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    return tmp_path / "docs"


def vectors(store) -> dict[str, np.ndarray]:
    rows = store.client.query(store.chunks_collection, filter="", output_fields=["chunk_id", "dense"], limit=1000)
    return {r["chunk_id"]: np.asarray(r["dense"], dtype=np.float32) for r in rows}


def test_ray_ingest_equals_serial_ingest_and_resumes(corpus, tmp_path, embedder):
    pytest.importorskip("ray", reason="ray is not installed: pip install -r requirements-ray.txt (make test-ray)")
    pytest.importorskip("milvus_lite", reason="Milvus Lite is not installed: pip install -r requirements-milvus.txt")
    from index.milvus import MilvusStore
    from index.ray_ingest import ray_ingest

    uri = str(tmp_path / "index.db")
    serial = MilvusStore.open(uri, "serial", embedder, create=True)
    add_documents(serial, embedder, load_paths([corpus]))
    parallel = MilvusStore.open(uri, "ray", embedder, create=True)
    report = ray_ingest(parallel, [corpus], workers=2, progress=False)

    assert (report.added, report.unchanged) == (3, 0)
    assert parallel.documents() == serial.documents()
    assert parallel.chunks() == serial.chunks() and report.chunks_embedded == len(serial.chunks())
    assert [parallel.sentences(d.doc_id) for d in serial.documents()] == [serial.sentences(d.doc_id)
                                                                          for d in serial.documents()]  # fmt: skip
    want, got = vectors(serial), vectors(parallel)
    assert got.keys() == want.keys()
    for chunk_id in want:
        np.testing.assert_allclose(got[chunk_id], want[chunk_id], atol=1e-5)

    (corpus / "notes" / "talks.txt").write_text("Talks resumed in Vienna on Tuesday.", encoding="utf-8")
    again = ray_ingest(parallel, [corpus], workers=1, progress=False)  # a restart: stored documents are skipped
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    assert parallel.document("notes/talks.txt").text == "Talks resumed in Vienna on Tuesday."
