# The README's verbs. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install run test lint demo rebuild clean bench browser

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install  ## serve the API on http://127.0.0.1:8000 (embedded SQLite under var/, demo data when empty)
	$(BIN)/dangjian serve

# The suite in TEST_WORKERS processes (pytest-xdist): every test has its own store (a temporary SQLite
# file or a fresh PostgreSQL schema) and each process its own Kafka broker, so they do not meet.
TEST_WORKERS ?= 2
test: install lint browser  ## lint, types, then the whole suite on SQLite and PostgreSQL
	$(BIN)/pytest -n $(TEST_WORKERS)

# Headless Chromium and a Chinese font for the dashboard's browser tests (tests/ui): Debian's packages,
# installed only when missing (with sudo unless root).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver fonts-noto-cjk; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy domain projections api infra

demo: install
	$(BIN)/dangjian demo

rebuild: install
	$(BIN)/dangjian rebuild

# Benchmarks (issue #6) on PostgreSQL: each run in fresh schemas, dropped after; writes docs/BENCHMARKS.md.
SCALE ?= 0.001
BENCH_SECONDS ?= 10
BENCH_DATABASE_URL ?= postgresql://root@127.0.0.1:5432/test
BENCH_ARGS ?=  # e.g. --no-rebuild-alone: skip the one-process rebuild (about 40 minutes at SCALE=1.0)
bench: install  ## measure P1-P7 at SCALE (default 0.001; SCALE=0.01 takes about 10 minutes on 2 cores)
	$(BIN)/python -m bench.run --scale $(SCALE) --seconds $(BENCH_SECONDS) --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
