# RevOps Hub. `make run` and `make test` set everything up themselves on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev
ROLE ?= admin
HUB_PORT ?= 3000
HUB_AWS_PORT ?= 3001
CDK := npx --no-install cdk
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: replay rotate-api-key lambda-wheels run test unit integration e2e infra fuzz lint typecheck format token bench burst synth deploy diff destroy redrive simulate rescore import-spend reattribute url lock clean

# The dependencies layer's compiled packages as wheels built for the functions' platform (Lambda's Python 3.14
# on arm64, Amazon Linux 2023: glibc 2.34), at the versions constraints.txt pins, for infra/dependencies.py to
# unpack into the layer (synth stays offline). LAMBDA_WHEELS is the list of the same name there.
LAMBDA_WHEELS_DIR := .cache/lambda-wheels
LAMBDA_WHEELS := cffi charset-normalizer cryptography lxml
LAMBDA_WHEELS_DOWNLOAD = $(PY) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	--implementation cp --python-version 3.14 $(foreach p,manylinux2014 manylinux_2_28 manylinux_2_34,--platform $(p)_aarch64) \
	-c constraints.txt -d $(LAMBDA_WHEELS_DIR) $(LAMBDA_WHEELS) >&2

# Installs go to stderr so `make -s token` prints nothing but the token. constraints.txt holds every
# transitive version that passed, so a fresh clone installs exactly that (`make lock` moves it on).
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt >&2
	@$(LAMBDA_WHEELS_DOWNLOAD)
	@touch $@

# Run on its own when synth says a wheel is missing (the cache was removed, or LAMBDA_WHEELS changed).
lambda-wheels: $(STAMP)  ## the dependencies layer's compiled packages, built for Lambda, into .cache/lambda-wheels/
	@$(LAMBDA_WHEELS_DOWNLOAD)

# A scratch environment from requirements-dev.txt alone, newest versions allowed, frozen into constraints.txt.
lock:  ## re-resolve the transitive versions into constraints.txt (then make test, and commit both)
	@rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	@.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
	@.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
	@{ echo "# Every package make installs, at the version that passed make test. Written by make lock."; \
	   .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	@rm -rf .lock-venv

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ with npm is required for the CDK CLI" >&2; exit 1; }
	@npm ci --no-audit --no-fund --loglevel=error >&2
	@touch $@

run: $(STAMP)  ## the hub on http://127.0.0.1:$(HUB_PORT) over embedded AWS
	@HUB_PORT=$(HUB_PORT) HUB_AWS_PORT=$(HUB_AWS_PORT) $(PY) -m local_runtime

test: lint typecheck  ## the whole suite: lint, types, unit, integration, e2e, infra, fuzz
	$(PY) -m pytest tests/unit tests/integration tests/e2e -q
	$(PY) -m pytest tests/infra -q
	$(PY) -m pytest tests/fuzz -q

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q
integration: $(STAMP)
	$(PY) -m pytest tests/integration -q
e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q
infra: $(STAMP)
	$(PY) -m pytest tests/infra -q
fuzz: $(STAMP)  ## schemathesis over /openapi.json and malformed-but-signed vendor payloads
	$(PY) -m pytest tests/fuzz -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# A person's access token with ROLE's groups (ROLE=sales,marketing: several), signed in as LOGIN (default
# local-<groups>) with the verified EMAIL the pool's pre token generation trigger adds; or an app client's
# client-credentials token with all its scopes (SCOPE=leads.read: only those), signed as the local hub checks them.
# LOGIN and EMAIL count only from the command line (git and others read an EMAIL environment variable).
token: $(STAMP)  ## make -s token ROLE=admin [LOGIN=<username>] [EMAIL=<email>], or make -s token CLIENT=<app client> [SCOPE=leads.read] : a client-credentials token
	@$(PY) -m local_runtime.token $(if $(CLIENT),--client $(CLIENT) $(if $(SCOPE),--scope $(SCOPE)),$(ROLE) $(if $(filter command line,$(origin LOGIN)),--username $(LOGIN)) $(if $(filter command line,$(origin EMAIL)),--email $(EMAIL)))

bench: $(STAMP)  ## speed and cost figures, as ratios against baselines measured in the same run
	@$(PY) -m benchmarks

burst: $(STAMP)  ## make burst [DELIVERIES=10000] [CONCURRENCY=20] : the local hub under a burst of Stripe webhooks
	@$(PY) -m benchmarks.burst $(if $(DELIVERIES),--deliveries $(DELIVERIES)) $(if $(CONCURRENCY),--concurrency $(CONCURRENCY))

synth: $(STAMP) node_modules/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) synth -c stage=$(STAGE) --quiet

