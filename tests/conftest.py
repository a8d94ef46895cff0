"""Shared fixtures: the bundled article and the real bundled embedder, each loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.config import OFFLINE_ENVIRONMENT, READERS, Config

# The test run is an entry point: it, not the library, sets the environment (no hub access).
for _name, _value in OFFLINE_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
# Tests read with the fast reader (5x cheaper a token), whatever the default: every CLI call made
# in-process or as a subprocess takes QA_READER from here; the tests of the accurate one say so.
os.environ.setdefault("QA_READER", "fast")
FAST = Config(reader_model=str(READERS["fast"]))  # the settings tests build real pipelines from

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTICLE_PATH = REPO_ROOT / "corpus" / "data" / "serbian-military-buildup-kosovo-border.txt"


@pytest.fixture(scope="session")
def article_path() -> Path:
    """The raw bundled article, page furniture included."""
    return ARTICLE_PATH


@pytest.fixture(scope="session")
def article():
    """The bundled article as a cleaned Document."""
    from corpus.loading import load_path

    (doc,) = load_path(ARTICLE_PATH)
    return doc


@pytest.fixture(scope="session")
def embedder():
    """The bundled all-MiniLM-L6-v2 embedder (offline), with its model loaded once."""
    from index.embedder import Embedder

    emb = Embedder()
    assert emb.dimension == 384  # loads the model now, not inside the first test that uses it
    return emb


# --- the real models, loaded once per session (shared by reader, pipeline, CLI and UI tests) ---
@pytest.fixture(scope="session")
def reader():
    from qa.reader import Reader

    return Reader(FAST.reader_model).load()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, embedder, reader):
    """The default pipeline over the bundled article, with its index in a temporary folder."""
    import dataclasses

    from qa.indexes import open_index
    from qa.pipeline import Pipeline

    # The bundled article's index, built as the CLI builds it (open_index), in a temporary folder.
    config = dataclasses.replace(FAST, default_index=tmp_path_factory.mktemp("index") / "default")
    return Pipeline(open_index(config, embedder=embedder, progress=False), reader, config)


@pytest.fixture(scope="session")
def milvus_pipeline(tmp_path_factory, embedder, reader):
    """The default pipeline over the bundled article, its index in Milvus Lite (a temporary .db file)."""
    import dataclasses

    from qa.indexes import open_index
    from qa.pipeline import Pipeline

    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        pytest.skip("Milvus Lite is not installed: pip install -r requirements-milvus.txt (make test-milvus)")
    uri = str(tmp_path_factory.mktemp("milvus") / "index.db")
    config = dataclasses.replace(FAST, backend="milvus", milvus_uri=uri)
    return Pipeline(open_index(config, embedder=embedder, progress=False), reader, config)
