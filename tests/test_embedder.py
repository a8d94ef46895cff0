"""Query vectors come from transformers alone (no sentence-transformers import) and match the documents' encoder."""

import json
import subprocess
import sys

import numpy as np

from index.embedder import bundled_model_dir
from index.query_encoder import PlainStack, plain_stack

QUERIES = [
    "Who is the spokesperson for the US National Security Council?",
    "   padded with spaces and\ttabs   ",
    "Où est la frontière? Гра́ница — 国境",
    "NSC",
    "word " * 400,  # longer than the model's 256 tokens: cut the same way
]


def test_the_bundled_model_is_a_plain_stack():
    assert plain_stack(bundled_model_dir()) == PlainStack(256, False, "mean", 384, True)


def test_query_vectors_equal_sentence_transformers_vectors(embedder):
    ours = np.stack([embedder.embed_query(q) for q in QUERIES])
    theirs = embedder.embed_documents(QUERIES)  # sentence-transformers, as documents are embedded
    assert ours.shape == theirs.shape == (len(QUERIES), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_question_is_embedded_without_importing_sentence_transformers():
    code = (
        "import sys; from index.embedder import Embedder; v = Embedder().embed_query('Who is Kirby?'); "
        "print(len(v), 'sentence_transformers' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["384", "False", "False"]


def test_other_stacks_keep_sentence_transformers(tmp_path):
    assert plain_stack(tmp_path) is None  # no modules.json: a hub name or another format
    folder = tmp_path / "m"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))  # fmt: skip
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": True}))
    pooling = {"word_embedding_dimension": 8, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert plain_stack(folder) == PlainStack(128, True, "cls", 8, False)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_max_tokens": True}))
    assert plain_stack(folder) is None  # max pooling: not replayed here