diff: $(STAMP) node_modules/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) diff -c stage=$(STAGE)

# --all: the stage's four stacks (RevOpsHub-<stage>, -routing, -schemas, -monitoring), the main one first.
deploy: $(STAMP) node_modules/.installed  ## make deploy STAGE=dev (AWS credentials and a bootstrapped account needed)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) deploy --all -c stage=$(STAGE)

simulate: $(STAMP)  ## make simulate MODEL=path/to/candidate.json [HUB=https://...] : what-if, nothing written
	@$(PY) -m ops.simulate $(MODEL) $(if $(HUB),--hub $(HUB))

# STAGE is passed on only when given: without it, rescore applies the model to the local hub `make run` started.
rescore: $(STAMP)  ## make rescore [MODEL=candidate.json] [STAGE=dev|prod] : apply a model, rescore every lead
	@$(PY) -m ops.rescore $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE)) $(if $(MODEL),--model $(MODEL))

# STAGE is passed on only when given: without it, the spend goes to the local hub `make run` started.
import-spend: $(STAMP)  ## make import-spend FILE=spend.csv [STAGE=dev|prod] : spend lines from a CSV, idempotent
	@$(PY) -m ops.import_spend $(FILE) $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE))

# STAGE is passed on only when given: without it, the conversions of the local hub `make run` started.
reattribute: $(STAMP)  ## make reattribute [FROM=2026-09] [TO=2026-11] [STAGE=dev|prod] : stored conversions recomputed with the settings in force
	@$(PY) -m ops.reattribute $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE))

url: $(STAMP)  ## the running local hub's URL: curl "$$(make -s url)/healthz"
	@$(PY) -m local_runtime.url

# STAGE is passed on only when given: without it, the dead letters of the local hub `make run` started.
redrive: $(STAMP)  ## make redrive QUEUE=<catalog queue name> [STAGE=dev|prod] [DRY_RUN=1] [INCLUDE_PERMANENT=1] [MAX=1000] : dead letters back to their function
	@$(PY) -m ops.redrive --queue $(QUEUE) $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE)) $(if $(MAX),--max $(MAX)) $(if $(DRY_RUN),--dry-run) $(if $(INCLUDE_PERMANENT),--include-permanent)

# --all: the four stacks of the stage, the main one last (the others depend on it).
destroy: $(STAMP) node_modules/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) destroy --all -c stage=$(STAGE)

clean:
	rm -rf $(VENV) .lock-venv node_modules cdk.out .mypy_cache .ruff_cache .pytest_cache

# STAGE is passed on only when given: without it, the local hub `make run` started replays its archive. `--from=`:
# a time ago such as -1h starts with a dash, which argparse would take for an option.
replay: $(STAMP)  ## make replay [FROM=-1h|<iso time>] [TO=<iso time>] [TYPES=deal.won,...] [TARGET=<rule>] [STAGE=dev|prod]
	@$(PY) -m ops.replay $(if $(FROM),--from=$(FROM)) $(if $(TO),--to=$(TO)) $(if $(TYPES),--types=$(TYPES)) $(if $(TARGET),--target=$(TARGET)) $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE))

# STAGE is passed on only when given: without it, the partner's keys in the local hub `make run` started. The new
# key's value alone goes to stdout (KEY=$$(make -s rotate-api-key PARTNER=...)), what happened to stderr.
rotate-api-key: $(STAMP)  ## make rotate-api-key PARTNER=<name> [STAGE=dev|prod] [OVERLAP_HOURS=24] [EXPIRE_ONLY=1] : a new key, the old one kept for the overlap
	@$(PY) -m ops.rotate_api_key $(PARTNER) $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE)) $(if $(OVERLAP_HOURS),--overlap-hours $(OVERLAP_HOURS)) $(if $(EXPIRE_ONLY),--expire-only)
