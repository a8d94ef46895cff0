"""The chat app: handlers on a stand-in pipeline (fast), then the real app in a real browser and over the API.

The browser tests drive Debian's Chromium (``apt-get install chromium``) with Playwright's sync API;
they are skipped, with the reason, only where /usr/bin/chromium is missing.
"""

from __future__ import annotations

import json
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

    def stats(self):
        from index.view import DocStats

        return [DocStats(d.doc_id, d.title, len(d.text), 1) for d in self.docs.values()]


class StubPipeline:
    """Answers "John Kirby" from the untrusted document, and records what it was asked, in which conversation."""

    def __init__(self):
        self.retriever = StubStore()
        self.asked: list[tuple[str, tuple[Turn, ...] | None]] = []

    def prepare_uploads(self):
        self.asked.append(("<document embedder loaded>", None))

    def ask(self, question, conversation=None):
        self.asked.append((question, conversation.turns if conversation is not None else None))
        understood = resolve_followup(question, conversation.turns).understood if conversation is not None else question
        start = EVIL.index("John Kirby")
        cit = Citation("evil", self.retriever.docs["evil"].title, start, start + 10, 0, len(EVIL), EVIL)
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


def test_a_server_started_warm_has_its_pipeline_before_the_first_question(capsys):
    from ui.pipelines import READY_NOTE, LazyPipeline

    calls, stub = [], StubPipeline()
    holder = LazyPipeline(lambda: calls.append(1) or stub)
    holder.warm_up().join(timeout=30)
    assert holder.loaded and calls == [1] and len(stub.asked) == 1  # built and read through once, in the background
    assert holder.get() is stub and calls == [1]  # the first user's question finds it ready
    assert READY_NOTE in capsys.readouterr().out  # said once warm (bench/ui_latency.py waits for it)


def test_warm_up_runs_the_rest_of_the_first_request_before_it_says_ready_and_survives_its_failure(capsys):
    from ui.pipelines import READY_NOTE, LazyPipeline

    order = []
    stub = StubPipeline()
    LazyPipeline(lambda: stub).warm_up(then=lambda: order.append(len(stub.asked))).join(timeout=30)
    assert order == [1]  # after the pipeline's own warm question
    assert READY_NOTE in capsys.readouterr().out

    def broken() -> None:
        raise ConnectionError("port closed")

    LazyPipeline(lambda: StubPipeline()).warm_up(then=broken).join(timeout=30)
    out, err = capsys.readouterr()
    assert READY_NOTE in out and "warm-up of the web server failed (ConnectionError: port closed)" in err


def test_a_server_that_takes_uploads_loads_its_document_embedder_before_it_says_ready(capsys):
    from ui.pipelines import READY_NOTE, LazyPipeline

    for uploads, expected in ((True, ["warm question", "<document embedder loaded>"]), (False, ["warm question"])):
        order, stub = [], StubPipeline()
        LazyPipeline(lambda: stub).warm_up(then=lambda: order.append(len(stub.asked)), uploads=uploads).join(timeout=30)
        assert ["warm question" if q != "<document embedder loaded>" else q for q, _ in stub.asked] == expected
        assert order == [len(expected)]  # both before the rest of the first request, and before "Ready"
        assert READY_NOTE in capsys.readouterr().out


def test_preparing_uploads_runs_the_real_document_embedder_once(pipeline):
    from index.embedder import _load

    pipeline.prepare_uploads()
    before = _load.cache_info()
    pipeline.prepare_uploads()  # the model is loaded once per process, then only run
    assert _load.cache_info().hits > before.hits and _load.cache_info().currsize == before.currsize


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

        from qa.indexes import open_index
        from qa.pipeline import Pipeline
        from qa.reader import Reader

        from qa.config import READERS

        config = dataclasses.replace(Config(), reader_model=str(READERS["fast"]),
                                     default_index=tmp_path_factory.mktemp("index") / "default")  # fmt: skip
        return Pipeline(open_index(config, progress=False), Reader(config.reader_model).load(), config)


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


# ---- feedback, readers, read-only, the Evaluate tab's pure parts --------------------------
def like(index: int, liked: bool):
    import gradio as gr

    return gr.LikeData(None, {"index": index, "value": None, "liked": liked})


