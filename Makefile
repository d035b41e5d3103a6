# Quick start: `make demo` runs the whole chain on a generated warehouse; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ONLY   ?=

.PHONY: demo test bench deps sysdeps clean

$(BIN)/connector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

sysdeps:
	@bash scripts/sysdeps.sh

deps: sysdeps $(BIN)/connector

demo: deps
	$(BIN)/connector demo

test: deps
	$(BIN)/python -m pytest

bench: deps
	$(BIN)/python -m bench $(ONLY)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
