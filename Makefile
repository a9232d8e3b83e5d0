# caseapp: `make run` serves the app with demo data; `make test` runs ruff and the test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint translations i18n-update bench bench-quick e2e clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# Catalogs are compiled by the build (the .mo files are not in git).
translations: $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d caseapp/translations

# Extract new strings and merge them into the English catalog (then translate the empty msgstr lines).
i18n-update: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --omit-header \
		-o caseapp/translations/messages.pot .
	$(BIN)/pybabel update -i caseapp/translations/messages.pot -d caseapp/translations \
		--ignore-obsolete --no-fuzzy-matching

run: $(BIN)/.installed translations
	$(BIN)/caseapp init
	$(BIN)/caseapp demo
	$(BIN)/caseapp run --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: $(BIN)/.installed translations lint
	$(BIN)/python -m pytest -q

e2e: $(BIN)/.installed translations
	$(BIN)/python -m pytest -q tests/e2e

bench: $(BIN)/.installed translations
	$(BIN)/python bench/run_all.py

bench-quick: $(BIN)/.installed translations
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
