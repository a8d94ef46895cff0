"""The extractive reader: a transformers QA model that picks answer spans out of passages.

Every passage is read on its own (never concatenated, so a span always belongs
to exactly one passage); long passages are cut into overlapping windows, and all
windows of all questions in a call go through the model in length-sorted
batches. Spans come back as character offsets into the passage they came from,
with a calibrated score that is comparable across windows and passages (see
``qa.spans``).

    >>> reader = Reader().load()            # the shipped reader, offline
    >>> reader.read("Who spoke?", ["John Kirby spoke on Friday."])[0].text
    'John Kirby'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.batching import Coalescer, Memo
from qa.config import DEFAULT_READER, PRECISIONS, READ_MEMO_WINDOWS
from qa.errors import SettingError
from qa.spans import Calibration, calibrated_score, decode_window, load_calibration
from qa.windows import Window, pad_windows, tokenize_windows, window_settings


def hide_loading_bars() -> None:
    """Turn off transformers' per-model "Loading weights" bars for command-line tools.

    Each model load draws a sub-second bar; in a CLI or an evaluation they bury
    the one progress line that matters. Importing transformers is the cost, so
    callers do this only when they are about to load models anyway.
    """
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 where the CPU has native bf16 (AVX512-BF16, AMX), else fp32; other values unchanged.

    Why: on a CPU without bf16 instructions (e.g. AVX2 only) torch emulates bf16 matrix products,
    and the reader ran 6x slower in bf16 than in fp32 (measured: the article with the fast reader,
    5.1 s vs 0.83 s on one AVX2 core); where bf16 is native it is the faster of the two.
    """
    if precision != "auto":
        return precision
    import torch

    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


@dataclass(frozen=True)
class PassageSpan:
    """A span of characters in one of the passages handed to ``Reader.read``, with its scores."""

    passage: int  # index into the passages given to read()
    start: int  # character offsets into that passage: passages[passage][start:end] == text
    end: int
    text: str
    score: float  # calibrated probability of being a correct answer
    logit: float  # start + end logit
    null_logit: float  # [CLS] start + end logit of the window it came from


@dataclass(frozen=True)
class Reading:
    """What ``Reader.read_ranked`` found, and what it cost."""

    spans: list[PassageSpan]  # best first
    tokens: int  # model tokens read (question included, once per window)
    passages: int  # non-empty passages read


def window_key(window: Window) -> bytes:
    """What a window's logits depend on, as a compact key: its token ids packed as int32 bytes.

    Why bytes: a tuple of 256 token ids takes about 9 kB with its int objects, its packed form 1 kB
    (``Reader``'s window memo holds thousands of keys). Segment ids follow from the ids (the separator's place).
    """
    return np.asarray(window.input_ids, dtype=np.int32).tobytes()


def _keep_best(found: dict[tuple[int, int, int], PassageSpan], span: PassageSpan) -> None:
    """One span per passage location; where windows overlap, the better-scored reading of it wins."""
    key = (span.passage, span.start, span.end)
    if key not in found or found[key].score < span.score:
        found[key] = span


# The feed-forward down-projection (BERT's and MPNet's ``layer.N.output.dense``) reads the GELU's
# output, whose few huge values one int8 scale per tensor cannot hold beside the small ones: quantizing
# it took the accurate reader from F1 89.5 to 60.5 on the first 1,000 SQuAD dev questions; skipping it
# gives 87.8 there. The fast reader gains too (all of dev: 78.0 -> 78.7, fp32 79.3) and reads 1,000
# questions in 26.5 s against 25.5 s with every Linear quantized (fp32: 42.1 s).
_FFN_DOWN = re.compile(r"(^|\.)layer\.\d+\.output\.dense$")


def int8_linears(model: Any) -> list[str]:
    """Names of the Linear layers that int8 quantizes: all but the feed-forward down-projections."""
    import torch

    return [name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not _FFN_DOWN.search(name)]


