# The two commands: `make run` (the whole system, in the foreground) and `make test` (every test).
SHELL := /bin/bash
VENV := .venv
export BUZON_DATA_DIR ?= $(CURDIR)/var

# Tests run on PostgreSQL and RabbitMQ on this machine (preparar.sh test starts and sets them up).
TEST_DATABASE_URL ?= postgresql://buzon:buzon@127.0.0.1:5432/buzon_test
TEST_E2E_DATABASE_URL ?= postgresql://buzon:buzon@127.0.0.1:5432/buzon_e2e

.PHONY: run test test-fallas bench bench-campana imagenes up down demo preparar preparar-test lock migrar limpiar vendor

run: preparar
	$(VENV)/bin/buzon-dev local

test: preparar-test
	$(VENV)/bin/ruff check --quiet .
	BUZON_TEST_DATABASE_URL=$(TEST_DATABASE_URL) BUZON_TEST_E2E_DATABASE_URL=$(TEST_E2E_DATABASE_URL) \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

# The fault suite at the issue's scale (300 people and 50 activations per scenario, 60 s outages): about 12
# minutes; it restarts the local RabbitMQ and PostgreSQL, so it runs alone. It writes docs/fiabilidad.md.
# `make test` runs the same scenarios at a small scale.
test-fallas: preparar-test
	BUZON_TEST_DATABASE_URL=$(TEST_DATABASE_URL) BUZON_TEST_E2E_DATABASE_URL=$(TEST_E2E_DATABASE_URL) \
		BUZON_FALLAS_ESCALA=completa BUZON_FALLAS_INFORME=$(CURDIR)/docs/fiabilidad.md \
		$(VENV)/bin/pytest tests/test_fallas.py -p no:randomly $(PYTEST_ARGS)

# What an activation costs (CPU per process, per step) and each path against its baseline, on a system of its own
# (its own database and RabbitMQ vhost, the development stand-ins): a few minutes. It writes docs/rendimiento.md.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--usuarios 300 --concurrencia 50"; see python -m buzon_dev.banco correr -h.
BANCO_DATABASE_URL ?= postgresql://buzon:buzon@127.0.0.1:5432/buzon_banco
bench: preparar-test
	BUZON_BANCO_DATABASE_URL=$(BANCO_DATABASE_URL) $(VENV)/bin/python -m buzon_dev.banco correr $(BENCH_ARGS)

# The Buzón's campaign alone (make bench runs it last): N deposits while people validate their phones, on a system
# of its own; it rewrites only its section of docs/rendimiento.md. See python -m buzon_dev.banco campana -h.
bench-campana: preparar-test
	BUZON_BANCO_DATABASE_URL=$(BANCO_DATABASE_URL) $(VENV)/bin/python -m buzon_dev.banco campana $(BENCH_ARGS)

# deploy/Dockerfile's runtime and dev targets built and checked without a Docker engine (buildah, daemonless):
# what they hold, and a service with its probe running from the runtime image against this machine's PostgreSQL
# and RabbitMQ. A few minutes the first time (a stand-in base when no image registry answers). As root.
imagenes: preparar-test
	deploy/local/probar_imagenes.sh

up: preparar
	$(VENV)/bin/buzon-dev up

down:
	@if [ -x $(VENV)/bin/buzon-dev ]; then $(VENV)/bin/buzon-dev down; else echo "Nada que detener."; fi

# The three steps of the guide for a development Patrón and Particular, against the running system (or one it
# starts and stops); the acuses end up in var/demo/.
demo: preparar
	$(VENV)/bin/buzon-dev demo

migrar: preparar
	$(VENV)/bin/buzon-migrar

preparar:
	@deploy/local/preparar.sh run

preparar-test:
	@deploy/local/preparar.sh test

# Re-pin every third-party package from what the virtualenv holds now: requirements.lock (what the services need
# to run, the image's runtime target) and requirements-dev.lock (the development and test set).
lock:
	$(VENV)/bin/python deploy/local/fijar_versiones.py

# Refresh the JavaScript and the fonts vendored into the pages from the npm registry, at the versions of
# gateway/package-lock.json, and axe-core, which the browser test injects into every page (tests/vendor).
vendor:
	cd gateway && npm ci --ignore-scripts --no-audit --no-fund
	cp gateway/node_modules/node-forge/dist/forge.min.js gateway/buzon_gateway/static/vendor/forge.min.js
	cp gateway/node_modules/node-forge/LICENSE gateway/buzon_gateway/static/vendor/forge.LICENSE
	cd gateway/buzon_gateway/static/vendor && sha256sum forge.min.js > SHA256SUMS
	mkdir -p gateway/buzon_gateway/static/vendor/noto-sans
	cp gateway/node_modules/@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2 gateway/node_modules/@fontsource/noto-sans/files/noto-sans-latin-700-normal.woff2 gateway/buzon_gateway/static/vendor/noto-sans/
	cp gateway/node_modules/@fontsource/noto-sans/LICENSE gateway/buzon_gateway/static/vendor/noto-sans/LICENSE
	cd gateway/buzon_gateway/static/vendor/noto-sans && sha256sum *.woff2 > SHA256SUMS
	mkdir -p tests/vendor
	cp gateway/node_modules/axe-core/axe.min.js tests/vendor/axe.min.js
	cp gateway/node_modules/axe-core/LICENSE tests/vendor/axe.LICENSE
	cd tests/vendor && sha256sum axe.min.js > SHA256SUMS

limpiar:
	rm -rf var artefactos .pytest_cache
