# Two entry points: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
# Pinned so that pip takes the local CPU build where one is provided; on a
# GPU machine, install the torch build that matches its CUDA (see README).
TORCH ?= torch==2.13.0

BIN := $(VENV)/bin
READY := $(VENV)/.installed

.PHONY: demo test clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@

demo: $(READY)
	$(BIN)/python examples/demo_digits.py --out demo-output

test: $(READY)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) demo-output