@pytest.fixture()
def feedback_handlers(tmp_path):
    from ui.handlers import Handlers, LazyPipeline

    path = tmp_path / "default.feedback.jsonl"
    return Handlers(LazyPipeline(StubPipeline), 1000, feedback_file=path), path


def test_votes_and_corrections_become_question_set_lines(feedback_handlers):
    from eval.questions import load_questions
    from ui.handlers import ChatState

    handlers, path = feedback_handlers
    _, (_, state, _) = run_turn(handlers, KIRBY_Q, ChatState())
    note, state, row = handlers.vote(state, like(1, True))
    assert note.startswith("Thanks") and row["visible"] is False
    _, (_, state, _) = run_turn(handlers, "Who is the president of Serbia?", state)
    note, state, row = handlers.vote(state, like(3, False))
    assert "What is the right answer?" in note and row["visible"] is True and state.feedback_on == 3
    note, state, box, row = handlers.correct("  Aleksandar   Vučić ", state)
    assert note.startswith("Thanks") and box == "" and state.feedback_on is None
    handlers.no_answer(state)  # no 👎 pending: applies to the last answer
    assert handlers.vote(state, like(0, True))[0] == ""  # the user's own message: nothing to record
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["feedback"], r["answers"]) for r in rows] == [
        ("up", ["John Kirby"]), ("down", None), ("correction", ["Aleksandar Vučić"]), ("no-answer", [])]
    assert rows[0]["doc_id"] == "evil" and rows[1]["shown"] == "John Kirby" and rows[0]["reader"] == "default"
    ds = load_questions(path)  # the last word on each question wins
    assert [(i.question, i.answers) for i in ds.items] == [(KIRBY_Q, ("John Kirby",)),
                                                           ("Who is the president of Serbia?", ())]


def test_feedback_turned_off_and_correction_needs_text(stub_handlers):
    from ui.handlers import ChatState

    handlers, _, _ = stub_handlers
    _, (_, state, _) = run_turn(handlers, KIRBY_Q, ChatState())
    assert handlers.vote(state, like(1, True))[0] == "Feedback is turned off on this server."
    assert handlers.correct("   ", state)[0].startswith("Type the right answer first")
    assert handlers.no_answer(ChatState())[0].startswith("Ask a question first")


