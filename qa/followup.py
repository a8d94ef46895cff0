"""Resolve follow-up questions ("Who is he?", "And when?") against the last turn of a conversation.

An extractive reader answers one question about one set of passages, so a follow-up such as
"What did she warn about?" retrieves nothing useful on its own. Where it is safe we rewrite it
into a stand-alone question: the previous answer replaces a subject pronoun ("she" -> "Donika
Emini"), an elliptic "And when?" takes the rest of the previous question ("Where did the battle
take place?" -> "When did the battle take place?"), a leading "And" is dropped. A rewritten
question retrieves on its own: on the seed article, adding the previous turn to it pulled in
passages that lowered the reader's scores. Only a follow-up we cannot rewrite ("Who refused to
recognize it?") gets the previous question and answer added to its retrieval query, so the same
part of the documents is found again. Stand-alone questions pass through unchanged.

    >>> history = [Turn("Who is the spokesperson for the US National Security Council?", "John Kirby")]
    >>> resolve_followup("What did he describe as destabilizing?", history).understood
    'What did John Kirby describe as destabilizing?'

The loop around it is here too, so that the terminal chat and the web chat run the same one:
``reply(pipeline, question, conversation)`` asks the pipeline within the conversation
(``Pipeline.ask`` resolves the follow-up) and returns the answer with the turn recorded.

    >>> first = reply(pipeline, "Who is the NSC spokesperson?", Conversation())
    >>> reply(pipeline, "Who is he?", first.conversation).answer.question
    'Who is John Kirby?'

Pure apart from ``reply``, which calls the pipeline it is given: no models, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from qa.answer import Answer

WH_WORDS = ("what", "who", "whom", "whose", "when", "where", "why", "how", "which")
# Subject-case pronouns are safe to replace by a name: the sentence stays grammatical.
SUBJECT_PRONOUNS = ("he", "she")
# Any of these makes a question refer back to something said before.
REFERRING_PRONOUNS = (
    "he", "she", "him", "his", "her", "hers", "they", "them", "their", "theirs", "it", "its",
)  # fmt: skip
AUXILIARIES = (
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had",
    "can", "could", "will", "would", "should", "might", "may",
)  # fmt: skip
ELLIPSIS_OPENERS = ("and", "what about", "how about", "and what about")
MAX_NAME_WORDS = 6  # a longer previous answer is a clause, not a name to substitute
MIN_QUESTION_WORDS = 3  # "And how many died?" is a question after "And"; "And Serbia?" is not

_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Turn:
    """One question and answer of a conversation."""

    question: str  # as the pipeline read it, so that a chain of follow-ups keeps its referent
    answer: str | None  # None when the documents did not say


@dataclass(frozen=True)
class Conversation:
    """The turns so far, oldest first. Immutable: each turn gives a new Conversation (fit for ``gr.State``)."""

    turns: tuple[Turn, ...] = ()

    def then(self, answer: Answer) -> Conversation:
        """This conversation with ``answer``'s turn recorded."""
        return Conversation(self.turns + (Turn(answer.question_as_read, answer.text),))


@dataclass(frozen=True)
class Followup:
    """What the pipeline should be asked.

    ``understood`` is the question for the reader (and for display when it differs from what the
    user typed); ``context`` is the previous turn's words, added to the retrieval query (only) when
    the question still points back at it, else "".
    """

    understood: str
    context: str = ""

    @property
    def retrieval_query(self) -> str:
        return f"{self.understood} {self.context}" if self.context else self.understood


@dataclass(frozen=True)
class Reply:
    answer: Answer
    conversation: Conversation  # with this turn recorded


def reply(pipeline, question: str, conversation: Conversation) -> Reply:
    """One turn of a chat: ``pipeline.ask`` within ``conversation``, then the turn recorded.

    Args:
        pipeline: a ``qa.pipeline.Pipeline`` (anything with its ``ask(question, conversation)``).
        question: what the user typed, cleaned by ``qa.question.normalize_question``.
        conversation: the turns so far; it is not changed.
    """
    answer = pipeline.ask(question, conversation)
    return Reply(answer, conversation.then(answer))


