# The two commands of the Quickstart: `make demo` and `make test`.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench docs clean bench-tables

install: $(STAMP)

# torch is pinned first, alone, so the CPU build on disk is taken and nothing upgrades it.
# Then every extra (`pip install layerwise` alone is the slim core; see README, Install),
# psycopg's self-contained binary build (this is an application's choice, not the library's)
# and the test tools.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,tune-postgres-binary,test]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/layerwise demo

# Lint, format and types (seconds), then the suite.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/trainer_overhead.py

# The guide (docs/) as a static site in site/, offline, strict: a broken link or a warning fails.
docs: install
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info

# The tabular suite (benchmarks/tabular_suite.py, issue 17): layerwise's init defaults beside
# scikit-learn and pytabkit on 17 real tables, same splits. pyreadr reads the R data sets (Debian:
# r-cran-mlbench; MASS and nlme come with R); pytabkit gets its own environment, torch pinned first
# as above, so neither is ever a dependency of layerwise. Over an hour on 2 CPU cores, most of it
# pytabkit's two models; `--skip-peers` (run the script by hand) takes minutes.
BENCH_VENV := build/bench-venv

$(BENCH_VENV)/.installed:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(BENCH_VENV)/bin/python -m pip install --quiet pytabkit==1.8.0
	touch $@

bench-tables: install $(BENCH_VENV)/.installed
	$(PY) -m pip install --quiet pyreadr
	$(PY) benchmarks/tabular_suite.py --out build/tabular_suite/results.json
