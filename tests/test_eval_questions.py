"""Plain question sets (CSV, JSONL), --split, and the recall rule for questions that name no document."""

import dataclasses
import json
from types import SimpleNamespace

import pytest

from corpus.document import Chunk
from eval.datasets import GOLD_ARTICLE, DatasetError, QAItem, load_split, load_squad, parse_squad
from eval.metrics import contains_answer
from eval.questions import MAX_QUESTIONS, check_documents, clean_questions, load_questions
from eval.run import score_open
from qa.answer import Answer, Citation, Timings

GOLD_CSV = GOLD_ARTICLE.with_suffix(".csv")
ARTICLE_ID = "serbian-military-buildup-kosovo-border.txt"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_csv_answers_alternatives_no_answer_and_optional_columns(tmp_path):
    path = write(tmp_path, "q.csv", "\ufeffQuestion,answer,Answer,doc_id,notes\n"
                 'Who is the NSC spokesperson?,John Kirby|Kirby,,a.txt,x\n'
                 '"Where, exactly?",Banjska,"the village, Banjska",,\n'
                 "\n"
                 "What is the population of Kosovo?,,,,\n")  # fmt: skip
    ds = load_questions(path)
    assert ds.version == "csv" and not ds.has_own_corpus and ds.contexts == ()
    kirby, where, pop = ds.items
    assert kirby.answers == ("John Kirby", "Kirby") and kirby.context_id == "a.txt" and kirby.qid == "line 2"
    assert where.question == "Where, exactly?" and where.answers == ("Banjska", "the village, Banjska")
    assert where.context_id is None and not where.is_impossible
    assert pop.is_impossible and pop.answers == () and pop.line == 5  # the blank line is skipped, not renumbered


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("  \n\n", "is empty"),
    ("query,answer\nWho?,Kirby\n", "line 1: no 'question' column"),
    ("question,doc_id\nWho?,a.txt\n", "line 1: no 'answer' column"),
    ("question,answer\nWho?,Kirby\nWhere?,Banjska,extra\n", "line 3: 3 fields where the header has 2"),
    ("question,answer\n ,Kirby\n", "line 2: the question is empty"),
    ('question,answer\n"Who\nis he?",Kirby\nWhere?\n', "line 4: 1 fields"),  # a quoted cell spans lines 2-3
    ("id,question,answer\nq1,Who?,Kirby\nq1,Where?,Banjska\n", "line 3: id 'q1' was already used on line 2"),
])  # fmt: skip
def test_bad_csv_is_one_error_naming_the_line(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        load_questions(write(tmp_path, "q.csv", text))


def test_bad_encoding_names_the_line(tmp_path):
    path = write(tmp_path, "q.csv", "question,answer\nWho?,Kirby\nWhere?,Bélgrade\n", encoding="latin-1")
    with pytest.raises(DatasetError, match=r"line 3: not UTF-8 text .*save the file as UTF-8"):
        load_questions(path)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="a question set is a .csv, .jsonl"):
        load_questions(write(tmp_path, "q.xlsx", "x"))
    with pytest.raises(DatasetError, match="no question set at"):
        load_questions(tmp_path / "missing.csv")


def test_jsonl_rows_and_errors(tmp_path):
    rows = [{"question": "Who?", "answers": ["Kirby"], "doc_id": "a.txt", "id": 7},
            {"question": "Population?", "answers": []}]  # fmt: skip
    ds = load_questions(write(tmp_path, "q.jsonl", "\n".join(map(json.dumps, rows)) + "\n"))
    assert [(i.qid, i.answers, i.context_id, i.is_impossible) for i in ds.items] == [
        ("7", ("Kirby",), "a.txt", False), ("line 2", (), None, True)]
    for text, message in [('{"question": "Who?", "answers": ["Kirby"]}\n{"question": "Who?"\n', "line 2: not JSON"),
                          ('{"answers": []}\n', "line 1: no 'question' text"),
                          ('{"question": "Who?"}\n', "line 1: no 'answers' list"),
                          ('{"question": "Who?", "answers": "Kirby"}\n', "line 1: 'answers' must be a list"),
                          ('[1, 2]\n', "line 1: no 'question' text")]:  # fmt: skip
        with pytest.raises(DatasetError, match=message):
            load_questions(write(tmp_path, "bad.jsonl", text))


