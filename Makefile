# The two commands of README.md. Both set up .venv (once; again when the lock changes), then:
#   make run   - runs the pipeline on the embedded default config (config/config.yaml)
#   make test  - runs the whole test suite
VENV   := .venv
PY     := $(VENV)/bin/python
CONFIG ?= config/config.yaml
OUT    ?= results/default

.PHONY: setup run test clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

run: setup
	scripts/run_stages.sh $(CONFIG) $(OUT)

test: setup
	$(VENV)/bin/pytest -q

clean:
	rm -rf results
