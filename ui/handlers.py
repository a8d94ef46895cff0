"""The functions behind the chat and documents tabs, and the lazily loaded, shared pipeline.

The pipeline (index, embedder, reader) is one per process, loaded on first use behind a lock
and shared by all users: it is read-only for answering and thread-safe. Everything that belongs
to one user (their conversation, the spans cited to them) lives in a ``ChatState`` held by
``gr.State``, never on a shared object. Each question is cleaned and checked here, once, before
the models load (``qa.question``); follow-ups go through the same loop as the terminal chat
(``qa.followup.reply``).

    holder = LazyPipeline(Pipeline.from_config)
    handlers = Handlers(holder, max_question_chars=1000)
    handlers.ask_api("Who is the spokesperson for the US National Security Council?")["answer"]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import gradio as gr

from qa.errors import QuestionError
from qa.followup import Conversation, reply
from qa.question import normalize_question
from ui.feedback import FeedbackEvent, append_event
from ui.pipelines import LOADING_NOTE, LazyPipeline  # noqa: F401 - LazyPipeline is part of this module's API
from ui.render import document_rows, esc, render_answer, render_document, render_error

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
THINKING_NOTE = "Reading the documents…"
SHOWN_QUESTION_CHARS = 500  # a 20,000-character paste is refused; the chat shows only its start


@dataclass(frozen=True)
class Shown:
    """An answer the chat showed, kept so that feedback on it can be written down."""

    question: str  # as understood (a follow-up resolved), so it can be asked again on its own
    answer: str | None  # None: "the documents don't say"
    doc_id: str | None  # of its first citation
    score: float
    reader: str


@dataclass(frozen=True)
class ChatState:
    """One user's chat: what the chatbot shows, the conversation follow-ups resolve against, cited spans."""

    messages: tuple[dict, ...] = ()
    conversation: Conversation = Conversation()
    cited: tuple[tuple[str, int, int], ...] = ()  # (doc_id, start, end) of every citation shown
    shown: tuple[tuple[int, Shown], ...] = ()  # (index in messages, answer) of every answer given
    feedback_on: int | None = None  # the answer a correction applies to: the last one voted down

    def spans_in(self, doc_id: str) -> list[tuple[int, int]]:
        return [(start, end) for d, start, end in self.cited if d == doc_id]

    def answer_at(self, index: int | None) -> Shown | None:
        return next((s for i, s in self.shown if i == index), None)


def _message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _user_bubble(asked: str) -> str:
    """What the user typed, escaped and shortened; a raw HTML block so Markdown leaves "*" and "_" alone."""
    shown = asked if len(asked) <= SHOWN_QUESTION_CHARS else asked[:SHOWN_QUESTION_CHARS] + "…"
    return f'<div class="qa-user">{esc(shown) or "(empty)"}</div>'


