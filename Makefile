# Entry points: `make demo`, `make test` and `make docs` (all create .venv on first
# use); `make dist` builds the wheel and sdist, `make check-wheel` installs the wheel
# into a new venv and smoke-tests it there.
PYTHON ?= python3
VENV ?= .venv
# Pinned so that pip takes the local CPU build where one is provided; on a
# GPU machine, install the torch build that matches its CUDA (see README).
TORCH ?= torch==2.13.0

BIN := $(VENV)/bin
READY := $(VENV)/.installed
DOCS_READY := $(VENV)/.installed-docs

# where check-wheel installs the built wheel, apart from .venv and the checkout
WHEEL_VENV ?= build/wheel-venv

.PHONY: demo test docs dist check-wheel clean

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

dist: $(READY)
	$(BIN)/python -m pip install --quiet build
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# run from outside the checkout, so that the installed package is imported
check-wheel: dist
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet $(TORCH)
	$(WHEEL_VENV)/bin/python -m pip install --quiet dist/*.whl
	cd $(WHEEL_VENV) && bin/python $(CURDIR)/tests/wheel_smoke.py

clean:
	rm -rf $(VENV) demo-output docs/_build docs/generated build dist
