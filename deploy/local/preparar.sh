#!/usr/bin/env bash
# Prepares this machine for `make run` (modo run) or `make test` (modo test): Debian packages that are
# missing, RabbitMQ (and PostgreSQL for tests) running, and the virtualenv with the pinned packages.
# Safe to run again: it only does what is missing.
set -euo pipefail
modo="${1:-run}"
raiz="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$raiz"
PYTHON="${PYTHON:-python3}"
VENV="$raiz/.venv"

decir() { printf '\033[1m[preparar]\033[0m %s\n' "$*"; }
como_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

paquetes=(rabbitmq-server libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "$modo" = test ]; then
  # chromium: the browser tests drive Debian's Chromium with Playwright (its own browser download can't be used).
  # pgbouncer: tests/test_pgbouncer.py runs the services through it in transaction mode (an instance of its own on
  # a free port).
  paquetes+=(postgresql poppler-utils docker-compose chromium pgbouncer)
fi
faltan=()
for p in "${paquetes[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || faltan+=("$p")
done
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then faltan+=(python3-venv); fi
if [ ${#faltan[@]} -gt 0 ]; then
  decir "instalando paquetes de Debian: ${faltan[*]}"
  como_root apt-get update -qq
  # Services must not try to start through an init system inside apt: we start them below.
  DEBIAN_FRONTEND=noninteractive como_root apt-get install -y -qq --no-install-recommends "${faltan[@]}"
fi

puerto_abierto() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
esperar_puerto() {
  for _ in $(seq 1 120); do puerto_abierto "$1" && return 0; sleep 0.5; done
  return 1
}

# RabbitMQ, with the management plugin (operators use it; the tests make a vhost per test through it).
if [ "$modo" = test ] && ! grep -qs rabbitmq_management /etc/rabbitmq/enabled_plugins; then
  decir "habilitando rabbitmq_management"
  if puerto_abierto 5672; then como_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  else como_root rabbitmq-plugins --offline enable rabbitmq_management >/dev/null; fi
fi
if ! puerto_abierto 5672; then
  # A node whose app was stopped (`rabbitmqctl stop_app`) still runs and answers ping with 5672 closed; a
  # second `rabbitmq-server -detached` would only clash with it, so start its app instead.
  if como_root rabbitmq-diagnostics -q ping -t 10 >/dev/null 2>&1; then
    decir "iniciando la aplicación de RabbitMQ (el nodo ya corre)"
    como_root rabbitmqctl -q start_app
  else
    decir "iniciando RabbitMQ"
    como_root rabbitmq-server -detached
  fi
  esperar_puerto 5672 || { echo "RabbitMQ no inició" >&2; exit 1; }
fi
if [ "$modo" = test ]; then
  esperar_puerto 15672 || { echo "la API de gestión de RabbitMQ no responde en 15672" >&2; exit 1; }
fi

if [ "$modo" = test ]; then
  if ! puerto_abierto 5432; then
    decir "iniciando PostgreSQL"
    como_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    esperar_puerto 5432 || { echo "PostgreSQL no inició" >&2; exit 1; }
  fi
  # A role and a database for the tests, made as the postgres superuser (works with peer and trust auth).
  psql_pg() { como_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
  if [ "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname='buzon'")" != 1 ]; then
    decir "creando el rol buzon"
    psql_pg "CREATE ROLE buzon LOGIN PASSWORD 'buzon' CREATEDB"
  fi
  for bd in buzon_test buzon_e2e buzon_fallas buzon_banco; do
    if [ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname='$bd'")" != 1 ]; then
      decir "creando la base de datos $bd"
      psql_pg "CREATE DATABASE $bd OWNER buzon"
    fi
  done
fi

# The virtualenv, reinstalled only when the requirements change.
sello="$VENV/.instalado"
if [ ! -x "$VENV/bin/python" ]; then
  decir "creando el entorno virtual $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# Development and tests need the whole set (requirements-dev.txt: the runtime one, buzon-dev, the test runners),
# pinned by both lock files; the image's runtime target installs requirements.txt alone.
fijados=(-c requirements.lock -c requirements-dev.lock)
if [ ! -f "$sello" ] || [ -n "$(find requirements.txt requirements.lock requirements-dev.txt requirements-dev.lock \
       -newer "$sello" -print -quit)" ] \
   || [ -n "$(find . -name pyproject.toml -newer "$sello" -not -path './.venv/*' -print -quit)" ]; then
  decir "instalando los paquetes fijados (requirements.lock y requirements-dev.lock)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${fijados[@]}" pip setuptools
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation "${fijados[@]}" -r requirements-dev.txt
  touch "$sello"
fi
decir "listo ($modo)"
