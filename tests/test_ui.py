"""The chat app: handlers on a stand-in pipeline (fast), then the real app in a real browser and over the API.

The browser tests drive Debian's Chromium (``apt-get install chromium``) with Playwright's sync API;
they are skipped, with the reason, only where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from corpus.document import Document
from qa.answer import Answer, Citation, Passage
from qa.config import Config
from qa.followup import Turn, resolve_followup

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO_ROOT / "reports" / "ui-screenshot.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
KIRBY_Q = "Who is the spokesperson for the US National Security Council?"
EVIL = 'Kirby said <script>window.pwned=1</script><img src=x onerror="window.pwned=2"> John Kirby.'


# ---- a stand-in pipeline built from the real dataclasses (no models) -------------------------
class StubStore:
    def __init__(self):
        self.docs = {"evil": Document("evil", "<img src=y onerror=window.pwned=3>", EVIL, "test")}

    def document(self, doc_id):
        return self.docs[doc_id]


class StubPipeline:
    """Answers "John Kirby" from the untrusted document, and records what it was asked, in which conversation."""

    def __init__(self):
        self.store = StubStore()
        self.asked: list[tuple[str, tuple[Turn, ...] | None]] = []

    def ask(self, question, conversation=None):
        self.asked.append((question, conversation.turns if conversation is not None else None))
        understood = resolve_followup(question, conversation.turns).understood if conversation is not None else question
        start = EVIL.index("John Kirby")
        cit = Citation("evil", self.store.docs["evil"].title, start, start + 10, 0, len(EVIL), EVIL)
        passages = (Passage("evil", cit.title, 0, len(EVIL), EVIL, 1, 0.03),)
        return Answer(understood, "John Kirby", 0.91, (cit,), passages)


@pytest.fixture()
def stub_handlers():
    from ui.handlers import Handlers, LazyPipeline

    calls = []
    stub = StubPipeline()
    return Handlers(LazyPipeline(lambda: calls.append(1) or stub), max_question_chars=1000), stub, calls


def run_turn(handlers, message, conv):
    steps = list(handlers.respond(message, conv, progress=None))
    return steps, steps[-1]


def test_reply_shows_progress_first_then_the_answer(stub_handlers):
    from ui.handlers import LOADING_NOTE, ChatState

    handlers, _, calls = stub_handlers
    steps, (chat, state, box) = run_turn(handlers, KIRBY_Q, ChatState())
    assert LOADING_NOTE in steps[0][0][-1]["content"]  # shown before the models load
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "<strong>John Kirby</strong>" in chat[-1]["content"] and box == ""
    assert state.conversation.turns == (Turn(KIRBY_Q, "John Kirby"),) and state.spans_in("evil")
    run_turn(handlers, "Near which village was the battle?", state)
    assert calls == [1]  # the pipeline is built once, not per question


def test_followup_goes_through_the_conversation_and_is_shown_as_understood(stub_handlers):
    from ui.handlers import ChatState

    handlers, stub, _ = stub_handlers
    _, (_, state, _) = run_turn(handlers, f"  {KIRBY_Q}\n", ChatState())
    assert stub.asked[-1] == (KIRBY_Q, ())  # cleaned once here; the first turn has no history
    _, (chat, state2, _) = run_turn(handlers, "What did he say?", state)
    assert stub.asked[-1] == ("What did he say?", (Turn(KIRBY_Q, "John Kirby"),))  # resolved by the pipeline
    assert "Question as understood: <em>What did John Kirby say?</em>" in chat[-1]["content"]
    assert len(state.messages) == 2 and len(state2.messages) == 4  # state is returned, never mutated
    assert state2.conversation.turns[-1] == Turn("What did John Kirby say?", "John Kirby")


def test_bad_question_gets_a_clear_message_without_loading_models(stub_handlers):
    from ui.handlers import ChatState

    handlers, _, calls = stub_handlers
    _, (chat, state, _) = run_turn(handlers, "   ", ChatState())
    assert "The question is empty" in chat[-1]["content"] and calls == [] and state.conversation.turns == ()
    _, (chat, _, box) = run_turn(handlers, "Kosovo? " * 2500, ChatState())
    assert "the limit is 1,000" in chat[-1]["content"] and len(chat[0]["content"]) < 1000
    assert box.startswith("Kosovo?")  # kept in the box, to be shortened


def test_api_errors_are_gradio_errors_before_any_model_loads(stub_handlers):
    import gradio as gr

    handlers, stub, calls = stub_handlers
    with pytest.raises(gr.Error, match="too long|characters long"):
        handlers.ask_api("x" * 20_000)
    assert calls == []
    assert handlers.ask_api(f"{KIRBY_Q}\u200b")["answer"] == "John Kirby"
    assert stub.asked[-1] == (KIRBY_Q, None)  # cleaned, and asked outside any conversation


def test_document_view_highlights_this_users_citations_and_escapes(stub_handlers):
    from ui.handlers import ChatState

    handlers, _, _ = stub_handlers
    _, (_, state, _) = run_turn(handlers, KIRBY_Q, ChatState())
    html = handlers.show_document("evil", state)
    assert "<mark>John Kirby</mark>" in html and "<script" not in html and "<img" not in html
    assert "<mark>" not in handlers.show_document("evil", ChatState())


def test_upload_checks():
    from ui.handlers import check_upload

    assert check_upload("notes.md", 10) is None
    assert "unsupported file type" in check_upload("virus.exe", 10)
    assert "empty" in check_upload("a.txt", 0)
    assert "limit is 5 MB" in check_upload("big.pdf", 6 * 1024 * 1024)


def test_help_imports_neither_gradio_nor_torch():
    code = (
        "import runpy, sys\nsys.argv = ['ui', '--help']\n"
        "try:\n    runpy.run_module('ui', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('gradio', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "--host" in out.stdout and "HEAVY []" in out.stdout


# ---- the real app on a loopback port -------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(factory):
    from ui.app import build_app, launch

    app = build_app(Config(), factory)
    url = launch(app, host="127.0.0.1", port=free_port(), block=False)
    return app, url


@pytest.fixture(scope="module")
def real_pipeline(request, tmp_path_factory):
    """The session's `pipeline` fixture from conftest.py when there is one, else one of our own."""
    try:
        return request.getfixturevalue("pipeline")
    except pytest.FixtureLookupError:
        import dataclasses

        from index.embedder import Embedder
        from index.store import ensure_default_index
        from qa.pipeline import Pipeline
        from qa.reader import Reader

        config = dataclasses.replace(Config(), index_dir=tmp_path_factory.mktemp("index") / "default")
        store = ensure_default_index(config.index_dir, config.corpus_paths, Embedder(config.embed_model), progress=False)
        return Pipeline(store, Reader(config.reader_model).load(), config)


