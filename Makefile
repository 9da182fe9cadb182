# The one entry point for developers, operators and CI. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PYTHON := .venv/bin/python

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

.venv/.synced: pyproject.toml uv.lock */pyproject.toml services/*/pyproject.toml deploy/*/pyproject.toml
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-packages
	@touch $@

.PHONY: venv
venv: .venv/.synced ## create or update the virtual environment from the lock file

.PHONY: test
test: venv ## run every test: unit, integration, end to end, browser
	$(PYTHON) -m pytest

.PHONY: lint
lint: venv ## ruff, mypy and the import rules of the hexagons
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	.venv/bin/lint-imports
	$(PYTHON) -m mypy shared/src services/token-service/src services/provisioning-service/src
