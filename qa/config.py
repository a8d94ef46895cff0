"""The one settings object. Entry points build it; components take explicit arguments and never read the environment.

An entry point (``python -m qa``, ``python -m ui``, ``python -m eval``) starts from the
defaults below, applies the ``QA_*`` environment variables, then the command-line flags,
and hands the result on:

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)                       # --reader, --top-k, ... with their defaults in --help
    config = config_from(parser.parse_args(), os.environ)

Environment: ``QA_INDEX_DIR`` (where the bundled article's index is built on first use),
``QA_READER`` (fast, accurate, or a model name or path), ``QA_READER_PRECISION``
(``auto``, ``bf16``, ``fp32`` or ``int8``), and for ``--backend milvus`` ``QA_MILVUS_URI`` and
``QA_MILVUS_TOKEN`` (a server's token: never a flag, which other users could read in ``ps``);
``QA_READ_MEMO``: how many read windows the reader remembers (0: none; benchmarks of repeated questions).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "qa" / "models"
# Readers by name: what --reader, QA_READER and the chat's reader menu accept besides a folder or hub name.
# "fast" is the 6-layer reader; "accurate" the 12-layer MPNet reader (about 5x the cost per token).
READERS = {"fast": MODELS_DIR / "minilm-squad", "accurate": MODELS_DIR / "mpnet-squad"}
# The default: on the article's tune set F1 88.0 against the fast reader's 64.3 at about the fast reader's
# old cost a question, since the best hit's window alone settles most answers (README, "Choosing the default").
DEFAULT_READER = READERS["accurate"]
DEFAULT_CORPUS = REPO_ROOT / "corpus" / "data"
DEFAULT_INDEX = REPO_ROOT / ".cache" / "index" / "default"
# The reader's weights (qa.reader). bf16: weights and activations in bfloat16 (casting once at load beats
# autocast casting every call). fp32: the reference. int8: Linear layers quantized per output channel at
# load time (torch dynamic quantization), the feed-forward down-projections and the rest fp32 (qa.reader).
# bench/reader_speed.py compares speed and scores.
PRECISIONS = ("auto", "bf16", "fp32", "int8")  # auto: bf16 where the CPU computes it natively, else fp32
BACKENDS = ("local", "milvus")  # local: FAISS + BM25 in a folder (index.store); milvus: index.milvus
DEFAULT_MILVUS_URI = REPO_ROOT / ".cache" / "milvus" / "index.db"  # Milvus Lite, when --milvus-uri is not given
RETRIEVAL_MODES = ("dense", "bm25", "hybrid")  # what index.Retriever.search takes (a test keeps the two equal)
# What entry points put in the environment before any model loads: never contact a model hub,
# and keep the tokenizers' thread pool out of forked workers.
OFFLINE_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
# Windows whose logits a reader keeps (qa.batching.Memo): 3.5 kB each at 256 tokens, 14.2 MB when full
# (bench/read_memo.py);
# a question asked again is answered without a forward pass. 0 turns it off (QA_READ_MEMO=0).
READ_MEMO_WINDOWS = 4096


def reader_path(name: str) -> str:
    """A reader's name (``fast``, ``accurate``) resolved to its shipped folder; any other text is a folder or hub name."""
    return str(READERS[name]) if name in READERS else name


def reader_name(model: str) -> str:
    """The inverse of ``reader_path``: a shipped reader's name, else the folder or hub name as given."""
    return next((name for name, path in READERS.items() if str(path) == str(model)), str(model))


def _window_count(text: str) -> int:
    """QA_READ_MEMO's value: a whole number of windows, 0 or more."""
    from qa.errors import SettingError

    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SettingError(f"QA_READ_MEMO must be a whole number of windows, 0 or more (0: off), not {text!r}.")
    return value


# variable -> (Config field, type)
ENVIRONMENT = {"QA_INDEX_DIR": ("default_index", Path), "QA_READER": ("reader_model", reader_path),
               "QA_READER_PRECISION": ("reader_precision", str), "QA_MILVUS_URI": ("milvus_uri", str),
               "QA_MILVUS_TOKEN": ("milvus_token", str), "QA_READ_MEMO": ("read_memo_windows", _window_count)}

