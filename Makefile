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

# Until trained weights ship, serve the shipped size with seeded random weights (said loudly:
# transcripts are noise). `--untrained` only allows that fallback: trained weights win.
serve: $(STAMP)
	@$(VENV)/bin/wavestream models | grep -q "^wavenet-base.*trained:" || \
	  echo "make serve: no trained weights ship yet: serving RANDOM weights of wavenet-base (transcripts are noise)" >&2
	$(VENV)/bin/wavestream serve --host 127.0.0.1 --port 50051 --device cpu --untrained

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/wavestream bench engine

clean:
	rm -rf $(VENV) build *.egg-info
