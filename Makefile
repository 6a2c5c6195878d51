# The platform's two commands are `make run` and `make test`; `make check` lints.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BENCH_TOOLS := $(VENV)/bench-tools
BENCH_TOOLS_STAMP := $(BENCH_TOOLS)/.installed-stamp

.PHONY: help run test test-nx check check-deploy check-security asyncapi bench bench-quick bench-tools bench-bus load load-quick chaos venv clean

help:
	@echo "make run        run the whole platform with a demo partner (Ctrl-C stops it)"
	@echo "make test       the whole test suite against RabbitMQ and the embedded store"
	@echo "make test-nx    the whole test suite against nx-27017"
	@echo "make check      lint, format check, types, import contracts, AsyncAPI drift, check-deploy"
	@echo "make check-deploy  compose file, Kubernetes manifests, Dockerfile, configuration table"
	@echo "make check-security  bandit over services/ and deploy/, pip-audit over requirements.lock"
	@echo "make asyncapi   regenerate docs/asyncapi.yaml from the contracts"
	@echo "make bench      every benchmark (bus, gateway, logs, orders, privacy, memory) against its ceiling and goal: docs/performance.md, .json, .png"
	@echo "make bench-quick  every benchmark with small sizes (about 2 min): fails on wrong answers, never on figures; test-artifacts/bench-quick/"
	@echo "make bench-bus  servicekit publish+consume throughput against raw aio-pika and FastStream"
	@echo "make chaos      fault scenarios (broker, processes, store, network, messages, webhooks) on their own broker and store"
	@echo "make load       5 min of mixed load (orders, reads, data-subject requests, webhooks): no errors, queues drain, memory bounded"
	@echo "make load-quick the same checks after 40 s of load"

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found: install Python 3.11+"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: Python 3.11+ is needed ($(PYTHON) is older)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "make: cannot create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

run: venv
	$(PY) -m devstack run

# `make test` runs the whole suite against the default embedded server (FerretDB when Go is
# here, else nx-27017), then the store-compatibility suite and the store-heavy servicekit
# tests against nx-27017 too, so code that leaves the vocabulary both servers honour fails
# (decision 0002). `make test-nx` runs the whole suite against nx-27017 (CI's 20 minutes on
# two cores no longer hold both whole passes).
NX_TESTS := tests/store tests/kit tests/properties/test_inbox_interleavings.py
test: venv
	$(PY) -m devstack rabbitmq
	$(PY) -m devstack chromium
	$(PY) -m pytest --ignore=tests/chaos
	STORE_SERVER=nx $(PY) -m pytest $(NX_TESTS)

test-nx: venv
	$(PY) -m devstack rabbitmq
	$(PY) -m devstack chromium
	STORE_SERVER=nx $(PY) -m pytest --ignore=tests/chaos

check: venv $(BENCH_TOOLS_STAMP)
	$(VENV)/bin/ruff check services deploy tests
	$(VENV)/bin/ruff format --check services deploy tests
	$(VENV)/bin/mypy services deploy/devstack deploy/asyncapi.py deploy/bench_orders.py \
		deploy/bench_logs.py deploy/bench_privacy.py deploy/bench_privacy_commands.py deploy/bench_gateway.py \
		deploy/bench_gateway_stats.py deploy/load.py deploy/load_hooks.py deploy/load_mix.py \
		deploy/load_report.py deploy/load_watch.py \
		deploy/bench.py deploy/bench_runs.py deploy/bench_goals.py deploy/bench_report.py \
		deploy/bench_memory.py deploy/bench_bus.py deploy/bench_bus_procs.py \
		deploy/bench_bus_rounds.py deploy/bench_bus_peer.py deploy/bench_bus_report.py \
		deploy/bench_bus_dedupe.py deploy/bench_bus_render.py
	$(VENV)/bin/mypy --python-executable $(BENCH_TOOLS)/bin/python deploy/bench_chart.py \
		deploy/bench_bus_faststream.py
	$(VENV)/bin/lint-imports
	$(PY) deploy/asyncapi.py --check
	$(MAKE) check-deploy
	$(MAKE) check-security

# Static checks of the production deployment (no Docker engine or cluster needed): the
# configuration table and the env names, docker-compose.yml against the Compose Specification
# schema, the kustomize-built manifests against Kubernetes' schemas, the Dockerfile with
# hadolint. The tools install once into .venv/deploy-tools (pinned; kustomize with Go).
DEPLOY_TOOLS := $(VENV)/deploy-tools
DEPLOY_TOOLS_STAMP := $(DEPLOY_TOOLS)/.installed-stamp
KUSTOMIZE := $(DEPLOY_TOOLS)/bin/kustomize
KUSTOMIZE_VERSION := v5.7.1
KUBERNETES_VERSION := 1.33.0
$(DEPLOY_TOOLS_STAMP): deploy/check-tools.txt
	@test -x $(DEPLOY_TOOLS)/bin/python || $(PYTHON) -m venv $(DEPLOY_TOOLS)
	$(DEPLOY_TOOLS)/bin/pip install --quiet --disable-pip-version-check -r deploy/check-tools.txt
	@touch $(DEPLOY_TOOLS_STAMP)
