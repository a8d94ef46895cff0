"""qa.followup: pronoun and elliptic follow-ups resolved against the last turn (pure, no models), and the chat loop."""

from __future__ import annotations

import pytest

from qa.answer import Answer
from qa.followup import Conversation, Followup, Turn, is_followup, reply, resolve_followup

KIRBY = [Turn("Who is the spokesperson for the US National Security Council?", "John Kirby")]
EMINI = [Turn("Who is the executive director of CiviKos Platform?", "Donika Emini")]


def test_standalone_question_passes_unchanged():
    q = "Near which village was the battle?"
    assert resolve_followup(q, KIRBY) == Followup(q)
    assert resolve_followup(q, KIRBY).retrieval_query == q
    assert resolve_followup("Who is he?", []) == Followup("Who is he?")


def test_subject_pronoun_becomes_the_previous_answer_and_retrieves_alone():
    assert resolve_followup("Who is he?", KIRBY) == Followup("Who is John Kirby?")


def test_she_and_his():
    assert resolve_followup("What did she warn about?", EMINI).understood == "What did Donika Emini warn about?"
    assert resolve_followup("What is his job?", KIRBY).understood == "What is John Kirby's job?"


@pytest.mark.parametrize(
    "question",
    ["When did it happen?", "What did he tell her?", "Who did they attack?"],
)
def test_unsafe_substitutions_keep_the_question_but_widen_retrieval(question):
    f = resolve_followup(question, KIRBY)
    assert f.understood == question
    assert f.retrieval_query.startswith(question) and "John Kirby" in f.retrieval_query


def test_no_substitution_when_previous_answer_is_not_a_name_or_abstained():
    three = [Turn("How many Serb gunmen were killed?", "three")]
    assert resolve_followup("Who killed them?", three).understood == "Who killed them?"
    abstained = [Turn("What is the population of Kosovo?", None)]
    f = resolve_followup("Who is he?", abstained)
    assert f.understood == "Who is he?"
    assert f.retrieval_query == "Who is he? What is the population of Kosovo?"


def test_elliptic_wh_question_takes_the_rest_of_the_previous_question():
    history = [Turn("Where did the battle take place?", "Banjskë")]
    assert resolve_followup("And when?", history) == Followup("When did the battle take place?")
    assert resolve_followup("Why?", history).understood == "Why did the battle take place?"
    # previous question without an auxiliary after its wh-word: keep the fragment, widen retrieval
    f = resolve_followup("And when?", [Turn("Who led the armed group?", "Milan Radoičić")])
    assert f.understood == "And when?"
    assert "Who led the armed group? Milan Radoičić" in f.retrieval_query


def test_resolves_against_the_last_turn_only():
    history = EMINI + KIRBY
    assert resolve_followup("Who is he?", history).understood == "Who is John Kirby?"


def test_is_followup():
    assert is_followup("What about Serbia?")
    assert is_followup("And where?")
    assert not is_followup("Who is the spokesperson for the US National Security Council?")
    assert not is_followup("Where is the Hotel Theranda?")  # "the" is not "he"


def test_a_leading_and_is_dropped_from_a_full_question():
    history = [Turn("Where did the battle take place?", "Banjskë")]
    f = resolve_followup("And how many gunmen were killed?", history)
    assert f == Followup("How many gunmen were killed?")
    assert resolve_followup("and what did he say?", KIRBY).understood == "What did John Kirby say?"
    f = resolve_followup("And Serbia?", history)  # too little to stand alone: widen retrieval instead
    assert f.understood == "And Serbia?" and "Banjskë" in f.retrieval_query


class EchoPipeline:
    """Answers every question with the same name; records the conversation it was asked in."""

    def __init__(self):
        self.asked: list[tuple[str, Conversation | None]] = []

    def ask(self, question, conversation=None):
        self.asked.append((question, conversation))
        understood = resolve_followup(question, conversation.turns).understood if conversation else question
        return Answer(understood, "John Kirby", 0.9, (), (), read_as="")


def test_reply_asks_within_the_conversation_and_records_the_turn():
    pipe = EchoPipeline()
    start = Conversation()
    first = reply(pipe, "Who is the spokesperson?", start)
    assert pipe.asked == [("Who is the spokesperson?", start)]
    assert first.conversation == Conversation((Turn("Who is the spokesperson?", "John Kirby"),))
    assert start.turns == ()  # conversations are values: nothing is changed in place
    second = reply(pipe, "What did he say?", first.conversation)
    assert second.answer.question == "What did John Kirby say?"
    assert second.conversation.turns[-1] == Turn("What did John Kirby say?", "John Kirby")