SETTINGS_NOTE = ("Defaults come from qa/config.py. In the environment, QA_READER, QA_READER_PRECISION and "
                 "QA_INDEX_DIR (where the bundled article's index is built) override them, as QA_MILVUS_URI and "
                 "QA_MILVUS_TOKEN do for --backend milvus; flags override both.")


def _flag(default, flag: str, help: str, metavar: str | None = None, type=None, choices=None, shown=None):
    """A setting a user may change: ``add_config_arguments`` turns it into ``flag``."""
    meta = {"flag": flag, "help": help, "metavar": metavar, "type": type, "choices": choices, "shown": shown}
    return field(default=default, metadata=meta)


OFF = "none"  # what a flag of an optional setting says to turn it off, even where the default is on
READERS_OWN = "reader"  # a setting's value that takes the reader's own, recorded beside its model


def _optional_float(text: str) -> float | str:
    return OFF if text.strip().lower() == OFF else float(text)


def _settle(text: str) -> float | str:
    return READERS_OWN if text.strip().lower() == READERS_OWN else _optional_float(text)


@dataclass(frozen=True)
class Config:
    # -- what is read: the index and the models
    index_dir: Path | None = _flag(None, "--index", "an index folder made by 'python -m qa ingest' (default: "
                                   "the bundled article's index, built on first use)", "DIR", Path)  # fmt: skip
    default_index: Path = DEFAULT_INDEX  # where the bundled article's index is built on first use
    corpus_paths: tuple[Path, ...] = (DEFAULT_CORPUS,)  # what the default index is built from
    embed_model: str = "bundled:all-MiniLM-L6-v2"
    # -- where the index lives (with milvus, --index names the collection, default "default")
    backend: str = _flag("local", "--backend", "local (FAISS + BM25 in a folder) or milvus (a Milvus server, or "
                         "Milvus Lite in a .db file)", choices=BACKENDS)  # fmt: skip
    milvus_uri: str | None = _flag(None, "--milvus-uri", "with --backend milvus: a .db path (Milvus Lite) or "
                                   "http://HOST:19530 (a server; its token from QA_MILVUS_TOKEN) (default: "
                                   ".cache/milvus/index.db)", "URI")  # fmt: skip
    milvus_token: str | None = field(default=None, repr=False)  # QA_MILVUS_TOKEN only: a flag would show in ps
    reader_model: str = _flag(str(DEFAULT_READER), "--reader", "fast (6 layers), accurate (12 layers), or a QA "
                              "model folder or hub name", "MODEL", reader_path, shown="accurate")  # fmt: skip
    reader_precision: str = _flag("auto", "--precision", "reader weights: auto (bf16 on CPUs with native bf16, "
                                  "else fp32), bf16, fp32 or int8 (faster a token; on SQuAD dev -0.6 F1 for the "
                                  "fast reader, -2.0 for the accurate one)", choices=PRECISIONS)  # fmt: skip
    # -- chunking (when an index is built)
    chunk_words: int = 120  # a chunk holds whole sentences up to about this many words
    chunk_overlap_sentences: int = 1
    # -- the index's dense search (index.settings.DenseSettings; recorded in the index, used for new segments)
    dense_flat_max_rows: int = 20_000  # a segment up to this size is searched exactly; a larger one by dense_large
    dense_large: str = "ivf"  # ivf (inverted lists over float16 vectors) or hnsw (a graph over float16 vectors)
    ivf_lists: int = 0  # k-means cells of an ivf segment; 0: about 4 x sqrt(rows)
    ivf_probe: int = 0  # cells searched per question; 0: max(32, cells / 32) (bench/index_scale.py: recall@10)
    hnsw_m: int = 32  # HNSW graph degree: recall, memory and build time grow with it
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128  # candidates kept per HNSW search (bench/index_scale.py: recall@10 vs exact)
    max_document_mb: float = 20.0  # a file larger than this is refused before it is read (ingest --max-mb)
    # -- retrieval
    retrieval: str = _flag("hybrid", "--retrieval", "dense (FAISS), bm25, or hybrid (both, fused by RRF)",
                           choices=RETRIEVAL_MODES)  # fmt: skip
    top_k: int = _flag(5, "--top-k", "chunks retrieved per question", "N", int)
    rrf_k: int = 60  # reciprocal rank fusion's constant
    # -- reading
    window_sentences: int = _flag(1, "--window-sentences", "whole sentences added on each side of a retrieved "
                                  "chunk before reading (chosen on the tune set)", "N", int)  # fmt: skip
    settle_score: float | str | None = _flag(READERS_OWN, "--settle", "read the best hit's window alone first and "
                                             "answer from it if its answer scores at least this (0-1), else read all; "
                                             "'reader': the reader's own value, 'none': always read all", "P",
                                             _settle)  # fmt: skip
    max_answer_tokens: int = _flag(30, "--max-answer-tokens", "longest answer span, in tokens", "N", int)
    max_question_tokens: int = 64  # a longer question is cut to this many tokens so a window still fits
    reader_batch_size: int = 16  # windows per forward pass
    read_memo_windows: int = READ_MEMO_WINDOWS  # windows whose logits the reader keeps (0: none); QA_READ_MEMO
    answer_candidates: int = 5  # ranked reader spans kept per question (Answer.candidates)
    abstain_threshold: float | None = _flag(None, "--threshold", "answer only at or above this calibrated score, "
                                            "0-1 (default: the reader's calibrated threshold)", "P",
                                            _optional_float)  # fmt: skip
    max_citations: int = 3  # places in the documents cited for one answer
    # -- questions
    max_question_chars: int = _flag(1000, "--max-question-chars", "longest question accepted, in characters", "N", int)

    @property
    def milvus_address(self) -> str:
        """The Milvus URI to use: ``milvus_uri``, else the local Milvus Lite file."""
        return self.milvus_uri if self.milvus_uri is not None else str(DEFAULT_MILVUS_URI)

    @property
    def index_path(self) -> Path:
        """The index that is read: ``index_dir`` when given, else the bundled article's at ``default_index``."""
        return self.index_dir if self.index_dir is not None else self.default_index


