# The two commands a new machine needs: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: site serve test check golden schema clean system-deps

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

# The browser tests (tests/browser/) need Debian's chromium (never `playwright install`),
# Java for the Nu HTML checker and the npm tools of package.json: installed when missing.
# Without apt-get they are not installed and the browser tests skip (or fail under CI).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := $(strip $(if $(wildcard $(CHROMIUM)),,chromium fonts-liberation fonts-dejavu-core) \
	$(if $(shell command -v java),,default-jre-headless) $(if $(shell command -v npm),,npm))

system-deps:
	@if [ -n "$(APT_PACKAGES)" ]; then \
	  if command -v apt-get >/dev/null; then \
	    echo "installing $(APT_PACKAGES)"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	  else echo "warning: no apt-get to install $(APT_PACKAGES): browser tests will skip (fail under CI)" >&2; fi; \
	fi

# --ignore-scripts: vnu-jar's install script would download a Java runtime; we use the system's.
node_modules/.installed: package.json package-lock.json | system-deps
	@if command -v npm >/dev/null; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "warning: no npm: the Nu HTML checker test will skip (fail under CI)" >&2; fi

test: $(VENV)/.installed-test node_modules/.installed system-deps
	$(BIN)/python -m pytest

# Regenerate the golden output in tests/golden/expected/ after an intended change.
golden: $(VENV)/.installed-test
	$(BIN)/python -m tests.golden regenerate

clean:
	rm -rf site $(VENV) node_modules
