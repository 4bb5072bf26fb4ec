# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint chat bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the bot; with no BOT_TOKEN, the local sandbox and its web chat
	$(PY) -m bot run

chat: $(STAMP)  ## the terminal chat against the local sandbox
	$(PY) -m bot chat

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

check: $(STAMP)  ## validate content/
	$(PY) -m bot content check

test: $(STAMP) lint check
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/faq.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
