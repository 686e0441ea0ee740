# The two commands the README promises: `make run` and `make test`. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint venv system-deps clean

run: $(STAMP)
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# Debian packages the tests need (each command is named like its package); installed only
# when missing (CI runs as root). The browser tests (tests/e2e) drive Debian's /usr/bin/chromium:
# Playwright's own browser download is never used.
TEST_COMMANDS := redis-server curl jq openssl
system-deps:
	@missing=""; for cmd in $(TEST_COMMANDS); do command -v $$cmd >/dev/null || missing="$$missing $$cmd"; done; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# `make bench`: the benchmark suite in bench/ (see README, Performance). It starts its own gunicorn
# on a free loopback port; BENCH_ARGS="--quick" or "--only send,history" for shorter runs.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# `make soak`: the crash soak (5,000 messages, 5 SIGKILLs; it prints its counts) and the fuzz
# suites (tests/fuzz) at length: FUZZ_EXAMPLES HTTP cases against
# /openapi.json and FUZZ_WS_EXAMPLES WebSocket frames, from a new seed each run (it is printed;
# `make soak FUZZ_SEED=N` replays a run). `make test` runs the same suites, smaller and derandomized.
FUZZ_EXAMPLES ?= 3000
FUZZ_WS_EXAMPLES ?= 1000
FUZZ_SEED ?= $(shell date +%s)
.PHONY: soak
soak: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_WS_EXAMPLES=$(FUZZ_WS_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/python -m pytest tests/fuzz --timeout=1800
	$(BIN)/python -m tests.integration.crash_soak --messages 5000 --kills 5
