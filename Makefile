# Miz: the two set-up commands for a fresh machine are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check bench bench-scale bench-serve clean install

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Miz needs Python 3.11 ($(PYTHON) was not found)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/miz demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4 $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot catalog config desk storage emulator bench public

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# A generated county (1,000 and 100,000 requests; add --size 1000000 for the full county) on SQLite and PostgreSQL.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --size 1000 --size 100000 --db sqlite --db postgres $(SCALE_ARGS)

# miz serve with 1 and 3 workers behind the emulator's webhooks, 200 citizens at once (PostgreSQL from
# MIZ_TEST_POSTGRES_URL; the Redis database given by --redis, 14 by default, is emptied).
bench-serve: $(STAMP)
	$(BIN)/python -m bench.serve $(SERVE_ARGS)

clean:
	rm -rf $(VENV) var/demo .pytest_cache .mypy_cache .ruff_cache
