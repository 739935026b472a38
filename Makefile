# Entry points: `make demo`, `make test` and `make docs`. All create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
# Pinned so that pip takes the local CPU build where one is provided; on a
# GPU machine, install the torch build that matches its CUDA (see README).
TORCH ?= torch==2.13.0

BIN := $(VENV)/bin
READY := $(VENV)/.installed
DOCS_READY := $(VENV)/.installed-docs

.PHONY: demo test docs clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@

$(DOCS_READY): $(READY)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

demo: $(READY)
	$(BIN)/python examples/demo_digits.py --out demo-output

test: $(READY)
	$(BIN)/python -m pytest

# the site goes to docs/_build/html; warnings are errors
docs: $(DOCS_READY)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) demo-output docs/_build docs/generated