def resolve_followup(question: str, history: Sequence[Turn]) -> Followup:
    """Resolve ``question`` against the last turn of ``history``.

    Args:
        question: what the user typed (already cleaned).
        history: earlier turns, oldest first.
    Returns:
        ``Followup(question)`` for a stand-alone question or an empty history.
    """
    if not history or not is_followup(question):
        return Followup(question)
    prev = history[-1]
    bare = _drop_opener(question)
    rewritten = _substitute_pronoun(bare, prev.answer) or _complete_ellipsis(question, prev.question) or bare
    if not is_followup(rewritten):  # stand-alone now: retrieve on it alone
        return Followup(rewritten)
    return Followup(rewritten, " ".join(part for part in (prev.question, prev.answer) if part))


def is_followup(question: str) -> bool:
    """True for a question that points back at the conversation: a pronoun, or an elliptic fragment."""
    words = _words(question)
    if any(w in REFERRING_PRONOUNS for w in words):
        return True
    lowered = question.lower().lstrip()
    if any(lowered.startswith(opener + " ") for opener in ELLIPSIS_OPENERS):
        return True
    # "When?", "Why?", "And where exactly?": a wh-word with almost nothing to retrieve on.
    return len(words) <= 2 and any(w in WH_WORDS for w in words)


def _substitute_pronoun(question: str, prev_answer: str | None) -> str | None:
    """Replace the one subject pronoun by the previous answer, when that answer looks like a name.

    Only "he"/"she" qualify: "it"/"they"/"her" can be objects or possessives, where a plain swap
    breaks the sentence. With two or more pronouns we cannot tell which one the user means.
    """
    if not prev_answer or not _looks_like_name(prev_answer):
        return None
    words = _words(question)
    referring = [w for w in words if w in REFERRING_PRONOUNS]
    if len(referring) != 1:
        return None
    pronoun = referring[0]
    if pronoun in SUBJECT_PRONOUNS:
        replacement = prev_answer
    elif pronoun == "his":
        replacement = prev_answer + "'s"
    else:
        return None
    pattern = re.compile(rf"\b{pronoun}\b", re.IGNORECASE)
    return pattern.sub(lambda _m: replacement, question, count=1)


def _complete_ellipsis(question: str, prev_question: str) -> str | None:
    """"And when?" after "Where did the battle take place?" -> "When did the battle take place?".

    Only when the fragment is a bare wh-word and the previous question is "wh-word + auxiliary ...",
    so that swapping the wh-word keeps the sentence grammatical.
    """
    words = [w for w in _words(question) if w not in ("and", "exactly", "then")]
    if len(words) != 1 or words[0] not in WH_WORDS:
        return None
    prev = prev_question.strip()
    match = re.match(r"\s*([A-Za-z]+)\s+([A-Za-z']+)\b(.*)$", prev, re.DOTALL)
    if not match or match.group(1).lower() not in WH_WORDS or match.group(2).lower() not in AUXILIARIES:
        return None
    rest = match.group(2) + match.group(3)
    return f"{words[0].capitalize()} {rest}"


def _drop_opener(question: str) -> str:
    """"And how many were killed?" -> "How many were killed?"; a bare "And Serbia?" stays as it is."""
    match = re.match(r"\s*(?:and|so|also)\s+(.*)$", question, re.IGNORECASE | re.DOTALL)
    if not match or len(_words(match.group(1))) < MIN_QUESTION_WORDS:
        return question
    rest = match.group(1)
    return rest[0].upper() + rest[1:]


def _looks_like_name(answer: str) -> bool:
    """A short answer that starts with a capital letter ("John Kirby", "KFOR"), not "three" or a clause."""
    words = answer.split()
    return 0 < len(words) <= MAX_NAME_WORDS and answer[0].isupper()


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]
