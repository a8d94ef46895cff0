"""The Gradio chat app: a chat tab, a documents tab, and a named API endpoint ``ask``.

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

from typing import TYPE_CHECKING, Callable, Sequence

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
"""


def build_app(config: Config, pipeline_factory: Callable[[], "Pipeline"] | None = None) -> "gr.Blocks":
    """The Blocks app for ``config``.

    Args:
        config: the settings; the pipeline is built from them unless a factory is given.
        pipeline_factory: makes the pipeline (tests pass a stand-in); called once, when the first user needs it.
    """
    import gradio as gr

    from ui.handlers import UPLOAD_TYPES, ChatState, Handlers, LazyPipeline

    factory = pipeline_factory if pipeline_factory is not None else _pipeline_factory(config)
    handlers = Handlers(LazyPipeline(factory), config.max_question_chars)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        state = gr.State(ChatState())
        gr.Markdown(f"# {TITLE}\nAsk in plain language; every answer cites the passage it comes from.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot, box, ask_button, clear_button = _chat_tab(gr)
            with gr.Tab("Documents", id="documents") as docs_tab:
                table, refresh, files, add, status, picker, view = _documents_tab(gr, UPLOAD_TYPES)

        chat_io = dict(inputs=[box, state], outputs=[chatbot, state, box], api_visibility="private")
        box.submit(handlers.respond, **chat_io)
        ask_button.click(handlers.respond, **chat_io)
        clear_button.click(handlers.new_conversation, outputs=[chatbot, state, box], api_visibility="private")

        listing = dict(outputs=[table, picker], api_visibility="private")
        docs_tab.select(handlers.list_documents, **listing)
        refresh.click(handlers.list_documents, **listing)
        add.click(handlers.upload, inputs=[files], outputs=[status, table, picker], api_visibility="private")
        picker.change(handlers.show_document, inputs=[picker, state], outputs=[view], api_visibility="private")
        # Re-highlight when the user comes back to the tab after new answers.
        docs_tab.select(handlers.show_document, inputs=[picker, state], outputs=[view], api_visibility="private")

        gr.api(handlers.ask_api, api_name="ask", concurrency_limit=CONCURRENCY)
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def _chat_tab(gr):
    chatbot = gr.Chatbot(
        label="Conversation",
        elem_id="qa-chat",
        height=560,
        latex_delimiters=[],  # "$" in news text is money, not maths
        buttons=["copy"],  # no "share": nothing leaves this machine
        feedback_options=None,
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
    clear_button = gr.Button("New conversation", size="sm")
    gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[box], label="Try")
    return chatbot, box, ask_button, clear_button


def _documents_tab(gr, upload_types: Sequence[str]):
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
    )
    add = gr.Button("Add to the index", variant="primary")
    status = gr.Markdown(elem_id="qa-upload-status")
    picker = gr.Dropdown(label="Show a document", choices=[], interactive=True)
    view = gr.HTML(elem_id="qa-document")
    return table, refresh, files, add, status, picker, view


def launch(app: "gr.Blocks", host: str = "127.0.0.1", port: int | None = None, share: bool = False, block: bool = True):
    """Serve ``app``; with ``block=False`` return at once (tests, benchmarks) with the local URL."""
    _, url, _ = app.launch(
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
