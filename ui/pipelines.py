"""The chat's pipelines: one per reader, built on first use, sharing one index and one lock.

The first pipeline (the configured reader) is built by the factory; another reader picked in the
menu gets a pipeline of its own over the *same* index, built once. Questions (the chat's and the
Evaluate tab's, every reader's) hold ``lock`` shared, so they still run together and share the
reader's forward passes; an upload holds it exclusively for its commit only (``Pipeline.ingest``:
embedding the upload's chunks goes on beside the questions), so it never changes the index under
a question of another reader's pipeline (a ``Pipeline`` only locks itself).

    holder = LazyPipeline(lambda: Pipeline.from_config(config), with_reader=reader_pipeline(config))
    holder.get(reader="accurate").ask("Who is John Kirby?")
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable

from qa.config import READERS, Config, reader_name, reader_path

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

LOADING_NOTE = "Loading the index and the models (first question only)…"
READY_NOTE = "Ready: the chat answers at full speed"  # printed by warm_up; bench/ui_latency.py waits for it
WARM_QUESTION = "What do the documents say?"


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
        return Pipeline(base.retriever, Reader.from_config(settings).load(), settings)

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
        self.lock = SharedLock()  # questions shared, uploads exclusive: see the module docstring
        self.write_lock = threading.Lock()  # one upload at a time

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def warm_up(self, then: Callable[[], None] | None = None, uploads: bool = False) -> threading.Thread:
        """Build the configured pipeline now, in the background, read one question through it, then run ``then``.

        Why: loading the index and the models takes seconds and the first forward passes are slower
        still; a server that starts warm answers its first user as fast as its hundredth. ``then`` is
        the rest of the first request's path (the chat asks itself one question over HTTP: Gradio's
        first event costs about a second more than later ones). A failure of the pipeline is left
        for the first question to report, with the handlers' one-line error; one of ``then`` only
        costs the first user that second. With ``uploads`` (a server that takes them) the document
        embedder is loaded too (``Pipeline.prepare_uploads``), before "Ready".
        """

        def run() -> None:
            t0 = time.perf_counter()
            try:
                self.get().ask(WARM_QUESTION)
                if uploads:
                    self.get().prepare_uploads()
            except Exception as error:  # noqa: BLE001 - reported again, in context, by the first question
                print(f"warm-up failed ({type(error).__name__}: {error}); the first question will retry",
                      file=sys.stderr)
                return
            if then is not None:
                try:
                    then()
                except Exception as error:  # noqa: BLE001 - only the first request's speed is at stake
                    print(f"warm-up of the web server failed ({type(error).__name__}: {error})", file=sys.stderr)
            loaded = "index, reader and document embedder" if uploads else "index and reader"
            print(f"{READY_NOTE} ({loaded} loaded in {time.perf_counter() - t0:.1f} s)", flush=True)

        thread = threading.Thread(target=run, name="warm-up", daemon=True)
        thread.start()
        return thread

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


class SharedLock:
    """Any number of ``shared()`` holders at once, or one ``exclusive()``; a waiting writer goes next.

    A writer waiting keeps new readers out, so an upload is not starved by a stream of questions.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Serialized:
    """A pipeline whose ``ask`` and ``retrieve`` hold the holder's lock shared (evaluation runs use it)."""

    def __init__(self, pipeline: "Pipeline", lock: SharedLock) -> None:
        self._pipeline = pipeline
        self._lock = lock

    def ask(self, question: str, conversation=None):
        with self._lock.shared():
            return self._pipeline.ask(question, conversation)

    def retrieve(self, query: str, k: int | None = None):
        with self._lock.shared():
            return self._pipeline.retrieve(query, k)

    def __getattr__(self, name: str):  # store, config, reader, threshold: read as they are
        return getattr(self._pipeline, name)
