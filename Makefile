# The two commands of the Quickstart: `make demo` and `make test`.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench docs clean bench-tables bench-peers

install: $(STAMP)

# torch and torchvision are pinned first, together, so the builds on this machine's disk are
# taken and nothing upgrades them: on x86_64 torch 2.14.1 with torchvision 0.29.1 (a CUDA build,
# which runs on the CPU too). The CPU build of torch 2.13.0 on disk cannot be used once the images
# extra needs torchvision: PyPI's torchvision 0.28.0 beside it fails to import ("operator
# torchvision::nms does not exist"; its extension links libtorch_cuda). On aarch64 the pair on
# disk is torch 2.9.1 with torchvision 0.24.1, a CPU build.
# Then every extra (`pip install layerwise` alone is the slim core; see README, Install),
# psycopg's self-contained binary build (this is an application's choice, not the library's)
# and the test tools. Changing these pins here reinstalls .venv (the stamp depends on this file).
TORCH := $(if $(filter aarch64,$(shell uname -m)),torch==2.9.1 torchvision==0.24.1,torch==2.14.1 torchvision==0.29.1)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[all,tune-postgres-binary,test]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/layerwise demo

# Lint, format and types (seconds), then the suite.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# The suite in TEST_WORKERS processes (pytest-xdist), one test file to a worker at a time
# (`--dist loadfile`): a file's module fixtures are built once, and what a file starts (PostgreSQL,
# Chromium, a guide page's server on its fixed port) stays in one worker. On 2 cores, 2026-12-04:
# 9 min 28 s in two workers against 14 min 12 s in one. `TEST_WORKERS=0` runs it in this process.
TEST_WORKERS ?= 2

test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

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

# Peers (benchmarks/peers.py, issue 19): the same MLP and LSTM, same data, trained by a plain
# PyTorch loop, layerwise's Trainer, Lightning, Keras 3 (torch backend) and skorch, each with its
# own defaults, each run in a fresh process. The peers live only in this environment, torch
# pinned first as above, then layerwise's core; none of them is ever a dependency of layerwise.
# About 10 to 15 minutes on 2 CPU cores.
PEERS_VENV := build/peers-venv

$(PEERS_VENV)/.installed: pyproject.toml Makefile
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet $(TORCH)
	$(PEERS_VENV)/bin/python -m pip install --quiet -e .
	$(PEERS_VENV)/bin/python -m pip install --quiet lightning==2.6.6 keras==3.15.1 skorch==1.4.0
	touch $@

bench-peers: $(PEERS_VENV)/.installed
	$(PEERS_VENV)/bin/python benchmarks/peers.py
