# `make search`: install and run the embedded quick start. `make test`: install and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install search test lint lock screenshots

# pyproject.toml declares version ranges; constraints.txt pins the exact versions the tests pass with.
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test,export,ray]'
	touch $@

install: $(VENV)/.installed

search: install
	$(PY) -m lightning_nas.search

test: install
	$(PY) -m pytest -q --durations=25

lint: install
	$(VENV)/bin/ruff check lightning_nas callbacks tests benchmarks

# Rewrite constraints.txt from what is installed (after changing a dependency and testing it).
lock: install
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^lightning_nas'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# TensorBoard dashboards of a quick-start run in headless Chromium -> benchmarks/results/tensorboard/
# (installs Debian's chromium when it is missing; needs root or sudo for that).
screenshots: install
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }
	$(PY) benchmarks/tensorboard_screenshots.py
