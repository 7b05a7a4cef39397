# Everyday commands. `make run` and `make test` install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB_FILE := data/www.db
CHROMIUM ?= /usr/bin/chromium
E2E_STAMP := $(VENV)/.e2e-installed
# The other Pythons the suite must pass on (.venv holds $(PYTHON), 3.11 here), and the one
# `make test-py` uses; each gets its own .venv-3.x with the same pinned requirements.
OTHER_PYTHONS := 3.12 3.13
PY ?= 3.13
# The PostgreSQL that `make test-pg` uses: by default the one `.ci/postgres.sh start` runs.
WWW_TEST_DB_URL ?= $(shell .ci/postgres.sh url)

.DEFAULT_GOAL := help
.PHONY: help install run dev routes init-db migrate migration test test-py test-all test-pg e2e lint format bench bench-orm clean

help: ## Show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install the pinned requirements (quick when done)

$(STAMP): requirements.txt requirements-dev.txt setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

$(DB_FILE): | $(STAMP)
	$(BIN)/python init_db.py --sample

run: install $(DB_FILE) ## Serve on http://127.0.0.1:8080 (creates a sample database first)
	$(BIN)/python -m www

dev: install $(DB_FILE) ## Serve with auto-reload on code changes (aiohttp-devtools)
	WWW_TEMPLATES__AUTO_RELOAD=true $(BIN)/adev runserver www/app.py --app-factory create_app --root . --port 8080 --no-livereload

routes: install ## List every route (name, methods, path, handler) as a Markdown table
	@$(BIN)/python -m www routes --markdown

init-db: install ## Migrate the configured database to the newest schema (ARGS=--sample, --drop)
	$(BIN)/python init_db.py $(ARGS)

migrate: install ## Apply the pending migrations to the configured database
	$(BIN)/python -m www.migrate up

migration: install ## Write the next migration from the models' changes: make migration NAME=add_color
	@test -n "$(NAME)" || { echo 'Say what it does: make migration NAME=add_color' >&2; exit 2; }
	$(BIN)/python -m www.migrate make $(NAME) $(ARGS)

test: install ## Run the test suite with coverage
	$(BIN)/pytest $(ARGS)

# .venv-3.X: python3.X from PATH if it runs, else the newest 3.X that pyenv has (its shims
# refuse to run a version that is not selected, so the binary is taken from its folder).
.venv-%/.installed: requirements.txt requirements-dev.txt setup.py
	@py=python$*; \
	if ! $$py -c '' 2>/dev/null && command -v pyenv >/dev/null \
		&& version=$$(pyenv latest $* 2>/dev/null); then \
		py="$$(pyenv root)/versions/$$version/bin/python$*"; \
	fi; \
	$$py -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$*")' \
		2>/dev/null || { echo "Python $* is needed for .venv-$* (python$* or pyenv)"; exit 1; }; \
	test -x .venv-$*/bin/python || { echo "$$py -m venv .venv-$*"; $$py -m venv .venv-$*; }
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@
.PRECIOUS: .venv-%/.installed

test-py: .venv-$(PY)/.installed ## The test suite on another Python: PY=3.13 (default) or 3.12, in .venv-3.X
	.venv-$(PY)/bin/pytest $(ARGS)

test-all: ## The test suite on Python 3.11 (make test), 3.12 and 3.13 in turn
	$(MAKE) test
	$(foreach version,$(OTHER_PYTHONS),$(MAKE) test-py PY=$(version) &&) true

# The coverage floor is make test's: here SQLite's own code is not run.
test-pg: install ## Run the test suite on PostgreSQL (start one: .ci/postgres.sh start)
	WWW_TEST_DB_URL='$(WWW_TEST_DB_URL)' $(BIN)/pytest --cov-fail-under=0 $(ARGS)

$(E2E_STAMP): tests/e2e/requirements.txt | $(STAMP)
	$(BIN)/python -m pip install --quiet -r tests/e2e/requirements.txt
	touch $(E2E_STAMP)

e2e: install $(E2E_STAMP) ## End-to-end tests in headless Chromium (Playwright; not in `make test`)
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium (apt-get install chromium)..."; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "make e2e needs Chromium at $(CHROMIUM)."; \
			echo "Install it as root: apt-get update && apt-get install chromium"; \
			echo "(or run make e2e CHROMIUM=/path/to/chromium)"; \
			exit 1; \
		fi; }
	@test -x $(CHROMIUM) || { echo "Chromium is still missing at $(CHROMIUM)"; exit 1; }
	E2E_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -o addopts="" -p no:cacheprovider -ra --strict-markers tests/e2e $(ARGS)

lint: install ## Check style and common bugs with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Reformat the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# PostgreSQL rows: WWW_BENCH_PG_URL=postgresql://... if given, else a throwaway server
# (.ci/postgres.sh) when PostgreSQL is installed, else skipped; Redis rows need redis-server.
bench: install ## Benchmarks vs Flask (SQLite, PostgreSQL), mixed load, live comments, ORM, uploads
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py $(ARGS)

bench-orm: install ## The ORM benchmark alone
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/orm.py $(ARGS)

clean: ## Remove the virtualenv and caches (keeps data/)
	rm -rf $(VENV) .venv-3.* .pytest_cache .ruff_cache .hypothesis .coverage htmlcov *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
