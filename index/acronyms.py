"""Spell out acronyms the documents never use, from the capitalised names they do use (pure).

People ask "Who is the NSC spokesperson?" or "Who is Kosovo's PM?" about a text that only ever
writes "National Security Council" and "Prime Minister". Neither retriever can bridge that: BM25
has no "NSC" to match and the embedder does not know the abbreviation. So every run of capitalised
words in the documents proposes its initials ("National Security Council" -> NSC, "Ministry of
Defence" -> MD and MOD), and a query word that looks like an acronym (two or more capitals), is not
a word of the documents, and matches such initials is replaced by the name. Replaced, not followed
by the name in brackets: the reader scored "the NSC (National Security Council) spokesperson" 0.19
and "the National Security Council spokesperson" 0.91 on the same passage. An acronym the documents
do use is left alone: retrieval already finds it.

The known risk: an acronym whose own name is nowhere in the documents can still match the initials
of an unrelated name (in SQuAD's 2,067 dev paragraphs, "DSM" became "Dirty Sexy Money"). Such a
question had no answer in the documents to lose; on the first 1,000 open-domain SQuAD dev questions
3 were rewritten and EM/F1 did not move.

    >>> docs = ["John Kirby speaks for the US National Security Council."]
    >>> spell_out_acronyms("Who is the NSC spokesperson?", acronym_table(docs), vocabulary(docs))
    'Who is the National Security Council spokesperson?'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Lower-case words allowed inside a name ("Ministry of Defence", "Bank for International Settlements").
CONNECTORS = frozenset({"of", "for", "and", "the", "on", "de", "du", "la"})
MAX_NAME_WORDS = 6
_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|[^\w\s]|\n")  # words; punctuation and line ends end a name
# Capitalised only because they start a sentence: never the first word of a name.
_NOT_NAME_START = frozenset({"the", "a", "an", "in", "on", "at", "as", "by", "for", "from", "with", "this", "that",
                             "these", "those", "it", "its", "he", "she", "they", "we", "but", "and", "or", "if",
                             "while", "when", "after", "before", "since", "similarly", "meanwhile", "however"})
_WORD = re.compile(r"\w+")
_QUERY_WORD = re.compile(r"\b[A-Za-z]{2,8}\b")


def _names(text: str) -> Iterable[list[str]]:
    """Maximal runs of capitalised words (connectors allowed inside), cut at punctuation."""
    run: list[str] = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        acronym = len(word) > 1 and word.isupper()  # "US", "NATO": an acronym already, not a name's word
        possessive = word.endswith(("'s", "’s"))  # "Kosovo's Prime Minister": the name starts after it
        if word[0].isupper() and not acronym and not possessive and (run or word.casefold() not in _NOT_NAME_START):
            run.append(word)
            continue
        if word in CONNECTORS and run:
            run.append(word)
            continue
        if run:
            yield run
        run = []
    if run:
        yield run


def _initials(words: list[str]) -> set[str]:
    capitals = "".join(w[0] for w in words if w[0].isupper())
    return {capitals.upper(), "".join(w[0] for w in words).upper()}


def _sub_names(run: list[str]) -> Iterable[list[str]]:
    """Every stretch of a run that starts and ends with a capitalised word and has two or more words."""
    capitalised = [i for i, word in enumerate(run) if word[0].isupper()]
    for i in capitalised:
        for j in capitalised:
            if i < j < i + MAX_NAME_WORDS:
                yield run[i : j + 1]


def acronym_table(texts: Iterable[str]) -> dict[str, str]:
    """Initials -> the name the documents write most often with them (ties: the shorter name)."""
    counts: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for name in (sub for run in _names(text) for sub in _sub_names(run)):
            counts.update((key, " ".join(name)) for key in _initials(name))
    best: dict[str, tuple[int, int, str]] = {}
    for (key, name), n in counts.items():
        rank = (-n, len(name), name)
        if key not in best or rank < best[key]:
            best[key] = rank
    return {key: name for key, (_, _, name) in best.items()}


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Every word of the documents, case-folded: an acronym found here needs no expanding."""
    return frozenset(w.casefold() for text in texts for w in _WORD.findall(text))


def spell_out_acronyms(query: str, table: dict[str, str], known: frozenset[str]) -> str:
    """``query`` with each acronym the documents spell out but never abbreviate replaced by the name."""

    def spell_out(match: re.Match) -> str:
        word = match.group()
        if sum(c.isupper() for c in word) < 2 or word.casefold() in known:
            return word
        name = table.get(word.upper())
        return name or word

    return _QUERY_WORD.sub(spell_out, query)
