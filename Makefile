# The one entry point for developers, operators and CI. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON := .venv/bin/python

# What operators type must reach the CLI as typed. Make reads a variable given
# on its command line or in the environment as make text: any reference to it,
# and exporting it (a command-line one goes to every recipe's environment),
# runs a `$(shell …)` in it, drops `$(…)` and `$x`, and turns `$$` into `$`.
# So each one given becomes a simple variable holding its literal text,
# exported as make would have; recipes read it quoted from there ("$$NAME").
OPERATOR_INPUTS := NAME PARTNER LOCATION SETTING OPERATOR_ENV DATABASE_URL \
	$(filter PROVISIONING_%,$(.VARIABLES))
literal = $(eval override $(1) := $$(value $(1)))$(eval export $(1))
$(foreach v,$(OPERATOR_INPUTS),\
	$(if $(filter undefined,$(origin $(v))),,$(call literal,$(v))))

DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/tilt
export PROVISIONING_DATABASE_URL ?= $(DATABASE_URL)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

.venv/.synced: pyproject.toml uv.lock shared/pyproject.toml services/*/pyproject.toml deploy/*/pyproject.toml
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	uv sync --locked --all-packages
	@touch $@

.PHONY: venv
venv: .venv/.synced ## create or update the virtual environment from the lock file

.PHONY: run
run: venv ## run the whole product locally (needs PostgreSQL, Redis, RabbitMQ) [PORT=8000 COGNITO_PORT=9229]
	$(PYTHON) -m tilt_devstack run

.PHONY: demo
demo: venv ## with `make run` up: mint a link, open it like a browser, open it again
	$(PYTHON) -m tilt_devstack demo

.PHONY: test
test: venv test-machine ## run every test: unit, integration, end to end
	$(PYTHON) -m pytest

# What the tests need beyond the venv, set up when missing. Neither step stops
# `make test`: where one cannot help (no root, services elsewhere), the tests
# themselves say what is missing.
.PHONY: test-machine
test-machine:
	-@bash .ci/ensure-services
	-@bash .ci/ensure-chromium

.PHONY: migrate
migrate: venv ## apply the database migrations (PROVISIONING_DATABASE_URL or DATABASE_URL)
	$(PYTHON) -m provisioning_service.migrate

# Operators' targets wrap the provisioning CLI; with `make run` up they source
# .dev/operator.env (its database and Cognito pool), else PROVISIONING_* env.
export OPERATOR_ENV ?= .dev/operator.env
OPERATOR := if [ -e "$$OPERATOR_ENV" ]; then set -a && . "$$OPERATOR_ENV" && set +a; fi \
	&& $(PYTHON) -m provisioning_service.cli
require = $(if $($(1)),,$(error set $(1)=..., e.g. make $@ $(1)=$(2)))

.PHONY: partner-create partner-suspend partner-reactivate partner-name-updates partner-users location-create grant revoke
partner-create: venv ## NAME=...: Cognito app client + partner row; prints the secret once
	@$(call require,NAME,"Acme POS")$(OPERATOR) partner create --name "$$NAME"
partner-suspend: venv ## PARTNER=<client id>: refuse the partner's launches
	@$(call require,PARTNER,<client id>)$(OPERATOR) partner suspend --partner-id "$$PARTNER"
partner-reactivate: venv ## PARTNER=<client id>: let a suspended partner launch again
	@$(call require,PARTNER,<client id>)$(OPERATOR) partner reactivate --partner-id "$$PARTNER"
partner-name-updates: venv ## PARTNER=... SETTING=on|off: later launches' display_name replaces the stored one
	@$(call require,PARTNER,<client id>)$(call require,SETTING,on|off)$(OPERATOR) partner name-updates --partner-id "$$PARTNER" -- "$$SETTING"
partner-users: venv ## PARTNER=<client id>: list its POS users and memberships
	@$(call require,PARTNER,<client id>)$(OPERATOR) partner users --partner-id "$$PARTNER"
location-create: venv ## NAME=... [LOCATION=<uuid>]: create a location
	@$(call require,NAME,"Main St")$(OPERATOR) location create --name "$$NAME" $(if $(LOCATION),--location-id "$$LOCATION")
grant: venv ## PARTNER=... LOCATION=...: let a partner launch into a location
	@$(call require,PARTNER,<client id>)$(call require,LOCATION,<uuid>)$(OPERATOR) grant --partner-id "$$PARTNER" --location-id "$$LOCATION"
revoke: venv ## PARTNER=... LOCATION=...: withdraw that grant
	@$(call require,PARTNER,<client id>)$(call require,LOCATION,<uuid>)$(OPERATOR) revoke --partner-id "$$PARTNER" --location-id "$$LOCATION"

.PHONY: services
services: ## start the local PostgreSQL, Redis and RabbitMQ if they are down
	bash .ci/ensure-services

.PHONY: lint
lint: venv ## ruff, mypy and the import rules of the hexagons
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	.venv/bin/lint-imports
	$(PYTHON) -m mypy shared/src services/token-service/src services/provisioning-service/src deploy/cognito-emulator/src deploy/devstack/src deploy/checks
	$(MAKE) --no-print-directory deploy-lint image-dry-run

.PHONY: deploy-lint image-dry-run
deploy-lint: venv ## compose file, Dockerfiles and Kubernetes manifests, checked offline
	.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(PYTHON) deploy/checks/compose_rules.py docker-compose.yml
	.venv/bin/hadolint services/*/Dockerfile deploy/cognito-emulator/Dockerfile
	$(PYTHON) deploy/checks/k8s_check.py
image-dry-run: venv ## replay each Dockerfile's install steps without an engine, probe the result
	$(PYTHON) deploy/checks/image_dry_run.py

.PHONY: up down logs
up: ## the same stack in containers (needs a Docker engine)
	docker compose up -d --build --wait
down: ## stop the containers
	docker compose down
logs: ## follow the containers' logs
	docker compose logs -f

.PHONY: bench
bench: venv ## measure the product against its stack's ceiling (bench/README.md)
	@command -v wrk >/dev/null && command -v hey >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey)
	uv sync --all-packages --group bench
	PYTHONPATH=tests $(PYTHON) -m bench $(BENCH_FLAGS)
