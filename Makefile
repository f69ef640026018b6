# Two entry points (see README): `make demo` and `make test`. Both install into .venv first,
# torch==2.13.0 (the local CPU wheel) before anything that depends on torch, so no CUDA build is pulled.
VENV   := .venv
PYTHON ?= python3
STAMP  := $(VENV)/.petra-installed

.PHONY: demo test install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q torch==2.13.0
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/petra demo

test: $(STAMP)
	$(VENV)/bin/lint-imports  # the layering contract in pyproject.toml
	$(VENV)/bin/python -m pytest -q
