# Developer entry points: `make run` and `make test` set up everything they need
# (virtualenv, and a MariaDB server binary for the embedded database).
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv .venv db-server run test lint bench clean

help:
	@echo "make run [ARGS='--port 9000']   run the chat server (embedded MariaDB unless CHAT_DATABASE_URL is set)"
	@echo "make test [PYTEST_ARGS=...]      run the test suite"
	@echo "make lint                        ruff check"
	@echo "make bench [ARGS=...]            the benchmark suite against the in-memory yardstick (ARGS=--quick: ~80 s)"
	@echo "make venv                        create/refresh .venv"
	@echo "make db-server                   install MariaDB server binaries if missing"
	@echo "make clean                       remove .venv and caches (keeps var/)"

# Re-install whenever the package metadata changes; the stamp records the last install.
$(VENV_STAMP): setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

venv .venv: $(VENV_STAMP)

db-server:
	./scripts/ensure-db-server run

run: $(VENV_STAMP) db-server
	$(VENV)/bin/python run.py $(ARGS)

# pytest's exit code passes through: 5 (no tests collected) fails the build.
test: $(VENV_STAMP)
	./scripts/ensure-db-server test
	./scripts/ensure-browser
	./scripts/ensure-nginx
	./scripts/ensure-redis
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .

bench: $(VENV_STAMP) db-server
	$(VENV)/bin/python bench/suite.py $(ARGS)

# var/ is deliberately kept: it holds the embedded database's data.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