@pytest.fixture(scope="module")
def real_app(real_pipeline):
    app, url = serve(lambda: real_pipeline)
    yield url
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def ask_in_browser(page, url: str, question: str):
    page.goto(url)
    page.locator("#qa-question textarea").fill(question)
    page.locator("#qa-ask").click()
    page.locator("#qa-chat .qa-reply mark").first.wait_for(timeout=120_000)
    return page.locator("#qa-chat .qa-reply").last


def test_browser_asks_and_sees_the_cited_answer(browser, real_app, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    reply = ask_in_browser(page, real_app, KIRBY_Q)
    assert "John Kirby" in reply.locator(".qa-answer").inner_text()
    mark = reply.locator(".qa-citation mark").first
    assert mark.is_visible() and "Kirby" in mark.inner_text()
    assert KIRBY_Q in page.locator("#qa-chat").inner_text()
    shot = tmp_path / "ui-screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    page.close()


def test_browser_renders_untrusted_document_text_as_text(browser):
    app, url = serve(StubPipeline)
    try:
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        reply = ask_in_browser(page, url, KIRBY_Q)
        assert "<script>window.pwned=1</script>" in reply.inner_text()
        assert reply.locator("script, img").count() == 0
        assert page.evaluate("window.pwned === undefined") and not dialogs
        page.close()
    finally:
        app.close()


def test_api_ask_returns_the_cli_json(real_app, real_pipeline):
    from gradio_client import Client

    client = Client(real_app, verbose=False)
    assert client.predict(KIRBY_Q, api_name="/ask") == real_pipeline.ask(KIRBY_Q).to_json()
    with pytest.raises(Exception, match="The question is empty"):
        client.predict("  ", api_name="/ask")


def test_concurrent_first_questions_load_the_pipeline_once(stub_handlers):
    from ui.handlers import ChatState

    handlers, _, calls = stub_handlers
    threads = [threading.Thread(target=run_turn, args=(handlers, KIRBY_Q, ChatState())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
