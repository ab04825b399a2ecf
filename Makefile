# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced
BUNDLE := gateway/join/static/join.js
# `make run PORT=8090 HOST=0.0.0.0`
PORT ?= 8080
HOST ?= 127.0.0.1

.PHONY: run test lint types pytest bench bench-quick frontend screenshots clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv==0.13.9"

$(STAMP): $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	touch $(STAMP)

$(BUNDLE): frontend/package.json frontend/package-lock.json frontend/join.js
	cd frontend && npm ci --no-audit --no-fund --silent && npm run --silent build

frontend: $(BUNDLE)

run: $(STAMP) $(BUNDLE)
	$(VENV)/bin/oneinbox-gateway serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

types: $(STAMP)
	$(VENV)/bin/mypy

# The suite in PYTEST_WORKERS processes (pytest-xdist), whole files to a worker so that a
# module's shared gateway starts once: most tests wait on servers, so on 2 cores 4 workers
# finish sooner than 3 (301 s against 407 s when 4 became the default; 240 s since).
# `make pytest PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 4
pytest: $(STAMP) $(BUNDLE)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint types pytest bench-quick

bench: $(STAMP) $(BUNDLE)
	$(VENV)/bin/python -m bench

# Every benchmark once, briefly, no figures kept: so that none of them rots.
bench-quick: $(STAMP) $(BUNDLE)
	$(VENV)/bin/python -m bench --quick

# The pictures in the README and the docs, from the real UI in headless Chromium.
screenshots: $(STAMP) $(BUNDLE)
	$(VENV)/bin/python -m tests.screenshots.capture --out deploy/screenshots

clean:
	rm -rf $(VENV) frontend/node_modules $(BUNDLE)
