"""Question + passage -> overlapping token windows, and windows -> padded model inputs.

One function for serving and training, so the reader reads exactly as it was
trained: same truncation, same stride, same special tokens. Nothing here assumes
``token_type_ids``: BERT-style tokenizers return them, MPNet's does not (and its
model rejects them), so they are carried only when the tokenizer makes them.

    >>> wins = tokenize_windows(tokenizer, ["Who spoke?"], ["John Kirby spoke."], max_length=256, stride=96)
    >>> batch = pad_windows(wins, tokenizer.pad_token_id)   # {"input_ids", "attention_mask", ...} tensors
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WINDOW_FILE = "reader.json"  # a model folder's window length and stride, written by training
DEFAULT_WINDOW = (384, 128)  # what a model folder without reader.json (e.g. a hub model) is read with


@dataclass(frozen=True)
class Window:
    """One model input: a question and a slice of one passage, with each token's character offsets."""

    pair: int  # index of the (question, passage) pair it came from
    input_ids: list[int]
    token_type_ids: list[int] | None  # None for tokenizers without segment ids (MPNet, RoBERTa)
    offsets: list[tuple[int, int]]  # character offsets into the passage for context tokens
    context: list[bool]  # True where the token belongs to the passage


def tokenize_windows(tokenizer, questions: Sequence[str], passages: Sequence[str], max_length: int,
                     stride: int) -> list[Window]:
    """Windows of ``max_length`` tokens for each (question, passage) pair; long passages overlap by ``stride``."""
    if not questions:
        return []
    enc = tokenizer(
        list(questions),
        list(passages),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    types = enc.get("token_type_ids")
    windows = []
    for w, pair in enumerate(enc["overflow_to_sample_mapping"]):
        seq = enc.sequence_ids(w)
        windows.append(Window(pair, enc["input_ids"][w], types[w] if types is not None else None,
                              [tuple(o) for o in enc["offset_mapping"][w]], [s == 1 for s in seq]))
    return windows


def pad_windows(windows: Sequence[Window], pad_id: int) -> dict:
    """Right-padded tensors for one batch: ``input_ids``, ``attention_mask`` and, if any, ``token_type_ids``."""
    import torch

    width = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    with_types = windows[0].token_type_ids is not None
    types = torch.zeros((len(windows), width), dtype=torch.long) if with_types else None
    for row, w in enumerate(windows):
        n = len(w.input_ids)
        ids[row, :n] = torch.tensor(w.input_ids)
        mask[row, :n] = 1
        if types is not None:
            types[row, :n] = torch.tensor(w.token_type_ids)
    batch = {"input_ids": ids, "attention_mask": mask}
    if types is not None:
        batch["token_type_ids"] = types
    return batch


def window_settings(model_dir: str | Path) -> tuple[int, int]:
    """(max_length, stride) a model was trained with, from its folder's ``reader.json``."""
    path = Path(model_dir) / WINDOW_FILE
    if not path.is_file():
        return DEFAULT_WINDOW
    data = json.loads(path.read_text(encoding="utf-8"))
    return int(data["max_length"]), int(data["stride"])


def write_window_settings(model_dir: str | Path, max_length: int, stride: int) -> None:
    (Path(model_dir) / WINDOW_FILE).write_text(json.dumps({"max_length": max_length, "stride": stride}) + "\n")