def test_feedback_lines_last_word_wins_pending_and_torn_lines_skipped(tmp_path):
    lines = [{"question": "Who?", "answers": None, "feedback": "down"},
             {"question": "Where?", "answers": ["Banjska"], "feedback": "up", "doc_id": "a.txt"},
             {"question": "Who?", "answers": ["Kirby"], "feedback": "correction"},
             {"question": "Why?", "answers": None, "feedback": "down"}]  # fmt: skip
    text = "".join(json.dumps(x) + "\n" for x in lines) + '{"question": "Cut sh'
    ds = load_questions(write(tmp_path, "feedback.jsonl", text))
    assert [(i.question, i.answers) for i in ds.items] == [("Where?", ("Banjska",)), ("Who?", ("Kirby",))]
    assert any("incomplete last line" in n for n in ds.notes) and any("1 question(s) voted down" in n for n in ds.notes)


def test_large_sets_are_refused_or_cut(tmp_path):
    path = write(tmp_path, "big.csv", "question,answer\n" + "".join(f"Q{i}?,A\n" for i in range(MAX_QUESTIONS + 1)))
    with pytest.raises(DatasetError, match="10,001 questions; one run takes at most 10,000"):
        load_questions(path)
    assert len(load_questions(path, limit=5).items) == 5


def test_gold_csv_is_the_gold_json_in_another_format(article):
    csv_set, json_set = load_questions(GOLD_CSV), load_squad(GOLD_ARTICLE)
    same = [(i.qid, i.question, i.answers, i.is_impossible) for i in csv_set.items]
    assert same == [(i.qid, i.question, i.answers, i.is_impossible) for i in json_set.items]
    assert {i.context_id for i in csv_set.items} == {article.doc_id} == {ARTICLE_ID}


def test_check_documents_names_the_line(tmp_path):
    ds = load_questions(write(tmp_path, "q.csv", "question,answer,doc_id\nWho?,Kirby,a.txt\nWhere?,B,b.txt\n"))
    check_documents(ds, {"a.txt", "b.txt"}, tmp_path)
    with pytest.raises(DatasetError, match=r"line 3: document 'b.txt' is not in the index .*holds: a.txt"):
        check_documents(ds, {"a.txt"}, tmp_path)


def test_clean_questions_names_the_line(tmp_path):
    ds = load_questions(write(tmp_path, "q.csv", "question,answer\n  Who\tis he? ,Kirby\n\u200b,x\n"))
    with pytest.raises(DatasetError, match="line 3: The question is empty"):
        clean_questions(ds, 1000)
    assert clean_questions(dataclasses.replace(ds, items=ds.items[:1]), 1000).items[0].question == "Who is he?"


def test_contains_answer_is_whole_words_after_normalisation():
    assert contains_answer("said spokesman John Kirby, on Friday", ["john kirby"])
    assert contains_answer("the Serb List party", ["Serb List"]) and not contains_answer("Serbs listed", ["Serb List"])
    assert not contains_answer("anything", []) and not contains_answer("anything", ["", "the"])


def _hit(doc_id, start, text, rank):
    return SimpleNamespace(chunk=Chunk(f"{doc_id}#{rank}", doc_id, start, start + len(text), text), rank=rank)


