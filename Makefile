# `make serve` and `make test` each bootstrap .venv from nothing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve test bench install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The shipped streaming model (models/weights/wavenet-cpu) and word trigram (models/weights/lm).
serve: $(STAMP)
	$(VENV)/bin/wavestream serve --host 127.0.0.1 --port 50051 --device cpu

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/wavestream bench engine

clean:
	rm -rf $(VENV) build *.egg-info
