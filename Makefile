# Hearth: `make run` to try it, `make test` to test it.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup run test lint clean catalogs

setup: $(STAMP)

# One install step, shared by the Dockerfile: the package and its extras, no torch.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/hearth serve --demo

test: setup
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench

# Three catalogs: `messages` (what families read), `web` (the staff pages) and `phrases` (the
# phrasebook of short family replies, app/translation/phrasebook.py).
# Notice templates and system texts → locales/messages.pot → each locales/<lang>/.../messages.po
# (new strings arrive empty for translators) → the compiled .mo files Hearth reads. Commit all.
catalogs: setup
	$(BIN)/pybabel extract -F babel.cfg -c TRANSLATORS: --project=Hearth \
		--copyright-holder="Hearth contributors" -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales
	$(BIN)/pybabel compile -d locales --statistics
	$(BIN)/pybabel extract -F babel-web.cfg -k translate:2 -k N_ -c TRANSLATORS: --project=Hearth \
		--copyright-holder="Hearth contributors" -o locales/web.pot .
	$(BIN)/pybabel update -D web -i locales/web.pot -d locales
	$(BIN)/pybabel compile -D web -d locales --statistics
	$(BIN)/pybabel extract -F babel-phrases.cfg -k N_ -c TRANSLATORS: --project=Hearth \
		--copyright-holder="Hearth contributors" -o locales/phrases.pot .
	$(BIN)/pybabel update -D phrases -i locales/phrases.pot -d locales
	$(BIN)/pybabel compile -D phrases -d locales --statistics

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
