"""The Gradio chat app: chat, documents and evaluate tabs, and a named API endpoint ``ask``.

    python -m ui                      # http://127.0.0.1:7860, the default index of the default article
    python -m ui --index DIR --port 8000

From Python (tests, benchmarks):

    app = build_app(Config())                  # the pipeline is built on the first question
    launch(app, port=free_port, block=False)
    Client(url).predict("Who is ...?", api_name="/ask")   # == pipeline.ask(...).to_json()

gradio is imported inside the functions, so ``python -m ui --help`` starts instantly. The
command line and the environment are ``ui/__main__.py``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from qa.config import Config

if TYPE_CHECKING:
    import gradio as gr

    from qa.pipeline import Pipeline

TITLE = "Ask the documents"
EXAMPLES = (
    "Who is the spokesperson for the US National Security Council?",
    "Near which village was the battle?",
    "What did Donika Emini warn about?",
)
# Answers run in worker threads; more than a few at once only queue for the 2 CPU cores anyway.
CONCURRENCY = 4
READER_INFO = "fast: 6 layers; accurate: 12 layers, about 5x slower (offered once trained)"
EVALUATE_HELP = """Measure how well the chat answers **your** questions on **your** documents. A question set is a
CSV file with a header line `question,answer` (more `answer` columns, or `|` between alternatives; an empty answer
means *the documents don't say*; an optional `doc_id` column names the document, as the Documents tab lists it), or
JSONL lines `{"question": "…", "answers": ["…"]}`. The chat's 👍/👎 feedback is such a set."""
MAX_FILE_SIZE = "5mb"  # the server refuses bigger uploads; ui.handlers checks again with a clear message
CSS = """
.qa-reply mark, .qa-document mark { background: #ffe066; color: inherit; padding: 0 2px; border-radius: 2px; }
.qa-answer { font-size: 1.15em; margin-bottom: 4px; }
.qa-reply strong, .qa-document h3 { font-weight: 600; }  /* the bundled font has 400 and 600 only */
.qa-confidence, .qa-understood, .qa-source, .qa-doc-note { font-size: 0.9em; opacity: 0.85; }
.qa-understood { margin-bottom: 6px; }
.qa-citation blockquote, .qa-closest blockquote { margin: 4px 0 8px 0; padding-left: 10px; border-left: 3px solid #ccc; }
.qa-passages summary { cursor: pointer; margin-top: 6px; }
.qa-passage { margin: 2px 0 8px 0; font-size: 0.92em; }
.qa-doc-text { max-height: 600px; overflow-y: auto; line-height: 1.5; }
.qa-error { color: #b00020; }
#qa-eval-figures strong { font-size: 1.1em; }
"""


def build_app(config: Config, pipeline_factory: Callable[[], "Pipeline"] | None = None, *,
              feedback_file: Path | None = None, read_only: bool = False, warm: bool = False) -> "gr.Blocks":  # fmt: skip
    """The Blocks app for ``config``.

    Args:
        config: the settings; the pipeline is built from them unless a factory is given.
        pipeline_factory: makes the pipeline (tests pass a stand-in); called once, when the first user needs it.
        feedback_file: where the chat's 👍/👎 and corrections are appended (None: no feedback buttons).
        read_only: no upload controls, and the upload event refuses every call.
        warm: load the index and the models now, in the background, so the first question does not wait.
    """
    import gradio as gr

    from ui.evaluate import EvaluateTab
    from ui.handlers import UPLOAD_TYPES, ChatState, Handlers
    from ui.pipelines import LazyPipeline, reader_choices, reader_pipeline

    factory = pipeline_factory if pipeline_factory is not None else _pipeline_factory(config)
    holder = LazyPipeline(factory, with_reader=reader_pipeline(config) if pipeline_factory is None else None)
    handlers = Handlers(holder, config.max_question_chars, feedback_file, read_only)
    readers, current = reader_choices(config)
    private = dict(api_visibility="private")
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        state = gr.State(ChatState())
        gr.Markdown(f"# {TITLE}\nAsk in plain language; every answer cites the passage it comes from.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(gr, readers, current, feedback=feedback_file is not None)
            with gr.Tab("Documents", id="documents") as docs_tab:
                table, refresh, files, add, status, picker, view = _documents_tab(gr, UPLOAD_TYPES, read_only)
            with gr.Tab("Evaluate", id="evaluate"):
                _evaluate_tab(gr, EvaluateTab(holder, config, feedback_file), readers, current)

        chat_io = dict(inputs=[chat.box, state, chat.reader], outputs=[chat.chatbot, state, chat.box], **private)
        chat.box.submit(handlers.respond, **chat_io)
        chat.ask.click(handlers.respond, **chat_io)
        chat.clear.click(handlers.new_conversation, outputs=[chat.chatbot, state, chat.box], **private)
        if feedback_file is not None:
            chat.chatbot.like(handlers.vote, inputs=[state], outputs=[chat.note, state, chat.fix_row], **private)
            chat.fix_send.click(handlers.correct, inputs=[chat.fix_box, state],
                                outputs=[chat.note, state, chat.fix_box, chat.fix_row], **private)  # fmt: skip
            chat.fix_none.click(handlers.no_answer, inputs=[state], outputs=[chat.note, state, chat.fix_row],
                                **private)  # fmt: skip

        listing = dict(outputs=[table, picker], **private)
        docs_tab.select(handlers.list_documents, **listing)
        refresh.click(handlers.list_documents, **listing)
        if not read_only:
            add.click(handlers.upload, inputs=[files], outputs=[status, table, picker], **private)
        picker.change(handlers.show_document, inputs=[picker, state], outputs=[view], **private)
        # Re-highlight when the user comes back to the tab after new answers.
        docs_tab.select(handlers.show_document, inputs=[picker, state], outputs=[view], **private)

        gr.api(handlers.ask_api, api_name="ask", concurrency_limit=CONCURRENCY)
    app.queue(default_concurrency_limit=CONCURRENCY)
    if warm:
        holder.warm_up(then=lambda: ask_itself(app), uploads=not read_only)
    return app


def ask_itself(app: "gr.Blocks", wait_s: float = 300.0) -> bool:
    """Once ``app`` is served, ask it one question over HTTP, as a client would; False if it never was.

    Why: Gradio's first event (its queue, worker threads and event stream) costs about a second more
    than every later one, so without this the server's first user pays it. With a login, the
    first user:password pair is used (the server's own).
    """
    import time

    from ui.pipelines import WARM_QUESTION

    deadline = time.monotonic() + wait_s
    while not (app.is_running and app.local_url):  # launch() may come later than the pipeline
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    from gradio_client import Client

    auth = app.auth[0] if isinstance(app.auth, list) and app.auth else None
    Client(app.local_url, auth=auth, verbose=False).predict(WARM_QUESTION, api_name="/ask")
    return True


@dataclass(frozen=True)
class ChatControls:
    chatbot: Any
    box: Any
    ask: Any
    clear: Any
    reader: Any
    note: Any  # what happened to the last feedback
    fix_row: Any  # "the right answer is …" / "the documents don't say", shown after a 👎
    fix_box: Any
    fix_send: Any
    fix_none: Any


def _chat_tab(gr, readers: Sequence[str], current: str, feedback: bool) -> ChatControls:
    chatbot = gr.Chatbot(
        label="Conversation",
        elem_id="qa-chat",
        height=560,
        latex_delimiters=[],  # "$" in news text is money, not maths
        buttons=["copy"],  # no "share": nothing leaves this machine
        feedback_options=("Like", "Dislike") if feedback else None,  # rendered as 👍 / 👎
        placeholder="Answers cite the passage they come from; the Documents tab lists what is indexed.",
    )
    with gr.Row():
        box = gr.Textbox(
            placeholder="Ask a question about the documents, then follow up (\"Who is he?\")",
            show_label=False,
            elem_id="qa-question",
            scale=8,
            autofocus=True,
        )
        ask_button = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1)
    with gr.Row():
        clear_button = gr.Button("New conversation", size="sm", scale=1)
        reader = gr.Dropdown(choices=list(readers), value=current, label="Reader", elem_id="qa-reader", scale=1,
                             interactive=len(readers) > 1, info=READER_INFO)  # fmt: skip
    note = gr.Markdown(elem_id="qa-feedback-note")
    with gr.Row(visible=False, elem_id="qa-fix") as fix_row:
        fix_box = gr.Textbox(placeholder="The right answer is …", show_label=False, elem_id="qa-fix-text", scale=6)
        fix_send = gr.Button("Save the right answer", size="sm", elem_id="qa-fix-send", scale=2)
        fix_none = gr.Button("The documents don't say", size="sm", elem_id="qa-fix-none", scale=2)
    gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[box], label="Try")
    return ChatControls(chatbot, box, ask_button, clear_button, reader, note, fix_row, fix_box, fix_send, fix_none)


