#!/usr/bin/env bash
# Builds deploy/Dockerfile's two targets and checks what they hold and that they run, on a machine without a Docker
# engine (`make imagenes`): buildah builds the Dockerfile as it is, daemonless (vfs storage, chroot isolation, as
# root), and runs commands in the images.
#
# The base is the Dockerfile's own (ARG BASE, pinned by digest) when its registry answers. Where no registry is
# reachable (this project's development machines), a stand-in is made once: Debian bookworm by debootstrap, with its
# python3.11 and venv, and this machine's CAs (so pip inside the build reaches PyPI through the same HTTPS proxy as
# the host). Everything above the base is the Dockerfile's. The checks (each a FALLA line and exit 1 when it fails):
#   runtime: user 10001 and a HEALTHCHECK with the probe in the image's config; `pip check`; every service of the
#            entry points loads; no development package is importable (pytest, buzon_dev, buzon_firma, …); no source
#            tree and no private key (a file other than code that holds one); WeasyPrint renders a PDF with the image's native libraries and font;
#            buzon-migrar migrates a database of its own and `buzon-servicio bitacora` runs against this machine's
#            PostgreSQL and RabbitMQ (a vhost of its own) until its probe `--salud --listo` answers healthy.
#   dev:     the same user; buzon-dev and buzon-firma run.
set -euo pipefail
raiz="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$raiz"

decir() { printf '\033[1m[imagenes]\033[0m %s\n' "$*"; }
falla() { printf '\033[1m[imagenes]\033[0m FALLA: %s\n' "$*" >&2; exit 1; }
como_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

RUNTIME="${BUZON_IMAGEN_RUNTIME:-localhost/buzon-imss:prueba}"
DEV="${BUZON_IMAGEN_DEV:-localhost/buzon-imss-dev:prueba}"
SUSTITUTA=localhost/buzon-base-sustituta:bookworm
BD_ADMIN="${BUZON_IMAGEN_BD_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
BD="postgresql://buzon:buzon@127.0.0.1:5432/buzon_imagen"
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot

