# One entry point for people and CI. `make test` works from a clean clone: it builds the virtualenv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv lint typecheck test unit demo clean

help:
	@echo "make demo   - run the worker end to end against the local stand-ins (moto, emulator, local databases)"
	@echo "make test   - install, lint (ruff), type-check (mypy) and run the whole test suite"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/backup-validator demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
