"""A reader shipped as a LoRA delta over another: trained for real, saved small, merged at load to the same logits."""

import json

import pytest

from qa.config import READERS

QUESTION, PASSAGE = "Who designed the bridge?", "The Vučić bridge was designed by Marta Kowalska in 1998."
TRAIN = {"data": [{"title": "Bridges", "paragraphs": [
    {"context": PASSAGE, "qas": [{"id": "q1", "question": QUESTION,
                                  "answers": [{"text": "Marta Kowalska", "answer_start": 33}]}]},
    {"context": "The old bridge over the river was rebuilt after the flood in 2004.",
     "qas": [{"id": "q2", "question": "When was the old bridge rebuilt?",
              "answers": [{"text": "2004", "answer_start": 62}]}]},
]}]}  # fmt: skip


def logits(model, tokenizer):
    import torch

    batch = tokenizer(QUESTION, PASSAGE, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch)
    return torch.cat([out.start_logits, out.end_logits], dim=-1)


def test_a_delta_merged_at_load_reads_like_the_model_it_was_saved_from(tmp_path):
    pytest.importorskip("peft", reason="training a delta needs peft: pip install -r requirements-train.txt")
    import torch
    from transformers import AutoModelForQuestionAnswering

    from qa.adapters import ADAPTER_WEIGHTS, lora_model, read_adapter, save_adapter
    from qa.reader import Reader

    base = str(READERS["fast"])
    torch.manual_seed(0)
    wrapped = lora_model(AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32), rank=4)
    with torch.no_grad():  # LoRA starts as a no-op (B = 0): give it a real update, and the head one too
        for name, param in wrapped.named_parameters():
            if "lora_B" in name or "qa_outputs" in name:
                param.add_(0.05 * torch.randn_like(param))
    wrapped.eval()
    reader = Reader(str(save_adapter(wrapped, tmp_path / "delta", base)), precision="fp32").load()
    expected = logits(wrapped, reader._tokenizer)
    merged = logits(reader._model, reader._tokenizer)
    assert torch.allclose(merged, expected, atol=0.05)  # the delta is stored in fp16, like the whole readers
    plain = logits(Reader(base, precision="fp32").load()._model, reader._tokenizer)
    assert not torch.allclose(plain, expected, atol=0.5)  # and it did change the reader
    assert read_adapter(tmp_path / "delta").base == READERS["fast"].resolve()
    assert (tmp_path / "delta" / ADAPTER_WEIGHTS).stat().st_size < 0.05 * (READERS["fast"] / "model.safetensors").stat().st_size


def test_training_with_lora_writes_a_small_delta_that_the_reader_loads_and_its_checkpoint_exports(tmp_path):
    pytest.importorskip("peft", reason="training a delta needs peft: pip install -r requirements-train.txt")
    from qa.adapters import ADAPTER_FILE
    from qa.reader import Reader
    from qa.training.train import main

    train = tmp_path / "train.json"
    train.write_text(json.dumps(TRAIN), encoding="utf-8")
    out, state = tmp_path / "delta", tmp_path / "state"
    argv = ["--recipe", "minilm", "--init", str(READERS["fast"]), "--lora", "4", "--train", str(train), "--limit", "0",
            "--extra", f"{train}:2", "--neg-ratio", "0", "--batch-size", "2", "--max-steps", "2", "--threads", "1",
            "--lr", "1e-3", "--out", str(out), "--checkpoint-dir", str(state)]  # fmt: skip
    main(argv)
    meta = json.loads((out / ADAPTER_FILE).read_text())
    assert meta["rank"] == 4 and not (out / "model.safetensors").exists()  # a delta, not another copy of the model
    assert json.loads((out / "training.json").read_text())["lora"] == 4
    spans = Reader(str(out)).load().read(QUESTION, [PASSAGE])
    assert spans and PASSAGE[spans[0].start : spans[0].end] == spans[0].text
    main(argv + ["--export", str(tmp_path / "exported")])  # the checkpoint of a LoRA run exports as a delta too
    assert (tmp_path / "exported" / ADAPTER_FILE).is_file()


def test_a_delta_whose_base_is_gone_is_one_clear_error(tmp_path):
    from qa.adapters import ADAPTER_FILE, AdapterError, read_adapter
    from qa.errors import SettingError

    folder = tmp_path / "delta"
    folder.mkdir()
    (folder / ADAPTER_FILE).write_text(json.dumps({"base": "../missing", "rank": 4, "alpha": 8}))
    with pytest.raises(AdapterError, match="holds no model: restore that folder") as error:
        read_adapter(folder)
    assert isinstance(error.value, SettingError)  # the CLI's one-line errors