faltan=()
for p in buildah debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || faltan+=("$p")
done
if [ ${#faltan[@]} -gt 0 ]; then
  decir "instalando paquetes de Debian: ${faltan[*]}"
  como_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive como_root apt-get install -y -qq --no-install-recommends "${faltan[@]}"
fi
b() { como_root env STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot buildah "$@"; }

# --- the base ---
BASE="$(sed -n 's/^ARG BASE=//p' deploy/Dockerfile)"
if timeout 120 env STORAGE_DRIVER=vfs buildah pull -q "$BASE" >/dev/null 2>&1 || \
   { [ "$(id -u)" -ne 0 ] && timeout 120 sudo env STORAGE_DRIVER=vfs buildah pull -q "$BASE" >/dev/null 2>&1; }; then
  base="$BASE"
  decir "base: $BASE"
else
  base="$SUSTITUTA"
  decir "el registro de $BASE no responde: base sustituta $SUSTITUTA (Debian bookworm, python3.11)"
  if ! b inspect --type image "$base" >/dev/null 2>&1; then
    trabajo="$(mktemp -d)"
    decir "debootstrap de bookworm (una vez)"
    como_root debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
      bookworm "$trabajo/raiz" http://deb.debian.org/debian >"$trabajo/debootstrap.log" 2>&1 \
      || { tail -20 "$trabajo/debootstrap.log" >&2; falla "debootstrap"; }
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      como_root cp /usr/local/share/ca-certificates/*.crt "$trabajo/raiz/usr/local/share/ca-certificates/"
      como_root chroot "$trabajo/raiz" update-ca-certificates >/dev/null
    fi
    c="$(b from scratch)"
    m="$(b mount "$c")"
    como_root cp -a "$trabajo/raiz/." "$m/"
    b umount "$c" >/dev/null
    b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
      --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt --cmd python3 "$c"
    b commit -q "$c" "$base" >/dev/null
    b rm "$c" >/dev/null
    como_root rm -rf "$trabajo"
  fi
fi

# --- the two targets, from the Dockerfile as it is ---
for objetivo in runtime dev; do
  etiqueta="$RUNTIME"; [ "$objetivo" = dev ] && etiqueta="$DEV"
  decir "construyendo $objetivo -> $etiqueta"
  b bud --format docker --layers --pull=never -q -f deploy/Dockerfile --target "$objetivo" \
    --build-arg "BASE=$base" -t "$etiqueta" . >/dev/null || falla "la construcción de $objetivo"
done

# A command in a fresh container of an image, on the host's network; the container is removed after.
en() {
  local imagen="$1"; shift
  local c rc=0
  c="$(b from -q --pull=never "$imagen")"
  b run --network host "$c" -- "$@" || rc=$?
  b rm "$c" >/dev/null
  return "$rc"
}
config() { b inspect --type image --format "$2" "$1"; }

# --- runtime ---
[ "$(config "$RUNTIME" '{{.Docker.Config.User}}')" = "10001:10001" ] || falla "runtime no corre como 10001:10001"
salud="$(config "$RUNTIME" '{{.Docker.Config.Healthcheck.Test}}')"
case "$salud" in *buzon-servicio*--salud*) ;; *) falla "runtime sin HEALTHCHECK con la sonda: $salud";; esac
[ "$(en "$RUNTIME" id -u)" = 10001 ] || falla "un proceso de runtime no corre como 10001"
en "$RUNTIME" pip check >/dev/null || falla "pip check en runtime"
en "$RUNTIME" python - <<'EOF' || falla "servicios o paquetes de runtime"
import importlib.util
from importlib.metadata import entry_points

servicios = [ep.name for ep in entry_points(group="buzon.servicios") if ep.load()]
assert len(servicios) >= 10, servicios
de_desarrollo = [m for m in ("pytest", "hypothesis", "schemathesis", "ruff", "playwright", "aiosmtpd", "buzon_dev",
                             "buzon_firma") if importlib.util.find_spec(m) is not None]
assert not de_desarrollo, f"paquetes de desarrollo en runtime: {de_desarrollo}"
print("servicios:", " ".join(sorted(servicios)))
EOF
en "$RUNTIME" sh -c '! test -e /src && ! ls -d /opt/buzon/src /datos/* 2>/dev/null | grep -q . \
  && ! grep -rlI --exclude-dir=__pycache__ --exclude="*.py" "BEGIN [A-Z ]*PRIVATE KEY" /opt/buzon /datos /home \
       2>/dev/null | grep -q .' \
  || falla "runtime lleva un árbol de fuentes, datos o una llave privada"
en "$RUNTIME" python -c "
from weasyprint import HTML
pdf = HTML(string='<p>Acuse de recepción: señalización, año</p>').write_pdf()
assert pdf.startswith(b'%PDF') and len(pdf) > 1000, len(pdf)
" || falla "WeasyPrint no genera un PDF en runtime"

# buzon-migrar, then a service and its probe, against this machine's PostgreSQL and RabbitMQ.
psql "$BD_ADMIN" -qc "DROP DATABASE IF EXISTS buzon_imagen" -c "CREATE DATABASE buzon_imagen OWNER buzon" >/dev/null
como_root rabbitmqctl -q delete_vhost buzon_imagen >/dev/null 2>&1 || true
como_root rabbitmqctl -q add_vhost buzon_imagen >/dev/null
como_root rabbitmqctl -q set_permissions -p buzon_imagen guest ".*" ".*" ".*" >/dev/null
en "$RUNTIME" env BUZON_DATABASE_URL="$BD" BUZON_AMQP_URI="amqp://guest:guest@127.0.0.1:5672/buzon_imagen" \
  BUZON_DATA_DIR=/tmp/datos BUZON_SALUD_DIR=/tmp/salud sh -c '
  buzon-migrar >/dev/null || exit 1
  buzon-servicio bitacora >/tmp/bitacora.log 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do
    if buzon-servicio bitacora --salud --listo --plazo 3; then kill -TERM "$pid"; wait "$pid"; exit 0; fi
    sleep 1
  done
  kill -TERM "$pid"; tail -20 /tmp/bitacora.log >&2; exit 1' || falla "buzon-servicio bitacora no quedó sano en runtime"
psql "$BD" -Atqc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bitacora'" | grep -qv '^0$' \
  || falla "buzon-migrar no creó las tablas de bitacora"
como_root rabbitmqctl -q delete_vhost buzon_imagen >/dev/null
psql "$BD_ADMIN" -qc "DROP DATABASE buzon_imagen" >/dev/null

# --- dev ---
[ "$(config "$DEV" '{{.Docker.Config.User}}')" = "10001:10001" ] || falla "dev no corre como 10001:10001"
en "$DEV" buzon-dev --help >/dev/null || falla "buzon-dev en dev"
en "$DEV" buzon-firma --help >/dev/null || falla "buzon-firma en dev"

decir "listo: $RUNTIME y $DEV construidas desde deploy/Dockerfile (base $base) y comprobadas"
