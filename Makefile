# caseapp: `make run` serves the app with demo data; `make test` runs ruff and the test suite.
# The venv's interpreter: Debian's python3.11 where the machine has it (with venv support), else python3 from the
# PATH. Debian builds it with profile-guided and link-time optimisation and links libpython into the executable;
# pyenv's default build (a shared libpython, neither) served the pages about 10 % slower on the same machine
# (BENCHMARKS.md). Any Python 3.11 works: `make PYTHON=python3.11 ...`. A venv made by another interpreter is
# kept until `make clean`.
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1 && echo /usr/bin/python3.11 || echo python3)
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
