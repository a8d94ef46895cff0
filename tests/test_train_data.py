"""Training data for the reader: token labels hit the answer, negatives point at [CLS], order is seeded."""

import json

import pytest

from qa.train_data import Example, build_examples, featurize, load_examples, make_batches, make_negative

SQUAD = {
    "data": [
        {
            "title": "Bridges",
            "paragraphs": [
                {"context": "The Vučić bridge was designed by Marta Kowalska in 1998.",
                 "qas": [{"id": "q1", "question": "Who designed the bridge?",
                          "answers": [{"text": "Marta Kowalska", "answer_start": 33}]}]},
                {"context": "The old bridge over the river was rebuilt after the flood.",
                 "qas": [{"id": "q2", "question": "What was rebuilt?",
                          "answers": [{"text": "The old bridge", "answer_start": 0}]}]},
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from index.embedder import bundled_model_dir

    return AutoTokenizer.from_pretrained(str(bundled_model_dir()))


@pytest.fixture
def squad_file(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def test_labels_cover_exactly_the_answer_tokens(tokenizer, squad_file):
    examples, _ = load_examples(squad_file)
    (ids, _types, start, end), _ = featurize(examples, tokenizer, 384, 128)
    assert tokenizer.decode(ids[start : end + 1]) == "marta kowalska"


def test_negative_is_another_paragraph_of_the_article_labelled_cls(tokenizer, squad_file):
    examples, paragraphs = load_examples(squad_file)
    neg = make_negative(examples[0], paragraphs[examples[0].qid.split("|", 1)[1]])
    assert neg.answer == "" and "Kowalska" not in neg.context
    ((_ids, _types, start, end),) = featurize([neg], tokenizer, 384, 128)
    assert (start, end) == (0, 0)


def test_windows_without_the_answer_point_at_cls(tokenizer):
    context = "Filler sentence about nothing at all. " * 80 + "The answer is Zanzibar."
    ex = Example("q", "What is the answer?", context, "Zanzibar", context.index("Zanzibar"))
    feats = featurize([ex], tokenizer, 128, 32)
    assert len(feats) > 3
    labelled = [f for f in feats if f[2] > 0]
    assert labelled and all(tokenizer.decode(f[0][f[2] : f[3] + 1]) == "zanzibar" for f in labelled)
    assert all((f[2], f[3]) == (0, 0) for f in feats if f not in labelled)


def test_sampling_and_batches_are_seeded(squad_file):
    a = build_examples(squad_file, limit=0, neg_ratio=1.0, extra=None, extra_limit=0, seed=3)
    b = build_examples(squad_file, limit=0, neg_ratio=1.0, extra=None, extra_limit=0, seed=3)
    assert a == b and sum(1 for e in a if not e.answer) == 2
    lengths = [5, 90, 7, 88, 6, 91, 8, 89]
    batches = make_batches(lengths, 2, seed=1)
    assert batches == make_batches(lengths, 2, seed=1)
    assert sorted(i for batch in batches for i in batch) == list(range(8))
    assert all(abs(lengths[x] - lengths[y]) < 10 for x, y in batches)  # bucketed by length
