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
	$(VENV)/bin/naslid pretrain --config $(CONFIG) --out $(OUT)/pretrain/supernet.pt --metrics $(OUT)/pretrain/metrics.json
	$(VENV)/bin/naslid profile --config $(CONFIG) --supernet $(OUT)/pretrain/supernet.pt --out $(OUT)/profile/lid.csv
	$(VENV)/bin/naslid split --config $(CONFIG) --supernet $(OUT)/pretrain/supernet.pt --out-dir $(OUT)/split

test: setup
	$(VENV)/bin/pytest -q

clean:
	rm -rf results
