"""The article's gold set is valid: offsets point at the answers in the text the product indexes."""

from collections import Counter

import pytest

from eval.datasets import GOLD_ARTICLE, load_squad
from eval.metrics import normalize_answer
from qa.config import REPO_ROOT

ARTICLE = REPO_ROOT / "corpus" / "data" / "serbian-military-buildup-kosovo-border.txt"


GOLD_TUNE = GOLD_ARTICLE.parent / "article-tune.json"  # for choosing settings; never reported


@pytest.fixture(scope="module", params=[GOLD_ARTICLE, GOLD_TUNE], ids=["gold", "tune"])
def gold(request):
    return load_squad(request.param)


def test_tune_questions_are_not_gold_questions():
    reported = {normalize_answer(it.question) for it in load_squad(GOLD_ARTICLE).items}
    assert not reported & {normalize_answer(it.question) for it in load_squad(GOLD_TUNE).items}


def test_context_is_the_cleaned_document_text(gold):
    from corpus.loading import load_path

    doc = load_path(ARTICLE)[0]
    assert len(gold.contexts) == 1
    assert gold.contexts[0].text == doc.text, "regenerate eval/gold/article.json: the loader's cleaning changed"
    assert gold.contexts[0].title == doc.title


def test_every_answer_is_at_its_offset(gold):
    text = gold.contexts[0].text
    for item in gold.items:
        for answer, start in zip(item.answers, item.answer_starts, strict=True):
            assert answer == answer.strip() and answer, item.qid
            assert text[start : start + len(answer)] == answer, (item.qid, answer)


def test_size_and_mix():
    items = load_squad(GOLD_ARTICLE).items
    assert len(items) >= 60
    assert sum(it.is_impossible for it in items) >= 12
    assert all((it.answers == ()) == it.is_impossible for it in items)
    tags = Counter(t for it in items for t in it.tags)
    assert tags["cross-sentence"] >= 5 and tags["paraphrase"] >= 30
    assert len({it.qid for it in items}) == len(items)
    assert len({normalize_answer(it.question) for it in items}) == len(items)  # no duplicate questions


def test_unanswerable_questions_are_not_answered_verbatim_by_their_own_words(gold):
    # a cheap guard that an "unanswerable" question is not just a copied sentence of the article
    text = gold.contexts[0].text.lower()
    for item in gold.items:
        if item.is_impossible:
            assert item.question.lower().rstrip("?") not in text, item.qid