def test_twenty_events_from_eight_chat_clients_all_saved_once(feedback_handlers):
    from ui.handlers import ChatState

    handlers, path = feedback_handlers

    def client(n: int) -> None:
        _, (_, state, _) = run_turn(handlers, KIRBY_Q, ChatState())
        for i in range(n):
            _, (_, state, _) = run_turn(handlers, f"Question {i}?", state) if i else (None, (None, state, None))
            handlers.vote(state, like(len(state.messages) - 1, True))

    counts = [3, 3, 3, 3, 2, 2, 2, 2]  # 20 events from 8 clients
    threads = [threading.Thread(target=client, args=(n,)) for n in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [json.loads(line) for line in path.read_bytes().decode("utf-8").split("\n")[:-1]]
    assert len(rows) == 20 and all(r["feedback"] == "up" for r in rows)


def test_read_only_refuses_uploads_server_side(tmp_path):
    from ui.handlers import Handlers, LazyPipeline

    class Listed(StubPipeline):
        def __init__(self):
            super().__init__()
            self.retriever.stats = lambda: []
            self.ingested = []
            self.ingest = self.ingested.append

    stub = Listed()
    handlers = Handlers(LazyPipeline(lambda: stub), 1000, read_only=True)
    doc = tmp_path / "a.txt"
    doc.write_text("Kirby spoke.", encoding="utf-8")
    status, *_ = handlers.upload([str(doc)], progress=None)
    assert "read-only" in status and stub.ingested == []


def test_reader_menu_offers_readers_whose_folder_exists(tmp_path, monkeypatch):
    import dataclasses

    from qa import config as qa_config
    from ui.pipelines import reader_choices

    (tmp_path / "fast").mkdir()
    monkeypatch.setattr(qa_config, "READERS", {"fast": tmp_path / "fast", "accurate": tmp_path / "accurate"})
    monkeypatch.setattr("ui.pipelines.READERS", qa_config.READERS)
    cfg = dataclasses.replace(Config(), reader_model=str(tmp_path / "fast"))
    monkeypatch.setattr("ui.pipelines.reader_name", lambda m: "fast" if m == str(tmp_path / "fast") else m)
    assert reader_choices(cfg) == (["fast"], "fast")
    (tmp_path / "accurate").mkdir()
    assert reader_choices(cfg) == (["fast", "accurate"], "fast")
    assert reader_choices(dataclasses.replace(cfg, reader_model="my/model")) == (["my/model", "fast", "accurate"],
                                                                                   "my/model")


def test_question_rows_put_misses_first_and_runs_side_by_side():
    from eval.metrics import QuestionResult, summarize
    from eval.run import EvalRun
    from ui.evaluate import glance, question_rows

    def result(qid, f1, score, prediction):
        return QuestionResult(qid, f"{qid}?", ("Kirby",), prediction, prediction, score, f1, f1, f1, rank=1,
                              retrieve_ms=1.0, read_ms=2.0, cited=f"{prediction} said.")  # fmt: skip

    def run(label, results):
        return EvalRun(label, "open", "q.csv", (), 0.5, tuple(results), summarize(results), 1.0)

    fast = run("fast", [result("a", 1.0, 0.9, "Kirby"), result("b", 0.0, 0.8, "Vucic"), result("c", 0.0, 0.3, None)])
    headers, rows = question_rows([fast])
    assert headers[:4] == ["question", "reference", "answer", "F1"] and [r[0] for r in rows] == ["b?", "c?", "a?"]
    assert rows[1][2] == "(abstained)" and rows[0][6] == "Vucic said."
    accurate = run("accurate", [result("a", 0.0, 0.7, "Vucic"), result("b", 1.0, 0.95, "Kirby"),
                                result("c", 1.0, 0.99, "Kirby")])  # fmt: skip
    headers, rows = question_rows([fast, accurate])
    assert "answer (fast)" in headers and "answer (accurate)" in headers
    # lowest F1 of either run (a, b: 0; c: 0 too, fast abstained), then the surest answer among equals
    assert [r[0] for r in rows] == ["c?", "b?", "a?"]
    assert glance(fast).startswith("**fast** · 3 questions (0 without an answer): EM **33.3**")


# ---- the Evaluate tab and feedback in a real browser -------------------------------------
FIVE_QUESTIONS = (
    "question,answer,doc_id\n"
    f"{KIRBY_Q},John Kirby|Kirby,serbian-military-buildup-kosovo-border.txt\n"
    "Near which village was the battle?,Banjska,\n"
    "When did Kosovo declare independence?,2008|in 2008,\n"
    "Who is the prime minister of Kosovo?,Albin Kurti,\n"
    "What is the population of Kosovo?,,\n"
)
DOCS_SCREENSHOT = REPO_ROOT / "reports" / "evaluate-tab.png"  # copy it to docs/ to update the README's


@pytest.fixture(scope="module")
def feedback_app(real_pipeline, tmp_path_factory):
    from ui.app import build_app, launch

    feedback = tmp_path_factory.mktemp("feedback") / "default.feedback.jsonl"
    app = build_app(Config(), lambda: real_pipeline, feedback_file=feedback)
    url = launch(app, host="127.0.0.1", port=free_port(), block=False)
    yield url, feedback
    app.close()


def test_browser_evaluates_an_uploaded_csv_and_shows_figures_plots_and_table(browser, feedback_app, tmp_path):
    url, _ = feedback_app
    questions = tmp_path / "five.csv"
    questions.write_text(FIVE_QUESTIONS, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(url)
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#qa-eval-upload input[type=file]").set_input_files(str(questions))
    page.get_by_label("A file I upload").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelector('#qa-eval-source input[value=upload]')?.checked", timeout=30_000)
    page.locator("#qa-eval-run").click()
    figures = page.locator("#qa-eval-figures")
    figures.get_by_text("questions (1 without an answer)").wait_for(timeout=600_000)
    assert "EM" in figures.inner_text() and "recall@5" in figures.inner_text()
    table = page.locator("#qa-eval-table")
    shown = table.inner_text()
    assert all(line.split(",")[0] in shown for line in FIVE_QUESTIONS.splitlines()[1:])  # every question
    assert "Banjska" in shown and "John Kirby" in shown
    assert page.locator("#qa-eval-plots img").count() == 3
    listed = page.locator("#qa-eval-files").inner_text()  # Gradio lists "report .md": stem and extension apart
    assert all(name in listed for name in ("report", "summary", "results", ".md", ".json")), listed
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(tmp_path / "evaluate.png"), full_page=True)
    shutil.copyfile(tmp_path / "evaluate.png", DOCS_SCREENSHOT)
    page.close()


def test_browser_feedback_lands_in_the_question_set(browser, feedback_app):
    url, feedback = feedback_app
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    ask_in_browser(page, url, KIRBY_Q)
    page.locator("#qa-chat").get_by_role("button", name="Like").last.click()
    page.locator("#qa-feedback-note").get_by_text("Thanks").wait_for(timeout=60_000)
    page.locator("#qa-chat").get_by_role("button", name="Dislike").last.click()
    page.locator("#qa-fix-text textarea").wait_for(timeout=60_000)
    page.locator("#qa-fix-text textarea").fill("Kirby")
    page.locator("#qa-fix-send").click()
    page.locator("#qa-feedback-note").get_by_text("Thanks").wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('#qa-fix-text textarea')?.value", timeout=60_000)
    rows = [json.loads(line) for line in feedback.read_text(encoding="utf-8").splitlines()]
    assert [r["feedback"] for r in rows] == ["up", "down", "correction"]
    assert rows[-1]["answers"] == ["Kirby"] and rows[0]["question"] == KIRBY_Q
    page.close()


def test_auth_file_is_user_password_lines(tmp_path):
    from ui.__main__ import parse_args, read_auth_file

    path = tmp_path / "users"
    path.write_text("# who may log in\nalice:s3cret:with:colons\n\nbob:pw\n", encoding="utf-8")
    assert read_auth_file(path) == [("alice", "s3cret:with:colons"), ("bob", "pw")]
    for text, message in [("alice\n", "line 1: write user:password"), ("# none\n", "holds no user:password")]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SystemExit, match=message):
            read_auth_file(path)
    with pytest.raises(SystemExit, match="cannot read the auth file"):
        read_auth_file(tmp_path / "missing")
    args = parse_args(["--read-only", "--no-feedback", "--auth-file", str(path)])
    assert args.read_only and args.no_feedback and args.auth_file == path