def _documents_tab(gr, upload_types: Sequence[str], read_only: bool):
    table = gr.Dataframe(
        headers=["Title", "Document id", "Characters", "Chunks"],
        datatype=["str", "str", "number", "number"],
        interactive=False,
        label="Indexed documents",
    )
    refresh = gr.Button("Refresh", size="sm")
    files = gr.File(
        file_count="multiple",
        file_types=list(upload_types),
        label="Add documents (.txt, .md, .html, .pdf; at most 5 MB each)",
        elem_id="qa-upload",
        visible=not read_only,
    )
    add = gr.Button("Add to the index", variant="primary", visible=not read_only)
    status = gr.Markdown("This server is read-only: documents cannot be added." if read_only else "",
                         elem_id="qa-upload-status")  # fmt: skip
    picker = gr.Dropdown(label="Show a document", choices=[], interactive=True)
    view = gr.HTML(elem_id="qa-document")
    return table, refresh, files, add, status, picker, view


def _evaluate_tab(gr, tab, readers: Sequence[str], current: str) -> None:
    from ui.evaluate import QUESTION_TYPES, source_choices

    gr.Markdown(EVALUATE_HELP)
    with gr.Row():
        source = gr.Radio(source_choices(tab.feedback_file), value="gold", label="Questions", elem_id="qa-eval-source",
                          scale=2)  # fmt: skip
        upload = gr.File(file_types=list(QUESTION_TYPES), label="Question set (.csv, .jsonl)", type="filepath",
                         elem_id="qa-eval-upload", scale=2)  # fmt: skip
        chosen = gr.Dropdown(choices=list(readers), value=[current], multiselect=True, max_choices=2,
                             label="Reader (two: side by side)", elem_id="qa-eval-readers", scale=1)  # fmt: skip
    run = gr.Button("Run the evaluation", variant="primary", elem_id="qa-eval-run")
    figures = gr.Markdown(elem_id="qa-eval-figures")
    plots = gr.Gallery(label="Plots", columns=3, height="auto", elem_id="qa-eval-plots", object_fit="contain")
    table = gr.Dataframe(label="Every question, misses first (click a header to sort)", interactive=False,
                         wrap=True, max_height=600, elem_id="qa-eval-table")  # fmt: skip
    files = gr.File(label="Report (Markdown and JSON)", file_count="multiple", interactive=False,
                    elem_id="qa-eval-files")  # fmt: skip
    history = gr.State([])
    with gr.Accordion("Runs this session, side by side", open=False):
        runs_so_far = gr.Markdown(elem_id="qa-eval-runs")
    upload.upload(lambda: "upload", outputs=[source], api_visibility="private")
    # One evaluation at a time, in its own queue: chat questions keep their own workers meanwhile.
    run.click(tab.run, inputs=[source, upload, chosen, history],
              outputs=[figures, plots, table, files, history, runs_so_far], api_visibility="private",
              concurrency_limit=1, concurrency_id="evaluate")  # fmt: skip


def launch(app: "gr.Blocks", host: str = "127.0.0.1", port: int | None = None, share: bool = False, block: bool = True,
           auth: Sequence[tuple[str, str]] | None = None):  # fmt: skip
    """Serve ``app``; with ``block=False`` return at once (tests, benchmarks) with the local URL.

    ``auth``: (user, password) pairs; then every page, upload and event needs a login (Gradio's own).
    """
    _, url, _ = app.launch(
        auth=list(auth) if auth else None,
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=not block,
        css=CSS,
        max_file_size=MAX_FILE_SIZE,
        ssr_mode=False,
        quiet=not block,
        footer_links=["api"],
    )
    return url


def _pipeline_factory(config: Config) -> Callable[[], "Pipeline"]:
    """A factory for the real pipeline; imports torch and friends only when called."""

    def make() -> "Pipeline":
        from qa.pipeline import Pipeline

        return Pipeline.from_config(config, progress=True)

    return make