class Handlers:
    """Event handlers; every per-user value comes in and goes out through arguments."""

    def __init__(self, holder: LazyPipeline, max_question_chars: int, feedback_file: Path | None = None,
                 read_only: bool = False) -> None:  # fmt: skip
        """``feedback_file``: where 👍/👎 go (None: no feedback); ``read_only``: every document change refused."""
        self.holder = holder
        self.max_question_chars = max_question_chars
        self.feedback_file = feedback_file
        self.read_only = read_only

    def _question(self, message: str | None) -> str:
        """The message as the pipeline takes it; a QuestionError says what to fix (no model is loaded)."""
        return normalize_question(message, self.max_question_chars)

    # -- chat ---------------------------------------------------------------------------------
    def respond(
        self, message: str, state: ChatState, reader: str | None = None, progress=gr.Progress(track_tqdm=True)
    ) -> Iterator[tuple[list[dict], ChatState, str]]:
        """Answer one chat message with ``reader`` (a name from the menu; None: the configured one).

        Yields first a placeholder so the user sees work is under way.
        """
        state = state if state is not None else ChatState()
        asked = (message or "").strip()
        shown = list(state.messages) + [_message("user", _user_bubble(asked))]
        try:
            question = self._question(message)
        except QuestionError as error:
            yield self._finish(state, shown, render_error(str(error)), message or "")
            return
        note = THINKING_NOTE if self.holder.loaded else LOADING_NOTE
        yield shown + [_message("assistant", f"<em>{note}</em>")], state, ""
        try:
            pipeline = self.holder.get(progress, reader)
            with self.holder.lock.shared():
                turn = reply(pipeline, question, state.conversation)
        except Exception as error:  # noqa: BLE001 - a broken index or model must not freeze the chat
            yield self._finish(state, shown, render_error(str(error) or type(error).__name__), "")
            return
        answer = turn.answer
        cited = tuple((c.doc_id, c.start, c.end) for c in answer.citations)
        record = Shown(answer.question, answer.text, answer.citations[0].doc_id if answer.citations else None,
                       answer.score, reader or "default")  # fmt: skip
        state = replace(state, conversation=turn.conversation, cited=state.cited + cited,
                        shown=state.shown + ((len(shown), record),))  # fmt: skip
        yield self._finish(state, shown, render_answer(answer, asked=question), "")

    @staticmethod
    def _finish(state: ChatState, shown: list[dict], reply_html: str, box: str):
        messages = tuple(shown) + (_message("assistant", reply_html),)
        state = replace(state, messages=messages)
        return list(messages), state, box

    @staticmethod
    def new_conversation() -> tuple[list[dict], ChatState, str]:
        return [], ChatState(), ""

    # -- feedback -----------------------------------------------------------------------------
    def vote(self, state: ChatState, like: gr.LikeData):
        """👍 or 👎 on an answer: one line in the feedback set; a 👎 opens the correction row for it."""
        state = state if state is not None else ChatState()
        index = like.index if isinstance(like.index, int) else like.index[0]
        shown = state.answer_at(index)
        if shown is None or like.liked not in (True, False):
            return "", state, gr.update()
        if like.liked:
            reference = (shown.answer,) if shown.answer is not None else ()
            note = self._save(FeedbackEvent(shown.question, "up", shown.answer, reference,
                                            shown.doc_id if shown.answer is not None else None, shown.score,
                                            shown.reader))  # fmt: skip
            return note, replace(state, feedback_on=None), gr.update(visible=False)
        note = self._save(FeedbackEvent(shown.question, "down", shown.answer, None, None, shown.score, shown.reader))
        ask = " What is the right answer?" if note.startswith("Thanks") else ""
        return note + ask, replace(state, feedback_on=index), gr.update(visible=True)

    def correct(self, right_answer: str, state: ChatState):
        """"The right answer is …" for the answer voted down last (or the last answer)."""
        text = " ".join((right_answer or "").split())
        if not text:
            note = "Type the right answer first, or choose “The documents don't say”."
            return note, state, right_answer, gr.update()
        return self._correction(state, (text,), "correction") + ("", gr.update(visible=False))

    def no_answer(self, state: ChatState):
        """"The documents don't say" for the answer voted down last (or the last answer)."""
        return self._correction(state, (), "no-answer") + (gr.update(visible=False),)

    def _correction(self, state: ChatState, answers: tuple[str, ...], vote: str):
        state = state if state is not None else ChatState()
        index = state.feedback_on if state.feedback_on is not None else (state.shown[-1][0] if state.shown else None)
        shown = state.answer_at(index)
        if shown is None:
            return "Ask a question first; feedback is about an answer.", state
        event = FeedbackEvent(shown.question, vote, shown.answer, answers, None, shown.score, shown.reader)
        return self._save(event), replace(state, feedback_on=None)

    def _save(self, event: FeedbackEvent) -> str:
        if self.feedback_file is None:
            return "Feedback is turned off on this server."
        try:
            append_event(self.feedback_file, event)
        except OSError as error:
            return f"Sorry: the feedback could not be saved ({esc(error.strerror or str(error))})."
        return "Thanks: saved to the feedback question set."

    # -- API ----------------------------------------------------------------------------------
    def ask_api(self, question: str) -> dict:
        """Answer one question; returns the same JSON object as ``python -m qa ask --json``."""
        try:
            question = self._question(question)
        except QuestionError as error:
            raise gr.Error(str(error)) from error
        pipeline = self.holder.get()
        with self.holder.lock.shared():
            return pipeline.ask(question).to_json()

    # -- documents ----------------------------------------------------------------------------
    def list_documents(self, progress=gr.Progress(track_tqdm=True)):
        """The documents table and the choices of the document picker."""
        stats = self.holder.get(progress).retriever.stats()
        choices = [(f"{s.title} ({s.doc_id})", s.doc_id) for s in stats]
        return document_rows(stats), gr.update(choices=choices)

    def show_document(self, doc_id: str | None, state: ChatState) -> str:
        """The chosen document with every span cited in this user's conversation highlighted."""
        if not doc_id:
            return '<div class="qa-doc-note">Choose a document to show it here.</div>'
        try:
            doc = self.holder.get().retriever.document(doc_id)
        except (KeyError, LookupError, ValueError, OSError, RuntimeError) as error:  # StoreError is one
            return render_error(f"Cannot show document {doc_id!r}: {error}")
        state = state if state is not None else ChatState()
        return render_document(doc.title, doc.text, state.spans_in(doc.doc_id))

    def upload(self, files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        """Load the uploaded files, add the good ones to the index, and say what happened to each."""
        if self.read_only:  # the upload controls are not shown then; this refuses a direct call
            return "This server is read-only: documents cannot be added.", *self.list_documents()
        if not files:
            return "Choose one or more files to add first.", *self.list_documents()
        lines, docs = read_uploads([Path(f) for f in files])
        if docs:
            pipeline = self.holder.get(progress)
            with self.holder.write_lock:  # one upload at a time; questions go on until its commit
                try:
                    report = pipeline.ingest(docs, guard=self.holder.lock.exclusive)
                except (OSError, ValueError, RuntimeError) as error:
                    lines.append(f"The index was not changed: {error}")
                else:
                    lines.append(ingest_summary(report))
        return "\n".join(f"- {esc(line)}" for line in lines), *self.list_documents()


def read_uploads(paths: list[Path]) -> tuple[list[str], list]:
    """Check type and size, then parse each file; returns (one message per problem, documents)."""
    from corpus.loading import LoadError, load_bytes  # the loaders pull in pypdf and friends

    lines: list[str] = []
    docs = []
    for path in paths:
        name = path.name
        problem = check_upload(name, path.stat().st_size)
        if problem:
            lines.append(problem)
            continue
        try:
            docs.append(load_bytes(name, path.read_bytes()))
        except LoadError as error:
            lines.append(f"{name}: {error}")
    return lines, docs


def check_upload(name: str, size: int) -> str | None:
    """One clear sentence about why a file cannot be added, or None when it looks fine."""
    if Path(name).suffix.lower() not in UPLOAD_TYPES:
        return f"{name}: unsupported file type; upload a .txt, .md, .html or .pdf file."
    if size == 0:
        return f"{name}: the file is empty."
    if size > MAX_UPLOAD_BYTES:
        return f"{name}: the file is {size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    return None


def ingest_summary(report) -> str:
    """'Added 1 document, updated 0, unchanged 1 (12 chunks embedded).'"""
    added, updated, unchanged = (_count(report, name) for name in ("added", "updated", "unchanged"))
    return (
        f"Added {added} document(s), updated {updated}, unchanged {unchanged} "
        f"({report.chunks_embedded} chunks embedded); the other documents were not re-embedded."
    )


def _count(report, name: str) -> int:
    value = getattr(report, name)
    return value if isinstance(value, int) else len(value)  # a count or a list of doc ids
