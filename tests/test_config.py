"""qa.config: defaults, then QA_* environment variables, then flags; the settings every entry point shows."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from qa.config import (
    DEFAULT_INDEX,
    READERS,
    REPO_ROOT,
    RETRIEVAL_MODES,
    DEFAULT_READER,
    Config,
    add_config_arguments,
    config_from,
    reader_name,
)


def parse(argv, skip=()):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, skip)
    return parser.parse_args(argv)


def test_defaults_ignore_the_environment_until_an_entry_point_passes_it():
    config = config_from(parse([]), {})
    assert config == Config()
    assert config.reader_model == str(DEFAULT_READER) == str(READERS["accurate"]) and config.index_path == DEFAULT_INDEX


def test_environment_then_flags():
    env = {"QA_READER": "/models/env", "QA_READER_PRECISION": "int8", "QA_INDEX_DIR": "/data/index", "HOME": "/x"}
    config = config_from(parse([]), env)
    assert (config.reader_model, config.reader_precision) == ("/models/env", "int8")
    assert config.index_dir is None and config.index_path == Path("/data/index")  # still the bundled article's
    flags = ["--reader", "/models/flag", "--top-k", "3", "--index", "mine", "--threshold", "0.3"]
    config = config_from(parse(flags), env)
    assert (config.reader_model, config.top_k, config.abstain_threshold) == ("/models/flag", 3, 0.3)
    assert config.index_path == Path("mine") and config.reader_precision == "int8"


def test_the_window_memo_is_sized_from_the_environment_and_a_bad_size_is_one_clear_error():
    from qa.errors import SettingError

    assert config_from(None, {"QA_READ_MEMO": "0"}).read_memo_windows == 0
    assert config_from(None, {}).read_memo_windows == Config().read_memo_windows > 0
    for bad in ("lots", "-1", "2.5"):
        with pytest.raises(SettingError, match="QA_READ_MEMO must be a whole number"):
            config_from(None, {"QA_READ_MEMO": bad})


def test_readers_by_name_from_flags_and_the_environment():
    assert config_from(parse(["--reader", "accurate"]), {}).reader_model == str(READERS["accurate"])
    assert config_from(None, {"QA_READER": "fast"}).reader_model == str(READERS["fast"])
    assert reader_name(str(READERS["accurate"])) == "accurate" and reader_name("org/squad-model") == "org/squad-model"


def test_none_turns_an_optional_setting_off_even_where_it_is_on():
    on = Config(settle_score=0.8, abstain_threshold=0.4)
    assert config_from(parse(["--settle", "none", "--threshold", "None"]), {}, base=on).settle_score is None
    assert config_from(parse(["--settle", "none"]), {}, base=on).abstain_threshold == 0.4  # flags not given keep theirs
    assert config_from(parse(["--settle", "0.7"]), {}, base=on).settle_score == 0.7
    assert config_from(parse(["--settle", "reader"]), {}, base=on).settle_score == Config().settle_score == "reader"


def test_an_empty_variable_is_not_a_setting():
    assert config_from(None, {"QA_READER": ""}) == Config()


def test_flags_check_their_values():
    with pytest.raises(SystemExit):
        parse(["--precision", "fp8"])
    with pytest.raises(SystemExit):
        parse(["--top-k", "many"])
    with pytest.raises(SystemExit):
        parse(["--retrieval", "sparse"])


def test_the_retrieval_flag_offers_what_the_index_can_do():
    from index.retriever import MODES

    assert RETRIEVAL_MODES == MODES


@pytest.mark.parametrize("argv", [["qa", "ask"], ["ui"], ["eval"]])
def test_help_of_every_entry_point_shows_the_settings(argv):
    out = subprocess.run([sys.executable, "-m", *argv, "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout  # fmt: skip
    for flag in ("--top-k N", "--retrieval {dense,bm25,hybrid}", "--window-sentences N", "--precision {auto,bf16,fp32,int8}",
                 "--threshold P"):  # fmt: skip
        assert flag in out
    assert "(default: 5)" in out and "QA_READER" in out
    assert "--index DIR" in out  # eval: the index a question set (--questions) is asked against