def user_settings(skip: Collection[str] = ()) -> list[dataclasses.Field]:
    """The Config fields a user may set from the command line, in declaration order."""
    return [f for f in dataclasses.fields(Config) if "flag" in f.metadata and f.name not in skip]


def add_config_arguments(parser: argparse.ArgumentParser, skip: Collection[str] = ()) -> None:
    """Declare a "settings" flag group: one flag per user setting, its default shown in --help.

    Flags default to None, so ``config_from`` can tell a flag that was given from one that was not.
    """
    group = parser.add_argument_group("settings", SETTINGS_NOTE)
    for f in user_settings(skip):
        meta = f.metadata
        shown = meta["shown"] if meta["shown"] is not None else f.default
        default = "" if f.default is None else f" (default: {shown})"
        group.add_argument(meta["flag"], dest=f.name, default=None, type=meta["type"], choices=meta["choices"],
                           metavar=meta["metavar"], help=meta["help"] + default)  # fmt: skip


def config_from(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None,
                base: Config | None = None) -> Config:
    """``base`` (default: ``Config()``), then the ``QA_*`` variables of ``environ``, then the flags in ``args``."""
    config = base if base is not None else Config()
    env = environ if environ is not None else {}
    from_env = {name: kind(env[var]) for var, (name, kind) in ENVIRONMENT.items() if env.get(var)}
    given = vars(args) if args is not None else {}
    from_flags = {f.name: None if given[f.name] is OFF else given[f.name]
                  for f in user_settings() if given.get(f.name) is not None}  # fmt: skip
    return dataclasses.replace(config, **{**from_env, **from_flags})
