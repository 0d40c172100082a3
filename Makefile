# `make plan` and `make test` set themselves up: the virtualenv is the one Pulumi.yaml names.
VENV      := venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
STACK     ?= dev
PLAN_ARGS ?=

.PHONY: plan test lint typecheck pytest docs bench urns pack clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## plan: the offline plan of STACK (default dev): resources, outputs, policy verdicts, diagram
plan: $(STAMP)
	@$(PY) -m plan $(STACK) $(PLAN_ARGS)

## test: ruff (lint + format), pyright, then the whole pytest suite
test: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/pyright

pytest: $(STAMP)
	$(VENV)/bin/pytest

## docs: regenerate docs/deployment.md, docs/diagrams/ and the README section (needs Graphviz dot)
docs: $(STAMP)
	@$(PY) -m plan.docs

## bench: time the dev plan against the bare SDK import floor
bench: $(STAMP)
	@$(PY) scripts/bench_plan.py

## pack: build the self-contained policy pack for `pulumi policy publish` into build/policy-pack
pack: $(STAMP)
	@$(PY) -m plan.pack

## urns: rewrite tests/snapshots/<stack>.urns after an intended change of resource identity
urns: $(STAMP)
	@$(PY) -m plan.urns

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