def test_score_open_without_a_named_document_counts_chunks_that_say_the_answer():
    item = QAItem("q", "Who speaks for the NSC?", None, ("John Kirby",), (), False, line=2)
    hits = [_hit("a.txt", 0, "Serbia massed troops.", 1), _hit("b.txt", 50, "Spokesman John Kirby said so.", 2)]
    sentence = "Spokesman John Kirby said so."
    cit = Citation("b.txt", "B", 60, 70, 50, 50 + len(sentence), sentence)
    answer = Answer(item.question, "John Kirby", 0.9, (cit,), (), (), Timings(1.0, 2.0, 3.0))
    result = score_open(item, None, hits, answer)
    assert (result.rank, result.paragraph_rank, result.named_document) == (2, None, False)
    assert result.citation_ok and result.em == 1.0 and result.cited == sentence and result.cited_doc == "b.txt"
    wrong = Answer(item.question, "Serbia", 0.9, (Citation("a.txt", "A", 0, 6, 0, 21, "Serbia massed troops."),), (),
                   (), Timings(1.0, 2.0, 3.0))  # fmt: skip
    assert score_open(item, None, hits[:1], wrong).citation_ok is False
    assert score_open(item, None, [], wrong).rank is None


V2 = {"version": "v2.0", "data": [
    {"title": "A", "paragraphs": [{"context": "Kirby spoke.", "qas": [
        {"id": "a1", "question": "Who spoke?", "answers": [{"text": "Kirby", "answer_start": 0}]}]}]},
    {"title": "B", "paragraphs": [{"context": "Vucic listened.", "qas": [
        {"id": "b1", "question": "Who listened?", "answers": [{"text": "Vucic", "answer_start": 0}]}]}]},
]}  # fmt: skip


def test_split_selects_articles_and_keeps_context_ids(tmp_path):
    squad = write(tmp_path, "dev.json", json.dumps(V2))
    split_file = write(tmp_path, "split.json", json.dumps({"about": "x", "train": ["A"], "report": ["B"]}))
    report = load_split(f"{split_file}:report")
    ds = load_squad(squad, split=report)
    assert [i.qid for i in ds.items] == ["b1"] and [c.context_id for c in ds.contexts] == ["1.0"]
    assert ds.sha256 != load_squad(squad).sha256 != load_squad(squad, split=load_split(f"{split_file}:train")).sha256
    with pytest.raises(DatasetError, match="no split 'dev'; its splits are: train, report"):
        load_split(f"{split_file}:dev")
    with pytest.raises(DatasetError, match="is not FILE:NAME"):
        load_split(str(split_file))
    with pytest.raises(DatasetError, match="names 1 article"):
        parse_squad(V2, split=load_split(f"{write(tmp_path, 's2.json', json.dumps({'x': ['C']}))}:x"))


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    from eval.__main__ import main

    assert main(["--questions", str(write(tmp_path, "q.csv", "question\nWho?\n"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "no 'answer' column" in err and len(err.splitlines()) == 1
    assert main(["--squad", str(GOLD_ARTICLE), "--index", str(tmp_path)]) == 2
    assert "--index is for a question set" in capsys.readouterr().err
    assert main(["--questions", str(GOLD_CSV), "--split", "x.json:report"]) == 2
    assert "There is no split file" in capsys.readouterr().err


def test_gold_csv_against_the_index_scores_as_the_gold_json_on_its_own_paragraph(pipeline):
    """The bar of issue 17 on a slice (the whole set: README, `python -m eval` with and without --questions)."""
    from eval.run import evaluate_open, open_eval_index
    from qa.pipeline import Pipeline

    n = 25
    as_json = clean_questions(load_squad(GOLD_ARTICLE, limit=n), 1000)
    as_csv = clean_questions(load_questions(GOLD_CSV, limit=n), 1000)
    own = Pipeline(open_eval_index(as_json, pipeline.config, progress=False), pipeline.reader, pipeline.config)
    runs = [evaluate_open(own, as_json, progress=False), evaluate_open(pipeline, as_csv, progress=False)]
    figures = [{k: v for k, v in r.summary.to_json().items() if "ms" not in k} for r in runs]
    assert figures[0] == figures[1] and figures[0]["n"] == n
    assert [(q.prediction, q.rank, q.citation_ok) for q in runs[0].results] == \
        [(q.prediction, q.rank, q.citation_ok) for q in runs[1].results]  # fmt: skip
