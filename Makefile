# Everyday commands. `make run` and `make test` install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB_FILE := data/www.db
CHROMIUM ?= /usr/bin/chromium
E2E_STAMP := $(VENV)/.e2e-installed
# The PostgreSQL that `make test-pg` uses: by default the one `.ci/postgres.sh start` runs.
WWW_TEST_DB_URL ?= $(shell .ci/postgres.sh url)

.DEFAULT_GOAL := help
.PHONY: help install run dev routes init-db test test-pg e2e lint format bench bench-orm clean

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

init-db: install ## Create the tables of the configured database (ARGS=--sample, --drop)
	$(BIN)/python init_db.py $(ARGS)

test: install ## Run the test suite with coverage
	$(BIN)/pytest $(ARGS)

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

bench: install ## Benchmarks vs Flask, mixed load, ORM, uploads (not part of test)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py $(ARGS)

bench-orm: install ## The ORM benchmark alone
	$(BIN)/python benchmarks/orm.py $(ARGS)

clean: ## Remove the virtualenv and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage htmlcov *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
