# cw's entry points: `make demo` and `make test` (and `make lint`). Each creates the
# virtualenv (.venv) and installs exactly what requirements/*.txt pins (with
# hashes), so they work on a fresh machine with only python3 (3.11+), make, git
# and the package registries.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed

.PHONY: demo test test-heavy lint format generate lock bench chromium wheel clean help

help:
	@echo "make demo      - build a demo workspace with the real verbs and print its metrics and P&L"
	@echo "make test      - install everything (venv, locked packages, chromium) and run the whole suite"
	@echo "make lint      - ruff (lint and format check) and mypy"
	@echo "make format    - apply ruff's fixes and formatting"
	@echo "make generate  - rewrite generated files (schemas/, docs/cli.md, docs/mcp.md)"
	@echo "make lock      - re-pin requirements/*.txt from pyproject.toml (needs network)"
	@echo "make bench     - run the benchmarks in benchmarks/ and print their figures"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements/runtime.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/runtime.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): requirements/dev.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(PY) -m cw.demo

# Debian's chromium drives the workbench browser test (Playwright uses it via executable_path).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(DEV_STAMP) chromium
	$(PY) -m pytest -q

test-heavy: $(DEV_STAMP) chromium
	$(PY) -m pytest -q --heavy

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check cw tests benchmarks
	$(VENV)/bin/ruff format --check cw tests benchmarks
	$(VENV)/bin/mypy

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix cw tests benchmarks
	$(VENV)/bin/ruff format cw tests benchmarks

generate: $(DEV_STAMP)
	$(PY) -m cw.shell.schemagen
	$(PY) -m cw.surfaces.docgen
	$(PY) -m cw.surfaces.mcp_server --write-docs
	$(PY) -m cw.surfaces.python_api --write-stub

# uv resolves for every platform and Python >= 3.11 at once; pip installs the result.
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
lock: $(DEV_STAMP)
	$(UV_COMPILE) pyproject.toml requirements/build.in -o requirements/runtime.txt
	$(UV_COMPILE) pyproject.toml requirements/build.in --all-extras -o requirements/dev.txt
	$(UV_COMPILE) pyproject.toml requirements/build.in --all-extras -o pylock.toml
	$(VENV)/bin/uv lock --python 3.11

bench: $(DEV_STAMP)
	$(PY) benchmarks/summary_bench.py

wheel: $(DEV_STAMP)
	$(PY) -m build --wheel --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) dist build .pytest_cache
