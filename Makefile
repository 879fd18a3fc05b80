# One entry point for people and CI. `make test` works from a clean clone: it builds the virtualenv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv tools tools-chromium container-tools lint typecheck test unit demo soak clean bench bench-quick bench-fleet

help:
	@echo "make demo   - run the worker end to end against the local stand-ins (moto, emulator, local databases)"
	@echo "make test   - install, lint (ruff), type-check (mypy) and run the whole test suite"
	@echo "make tools  - install the system tools the tests need (prometheus + promtool, chromium: Debian packages)"
	@echo "make container-tools - install what tests/container needs (Docker engine, docker-compose, mmdebstrap)"
	@echo "make bench  - the throughput/overhead benchmark (bench/, about 10 minutes); make bench-quick: under 2"
	@echo "make bench-fleet - the fleet benchmark (bench/: a shared restore cap, the reconciler, restores in flight)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# tests/observability runs a real Prometheus and promtool. Installs Debian's package when they are missing
# and this is root with apt-get; the package may start a system service on :9090, which the tests don't use
# (they pick free ports), so it is stopped and disabled right after the install.
tools: tools-chromium
	@if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's prometheus package (prometheus, promtool)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null || exit 1; \
		systemctl disable --now prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1 || true; \
	else \
		echo "prometheus/promtool not found. Install them, then re-run:" >&2; \
		echo "  Debian/Ubuntu: sudo apt-get install --no-install-recommends prometheus" >&2; \
		echo "  elsewhere: put prometheus and promtool from a Prometheus 2.x release on PATH" >&2; \
		exit 1; \
	fi

# tests/report open the report's HTML in Debian's headless chromium and screenshot it.
tools-chromium:
	@if command -v chromium >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium package (headless rendering of the report)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null || exit 1; \
	else \
		echo "chromium not found. Install it, then re-run:" >&2; \
		echo "  Debian/Ubuntu: sudo apt-get install --no-install-recommends chromium" >&2; \
		exit 1; \
	fi

# tests/container builds docker/Dockerfile and runs docker-compose.yml on a real engine: a running one, else a
# dockerd the tests start (as root) and stop. Installs Debian's docker.io, docker-compose and mmdebstrap when
# missing and this is root with apt-get; otherwise says so and carries on (those tests then skip, saying why).
container-tools:
	@missing=""; \
	docker info >/dev/null 2>&1 || command -v dockerd >/dev/null 2>&1 || missing="$$missing docker.io"; \
	command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	command -v mmdebstrap >/dev/null 2>&1 || missing="$$missing mmdebstrap"; \
	if [ -z "$$missing" ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's$$missing (for tests/container)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	else \
		echo "tests/container will skip: missing$$missing (Debian/Ubuntu: sudo apt-get install$$missing)" >&2; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: tools container-tools lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/backup-validator demo

# The real worker process against moto, the emulator and the local PostgreSQL; not part of `make test`.
# Writes bench/results/latest.json and prints the table (docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

# The fleet scenarios: three workers under one cap, the reconciler over 100,000 recovery points, restores in flight.
bench-fleet: $(STAMP)
	$(BIN)/python -m bench --fleet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The reliability suite for longer: more kills, more competing workers. Not part of `make test`.
soak: $(STAMP)
	BV_SOAK_KILLS=$${BV_SOAK_KILLS:-100} BV_SOAK_WORKERS=$${BV_SOAK_WORKERS:-5} \
		$(BIN)/pytest tests/reliability $(PYTEST_ARGS)
