"""The chat's pipelines: one per reader, built on first use, sharing one index and one lock.

The first pipeline (the configured reader) is built by the factory; another reader picked in the
menu gets a pipeline of its own over the *same* index, built once. Every question, every
evaluation question and every upload goes through ``lock``, so an upload never changes the index
under a question read by another reader's pipeline (a ``Pipeline`` only locks itself). Answering
was one question at a time already; this keeps it so across readers.

    holder = LazyPipeline(lambda: Pipeline.from_config(config), with_reader=reader_pipeline(config))
    holder.get(reader="accurate").ask("Who is John Kirby?")
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from qa.config import READERS, Config, reader_name, reader_path

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

LOADING_NOTE = "Loading the index and the models (first question only)…"


def reader_choices(config: Config) -> tuple[list[str], str]:
    """The readers the menus offer (a named reader only once its folder exists) and the configured one."""
    current = reader_name(config.reader_model)
    names = [name for name, path in READERS.items() if path.is_dir()]
    return (names if current in names else [current, *names]), current


def reader_pipeline(config: Config) -> Callable[["Pipeline", str], "Pipeline"]:
    """How a pipeline for another reader is made: the same index, that reader (loaded here), the same settings."""

    def make(base: "Pipeline", reader: str) -> "Pipeline":
        from dataclasses import replace

        from qa.pipeline import Pipeline
        from qa.reader import Reader

        settings = replace(config, reader_model=reader_path(reader))
        return Pipeline(base.store, Reader.from_config(settings).load(), settings)

    return make


class LazyPipeline:
    """Builds the pipeline once per process, on first use, whichever user asks first; one more per reader."""

    def __init__(self, factory: Callable[[], "Pipeline"],
                 with_reader: Callable[["Pipeline", str], "Pipeline"] | None = None) -> None:  # fmt: skip
        self._factory = factory
        self._with_reader = with_reader
        self._pipeline: Pipeline | None = None
        self._others: dict[str, Pipeline] = {}
        self._load_lock = threading.Lock()
        # Questions (every reader's), evaluation questions and uploads, one at a time: see the module docstring.
        self.lock = threading.RLock()
        self.write_lock = threading.Lock()  # one upload at a time

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def get(self, progress: Any = None, reader: str | None = None) -> "Pipeline":
        """The pipeline of ``reader`` (a name or path; None or the configured one: the first pipeline)."""
        if self._pipeline is None:
            with self._load_lock:
                if self._pipeline is None:  # another thread may have loaded it while we waited
                    if progress is not None:
                        progress(0.0, desc=LOADING_NOTE)
                    self._pipeline = self._factory()
        base = self._pipeline
        if reader is None or self._with_reader is None or reader_path(reader) == str(base.config.reader_model):
            return base
        if reader not in self._others:
            with self._load_lock:
                if reader not in self._others:
                    if progress is not None:
                        progress(0.0, desc=f"Loading the {reader} reader (first question only)…")
                    self._others[reader] = self._with_reader(base, reader)
        return self._others[reader]


class Serialized:
    """A pipeline whose ``ask`` and ``retrieve`` take the holder's lock (evaluation runs use it)."""

    def __init__(self, pipeline: "Pipeline", lock) -> None:
        self._pipeline = pipeline
        self._lock = lock

    def ask(self, question: str, conversation=None):
        with self._lock:
            return self._pipeline.ask(question, conversation)

    def retrieve(self, query: str, k: int | None = None):
        with self._lock:
            return self._pipeline.retrieve(query, k)

    def __getattr__(self, name: str):  # store, config, reader, threshold: read as they are
        return getattr(self._pipeline, name)
