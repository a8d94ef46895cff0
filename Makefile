# Two commands on a fresh machine: `make chat` (set up, start the chat) and `make test` (set up, run the tests).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup chat ask test browser eval bench train clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## start the Gradio chat on the bundled article (http://127.0.0.1:7860)
chat: setup
	$(BIN)/python -m ui

## ask from the terminal: make ask Q="Who is John Kirby?"
ask: setup
	$(BIN)/python -m qa ask "$(Q)"

## Debian's Chromium for the real-browser test (a test tool's own browser download fails offline)
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

test: setup browser
	$(BIN)/python -m pytest -q

eval: setup
	$(BIN)/python -m eval

bench: setup
	$(BIN)/python bench/reader_speed.py
	$(BIN)/python bench/ask_speed.py
	$(BIN)/python bench/ui_latency.py

train: setup
	$(BIN)/python -m qa.train

clean:
	rm -rf .cache reports .pytest_cache
