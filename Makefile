# The two commands of README.md. Both set up .venv (once; again when the lock changes), then:
#   make run       - runs the Snakemake workflow on the embedded default config (config/config.yaml)
#   make test      - the fast tier: unit tests and one tiny workflow run (what checks an install)
#   make test-all  - every test: real SLURM, kill and resume, ProxylessNAS, the rerun table (CI runs it)
VENV   := .venv
PY     := $(VENV)/bin/python
CONFIG ?= config/config.yaml
# Two workers (pytest-xdist): tests that share a module fixture carry an xdist_group mark and run in
# one worker (--dist loadgroup); the slowest tests are listed at the end of every run.
PYTEST := $(VENV)/bin/pytest -q -n 2 --dist loadgroup

.PHONY: setup run test test-all paper-check lint format clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# The Snakemake workflow on 2 cores; the stages' `naslid` comes from the venv first on PATH. The
# script clears the lock a killed run leaves behind, then runs Snakemake.
run: setup
	PATH=$(abspath $(VENV))/bin:$$PATH scripts/run-workflow.sh --cores 2 --configfile $(CONFIG)

test: setup
	$(PYTEST) -m "not slow" --durations=10

test-all: setup
	$(PYTEST) --durations=15

# The NB201 CIFAR-10 paper config at its full shape on CPU, budgets shrunk (scripts/paper_check.py):
# every job of its DAG for one seed, on generated CIFAR-10 files; CI runs it after the tests.
paper-check: setup
	scripts/paper-check.sh config/paper/nb201-cifar10.yaml

# What `make test` checks first (tests/test_workflow.py runs the same): ruff's lint and format, the
# package's layers, Snakemake's lint and snakefmt. `make format` applies ruff's formatter.
lint: setup
	$(VENV)/bin/ruff check  # every Python file git does not ignore (ruff reads .gitignore)
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/lint-imports
	$(VENV)/bin/snakefmt --check workflow

format: setup
	$(VENV)/bin/ruff format

clean:
	rm -rf results/default results/compare
