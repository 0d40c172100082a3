# `make plan` and `make test` set themselves up: the virtualenv is the one Pulumi.yaml names,
# installed from the lock files (every version pinned, every file's hash checked).
VENV      := venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
STACK     ?= dev
PLAN_ARGS ?=
LOCK_ARGS ?=
# The lock files' own header repeats these options, so Dependabot re-locks them the same way.
COMPILE   := pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
             --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: help plan test lint typecheck pytest docs bench pack lock urns clean
.DEFAULT_GOAL := help

## help: list the targets with what each does (the default: a bare `make`)
help:
	@sed -n 's/^## \([a-z][a-z-]*\): \(.*\)$$/\1\t\2/p' $(firstword $(MAKEFILE_LIST)) | \
		awk -F'\t' '{ printf "  make %-10s %s\n", $$1, $$2 }'

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	@touch $(STAMP)

## plan: the offline plan of STACK (default dev): resources, outputs, policy verdicts, diagram
plan: $(STAMP)
	@$(PY) -m plan $(STACK) $(PLAN_ARGS)

## test: ruff (lint + format), pyright, then the whole pytest suite
test: lint typecheck pytest

## lint: ruff check and ruff format --check over the whole tree
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## typecheck: pyright over the whole tree, strict on components/ and policies/
typecheck: $(STAMP)
	$(VENV)/bin/pyright

## pytest: the whole pytest suite (mock engine, policy pack, real engines)
pytest: $(STAMP)
	$(VENV)/bin/pytest

## docs: regenerate docs/deployment.md, docs/diagrams/, docs/stack-outputs.md and the README section (needs Graphviz dot)
docs: $(STAMP)
	@$(PY) -m plan.docs

## bench: time the dev plan against the bare SDK import floor
bench: $(STAMP)
	@$(PY) scripts/bench_plan.py

## pack: build the self-contained policy pack for `pulumi policy publish` into build/policy-pack
pack: $(STAMP)
	@$(PY) -m plan.pack

## lock: pin requirements.txt, requirements-dev.txt and policies/requirements.txt with hashes from their .in files (LOCK_ARGS=--upgrade: the newest allowed)
# Existing pins are kept while their range allows them; the program's lock comes first, as the
# dev lock is constrained by it.
lock: $(STAMP)
	@$(VENV)/bin/$(COMPILE) --output-file=requirements.txt requirements.in
	@$(VENV)/bin/$(COMPILE) --output-file=requirements-dev.txt requirements-dev.in
	@cd policies && ../$(VENV)/bin/$(COMPILE) --output-file=requirements.txt requirements.in
	@echo "locked: requirements.txt requirements-dev.txt policies/requirements.txt"

## urns: rewrite tests/snapshots/<stack>.urns after an intended change of resource identity
urns: $(STAMP)
	@$(PY) -m plan.urns

## clean: remove the virtualenv, build/ and the tools' caches
clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
