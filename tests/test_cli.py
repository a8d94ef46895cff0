"""The command line as a user meets it: ingest, ask (plain and JSON), clear one-line errors."""

import json
import subprocess
import sys

import pytest

from qa.__main__ import main
from qa.config import DEFAULT_CORPUS, REPO_ROOT


@pytest.mark.parametrize("module", ["qa", "eval", "ui"])
def test_help_is_instant_and_does_not_import_torch(module):
    code = (
        f"import sys, runpy; sys.argv = ['{module}', '--help']\n"
        f"try:\n    runpy.run_module('{module}', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'gradio', 'faiss') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert "usage:" in out.stdout
    assert "HEAVY []" in out.stdout


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "idx"
    assert main(["ingest", "--index", str(path), str(DEFAULT_CORPUS)]) == 0
    return path


def test_reingesting_an_unchanged_document_embeds_nothing(index_dir, capsys):
    capsys.readouterr()
    assert main(["ingest", "--index", str(index_dir), str(DEFAULT_CORPUS)]) == 0
    assert "0 added, 0 updated, 1 unchanged, 0 chunks embedded" in capsys.readouterr().out


def test_ask_json_prints_one_object_per_question(index_dir, tmp_path, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text("Who is the spokesperson for the US National Security Council?\n\nWhat is the population of Kosovo?\n")
    capsys.readouterr()
    assert main(["ask", "--index", str(index_dir), "--json", "--file", str(questions)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["question"] for row in lines] == [
        "Who is the spokesperson for the US National Security Council?",
        "What is the population of Kosovo?",
    ]
    kirby, population = lines
    assert "Kirby" in kirby["answer"]
    cite = kirby["citations"][0]
    text = (DEFAULT_CORPUS / "serbian-military-buildup-kosovo-border.txt").read_text(encoding="utf-8")
    assert kirby["answer"] in cite["sentence"] and text.count(cite["sentence"]) == 1
    assert population["answer"] is None and population["citations"] == []


def test_plain_output_marks_the_answer_in_its_sentence(index_dir, capsys):
    assert main(["ask", "--index", str(index_dir), "Near which village was the battle?"]) == 0
    out = capsys.readouterr().out
    assert "A: " in out and "[[" in out and "Banjsk" in out


def test_bad_questions_get_one_clear_line(index_dir, capsys):
    assert main(["ask", "--index", str(index_dir), "   ", "x" * 20_000]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 2 and "empty" in err[0] and "20,000 characters" in err[1]


def test_missing_index_is_one_clear_line(tmp_path, capsys):
    assert main(["ask", "--index", str(tmp_path / "nope"), "Who?"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "ingest" in last and "Traceback" not in err


def test_unsupported_file_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "table.xlsx"
    bad.write_bytes(b"PK\x03\x04")
    assert main(["ingest", "--index", str(tmp_path / "idx"), str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "idx").exists()