class Reader:
    """Any ``AutoModelForQuestionAnswering`` by hub name or local path; the default is the shipped one."""

    def __init__(
        self,
        model: str | Path = DEFAULT_READER,
        *,
        max_length: int | None = None,
        stride: int | None = None,
        max_answer_tokens: int = 30,
        max_question_tokens: int = 64,
        batch_size: int = 16,
        precision: str = "auto",
        calibration: Calibration | None = None,
        memo_windows: int = READ_MEMO_WINDOWS,
    ) -> None:
        if precision not in PRECISIONS:
            raise SettingError(f"reader precision must be one of {', '.join(PRECISIONS)}, not {precision!r} "
                               "(check --precision or QA_READER_PRECISION).")
        self.model_name = str(model)
        # a model folder records the windows it was trained on (qa.windows); explicit values win
        trained_length, trained_stride = window_settings(self.model_name)
        self.max_length = max_length if max_length is not None else trained_length
        self.stride = stride if stride is not None else trained_stride
        self.max_answer_tokens = max_answer_tokens
        self.max_question_tokens = max_question_tokens
        self.batch_size = batch_size
        self.precision = resolve_precision(precision)
        self.calibration = calibration if calibration is not None else load_calibration(self.model_name)
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()  # fast tokenizers are not safe to call from two threads at once
        # Held for each forward pass: an upload's embedding takes turns with it (Pipeline.ingest) instead
        # of running beside it, which would put four threads on two cores and slow both.
        self.compute = threading.Lock()
        # questions read at the same time share forward passes (qa.batching): throughput grows with users;
        # under it, the logits of the last ``memo_windows`` distinct windows are kept, so a window read
        # before (a question asked again, the same window in two concurrent questions) costs nothing
        self._memo = Memo(lambda windows: self._forward(windows, False), key=window_key, capacity=memo_windows)
        self._shared = Coalescer(self._memo.run, max_items=4 * batch_size)

    @classmethod
    def from_config(cls, config, calibration: Calibration | None = None) -> Reader:
        """The reader a ``qa.config.Config`` describes (model, lengths, batch size, precision), not loaded yet."""
        return cls(config.reader_model, max_answer_tokens=config.max_answer_tokens,
                   max_question_tokens=config.max_question_tokens, batch_size=config.reader_batch_size,
                   precision=config.reader_precision, calibration=calibration,
                   memo_windows=config.read_memo_windows)  # fmt: skip

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def memo(self) -> Memo:
        """The window memo under ``read_ranked`` (its ``hits`` and ``computed`` counts, ``capacity``)."""
        return self._memo

    def forget(self) -> None:
        """Drop the remembered windows: the next question is computed in full (benchmarks timing repeats)."""
        self._memo.forget()

    def load(self) -> Reader:
        """Load the model once (warm-up); reading calls this lazily too.

        Offline use is the entry point's business: it sets ``qa.config.OFFLINE_ENVIRONMENT`` first.
        """
        if self._model is not None:
            return self
        if self.model_name.startswith(("/", ".", "~")) and not Path(self.model_name).expanduser().exists():
            raise FileNotFoundError(f"No reader model at {self.model_name}: check the path (--reader or QA_READER).")
        import torch
        from transformers import AutoTokenizer

        from qa.adapters import load_qa_model, tokenizer_folder

        # a whole model, or a small delta over another reader merged into it here (qa.adapters)
        self._tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder(self.model_name))
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        model = load_qa_model(self.model_name, dtype).eval()
        if self.precision == "int8":
            import warnings

            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            with warnings.catch_warnings():  # torch marks the eager quantization API as deprecated; pinned, it works
                warnings.simplefilter("ignore")
                # Per channel: one scale per output row keeps SQuAD scores where one scale per matrix lost ~1.5 F1.
                qconfig = {name: per_channel_dynamic_qconfig for name in int8_linears(model)}
                model = quantize_dynamic(model, qconfig, dtype=torch.qint8)
        self._model = model
        return self

    def read(self, question: str, passages: Sequence[str], top_k: int = 5) -> list[PassageSpan]:
        """Ranked spans for one question over its passages; [] when there is nothing to read."""
        return self.read_many([(question, list(passages))], top_k=top_k)[0]

    def read_ranked(self, question: str, passages: Sequence[str], top_k: int = 5) -> Reading:
        """Ranked spans for one question, with what reading them cost (``Pipeline.ask``'s read step).

        Unlike ``read``, the windows go through the shared forward passes (``qa.batching``): a
        question asked while others are read joins their batches instead of waiting its turn.
        """
        self.load()
        order = [p for p, text in enumerate(passages) if text and text.strip()]
        with self._lock:
            windows = self._windows([(question, [passages[p] for p in order])])
        logits = self._shared.run([w for _, _, w in windows])
        found: dict[tuple[int, int, int], PassageSpan] = {}
        tokens = 0
        for (_, local, win), (start, end) in zip(windows, logits):
            tokens += len(win.input_ids)
            for span in self._decode(win, order[local], start, end, passages[order[local]], top_k):
                _keep_best(found, span)
        spans = sorted(found.values(), key=lambda s: (-s.score, s.passage, s.start))[:top_k]
        return Reading(spans, tokens, len(order))

    def read_many(
        self, items: Sequence[tuple[str, Sequence[str]]], top_k: int = 5, progress: bool = False
    ) -> list[list[PassageSpan]]:
        """Read many questions at once: windows of all of them share batches (faster for evaluation).

        Questions come cleaned by ``qa.question.normalize_question`` and are not checked again here.
        """
        self.load()
        with self._lock:
            windows = self._windows(items)
            logits = self._forward([w for _, _, w in windows], progress)
        found: list[dict[tuple[int, int, int], PassageSpan]] = [{} for _ in items]
        for (item, p, win), (start, end) in zip(windows, logits):
            for span in self._decode(win, p, start, end, items[item][1][p], top_k):
                _keep_best(found[item], span)
        return [sorted(d.values(), key=lambda s: (-s.score, s.passage, s.start))[:top_k] for d in found]

    def _question(self, question: str) -> str:
        """Cut an overlong question to its first ``max_question_tokens`` tokens so a window fits."""
        if len(question) < 4 * self.max_question_tokens:
            return question
        enc = self._tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= self.max_question_tokens:
            return question
        return question[: offsets[self.max_question_tokens - 1][1]]

    def _windows(self, items) -> list[tuple[int, int, Window]]:
        """(question index, passage index, window) for every window of every non-empty passage."""
        pairs = [(i, p) for i, (_, passages) in enumerate(items) for p, text in enumerate(passages) if text and text.strip()]
        windows = tokenize_windows(self._tokenizer, [self._question(items[i][0]) for i, _ in pairs],
                                   [items[i][1][p] for i, p in pairs], self.max_length, self.stride)
        return [(*pairs[w.pair], w) for w in windows]

    def _forward(self, windows: list[Window], progress: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        import torch

        out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w].input_ids))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="read", unit="batch")
        for batch in batches:
            with self.compute, torch.inference_mode():
                res = self._model(**pad_windows([windows[w] for w in batch], self._tokenizer.pad_token_id))
            starts = res.start_logits.float().numpy()
            ends = res.end_logits.float().numpy()
            for row, w in enumerate(batch):
                n = len(windows[w].input_ids)
                out[w] = (starts[row, :n], ends[row, :n])
        return out  # type: ignore[return-value]

    def _decode(self, win: Window, p: int, start: np.ndarray, end: np.ndarray, passage: str, top_k: int):
        null_logit = float(start[0] + end[0])
        spans = []
        for tok in decode_window(start, end, np.array(win.context), self.max_answer_tokens, top_n=2 * top_k):
            s, e = win.offsets[tok.start][0], win.offsets[tok.end][1]
            if e <= s:
                continue
            spans.append(PassageSpan(p, s, e, passage[s:e], calibrated_score(tok.logit, null_logit, self.calibration),
                                     tok.logit, null_logit))
        return spans