$(KUSTOMIZE):
	@command -v go >/dev/null || { echo "make: kustomize is built with Go: install Go 1.22+"; exit 1; }
	GOBIN=$(abspath $(DEPLOY_TOOLS)/bin) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
check-deploy: venv $(DEPLOY_TOOLS_STAMP) $(KUSTOMIZE)
	$(VENV)/bin/mypy deploy/config_table.py deploy/deployment_env.py deploy/compose_secrets.py \
		deploy/container/healthcheck.py
	$(PY) deploy/config_table.py --check
	$(DEPLOY_TOOLS)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(KUSTOMIZE) build deploy/kubernetes/overlays/example > $(DEPLOY_TOOLS)/example.yaml
	$(DEPLOY_TOOLS)/bin/kubernetes-validate --strict --quiet -k $(KUBERNETES_VERSION) \
		$(DEPLOY_TOOLS)/example.yaml
	$(DEPLOY_TOOLS)/bin/hadolint Dockerfile

# Security checks: bandit over services/ and deploy/ (its skips, with the reasons, in
# pyproject.toml; other findings justified in place), and pip-audit over requirements.lock's
# pins. pip-audit needs a vulnerability source (PyPI's per-version JSON API, else OSV):
# deploy/vulnerability_source.py picks the one that answers and stops the check with the reason
# when none does, and --strict fails on any pin left unaudited instead of passing. Only
# ALLOW_NO_AUDIT_SOURCE=1 lets the check go on without a source, saying so. The tools install
# once into .venv/security-tools (pinned in deploy/security-tools.txt).
SECURITY_TOOLS := $(VENV)/security-tools
SECURITY_TOOLS_STAMP := $(SECURITY_TOOLS)/.installed-stamp
$(SECURITY_TOOLS_STAMP): deploy/security-tools.txt
	@test -x $(SECURITY_TOOLS)/bin/python || $(PYTHON) -m venv $(SECURITY_TOOLS)
	$(SECURITY_TOOLS)/bin/pip install --quiet --disable-pip-version-check -r deploy/security-tools.txt
	@touch $(SECURITY_TOOLS_STAMP)
check-security: venv $(SECURITY_TOOLS_STAMP)
	$(VENV)/bin/mypy deploy/vulnerability_source.py
	$(SECURITY_TOOLS)/bin/bandit -q -c pyproject.toml -r services deploy
	source=$$($(SECURITY_TOOLS)/bin/python deploy/vulnerability_source.py requirements.lock) || { \
		test "$(ALLOW_NO_AUDIT_SOURCE)" = 1 || exit 1; \
		echo "check-security: WARNING: pip-audit NOT run (ALLOW_NO_AUDIT_SOURCE=1)"; exit 0; }; \
	$(SECURITY_TOOLS)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		--vulnerability-service $$source --requirement requirements.lock

asyncapi: venv
	$(PY) deploy/asyncapi.py

# `make bench` runs every benchmark through deploy/bench.py (its progress on stderr, figures
# against ceilings and goals on stdout) and writes docs/performance.md (between its markers),
# docs/performance.json and the chart docs/performance.png (matplotlib, in .venv/bench-tools).
# BENCH_ARGS passes options to the harness, e.g. `make bench BENCH_ARGS="--only orders,memory
# --args 'orders=--orders 5000 --concurrency 64'"` (`.venv/bin/python deploy/bench.py --help`).
# `make bench-quick` (CI) runs them all with small sizes into test-artifacts/bench-quick/.
$(BENCH_TOOLS_STAMP): deploy/bench-tools.txt
	@test -x $(BENCH_TOOLS)/bin/python || $(PYTHON) -m venv $(BENCH_TOOLS)
	$(BENCH_TOOLS)/bin/pip install --quiet --disable-pip-version-check -r deploy/bench-tools.txt
	@touch $(BENCH_TOOLS_STAMP)
bench-tools: $(BENCH_TOOLS_STAMP)

bench: venv $(BENCH_TOOLS_STAMP)
	$(PY) -m devstack rabbitmq
	$(PY) deploy/bench.py $(BENCH_ARGS)

bench-quick: venv $(BENCH_TOOLS_STAMP)
	$(PY) -m devstack rabbitmq
	$(PY) deploy/bench.py --quick --out test-artifacts/bench-quick $(BENCH_ARGS)

bench-bus: venv $(BENCH_TOOLS_STAMP)
	$(PY) -m devstack rabbitmq
	$(PY) deploy/bench_bus.py

# The fault suite (tests/chaos, left out of `make test`): its own RabbitMQ node and store
# server, which its faults stop and kill; devstack makes sure RabbitMQ is installed.
chaos: venv
	$(PY) -m devstack rabbitmq
	$(PY) -m pytest tests/chaos

# LOAD_ARGS passes options to the load run, e.g. `make load LOAD_ARGS="--minutes 10 --rate 40
# --mix order=50,read=44,access=3,erasure=3"` (`.venv/bin/python deploy/load.py --help`).
load: venv
	$(PY) deploy/load.py $(LOAD_ARGS)

load-quick: venv
	$(PY) deploy/load.py --minutes 0.67 --sample 2 --progress 5 $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
