# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
# One entry point for set-up, lint and tests. `make test` is the README's test command and what
# .ci/run calls: it installs what it needs (Debian packages for the lab, a virtualenv with the
# Python dependencies), lints, and runs the whole suite, lab tests included (needs root).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help deps deps-debian venv lint ruff ansible-lint mypy test test-unit test-fuzz test-lab sanity test-compat publish-check ee-context molecule build clean

help:
	@echo "make test       install everything, lint, run the whole suite (lab tests need root)"
	@echo "make test-unit  unit tests only: seconds, no playbook run, no root"
	@echo "make test-fuzz  the fuzz suite of every input parser (hypothesis, under a minute)"
	@echo "make test-lab   lab integration tests only"
	@echo "make lint       ruff, ansible-lint (profile production), mypy"
	@echo "make sanity     ansible-test sanity on the collection content"
	@echo "make test-compat  unit tests and sanity on ansible-core 2.16 and the newest installable"
	@echo "make publish-check  galaxy-importer, ansible-builder, antsibull-docs, antsibull-changelog (offline)"
	@echo "make ee-context   the execution environment's build context in context/ (no image build)"
	@echo "make molecule   every role's molecule scenario on lab hosts (root)"
	@echo "make build      the collection tarball (ansible-galaxy collection build)"

deps: deps-debian venv

# Debian packages the lab needs; installed only when something is missing (apt-get needs root).
deps-debian:
	@pkgs="$$(PYTHONPATH=src $(PYTHON) -m ripreplace.lab.prereq)"; \
	missing="$$(for p in $$pkgs; do dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

ruff: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ansible-lint: venv
	ANSIBLE_COLLECTIONS_PATH="$$($(BIN)/python -c 'from ripreplace import collection; print(collection.collections_path())')" \
	  $(BIN)/ansible-lint --offline -q

mypy: venv
	$(BIN)/mypy

lint: ruff ansible-lint mypy

# Unit tests only: no ansible-runner run, no lab, no root; seconds. On every core (pytest-xdist), with
# compiled test modules cached between runs even where the environment says not to write bytecode.
test-unit: venv
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest tests/unit -n auto -m "not lab and not e2e and not slow" $(PYTEST_ARGS)

# The fuzz suite alone (also part of make test): RIPREPLACE_FUZZ_EXAMPLES=N for more examples a test,
# RIPREPLACE_FUZZ_RANDOM=1 for new inputs instead of CI's fixed ones.
test-fuzz: venv
	$(BIN)/pytest tests/fuzzing -m fuzz $(PYTEST_ARGS)

test-lab: deps
	$(BIN)/pytest -m lab $(PYTEST_ARGS)

test: deps lint sanity test-compat
	$(BIN)/pytest $(PYTEST_ARGS)

# ansible-test sanity on the collection content (first run ~7 min: it builds its own virtualenvs).
sanity: venv
	$(BIN)/python tests/sanity/run.py

# Unit tests, the audit callback's playbook tests and ansible-test sanity on ansible-core 2.16 and
# on the newest release installable (Python 3.12+ from PATH or pyenv; says so when there is none).
test-compat: venv
	$(BIN)/python tests/sanity/cores.py

# The publishing checks alone (make test's pytest run includes them): galaxy-importer offline,
# ansible-builder introspect/create, antsibull-docs lint and docsite build, antsibull-changelog lint.
publish-check: venv
	$(BIN)/pytest tests/publish $(PYTEST_ARGS)

# The execution environment's build context (collection tarball + ansible-builder create) in context/;
# then `podman build -t ripreplace-ee context/` where the base image and a package index are reachable.
ee-context: venv
	$(BIN)/python tests/publish/tools.py ee-context context

# Molecule scenarios of every role, on real lab hosts (extensions/molecule: ripreplace lab up/down).
MOLECULE_ROLES ?= detect replacement remove verify
molecule: deps
	@set -e; export PATH="$(CURDIR)/$(BIN):$$PATH"; \
	export ANSIBLE_COLLECTIONS_PATH="$$($(BIN)/python -c 'from ripreplace import collection; print(collection.collections_path())')"; \
	for role in $(MOLECULE_ROLES); do echo "== molecule: $$role"; (cd roles/$$role && molecule test); done

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path dist/

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .venvs