def test_shared_lock_lets_questions_overlap_and_uploads_wait_for_them():
    from ui.pipelines import SharedLock

    lock, events = SharedLock(), []
    both_in, release = threading.Barrier(2), threading.Event()

    def question(name):
        with lock.shared():
            events.append(f"{name} in")
            both_in.wait()  # two questions hold the lock at once, or this never returns
            release.wait()
            events.append(f"{name} out")

    def upload():
        with lock.exclusive():
            events.append("upload")

    askers = [threading.Thread(target=question, args=(n,)) for n in ("a", "b")]
    for t in askers:
        t.start()
    while len(events) < 2:
        threading.Event().wait(0.01)
    writer = threading.Thread(target=upload)
    writer.start()
    release.set()
    for t in [*askers, writer]:
        t.join()
    assert events[-1] == "upload" and sorted(events[:2]) == ["a in", "b in"]


def test_browser_shows_document_titles_as_text_in_the_documents_tab(browser):
    app, url = serve(StubPipeline)
    try:
        page = browser.new_page()
        page.goto(url)
        page.get_by_role("tab", name="Documents").click()
        page.get_by_text("onerror=window.pwned=3").filter(visible=True).first.wait_for(timeout=120_000)  # as text
        page.get_by_label("Show a document").click()
        page.get_by_role("option").first.click()
        page.locator("#qa-document h3").wait_for(timeout=120_000)
        assert "<img src=y" in page.locator("#qa-document h3").inner_text()
        assert page.locator("img[src=y]").count() == 0 and page.evaluate("window.pwned === undefined")
        page.close()
    finally:
        app.close()
