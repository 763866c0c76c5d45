# The two commands a new machine needs: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: site serve test check golden schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

site: $(VENV)/.installed
	$(BIN)/python build.py build

serve: $(VENV)/.installed
	$(BIN)/python build.py serve

check: $(VENV)/.installed
	$(BIN)/python build.py check --strict

# Regenerate the JSON Schemas in schemas/ after changing factsite/schema.py.
schema: $(VENV)/.installed
	$(BIN)/python build.py schema

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Regenerate the golden output in tests/golden/expected/ after an intended change.
golden: $(VENV)/.installed-test
	$(BIN)/python -m tests.golden regenerate

clean:
	rm -rf site $(VENV)
