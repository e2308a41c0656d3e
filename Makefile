# `make serve` and `make test` each bootstrap .venv from nothing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The word trigram the finals' beam search uses: built from its text, which is what the repository keeps (a sixth
# of the size; models/lm.py build_shipped checks it comes out as the model card's LM). About a minute, 1.1 GB.
LM := models/weights/lm/english-3gram.arpa.gz
LM_TEXT := $(wildcard models/weights/lm/text/*)

.PHONY: serve test bench install lm clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(LM): $(LM_TEXT) | $(STAMP)
	$(VENV)/bin/wavestream lm --shipped

lm: $(LM)

install: $(STAMP) $(LM)

# The shipped streaming model (models/weights/wavenet-cpu) and word trigram (models/weights/lm).
serve: install
	$(VENV)/bin/wavestream serve --host 127.0.0.1 --port 50051 --device cpu

test: install
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/wavestream bench engine

clean:
	rm -rf $(VENV) build *.egg-info $(LM)
