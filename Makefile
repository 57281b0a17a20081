# Developer entry points: `make run` and `make test` set up everything they need
# (virtualenv, and a MariaDB server binary for the embedded database).
PYTHON ?= python3
VENV := .venv
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# make test runs the suite in parallel workers (pytest-xdist), a file per worker at a time,
# each with a private MariaDB server of its own (TEST_WORKERS=0: in one process), then the load
# tests marked `serial`, alone.
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help venv .venv db-server run test test-ha unit lint audit lock bench clean

help:
	@echo "make run [ARGS='--port 9000']   run the chat server (embedded MariaDB unless CHAT_DATABASE_URL is set)"
	@echo "make test [PYTEST_ARGS=...]      run the test suite (in parallel: TEST_WORKERS=auto; 0 for one process)"
	@echo "make test-ha [PYTEST_ARGS=...]   the high-availability tests: a Galera cluster, Redis Sentinel, faults (~3 min)"
	@echo "make unit                        the unit tier only (tests/unit/): seconds, no database, server or browser"
	@echo "make lint                        ruff check"
	@echo "make audit                       pip-audit of requirements.lock, strict (every package looked up)"
	@echo "make lock                        re-pin requirements.lock from .venv (after changing dependencies)"
	@echo "make bench [ARGS=...]            the benchmark suite against the two in-memory yardsticks (ARGS=--quick: ~3 min)"
	@echo "make venv                        create/refresh .venv"
	@echo "make db-server                   install MariaDB server binaries if missing"
	@echo "make clean                       remove .venv and caches (keeps var/)"

# Re-install whenever the package metadata or the pins change; a stamp records the last install.
# requirements.lock pins every dependency (and theirs) to the versions audited. Serving needs
# only the package's own dependencies; the test tools (playwright, schemathesis, hypothesis,
# pip-audit, ruff) come with the first `make test` or `make lint`.
$(RUN_STAMP): setup.cfg pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -c requirements.lock -e .
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(VENV)/bin/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $@

venv .venv: $(RUN_STAMP)

db-server:
	./scripts/ensure-db-server run

run: $(RUN_STAMP) db-server
	$(VENV)/bin/python run.py $(ARGS)

# pytest's exit code passes through: 5 (no tests collected) fails the build, but for the serial
# phase (PYTEST_ARGS may name files without load tests).
test: $(TEST_STAMP)
	./scripts/ensure-db-server test
	./scripts/ensure-browser
	./scripts/ensure-axe
	./scripts/ensure-nginx
	./scripts/ensure-redis
	$(AUDIT)
	rc=0; \
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial and not ha" $(PYTEST_ARGS) || rc=$$?; \
	$(VENV)/bin/python -m pytest -m "serial and not ha" $(PYTEST_ARGS) || { r=$$?; [ $$r -eq 5 ] || rc=$$r; }; \
	exit $$rc

# No single point of failure (issue 18): a three-node Galera cluster, Redis Sentinel and run.py
# processes of real processes, killed one part at a time under traffic (tests/test_high_availability.py)
# and the launchers' own proof (tests/test_cluster_support.py). Apart from `make test` to keep each
# under 10 minutes; .ci/run runs both.
test-ha: $(TEST_STAMP)
	./scripts/ensure-db-server test
	./scripts/ensure-cluster
	$(VENV)/bin/python -m pytest -m ha $(PYTEST_ARGS)

# The pure code alone: needs only the virtualenv (tests/unit/conftest.py refuses server fixtures).
unit: $(TEST_STAMP)
	$(VENV)/bin/python -m pytest tests/unit -q

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .

# A pinned version with a known vulnerability fails `make test`; `make audit` also fails when
# a pin could not be checked. scripts/audit-dependencies runs pip-audit and looks up in PyPI's
# project pages what pip-audit could not (see the script).
AUDIT = $(VENV)/bin/python scripts/audit-dependencies $(VENV)/bin/pip-audit

audit: $(TEST_STAMP)
	$(AUDIT) --strict

lock: $(TEST_STAMP)
	$(VENV)/bin/python -m pip freeze --exclude-editable > requirements.lock

bench: $(RUN_STAMP) db-server
	$(VENV)/bin/python bench/suite.py $(ARGS)

# var/ is deliberately kept: it holds the embedded database's data.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
