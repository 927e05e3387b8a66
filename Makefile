# AegisGitea MCP: build, run and test from a clean clone.
#
#   make dev    run the whole stack locally (Gitea simulator + every function on one port)
#   make test   Rust tests, then the Python interop suite with the official MCP SDK
#   make docs   regenerate the configuration and API reference pages from the code
#   make bench  the benchmark suite (release builds), figures into docs/
#
# `make help` lists every target. One cargo target dir is shared by every target
# (CARGO_TARGET_DIR, default ./target), including the Lambda build.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export CARGO_TARGET_DIR ?= $(ROOT)/target

CARGO ?= cargo
PYTHON ?= python3
VENV := $(ROOT)/.venv
VENV_PY := $(VENV)/bin/python
REQUIREMENTS := $(ROOT)/tests/python/requirements.txt
# Rebuilt whenever requirements.txt is newer: `make venv` is idempotent and cheap.
VENV_STAMP := $(VENV)/.requirements.stamp

LAMBDA_TARGET := aarch64-unknown-linux-gnu
LAMBDA_BINS := aegis-mcp aegis-oauth aegis-webhook aegis-jobs
CARGO_LAMBDA_VERSION := 1.9.2
CARGO_LAMBDA_STAMP := $(VENV)/.cargo-lambda-$(CARGO_LAMBDA_VERSION).stamp

PYTEST_ARGS ?=

# The consent-page browser test: Debian's chromium (never a downloaded browser) driven by
# npm playwright-core from tests/browser/node_modules.
BROWSER_DIR := $(ROOT)/tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed.stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: help venv browser-deps build-bins test test-rust test-python dev build generate-key fmt lint docs bench clean distclean

help: ## List the targets
	@echo "AegisGitea MCP - make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## Create .venv with the pinned Python test tools (tests/python/requirements.txt)

$(VENV_STAMP): $(REQUIREMENTS)
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r $(REQUIREMENTS)
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

build-bins: ## Build every binary (debug): aegis-local, gitea-sim and the function binaries
	$(CARGO) build --bins

test: build-bins venv browser-deps ## Run cargo test --workspace (--no-fail-fast), then the Python interop suite; fails if either fails
	@rust=ok; python=ok; \
	echo "==> cargo test --workspace"; \
	$(CARGO) test --workspace --no-fail-fast || rust=FAILED; \
	echo "==> python interop suite (tests/python)"; \
	$(VENV_PY) -m pytest $(ROOT)/tests/python $(PYTEST_ARGS) || python=FAILED; \
	echo "make test: cargo test $$rust, python interop suite $$python"; \
	[ $$rust = ok ] && [ $$python = ok ]

test-rust: ## Run only cargo test --workspace
	$(CARGO) test --workspace --no-fail-fast

test-python: build-bins venv browser-deps ## Run only the Python interop suite (PYTEST_ARGS="-k name" to filter)
	$(VENV_PY) -m pytest $(ROOT)/tests/python $(PYTEST_ARGS)

dev: venv ## Run the stack locally: gitea-sim (unless GITEA_URL is set) + aegis-local on 127.0.0.1:8080 (OAUTH=1 for OAuth mode)
	@$(ROOT)/local/dev.sh

$(CARGO_LAMBDA_STAMP): $(VENV_STAMP)
	$(VENV_PY) -m pip install --disable-pip-version-check -q cargo-lambda==$(CARGO_LAMBDA_VERSION)
	@touch $@

build: $(CARGO_LAMBDA_STAMP) ## Build the four Lambda functions for arm64 (target/lambda/<fn>/bootstrap)
	@rustup target list --installed | grep -qx $(LAMBDA_TARGET) || rustup target add $(LAMBDA_TARGET)
	PATH="$(VENV)/bin:$$PATH" $(CARGO) lambda build --release --arm64 $(addprefix --bin ,$(LAMBDA_BINS))
	@for bin in $(LAMBDA_BINS); do \
		f=$(CARGO_TARGET_DIR)/lambda/$$bin/bootstrap; \
		test -x $$f || { echo "missing $$f" >&2; exit 1; }; \
		printf '  %-14s %s (%s bytes)\n' $$bin $$f $$(stat -c %s $$f); \
	done

generate-key: ## Print a fresh 64-hex-character API key for MCP_API_KEYS
	@od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; echo

docs: ## Regenerate docs/configuration.md and docs/api-reference.md from the code
	$(CARGO) run -q -p aegis-cli --bin aegis -- docs generate --root $(ROOT)

# Hook for the Lambda cold-start measurement (one cold invocation per function binary under
# `cargo lambda watch`): the AWS work provides this script; until then `make bench` reports
# cold start as skipped.
COLD_START_SCRIPT ?= $(ROOT)/local/scripts/cold-start.sh

bench: ## Benchmark suite on release builds (~4 min): figures to docs/bench-results.md and docs/PERFORMANCE.md
	CARGO="$(CARGO)" COLD_START_SCRIPT="$(COLD_START_SCRIPT)" $(ROOT)/local/scripts/bench.sh

fmt: ## Format the Rust code
	$(CARGO) fmt --all

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean: ## Remove build output (cargo clean) and Python caches
	$(CARGO) clean
	rm -rf $(ROOT)/tests/python/.pytest_cache
	find $(ROOT)/tests/python -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, plus .venv, tests/browser/node_modules and the local dev data in .data (including the dev API key)
	rm -rf $(VENV) $(BROWSER_DIR)/node_modules $(ROOT)/.data
