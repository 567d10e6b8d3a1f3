# `make search`: install and run the embedded quick start. `make test`: install and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install search test lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,export,ray]'
	touch $@

install: $(VENV)/.installed

search: install
	$(PY) -m lightning_nas.search

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check lightning_nas callbacks tests benchmarks
