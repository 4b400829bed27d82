# cw's two entry points: `make demo` and `make test`. Both create the virtualenv
# (.venv) and install what they need, so they work on a fresh machine with only
# python3 (3.11+), make and the Debian/PyPI registries.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-heavy bench chromium wheel clean help

help:
	@echo "make demo   - build a demo workspace with the real verbs and print its metrics and P&L"
	@echo "make test   - install everything (venv, packages, chromium) and run the whole test suite"
	@echo "make bench  - run the benchmarks in benchmarks/ and print their figures"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[mcp,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m cw.demo

# Debian's chromium drives the workbench browser test (Playwright uses it via executable_path).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) chromium
	$(PY) -m pytest -q

test-heavy: $(STAMP) chromium
	$(PY) -m pytest -q --heavy

bench: $(STAMP)
	$(PY) benchmarks/summary_bench.py

wheel: $(STAMP)
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) dist build .pytest_cache
