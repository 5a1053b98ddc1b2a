# Two commands on a fresh machine: `make run` serves the dashboard, `make test` runs the suite.

# The first Python 3.12+ found on PATH or in pyenv; override with `make PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 python3 \
	$$(ls -d "$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)"/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	if command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; \
	then command -v "$$p"; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test cluster bench bench-full soak lint screenshot

# Daphne listens with a backlog of 50: a burst of viewers connecting at once overflows it,
# and each refused SYN costs a viewer a 1 s retransmit (docs/benchmarks.md).
run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=4096 dashboard_project.asgi:application

test: $(VENV)/.dev
	$(BIN)/python -m pytest

# Two Daphnes on one Redis behind nginx, as docs/operations.md configures them: nginx on PORT.
cluster: $(VENV)/.dev
	$(BIN)/python -m bench.cluster --port $(PORT)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Fan-out (one stream and eight) and concurrency against the ceilings, the naive consumer and raw: a few minutes.
bench: $(VENV)/.dev
	$(BIN)/python -m bench

# Every setup and N: docs/bench/full.{json,md} and docs/bench/fanout.png (about 20 min here).
bench-full: $(VENV)/.dev
	$(BIN)/python -m bench --full

# 50 viewers of a room on Redis for 10 minutes, 20 ticks/s, with churn beside: .bench/soak.json.
soak: $(VENV)/.dev
	$(BIN)/python -m bench.soak

# docs/dashboard.png, taken mid-run by the browser test that `make test` runs into a temp dir.
screenshot: $(VENV)/.dev
	DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(BIN)/python -m pytest tests/browser/test_browser.py -k screenshot

$(VENV)/.runtime: requirements.txt
	@if [ -z "$(PYTHON)" ]; then \
		echo "No Python 3.12 or newer found (Django 6 needs it)."; \
		echo "Install one (e.g. 'pyenv install 3.12' or your system's python3.12 package),"; \
		echo "or point to it: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; \
		exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@
