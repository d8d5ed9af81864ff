# Named tasks: README, CI and developers use the same words.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run setup browser test pytest lint format serve ingest score bench clean

# The main job on the embedded SQLite default: install, migrate, load the catalog, create the
# first admin if there is none (password printed once), ingest, serve.
run: setup
	$(BIN)/kb db upgrade
	$(BIN)/kb vendors load
	$(BIN)/kb users bootstrap
	$(BIN)/kb ingest || echo "kb: ingestion finished with feed errors (see above); serving anyway"
	$(BIN)/kb serve

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The whole suite: lint, types, then every test (on SQLite, and on PostgreSQL when
# KB_TEST_POSTGRES_URL is set). pytest's exit 5 (no tests collected) fails the run.
test: setup browser lint pytest

# Debian's Chromium for the end-to-end browser test (Playwright drives it by executable path).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo apt-get install -y -qq chromium)

pytest: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check kb tests bench migrations
	$(BIN)/ruff format --check kb tests bench migrations
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format kb tests bench migrations
	$(BIN)/ruff check --fix kb tests bench migrations

serve: setup
	$(BIN)/kb serve

ingest: setup
	$(BIN)/kb ingest

score: setup
	$(BIN)/kb score

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit $$?; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
