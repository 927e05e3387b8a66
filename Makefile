# AegisGitea MCP: build, run and test from a clean clone.
#
#   make dev    run the whole stack locally (Gitea simulator + every function on one port)
#   make test   Rust tests, the AWS adapter tests against moto, then the Python interop suite
#               with the official MCP SDK (including the Lambda emulator end-to-end run, the
#               client matrix of Python SDK 1.x/2.x and the TS SDK, and the conformance suite)
#   make docs   regenerate the configuration and API reference pages from the code
#   make bench  the benchmark suite (release builds), figures into docs/
#
# `make help` lists every target. One cargo target dir is shared by every target
# (CARGO_TARGET_DIR, default ./target), including the Lambda build.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

comma := ,
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export CARGO_TARGET_DIR ?= $(ROOT)/target

CARGO ?= cargo
PYTHON ?= python3
VENV := $(ROOT)/.venv
VENV_PY := $(VENV)/bin/python
REQUIREMENTS := $(ROOT)/tests/python/requirements.txt
# Rebuilt whenever requirements.txt is newer: `make venv` is idempotent and cheap.
VENV_STAMP := $(VENV)/.requirements.stamp
# checkov in a venv of its own: its pins (packaging<24) conflict with pytest's.
CHECKOV_VENV := $(ROOT)/.venv-checkov
CHECKOV_REQUIREMENTS := $(ROOT)/tests/python/requirements-checkov.txt
CHECKOV_STAMP := $(CHECKOV_VENV)/.requirements.stamp

LAMBDA_TARGET := aarch64-unknown-linux-gnu
LAMBDA_BINS := aegis-mcp aegis-oauth aegis-webhook aegis-jobs
CARGO_LAMBDA_VERSION := 1.9.2
CARGO_LAMBDA_STAMP := $(VENV)/.cargo-lambda-$(CARGO_LAMBDA_VERSION).stamp

PYTEST_ARGS ?=

# `tests/with_moto.sh` runs a command with a moto server (AWS API emulator) of its own on a
# free 127.0.0.1 port and exports AEGIS_TEST_MOTO_URL; moto comes from requirements.txt.
WITH_MOTO := $(ROOT)/tests/with_moto.sh $(VENV)/bin
AWS_TESTS := $(CARGO) test -p aegis-tests --features aws --test it --no-fail-fast aws::
# The functions as `make build` ships them: with the DynamoDB/S3 adapters.
LAMBDA_FEATURES := $(subst $(eval) ,$(comma),$(foreach f,mcp oauth webhook jobs,aegis-fn-$(f)/aws))

# The client matrix and the conformance suite (tests/python/test_client_matrix.py,
# test_conformance.py): npm packages of tests/clients (the TypeScript SDK, both conformance
# versions and Node 22 as npm `node`), and the Python SDK 1.x in a venv of its own (it
# conflicts with the 2.x of .venv).
CLIENTS_DIR := $(ROOT)/tests/clients
CLIENTS_STAMP := $(CLIENTS_DIR)/node_modules/.installed.stamp
VENV_MCP1 := $(ROOT)/.venv-mcp1
MCP1_REQUIREMENTS := $(CLIENTS_DIR)/requirements-mcp1.txt
MCP1_STAMP := $(VENV_MCP1)/.requirements.stamp
CLIENT_TESTS := $(ROOT)/tests/python/test_client_matrix.py $(ROOT)/tests/python/test_conformance.py

# The consent-page browser test: Debian's chromium (never a downloaded browser) driven by
# npm playwright-core from tests/browser/node_modules.
BROWSER_DIR := $(ROOT)/tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed.stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: help venv checkov-venv browser-deps client-deps build-bins cli test test-rust test-python test-clients test-conformance test-aws bench-coldstart bench-aws lint-infra lint-infra-checkov dev build deploy generate-key fmt lint clean distclean fuzz-tools fuzz-smoke fuzz docs bench

help: ## List the targets
	@echo "AegisGitea MCP - make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1)} \
			END {for (i = 1; i <= NR; i++) printf "  %-" width "s  %s\n", name[i], text[i]}'

venv: $(VENV_STAMP) ## Create .venv with the pinned Python test tools (tests/python/requirements.txt)

$(VENV_STAMP): $(REQUIREMENTS)
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r $(REQUIREMENTS)
	@touch $@

