# Hearth: `make run` to try it, `make test` to test it.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
# What gets installed, exactly (versions and file hashes), written by `make lock` from
# pyproject.toml: the runtime (the image) and the runtime plus the dev extra (`make setup`).
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
# Every other extra of pyproject.toml gets its own lock on top of the dev lock
# (requirements-<extra>.lock, same versions for what they share); `make setup EXTRA=<extra>`.
EXTRAS := $(shell $(PYTHON) -c 'import tomllib; print(*(e for e in tomllib.load(open("pyproject.toml", "rb"))["project"].get("optional-dependencies", {}) if e != "dev"))')
SETUP_LOCK := $(if $(EXTRA),requirements-$(EXTRA).lock,$(DEV_LOCK))
# The venv holds exactly one lock; this stamp names it.
STAMP   := $(VENV)/.installed-$(SETUP_LOCK)
IMAGE   ?= hearth:latest

# `hearth models import` needs the convert extra (transformers, torch): a venv of its own, so
# that .venv stays the runtime install (whose tests check it holds no torch).
CONVERT_VENV ?= .venv-convert

.PHONY: setup lock run test test-convert prerequisites image image-check docs-assets lint clean \
	catalogs

setup: $(VENV)/.hearth

# A new venv holding the lock's versions and nothing else, each file checked against its hash:
# made again whenever the lock changes, so nothing an older lock installed stays behind.
$(STAMP): $(SETUP_LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(SETUP_LOCK)
	touch $(STAMP)

# Then Hearth itself, editable, with no dependencies of its own (the lock has them) and built
# by the locked setuptools, offline. The Dockerfile does the same with requirements.lock.
$(VENV)/.hearth: $(STAMP) pyproject.toml setup.py
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the locks after pyproject.toml changed, keeping every version that still fits.
# Upgrades: `make lock UPGRADE=fastapi` (one package, or several, space-separated) or
# `make lock UPGRADE=all`. Commit the lock files; `make setup` then installs them.
# The locks hold every platform and Python version pyproject.toml allows (uv's universal
# resolution: platform-specific lines carry markers), and the build backend, so that the project
# itself builds offline. They come from the package index uv is given (UV_INDEX_URL; behind a
# proxy that inspects TLS, SSL_CERT_FILE names its CA bundle). The convert extra's lock keeps
# torch's CPU build (no CUDA): where the index has only the CUDA build, give uv a folder that
# holds the CPU wheel (UV_FIND_LINKS=<folder> make lock).
UPGRADE_FLAGS := $(if $(filter all,$(UPGRADE)),--upgrade,$(addprefix --upgrade-package=,$(UPGRADE)))
BUILD_REQUIRES := $(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version=3.11 --generate-hashes \
	--custom-compile-command="make lock" $(UPGRADE_FLAGS)
# $(call compile,LOCK,ARGS): uv writes LOCK.new, starting from LOCK's pins; LOCK is replaced
# only if that changed it (an untouched lock does not make `make setup` start again).
compile = cp $(1) $(1).new 2>/dev/null; $(BUILD_REQUIRES) | $(UV_COMPILE) $(2) \
	--output-file=$(1).new pyproject.toml - && { cmp -s $(1).new $(1) && rm $(1).new || mv $(1).new $(1); }
lock:
	test -x $(BIN)/uv || $(MAKE) setup
	$(call compile,$(DEV_LOCK),--extra=dev)
	$(call compile,$(LOCK),--constraints=$(DEV_LOCK))
	$(foreach extra,$(EXTRAS),$(call compile,requirements-$(extra).lock,--extra=dev \
		--extra=$(extra) --constraints=$(DEV_LOCK));)

run: setup
	$(BIN)/hearth serve --demo

# On a fresh Debian or Ubuntu machine, as root, the test run installs what the tests start for
# themselves (tests/prerequisites.sh); elsewhere it says what is missing. The run ends with
# what did not run and why.
# Then the spine's import contracts ([tool.importlinter] in pyproject.toml) and the type checker
# ([tool.mypy]); docs/architecture.md says what they hold.
test: setup prerequisites
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest

prerequisites:
	@tests/prerequisites.sh

# The checkpoint import (CTranslate2's converter) with the convert extra's lock, in its own venv.
# torch is pinned to 2.13.0, a CPU build; elsewhere give pip a place to find it (PIP_FIND_LINKS).
test-convert:
	$(MAKE) setup VENV=$(CONVERT_VENV) EXTRA=convert
	$(CONVERT_VENV)/bin/pytest -p no:cacheprovider tests/translation/test_importer.py

# The container image (tests/image/build.py: Docker, buildah or podman; HEARTH_BUILD_CA for a
# proxy's CA). `make image-check` builds it and runs it: health, readiness, a translation with
# the test models mounted, the data dir check (a few minutes, so not part of `make test`).
image:
	$(PYTHON) tests/image/build.py $(IMAGE)

image-check: setup
	HEARTH_IMAGE=$(IMAGE) $(BIN)/pytest tests/image/check_image.py

# The API docs pages' scripts and styles, served by Hearth itself (app/static/docs; no CDN).
# To update: change a version here, `make docs-assets`, check /docs and /redoc, commit.
SWAGGER_UI_VERSION := 5.35.0
REDOC_VERSION      := 2.5.4
DOCS_ASSETS        := app/static/docs
EMPTY_SVG          := data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22/%3E
docs-assets:
	rm -rf $(DOCS_ASSETS).new && mkdir -p $(DOCS_ASSETS).new/npm
	cd $(DOCS_ASSETS).new/npm && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) \
		redoc@$(REDOC_VERSION) >/dev/null && for f in *.tgz; do mkdir "$${f%.tgz}" \
		&& tar -xzf "$$f" -C "$${f%.tgz}"; done
	cd $(DOCS_ASSETS).new/npm/swagger-ui-dist-$(SWAGGER_UI_VERSION)/package && cp \
		swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png ../../..
	cp $(DOCS_ASSETS).new/npm/swagger-ui-dist-$(SWAGGER_UI_VERSION)/package/LICENSE \
		$(DOCS_ASSETS).new/swagger-ui.LICENSE
	cp $(DOCS_ASSETS).new/npm/swagger-ui-dist-$(SWAGGER_UI_VERSION)/package/NOTICE \
		$(DOCS_ASSETS).new/swagger-ui.NOTICE
	cd $(DOCS_ASSETS).new/npm/redoc-$(REDOC_VERSION)/package && cp \
		bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt ../../..
	cp $(DOCS_ASSETS).new/npm/redoc-$(REDOC_VERSION)/package/LICENSE $(DOCS_ASSETS).new/redoc.LICENSE
	# ReDoc's sidebar fetches Redocly's logo from their CDN: an empty image instead (the
	# "API docs by Redocly" link stays).
	sed -i 's#https://cdn\.redoc\.ly/redoc/logo-mini\.svg#$(EMPTY_SVG)#' \
		$(DOCS_ASSETS).new/redoc.standalone.js
	! grep -q 'cdn\.redoc\.ly' $(DOCS_ASSETS).new/redoc.standalone.js
	printf 'swagger-ui-dist %s\nredoc %s\n' $(SWAGGER_UI_VERSION) $(REDOC_VERSION) \
		> $(DOCS_ASSETS).new/VERSIONS
	rm -rf $(DOCS_ASSETS).new/npm $(DOCS_ASSETS) && mv $(DOCS_ASSETS).new $(DOCS_ASSETS)

lint: setup
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench

# Four catalogs: `messages` (what families read), `web` (the staff pages), `phrases` (the
# phrasebook of short family replies, app/translation/phrasebook.py) and `fallback` (the one
# line an urgent text carries where no translation reached a family).
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
	$(BIN)/pybabel extract -F babel-fallback.cfg -c TRANSLATORS: --project=Hearth \
		--copyright-holder="Hearth contributors" -o locales/fallback.pot .
	$(BIN)/pybabel update -D fallback -i locales/fallback.pot -d locales
	$(BIN)/pybabel compile -D fallback -d locales --statistics

clean:
	rm -rf $(VENV) $(CONVERT_VENV) var .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
