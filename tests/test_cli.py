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


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    return line


def test_an_empty_path_is_refused_not_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "private.txt").write_text("Not meant for any index.")
    assert main(["ingest", "--index", str(tmp_path / "idx"), ""]) == 2
    assert "empty path" in one_error_line(capsys)
    assert not (tmp_path / "idx").exists()


def test_a_file_over_max_mb_is_refused_before_reading(tmp_path, capsys):
    (tmp_path / "big.txt").write_text("Kirby spoke. " * 20_000)  # 0.26 MB
    assert main(["ingest", "--index", str(tmp_path / "idx"), "--max-mb", "0.1", str(tmp_path / "big.txt")]) == 2
    assert "over the 0.1 MB limit" in one_error_line(capsys)


def test_remove_documents_compact_and_check(index_dir, tmp_path, capsys):
    import shutil

    path = tmp_path / "idx"
    shutil.copytree(index_dir, path)
    (tmp_path / "memo.txt").write_text("The memo says the tanks left the border on Friday.")
    assert main(["ingest", "--index", str(path), str(tmp_path / "memo.txt")]) == 0
    assert main(["documents", "--index", str(path)]) == 0
    assert "memo.txt\t1 chunks" in capsys.readouterr().out
    assert main(["remove", "--index", str(path), "memo.txt"]) == 0
    assert "1 removed, 1 documents left" in capsys.readouterr().out
    assert main(["remove", "--index", str(path), "memo.txt"]) == 2
    assert "no document 'memo.txt'" in one_error_line(capsys)
    assert main(["compact", "--index", str(path)]) == 0
    assert "1 segment(s), 1 documents" in capsys.readouterr().out
    assert main(["check", "--index", str(path)]) == 0
    assert ": sound (1 documents" in capsys.readouterr().out
    (segment,) = path.glob("seg-*")
    faiss_file = segment / "dense.faiss"
    data = bytearray(faiss_file.read_bytes())
    data[-8:] = bytes(8)  # a vector's bytes changed, size and header intact
    faiss_file.write_bytes(bytes(data))
    assert main(["check", "--index", str(path)]) == 2
    assert "is damaged" in (line := one_error_line(capsys)) and "dense.faiss" in line and "rebuild" in line


def test_ingest_prune_removes_documents_whose_files_are_gone_under_the_given_folder_only(tmp_path, capsys):
    docs, other, index = tmp_path / "docs", tmp_path / "other", tmp_path / "idx"
    docs.mkdir()
    other.mkdir()
    for name, text in [("a", "Kirby spoke on Monday."), ("b", "Tanks left on Tuesday."), ("c", "Talks resumed on Friday.")]:
        (docs / f"{name}.txt").write_text(text)
    (other / "d.txt").write_text("An unrelated note about the harbour budget.")
    assert main(["ingest", "--index", str(index), str(docs), str(other)]) == 0
    (docs / "b.txt").unlink()
    (other / "d.txt").unlink()  # gone too, but not under the folder being pruned: kept
    assert main(["ingest", "--index", str(index), str(docs)]) == 0  # without --prune nothing is removed
    assert "0 added, 0 updated, 2 unchanged, 0 chunks embedded; 4 documents" in capsys.readouterr().out
    assert main(["ingest", "--index", str(index), "--prune", str(docs)]) == 0
    assert "0 added, 0 updated, 2 unchanged, 0 chunks embedded, 1 removed (their files are gone); 3 documents" in (
        capsys.readouterr().out
    )
    assert main(["documents", "--index", str(index)]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["a.txt", "c.txt", "d.txt"]
    (docs / "a.txt").unlink()
    (docs / "c.txt").unlink()
    assert main(["ingest", "--index", str(index), "--prune", str(docs)]) == 0  # an emptied folder is no error
    assert "2 removed (their files are gone); 1 documents" in capsys.readouterr().out
    assert main(["ingest", "--index", str(index), "--prune", str(tmp_path / "nowhere")]) == 2  # a typo prunes nothing
    assert "There is no file or folder" in one_error_line(capsys)


def test_prune_matches_whole_path_parts_and_absolute_sources_only(tmp_path):
    from index.ingest import gone_from

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.txt").write_text("still here")
    gone = gone_from([tmp_path / "docs"])
    assert gone(str(tmp_path / "docs" / "sub" / "deleted.txt"))
    assert not gone(str(tmp_path / "docs" / "here.txt"))  # still exists
    assert not gone(str(tmp_path / "docs2" / "deleted.txt"))  # a sibling whose name starts the same
    assert not gone("deleted.txt")  # an upload's source is its bare name
