"""Acronyms a question uses but the documents only spell out are replaced by the documents' name."""

from __future__ import annotations

from index.acronyms import acronym_table, spell_out_acronyms, vocabulary

DOCS = [
    "John Kirby, spokesperson for the US National Security Council, spoke on Friday.\n"
    "The gravity of the situation prompted talks with Kosovo's Prime Minister, Albin Kurti.",
    "The UK Ministry of Defence handed a battalion over to KFOR. The Prime Minister agreed.",
]


def spell(question: str, docs=DOCS) -> str:
    return spell_out_acronyms(question, acronym_table(docs), vocabulary(docs))


def test_initials_of_a_name_become_the_name():
    assert spell("Who is the NSC spokesperson?") == "Who is the National Security Council spokesperson?"
    assert spell("Who is Kosovo's PM?") == "Who is Kosovo's Prime Minister?"


def test_connectors_count_both_ways():
    """Ministry of Defence is abbreviated MoD as often as MD."""
    assert spell("What did the MoD send?") == "What did the Ministry of Defence send?"
    assert spell("What did the MD send?") == "What did the Ministry of Defence send?"


def test_acronyms_the_documents_use_are_left_alone():
    """KFOR and US are words of the documents: retrieval finds them as they are."""
    assert spell("What does KFOR do in the US?") == "What does KFOR do in the US?"


def test_acronyms_inside_a_name_do_not_make_initials():
    """'US National Security Council' must not turn 'UN' into 'US National'."""
    assert spell("What is the UN role?") == "What is the UN role?"


def test_sentence_starts_possessives_and_line_ends_do_not_make_names():
    table = acronym_table(DOCS)
    assert "TG" not in table  # "The gravity"
    assert "KPM" not in table  # "Kosovo's Prime Minister": the name is "Prime Minister"
    assert not any(name.endswith("The") for name in table.values())  # a line end cuts the name


def test_ordinary_words_and_unknown_acronyms_pass_through():
    assert spell("Who spoke on Friday?") == "Who spoke on Friday?"
    assert spell("What did the WHO say?") == "What did the WHO say?"  # no name with these initials
    assert spell("") == ""


def test_the_most_frequent_name_wins_and_the_choice_is_stable():
    docs = ["Prime Minister A met the Prime Minister B.", "Pristina Mayor C."]
    assert acronym_table(docs)["PM"] == "Prime Minister"
    assert acronym_table(docs) == acronym_table(list(docs))


def test_the_pipeline_answers_an_acronym_the_article_never_uses(pipeline):
    """The article writes 'National Security Council' and never 'NSC'."""
    answer = pipeline.ask("Who is the NSC spokesperson?")
    assert answer.text == "John Kirby"
    assert answer.question == "Who is the NSC spokesperson?"  # the user's words are kept,
    assert answer.read_as == "Who is the National Security Council spokesperson?"  # and what was read is shown
    cite = answer.citations[0]
    assert "National Security Council" in cite.sentence


def test_the_chat_says_how_it_read_the_acronym(pipeline):
    from ui.handlers import ChatState, Handlers, LazyPipeline

    handlers = Handlers(LazyPipeline(lambda: pipeline), max_question_chars=1000)
    chat, _, _ = list(handlers.respond("Who is the NSC spokesperson?", ChatState(), progress=None))[-1]
    reply = chat[-1]["content"]
    assert "Question as understood: <em>Who is the National Security Council spokesperson?</em>" in reply
    assert "<strong>John Kirby</strong>" in reply