checkov-venv: $(CHECKOV_STAMP) ## Create .venv-checkov with the pinned checkov (tests/python/requirements-checkov.txt)

$(CHECKOV_STAMP): $(CHECKOV_REQUIREMENTS)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check -q -r $(CHECKOV_REQUIREMENTS)
	@touch $@

browser-deps: $(BROWSER_STAMP) ## Install the browser test's needs: Debian chromium (apt, as root) and playwright-core (npm)
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian chromium"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -q && apt-get install -y -q --no-install-recommends chromium; \
		else \
			echo "error: $(CHROMIUM) is missing: install Debian's chromium (sudo apt-get install chromium)" >&2; exit 1; \
		fi; \
	fi
	@$(CHROMIUM) --version 2>/dev/null

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
		|| { echo "error: node and npm (Node.js >= 20) are needed for tests/browser" >&2; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
		|| { echo "error: Node.js >= 20 is needed for playwright-core, found $$(node --version)" >&2; exit 1; }
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

client-deps: $(CLIENTS_STAMP) $(MCP1_STAMP) ## Install the client matrix and conformance suite: npm packages of tests/clients (npm ci) and .venv-mcp1 (mcp 1.x)

$(CLIENTS_STAMP): $(CLIENTS_DIR)/package.json $(CLIENTS_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is needed for tests/clients" >&2; exit 1; }
	cd $(CLIENTS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@$(CLIENTS_DIR)/node_modules/node/bin/node -e 'process.exit(+process.versions.node.split(".")[0] === 22 ? 0 : 1)' \
		|| { echo "error: tests/clients/node_modules/node is not Node 22" >&2; exit 1; }
	@touch $@

$(MCP1_STAMP): $(MCP1_REQUIREMENTS)
	@test -x $(VENV_MCP1)/bin/python || $(PYTHON) -m venv $(VENV_MCP1)
	$(VENV_MCP1)/bin/python -m pip install --disable-pip-version-check -q -r $(MCP1_REQUIREMENTS)
	@touch $@

build-bins: ## Build every binary (debug): aegis-local, gitea-sim and the function binaries
	$(CARGO) build --bins

# `aegis` (policy dry runs, audit verification) where a user can run it: a link in .venv/bin
# to the debug build `make build-bins` also makes (same features, so no second build).
cli: venv ## Build the `aegis` command and link it into .venv/bin (run .venv/bin/aegis, or `source .venv/bin/activate`)
	$(CARGO) build --bin aegis
	ln -sfn $(CARGO_TARGET_DIR)/debug/aegis $(VENV)/bin/aegis
	@$(VENV)/bin/aegis --version >/dev/null && echo "aegis: $(VENV)/bin/aegis -> $(CARGO_TARGET_DIR)/debug/aegis"

test: build-bins venv browser-deps client-deps lint-infra $(CARGO_LAMBDA_STAMP) ## Lint the SAM template, cargo test --workspace, the AWS adapters against moto, then the Python interop suite (with the client matrix and the conformance suite); fails if any fails
	@rust=ok; aws=ok; python=ok; \
	echo "==> cargo test --workspace"; \
	$(CARGO) test --workspace --no-fail-fast || rust=FAILED; \
	echo "==> AWS adapters against moto (cargo test --features aws aws::)"; \
	$(WITH_MOTO) $(AWS_TESTS) || aws=FAILED; \
	echo "==> python interop suite (tests/python, with moto for the Lambda end-to-end run)"; \
	PATH="$(VENV)/bin:$$PATH" $(WITH_MOTO) $(VENV_PY) -m pytest $(ROOT)/tests/python $(PYTEST_ARGS) || python=FAILED; \
	echo "make test: cargo test $$rust, aws adapter tests $$aws, python interop suite $$python"; \
	[ $$rust = ok ] && [ $$aws = ok ] && [ $$python = ok ]

test-aws: build-bins venv $(CARGO_LAMBDA_STAMP) ## Only the AWS paths: adapter tests and the Lambda end-to-end run, against a moto server of their own
	@aws=ok; e2e=ok; \
	$(WITH_MOTO) $(AWS_TESTS) || aws=FAILED; \
	PATH="$(VENV)/bin:$$PATH" $(WITH_MOTO) $(VENV_PY) -m pytest $(ROOT)/tests/python/test_lambda_aws_e2e.py $(PYTEST_ARGS) || e2e=FAILED; \
	echo "make test-aws: adapter tests $$aws, lambda end-to-end $$e2e"; \
	[ $$aws = ok ] && [ $$e2e = ok ]

test-rust: ## Run only cargo test --workspace
	$(CARGO) test --workspace --no-fail-fast

test-python: build-bins venv browser-deps client-deps ## Run only the Python interop suite (PYTEST_ARGS="-k name" to filter)
	$(VENV_PY) -m pytest $(ROOT)/tests/python $(PYTEST_ARGS)

test-clients: build-bins venv client-deps ## Only the client matrix: Python SDK 1.x and 2.x and the TypeScript SDK against the gateway
	$(VENV_PY) -m pytest $(ROOT)/tests/python/test_client_matrix.py $(PYTEST_ARGS)

test-conformance: build-bins venv client-deps ## Only the official MCP conformance suite (0.1.16 and 0.2.0-alpha.12); writes docs/conformance.md
	$(VENV_PY) -m pytest $(ROOT)/tests/python/test_conformance.py $(PYTEST_ARGS)

lint-infra: venv ## Validate infra/template.yaml with cfn-lint (runs the SAM transform offline; errors, warnings and notes all fail), then checkov
	$(VENV)/bin/cfn-lint --include-checks I -- $(ROOT)/infra/template.yaml
	@echo "infra/template.yaml: cfn-lint clean"
	@$(MAKE) --no-print-directory lint-infra-checkov

# checkov on the template as written and as CloudFormation deploys it (after the SAM
# transform, which adds the schedules' rules and permissions): zero failed checks; every
# skip sits in its resource's Metadata with the reason.
lint-infra-checkov: venv checkov-venv ## checkov on infra/template.yaml, raw and SAM-transformed: any failed check fails
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	cd $(ROOT)/tests/python && $(VENV_PY) sam_transform.py $(ROOT)/infra/template.yaml "$$out/transformed.json"; \
	for f in $(ROOT)/infra/template.yaml "$$out/transformed.json"; do \
		$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation -f "$$f" \
			|| { echo "checkov: failed checks in $$f" >&2; exit 1; }; \
	done
	@echo "infra/template.yaml: checkov clean (raw and SAM-transformed)"

COLDSTART_ARGS ?=
bench-coldstart: venv $(CARGO_LAMBDA_STAMP) ## Cold start (median of 20) of the four Lambda functions and RSS of the MCP function after 1,000 requests, under cargo lambda, against moto (COLDSTART_ARGS="--backend embedded --function mcp")
	CARGO="$(CARGO)" $(COLD_START_SCRIPT) $(COLDSTART_ARGS)

# The modelled AWS run (issue 16): AWS requests per call, critical path, modelled latency and
# cost per million calls (local/scripts/aws_bench.py); not part of `make test` or `make bench`.
BENCH_AWS_ARGS ?=
BENCH_AWS_BASELINE ?=
bench-aws: venv $(CARGO_LAMBDA_STAMP) ## AWS requests, critical path, modelled latency and cost per read/write call of the MCP function under cargo lambda, through a counting proxy to moto (BENCH_AWS_ARGS="--reads 500 --writes 100"; BENCH_AWS_BASELINE=<git rev> also runs that revision's function, same run)
	CARGO="$(CARGO)" BENCH_AWS_BASELINE="$(BENCH_AWS_BASELINE)" $(ROOT)/local/scripts/bench-aws.sh $(BENCH_AWS_ARGS)

dev: venv ## Run the stack locally: gitea-sim (unless GITEA_URL is set) + aegis-local on 127.0.0.1:8080 (OAUTH=1 for OAuth mode)
	@CARGO="$(CARGO)" $(ROOT)/local/dev.sh

$(CARGO_LAMBDA_STAMP): $(VENV_STAMP)
	$(VENV_PY) -m pip install --disable-pip-version-check -q cargo-lambda==$(CARGO_LAMBDA_VERSION)
	@touch $@

build: $(CARGO_LAMBDA_STAMP) ## Build the four Lambda functions for arm64 with the AWS adapters (target/lambda/<fn>/bootstrap)
	@rustup target list --installed | grep -qx $(LAMBDA_TARGET) || rustup target add $(LAMBDA_TARGET)
	PATH="$(VENV)/bin:$$PATH" $(CARGO) lambda build --release --arm64 --features $(LAMBDA_FEATURES) $(addprefix --bin ,$(LAMBDA_BINS))
	@for bin in $(LAMBDA_BINS); do \
		f=$(CARGO_TARGET_DIR)/lambda/$$bin/bootstrap; \
		test -x $$f || { echo "missing $$f" >&2; exit 1; }; \
		printf '  %-14s %s (%s bytes)\n' $$bin $$f $$(stat -c %s $$f); \
	done

# `sam` from PATH, else from .venv; never installed behind the user's back (it is large).
SAM ?= $(shell command -v sam 2>/dev/null || { test -x $(VENV)/bin/sam && echo $(VENV)/bin/sam; })

deploy: lint-infra ## Build with SAM and deploy the AWS stack (sam build && sam deploy --guided); see docs/deployment.md
	@if [ -z "$(SAM)" ]; then \
		echo "error: the AWS SAM CLI (sam) is not installed. Either:" >&2; \
		echo "  $(VENV_PY) -m pip install aws-sam-cli     # into this project's .venv" >&2; \
		echo "  or the system installer: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2; \
		exit 1; \
	fi
	@$(MAKE) --no-print-directory $(CARGO_LAMBDA_STAMP)
	@rustup target list --installed | grep -qx $(LAMBDA_TARGET) || rustup target add $(LAMBDA_TARGET)
	@# SAM's rust-cargolambda builder runs cargo-lambda (from .venv) in the workspace root,
	@# in CARGO_TARGET_DIR like make build, so both share their compiled crates.
	cd $(ROOT)/infra && PATH="$(VENV)/bin:$$PATH" $(SAM) build --beta-features
	cd $(ROOT)/infra && $(SAM) deploy --guided

generate-key: ## Print a fresh 64-hex-character API key for MCP_API_KEYS
	@od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; echo

docs: ## Regenerate docs/configuration.md and docs/api-reference.md from the code
	$(CARGO) run -q -p aegis-cli --bin aegis -- docs generate --root $(ROOT)

# The Lambda cold-start measurement of `make bench` (the four functions under `cargo lambda
# watch`, AWS adapters against moto: local/scripts/coldstart.py).
COLD_START_SCRIPT ?= $(ROOT)/local/scripts/cold-start.sh

bench: venv $(CARGO_LAMBDA_STAMP) ## Benchmark suite on release builds (~4 min): figures to docs/bench-results.md and docs/PERFORMANCE.md
	CARGO="$(CARGO)" COLD_START_SCRIPT="$(COLD_START_SCRIPT)" $(ROOT)/local/scripts/bench.sh

fmt: ## Format the Rust code
	$(CARGO) fmt --all

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Fuzzing (fuzz/, outside the workspace): cargo-fuzz needs nightly flags, which stable
# rustc accepts with RUSTC_BOOTSTRAP=1. Not part of `make test`: the instrumented build of
# the shared crate alone takes several minutes. CI runs `make fuzz-smoke` (CI_FUZZ=1).
FUZZ_TARGETS := jsonrpc_envelope tool_arguments repo_path secret_scanner
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_ENV := RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(ROOT)/fuzz/target

fuzz-tools: ## Install cargo-fuzz (crates.io) when missing
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)

fuzz-smoke: fuzz-tools ## Run every fuzz target for FUZZ_SMOKE_SECONDS (default 20 s) each
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZ_SMOKE_SECONDS) s"; \
		(cd $(ROOT)/fuzz && $(FUZZ_ENV) cargo fuzz run -O $$t -- -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1) || exit 1; \
	done

fuzz: fuzz-tools ## Run one target long: make fuzz TARGET=repo_path [FUZZ_SECONDS=600]
	@test -n "$(TARGET)" || { echo "usage: make fuzz TARGET=<$(FUZZ_TARGETS)>" >&2; exit 2; }
	cd $(ROOT)/fuzz && $(FUZZ_ENV) cargo fuzz run -O $(TARGET) -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

clean: ## Remove build output (cargo clean) and Python caches
	$(CARGO) clean
	rm -rf $(ROOT)/tests/python/.pytest_cache
	find $(ROOT)/tests/python -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, plus .venv, .venv-checkov, .venv-mcp1, tests/browser/node_modules, tests/clients/node_modules and the local dev data in .data (including the dev API key)
	rm -rf $(VENV) $(CHECKOV_VENV) $(VENV_MCP1) $(BROWSER_DIR)/node_modules $(CLIENTS_DIR)/node_modules $(ROOT)/.data
