"""The Kubernetes deployment (deploy/k8s): every overlay rendered with `kubectl kustomize` and checked against the code
it deploys: a Deployment per worker kind, each safe and sized as docs/capacidad.md says, and able to start in
produccion with what it is given; KEDA's queues and RabbitMQ's permissions computed from the service classes; the
NetworkPolicies evaluated for every pod; the alerts and the dashboard on metrics the code exports.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import shutil
import subprocess
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

RAIZ = Path(__file__).resolve().parents[1]
K8S = RAIZ / "deploy" / "k8s"
PRINCIPAL = "overlays/produccion"
MIGRACIONES = "overlays/produccion/migraciones"
ESPACIO = "buzon"
VHOST = "buzon"
PLACEHOLDER = "CAMBIAR"


# --- the code: worker kinds, their queues and exchanges, their schemas ---------------------------------------------

def clases_de_servicio() -> dict:
    """`buzon-servicio NAME` → its nameko class, as the runner finds them (the `buzon.servicios` entry points)."""
    return {ep.name: ep for ep in entry_points(group="buzon.servicios")}


NOMBRES = sorted(clases_de_servicio())


@cache
def contenedor(nombre: str):
    from nameko.containers import ServiceContainer

    return ServiceContainer(clases_de_servicio()[nombre].load(), {"AMQP_URI": "memory://"})


@cache
def mensajeria(nombre: str) -> dict:
    """What the service class declares, consumes and publishes on RabbitMQ: nameko's and buzon_comun's own
    extensions set up (names computed, nothing connected)."""
    from kombu import Exchange
    from nameko.amqp.publish import Publisher
    from nameko.messaging import Consumer
    from nameko.rpc import ReplyListener, Rpc, RpcConsumer, get_rpc_exchange

    from buzon_comun.remoto import Remoto
    from buzon_comun.servicio import Salida

    c = contenedor(nombre)
    consume, declara, publica = [], [], set()
    for ext in c.extensions:
        if isinstance(ext, (Consumer, RpcConsumer, ReplyListener, Salida)):
            ext.setup()
        if isinstance(ext, (Consumer, RpcConsumer, ReplyListener)):
            consume.append(ext.queue)
        publicador = getattr(ext, "publicador", None)
        if isinstance(publicador, Publisher):
            for entidad in publicador.declare:
                declara.append(entidad)
                publica.add(entidad.name if isinstance(entidad, Exchange) else entidad.exchange.name)
    rpc = get_rpc_exchange(c.config).name
    if any(isinstance(e, Rpc) for e in c.entrypoints) or any(isinstance(d, Remoto) for d in c.dependencies):
        publica.add(rpc)  # replies to callers, or requests to other services
    return {"consume": consume, "declara": declara, "publica": publica, "nameko": c.service_name}


@cache
def operaciones_amqp(nombre: str) -> frozenset:
    """(permission, resource) pairs the service's AMQP operations need (rabbitmq.com/docs/access-control)."""
    m = mensajeria(nombre)
    ops = set()

    def declarar(entidad):
        from kombu import Exchange

        if isinstance(entidad, Exchange):
            if entidad.name:
                ops.add(("configure", entidad.name))
            return
        ops.add(("configure", entidad.name))
        enlaces = [entidad.exchange] if entidad.exchange is not None and entidad.exchange.name else []
        enlaces += [b.exchange for b in (entidad.bindings or ()) if b.exchange is not None and b.exchange.name]
        for intercambio in enlaces:
            ops.update({("configure", intercambio.name), ("write", entidad.name), ("read", intercambio.name)})
        dlx = (entidad.queue_arguments or {}).get("x-dead-letter-exchange")
        if dlx is not None:
            ops.update({("write", dlx or "amq.default"), ("read", entidad.name)})

    for cola in m["consume"]:
        declarar(cola)
        ops.add(("read", cola.name))
    for entidad in m["declara"]:
        declarar(entidad)
    ops.update(("write", intercambio or "amq.default") for intercambio in m["publica"])
    return frozenset(ops)


@cache
def esquema_de(nombre: str) -> str | None:
    """The schema the service's database dependency opens (None: it keeps no data), from its own setup."""
    import buzon_comun.db
    from buzon_comun.db import BaseDatos

    deps = [d for d in contenedor(nombre).dependencies if isinstance(d, BaseDatos)]
    if not deps:
        return None
    abiertos = []
    modulo = importlib.import_module(type(deps[0]).__module__)
    originales = {m: m.crear_engine for m in (buzon_comun.db, modulo) if hasattr(m, "crear_engine")}
    for m in originales:
        m.crear_engine = lambda _config, esquema, *a, **k: abiertos.append(esquema)
    try:
        deps[0].setup()
    finally:
        for m, original in originales.items():
            m.crear_engine = original
    return abiertos[0]


def esquemas_con_migraciones() -> set[str]:
    return {ep.name for ep in entry_points(group="buzon.migraciones")}


# --- the manifests ------------------------------------------------------------------------------------------------

def renderizar(carpeta: str) -> list[dict]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl no está instalado: los manifiestos se generan con `kubectl kustomize` (kustomize v5 "
                    "integrado); instálelo para validar deploy/k8s")
    salida = subprocess.run(["kubectl", "kustomize", str(K8S / carpeta)], capture_output=True, text=True, timeout=60)
    assert salida.returncode == 0, f"kubectl kustomize {carpeta}: {salida.stderr}"
    return [d for d in yaml.safe_load_all(salida.stdout) if d]


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return renderizar(PRINCIPAL)


@pytest.fixture(scope="module")
def docs_migraciones() -> list[dict]:
    return renderizar(MIGRACIONES)


def de_tipo(docs, tipo) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == tipo}


def configuracion(docs) -> dict:
    (mapa,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("buzon-config")]
    return mapa["data"]


def contenedor_principal(dep) -> dict:
    (servicio,) = [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "servicio"]
    return servicio


def entorno_de(docs, c: dict) -> dict:
    """The environment the container's process sees: its ConfigMaps, then its env with $(VAR) expanded; a value
    from a Secret reads as a placeholder."""
    entorno = {}
    for fuente in c.get("envFrom", []):
        nombre = fuente["configMapRef"]["name"]
        entorno.update(next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == nombre)["data"])
    for var in c.get("env", []):
        if "value" in var:
            entorno[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: entorno.get(m.group(1), m.group(0)), var["value"])
        elif not var["valueFrom"]["secretKeyRef"].get("optional"):
            entorno[var["name"]] = "secreto"
    return entorno


def todos_los_contenedores(plantilla) -> list[dict]:
    spec = plantilla["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def valor_secreto(c: dict, variable: str) -> tuple[str, str]:
    (var,) = [v for v in c["env"] if v["name"] == variable]
    ref = var["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def milicores(texto) -> int:
    texto = str(texto).strip()
    return int(texto[:-1]) if texto.endswith("m") else int(float(texto) * 1000)


def mebibytes(texto) -> float:
    unidades = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for sufijo, factor in unidades.items():
        if str(texto).endswith(sufijo):
            return float(str(texto)[: -len(sufijo)]) * factor
    raise AssertionError(f"memoria sin unidad binaria: {texto}")


def opcion(args: list, nombre: str) -> str | None:
    return args[args.index(nombre) + 1] if nombre in args else None


# --- Deployments --------------------------------------------------------------------------------------------------

def test_cada_clase_de_trabajador_del_codigo_tiene_su_deployment(docs):
    deployments = de_tipo(docs, "Deployment")
    assert "acuses-render" in NOMBRES, "el código aún no declara acuses-render en buzon.servicios"
    assert sorted(deployments) == NOMBRES
    for nombre, dep in deployments.items():
        c = contenedor_principal(dep)
        assert c["command"] == ["buzon-servicio"] and c["args"][0] == nombre, nombre


@pytest.mark.parametrize("nombre", NOMBRES)
def test_deployment_seguro_con_sondas_recursos_y_gracia(docs, nombre):
    dep = de_tipo(docs, "Deployment")[nombre]
    plantilla = dep["spec"]["template"]
    spec = plantilla["spec"]
    etiquetas = plantilla["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": nombre}
    assert etiquetas["app.kubernetes.io/name"] == nombre

    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    montajes_tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for c in todos_los_contenedores(plantilla):
        seg = c["securityContext"]
        assert seg["allowPrivilegeEscalation"] is False, c["name"]
        assert seg["readOnlyRootFilesystem"] is True, c["name"]
        assert seg["capabilities"]["drop"] == ["ALL"], c["name"]
        recursos = c["resources"]
        for recurso in ("cpu", "memory"):
            pedido, limite = recursos["requests"][recurso], recursos["limits"][recurso]
            convertir = milicores if recurso == "cpu" else mebibytes
            assert convertir(limite) >= convertir(pedido), (c["name"], recurso)
        # Read-only root: /tmp is writable (the probe's heartbeat, Python's temporary files).
        assert any(m["mountPath"] == "/tmp" and m["name"] in montajes_tmp for m in c["volumeMounts"]), c["name"]

    c = contenedor_principal(dep)
    entorno = entorno_de(docs, c)
    montados = [m["mountPath"] for m in c["volumeMounts"]]
    assert entorno["BUZON_SALUD_DIR"].startswith("/tmp/")
    assert entorno["BUZON_DATA_DIR"] in montados
    # Every file its configuration names is mounted (certificates, the seal, SAT's CAs, the padrón).
    from buzon_comun import produccion

    suyas = {v for v, req in produccion.VARIABLES.items()
             if {produccion.nombre_servicio(nombre), produccion.CADA_SERVICIO} & req.servicios}
    for variable, valor in entorno.items():
        if variable not in suyas | {"SSL_CERT_FILE"}:
            continue
        for ruta in re.findall(r"(/etc/buzon/[\w./-]+)", valor):
            assert any(ruta.startswith(m.rstrip("/") + "/") or ruta == m for m in montados), (variable, ruta)

    sonda = ["buzon-servicio", nombre, "--salud"]
    assert c["livenessProbe"]["exec"]["command"][:3] == sonda
    assert c["startupProbe"]["exec"]["command"][:3] == sonda
    listo = c["readinessProbe"]
    if "exec" in listo:
        assert listo["exec"]["command"][:3] == sonda
        # --listo asks the kind (any replica and its database): a database outage would unready every pod.
        assert "--listo" not in listo["exec"]["command"]
    else:
        assert nombre == "gateway"
        # Not /health: it is 503 whenever any service is down, and every gateway pod would leave the Service.
        assert listo["httpGet"]["path"] not in ("/health", "/metrics")

    # The kubelet kills a pod terminationGracePeriodSeconds after SIGTERM (and after its preStop): longer than the
    # grace the process gives its work in flight.
    gracia = opcion(c["args"], "--gracia")
    assert gracia is not None, "--gracia explícita, para compararla con terminationGracePeriodSeconds"
    prestop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    espera = float(prestop[1]) if prestop[:1] == ["sleep"] else 0
    assert spec["terminationGracePeriodSeconds"] > float(gracia) + espera

    claves = {t["topologyKey"] for t in spec["topologySpreadConstraints"]}
    assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= claves

    pdbs = [p for p in de_tipo(docs, "PodDisruptionBudget").values()
            if p["spec"]["selector"]["matchLabels"].items() <= etiquetas.items()]
    assert len(pdbs) == 1, "un PodDisruptionBudget por Deployment"
    assert pdbs[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("nombre", NOMBRES)
def test_cada_proceso_arrancaria_en_produccion(docs, nombre):
    """The environment each container gets passes the process's own production check (buzon_comun.produccion),
    with TLS to RabbitMQ and PostgreSQL through PgBouncer as its own role."""
    from buzon_comun import produccion

    c = contenedor_principal(de_tipo(docs, "Deployment")[nombre])
    entorno = entorno_de(docs, c)
    assert entorno["BUZON_ENTORNO"] == "produccion"
    assert entorno["BUZON_COLAS_QUORUM"] == "1"
    assert produccion.comprobar(entorno, nombre) == []
    assert re.fullmatch(rf"amqps://secreto:secreto@buzon-rabbitmq:5671/{VHOST}", entorno["BUZON_AMQP_URI"])
    assert valor_secreto(c, "AMQP_USUARIO") == (f"buzon-amqp-{nombre}", "username")
    assert entorno["SSL_CERT_FILE"].startswith("/etc/buzon/ca/")
    esquema = esquema_de(nombre)
    if esquema is None:
        assert "BUZON_DATABASE_URL" not in entorno and "PG_USUARIO" not in entorno, \
            "un tipo sin datos no recibe base ni credenciales"
    else:
        url = entorno["BUZON_DATABASE_URL"]
        assert "@buzon-pg-pooler-rw:5432/buzon?" in url and "sslmode=verify-" in url
        assert valor_secreto(c, "PG_USUARIO") == (f"buzon-bd-{esquema}", "username")


def tabla_de_capacidad() -> dict[str, dict]:
    """docs/capacidad.md §3: per Deployment, the replicas, scaling, CPU and memory the manifests must carry."""
    texto = (RAIZ / "docs" / "capacidad.md").read_text(encoding="utf-8")
    seccion = texto.split("## 3.", 1)[1].split("\n## ", 1)[0]
    filas = {}
    for linea in seccion.splitlines():
        celdas = [c.strip() for c in linea.strip().strip("|").split("|")]
        if len(celdas) != 8 or not re.match(r"[a-z]", celdas[0]) or celdas[0].startswith("Deployment"):
            continue
        nombre = celdas[0].split()[0]
        replicas = re.match(r"(\d+)(?:\s*[–-]\s*(\d+))?", celdas[4])
        cpu = [p.strip() for p in celdas[6].split("/")]
        memoria = [p.strip() for p in celdas[7].split("/")]
        filas[nombre] = {"min": int(replicas.group(1)), "max": int(replicas.group(2) or replicas.group(1)),
                         "escalado": celdas[5], "cpu": tuple(milicores(x) for x in cpu),
                         "memoria": tuple(mebibytes(x) for x in memoria), "fila": celdas[0]}
    return filas


def test_recursos_y_replicas_como_el_modelo_de_capacidad(docs):
    modelo = tabla_de_capacidad()
    assert sorted(modelo) == NOMBRES, "docs/capacidad.md §3 y los Deployments nombran los mismos servicios"
    deployments = de_tipo(docs, "Deployment")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in de_tipo(docs, "HorizontalPodAutoscaler").values()}
    kedas = {s["spec"]["scaleTargetRef"]["name"]: s for s in de_tipo(docs, "ScaledObject").values()}
    for nombre, fila in modelo.items():
        dep = deployments[nombre]
        recursos = contenedor_principal(dep)["resources"]
        assert (milicores(recursos["requests"]["cpu"]), milicores(recursos["limits"]["cpu"])) == fila["cpu"], nombre
        assert (mebibytes(recursos["requests"]["memory"]),
                mebibytes(recursos["limits"]["memory"])) == fila["memoria"], nombre
        if nombre in hpas:
            assert fila["escalado"].startswith("HPA"), nombre
            limites = (hpas[nombre]["spec"]["minReplicas"], hpas[nombre]["spec"]["maxReplicas"])
        elif nombre in kedas:
            assert fila["escalado"].startswith("KEDA"), nombre
            limites = (kedas[nombre]["spec"]["minReplicaCount"], kedas[nombre]["spec"]["maxReplicaCount"])
        else:
            assert fila["escalado"] == "fijo", nombre
            limites = (dep["spec"]["replicas"],) * 2
        # An autoscaled Deployment names no replicas: each `kubectl apply` would reset what its scaler set.
        assert ("replicas" in dep["spec"]) == (fila["escalado"] == "fijo"), nombre
        assert limites == (fila["min"], fila["max"]), nombre
        assert fila["min"] >= 2, f"{nombre}: una réplica sobrevive a un nodo perdido"
        procesos = re.search(r"BUZON_ACUSES_PROCESOS=(\d+)", fila["fila"])
        if procesos:
            entorno = entorno_de(docs, contenedor_principal(dep))
            assert entorno["BUZON_ACUSES_PROCESOS"] == procesos.group(1)


def test_el_gateway_escala_por_cpu_y_entra_por_un_ingress_con_tls(docs):
    (hpa,) = de_tipo(docs, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    servicio = de_tipo(docs, "Service")["gateway"]
    assert servicio["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}
    gateway = contenedor_principal(de_tipo(docs, "Deployment")["gateway"])
    puertos = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    assert servicio["spec"]["ports"][0]["targetPort"] == "http" and puertos["http"] == 8000
    (ingress,) = de_tipo(docs, "Ingress").values()
    host = configuracion(docs)["BUZON_PUBLIC_URL"].removeprefix("https://").rstrip("/")
    assert configuracion(docs)["BUZON_PUBLIC_URL"].startswith("https://")
    assert [r["host"] for r in ingress["spec"]["rules"]] == [host]
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "buzon-gateway-tls"}]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    (ruta,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert ruta["backend"]["service"]["name"] == "gateway"


def test_una_sola_imagen_y_una_sola_version(docs, docs_migraciones):
    imagenes = {c["image"] for d in docs + docs_migraciones if d["kind"] in ("Deployment", "Job")
                for c in todos_los_contenedores(d["spec"]["template"])}
    (imagen,) = imagenes
    nombre, _, etiqueta = imagen.rpartition(":")
    assert nombre.endswith("/buzon-imss") and etiqueta
    for d in docs + docs_migraciones:
        if d["kind"] in ("Deployment", "Job"):
            assert d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == etiqueta


# --- migrations ---------------------------------------------------------------------------------------------------

def test_migraciones_un_job_por_version_antes_de_los_pods(docs, docs_migraciones):
    assert not de_tipo(docs, "Job"), "el Job va aparte: su plantilla no cambia una vez creado"
    (job,) = de_tipo(docs_migraciones, "Job").values()
    assert job["metadata"]["namespace"] == ESPACIO
    plantilla = job["spec"]["template"]
    por_esquema = {c["name"]: c for c in plantilla["spec"]["containers"]}
    assert set(por_esquema) == esquemas_con_migraciones()
    for esquema, c in por_esquema.items():
        assert c["command"] == ["buzon-migrar", esquema]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        entorno = entorno_de(docs_migraciones, c)
        assert entorno["BUZON_ENTORNO"] == "produccion"
        # Straight to the primary: buzon-migrar's advisory lock is per session, which PgBouncer's transaction
        # mode would hand to another client.
        assert "@buzon-pg-rw:5432/buzon?" in entorno["BUZON_DATABASE_URL"]
        assert valor_secreto(c, "PG_USUARIO") == (f"buzon-bd-{esquema}", "username")
    # Every pod with data waits for its schema to be at this image's head.
    for nombre, dep in de_tipo(docs, "Deployment").items():
        esquema = esquema_de(nombre)
        inits = dep["spec"]["template"]["spec"].get("initContainers", [])
        if esquema is None:
            assert not inits, nombre
            continue
        (espera,) = inits
        assert espera["command"][:3] == ["python", "/opt/buzon/esperar_migraciones.py", esquema], nombre
        assert "@buzon-pg-pooler-rw:5432/" in entorno_de(docs, espera)["BUZON_DATABASE_URL"]


def cargar_esperar_migraciones():
    ruta = K8S / "base" / "scripts" / "esperar_migraciones.py"
    spec = importlib.util.spec_from_file_location("esperar_migraciones", ruta)
    modulo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(modulo)
    return modulo


def test_el_paso_de_inicio_espera_al_esquema_de_esta_version(tmp_path):
    from buzon_comun.config import Config
    from buzon_comun.migraciones import migrar

    esperar = cargar_esperar_migraciones()
    config = Config.desde_entorno({"BUZON_DATA_DIR": str(tmp_path)})
    assert esperar.comparar("bitacora", esperar.revisiones_de_la_base(config, "bitacora")) == esperar.ATRASADA
    reloj = iter(range(0, 100, 10))
    dormidas = []
    assert not esperar.esperar(config, "bitacora", plazo_s=25, cada_s=10, reloj=lambda: next(reloj),
                               dormir=dormidas.append)
    assert dormidas, "reintenta antes de rendirse"

    migrar(config, ["bitacora"])
    assert esperar.revisiones_de_la_base(config, "bitacora") == esperar.cabezas_del_codigo("bitacora")
    assert esperar.esperar(config, "bitacora", plazo_s=0, cada_s=1, dormir=dormidas.append)
    # A revision this image doesn't know: a newer version migrated (a rollback); the pod starts.
    assert esperar.comparar("bitacora", {"f0f0f0f0f0f0"}) == esperar.MAS_NUEVA


# --- KEDA and RabbitMQ --------------------------------------------------------------------------------------------

def test_keda_escala_sobre_las_colas_que_el_codigo_consume(docs):
    escalados = de_tipo(docs, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in escalados.values()} == {
        "notificaciones-correo", "notificaciones-sms", "acuses-render"}
    for s in escalados.values():
        nombre = s["spec"]["scaleTargetRef"]["name"]
        consumidas = mensajeria(nombre)["consume"]
        # The queue of its work: the event handler's for the email and SMS workers, the RPC queue for the
        # renderers (their only entrypoint).
        trabajo = [q.name for q in consumidas if q.name.startswith("evt-")] or \
                  [q.name for q in consumidas if q.name.startswith("rpc-")]
        # One trigger per queue of its work (the email and SMS workers: contactos' requests and buzon's avisos);
        # KEDA scales on the one that asks for most replicas.
        disparos = s["spec"]["triggers"]
        assert sorted(d["metadata"]["queueName"] for d in disparos) == sorted(trabajo), nombre
        for disparo in disparos:
            assert disparo["type"] == "rabbitmq" and disparo["metadata"]["mode"] == "QueueLength"
            assert disparo["metadata"]["vhostName"] == VHOST
            assert disparo["authenticationRef"]["name"] in de_tipo(docs, "TriggerAuthentication")


def test_rabbitmq_tres_nodos_con_tls(docs):
    (cluster,) = de_tipo(docs, "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    assert cluster["spec"]["tls"]["disableNonTLSListeners"] is True
    certificados = {c["spec"]["secretName"] for c in de_tipo(docs, "Certificate").values()}
    assert cluster["spec"]["tls"]["secretName"] in certificados
    assert [v["spec"]["name"] for v in de_tipo(docs, "Vhost").values()] == [VHOST]


def permisos(docs) -> dict[str, dict]:
    """Deployment → its user's permissions, through the Secret of its AMQP credentials."""
    usuarios = {u["spec"]["importCredentialsSecret"]["name"]: nombre for nombre, u in de_tipo(docs, "User").items()}
    por_usuario = {p["spec"]["userReference"]["name"]: p["spec"] for p in de_tipo(docs, "Permission").values()}
    resultado = {}
    for nombre, dep in de_tipo(docs, "Deployment").items():
        secreto, _ = valor_secreto(contenedor_principal(dep), "AMQP_USUARIO")
        spec = por_usuario[usuarios[secreto]]
        assert spec["vhost"] == VHOST
        resultado[nombre] = spec["permissions"]
    return resultado


def test_cada_servicio_tiene_su_usuario_de_rabbitmq_con_sus_colas_y_nada_mas(docs):
    """Each user is allowed exactly the operations its own code performs, among every name the system uses: its
    RPC, reply and event queues, not another service's; its events exchange, no other's."""
    por_servicio = permisos(docs)
    assert len({json.dumps(p, sort_keys=True) for p in por_servicio.values()}) == len(por_servicio)
    universo = set().union(*(operaciones_amqp(n) for n in NOMBRES))
    fallas = []
    for nombre, regex in por_servicio.items():
        for permiso in ("configure", "write", "read"):
            assert re.fullmatch(r"\^\(.*\)\$|\^\$", regex[permiso]), (nombre, permiso, "sin anclar")
        necesita = operaciones_amqp(nombre)
        for permiso, recurso in sorted(universo):
            # RabbitMQ matches a permission's regex anywhere in the name, as re.search does.
            permitido = re.search(regex[permiso], recurso) is not None
            if permitido != ((permiso, recurso) in necesita):
                fallas.append(f"{nombre}: {permiso} {recurso}: {'sobra' if permitido else 'falta'}")
    assert not fallas, "\n".join(fallas)


def test_los_permisos_distinguen_servicios_de_nombre_parecido(docs):
    por_servicio = permisos(docs)
    ajenas = {"notificaciones": ["rpc-notificaciones_correo", "rpc-notificaciones_sms"],
              "acuses": ["rpc-acuses_render", "rpc.reply-acuses_render-0f7b5c1e-1d2a-4b3c-9d8e-7f6a5b4c3d2e"],
              "contactos": ["evt-contactos-correo_solicitado--notificaciones_correo.correo_solicitado"]}
    for nombre, colas in ajenas.items():
        for cola in colas:
            assert re.search(por_servicio[nombre]["read"], cola) is None, (nombre, cola)
            assert re.search(por_servicio[nombre]["configure"], cola) is None, (nombre, cola)


# --- PostgreSQL ---------------------------------------------------------------------------------------------------

def test_postgresql_un_rol_por_esquema_pgbouncer_y_respaldos(docs):
    (cluster,) = de_tipo(docs, "Cluster").values()
    spec = cluster["spec"]
    assert spec["instances"] == 3
    esquemas = esquemas_con_migraciones()
    assert {esquema_de(n) for n in NOMBRES} - {None} == esquemas
    roles = {r["name"]: r for r in spec["managed"]["roles"]}
    assert set(roles) == esquemas
    sql = spec["bootstrap"]["initdb"]["postInitApplicationSQL"]
    for esquema in esquemas:
        assert roles[esquema]["passwordSecret"]["name"] == f"buzon-bd-{esquema}"
        assert not any(roles[esquema].get(p) for p in ("superuser", "createdb", "createrole", "bypassrls"))
        assert f"CREATE SCHEMA {esquema} AUTHORIZATION {esquema}" in sql
        # For operators' psql; the services SET LOCAL their schema in every transaction (buzon_comun.db.en_esquema).
        assert f"ALTER ROLE {esquema} IN DATABASE buzon SET search_path = {esquema}" in sql
    # Connect only: every schema is made here, so no role may create schemas of its own (buzon-migrar creates one
    # only when it is missing, and here none is).
    (concesion,) = [s for s in sql if s.startswith("GRANT") and "ON DATABASE" in s]
    assert concesion.startswith("GRANT CONNECT ON DATABASE buzon TO ")
    assert set(concesion.split(" TO ")[1].replace(" ", "").split(",")) == esquemas
    (pooler,) = de_tipo(docs, "Pooler").values()
    assert pooler["metadata"]["name"] == "buzon-pg-pooler-rw"
    assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    almacen = spec["backup"]["barmanObjectStore"]
    assert almacen["destinationPath"].startswith("s3://") and spec["backup"]["retentionPolicy"]
    (respaldo,) = de_tipo(docs, "ScheduledBackup").values()
    assert respaldo["spec"]["cluster"]["name"] == cluster["metadata"]["name"]


# --- Secrets ------------------------------------------------------------------------------------------------------

def referencias_a_secretos(docs) -> set[tuple[str, str | None]]:
    refs = set()

    def recorrer(nodo, tipo):
        if isinstance(nodo, dict):
            if "secretKeyRef" in nodo and not nodo["secretKeyRef"].get("optional"):
                refs.add((nodo["secretKeyRef"]["name"], nodo["secretKeyRef"]["key"]))
            if "secret" in nodo and isinstance(nodo["secret"], dict) and "secretName" in nodo["secret"]:
                for item in nodo["secret"].get("items", [{"key": None}]):
                    refs.add((nodo["secret"]["secretName"], item["key"]))
            for clave in ("passwordSecret", "importCredentialsSecret"):
                if clave in nodo:
                    refs.add((nodo[clave]["name"], None))
            if tipo == "Cluster" and "accessKeyId" in nodo:
                for parte in ("accessKeyId", "secretAccessKey"):
                    refs.add((nodo[parte]["name"], nodo[parte]["key"]))
            for hijo in nodo.values():
                recorrer(hijo, tipo)
        elif isinstance(nodo, list):
            for hijo in nodo:
                recorrer(hijo, tipo)

    for d in docs:
        recorrer(d.get("spec", {}), d["kind"])
        if d["kind"] == "Cluster":
            refs.add((d["spec"]["bootstrap"]["initdb"]["secret"]["name"], None))
        if d["kind"] == "TriggerAuthentication":
            refs.update((r["name"], r["key"]) for r in d["spec"]["secretTargetRef"])
    return refs


def test_cada_secreto_referido_esta_en_el_ejemplo_sin_valores_reales(docs, docs_migraciones):
    ejemplo = [d for d in yaml.safe_load_all((K8S / "secretos-ejemplo.yaml").read_text(encoding="utf-8")) if d]
    secretos = {d["metadata"]["name"]: d["stringData"] for d in ejemplo if d["kind"] == "Secret"}
    mapas = {d["metadata"]["name"]: d["data"] for d in ejemplo if d["kind"] == "ConfigMap"}
    hechos_por_cert_manager = {c["spec"]["secretName"] for c in de_tipo(docs, "Certificate").values()}
    todos = docs + docs_migraciones
    for nombre, clave in sorted(referencias_a_secretos(todos), key=str):
        if nombre in hechos_por_cert_manager:
            continue
        assert nombre in secretos, f"falta el Secret {nombre} en secretos-ejemplo.yaml"
        assert clave is None or clave in secretos[nombre], f"falta la clave {clave} del Secret {nombre}"
    for nombre, datos in secretos.items():
        for clave, valor in datos.items():
            if clave != "username" and clave != "tls":
                assert PLACEHOLDER in valor, f"{nombre}.{clave}: solo marcadores en el repositorio"
    # ConfigMaps the operator makes (public certificates), referred to and not rendered.
    generados = {d["metadata"]["name"] for d in todos if d["kind"] == "ConfigMap"}
    for d in todos:
        for plantilla in ([d["spec"]["template"]] if d["kind"] in ("Deployment", "Job") else []):
            for volumen in plantilla["spec"]["volumes"]:
                nombre = volumen.get("configMap", {}).get("name")
                if nombre and nombre not in generados:
                    assert nombre in mapas, f"falta el ConfigMap {nombre} en secretos-ejemplo.yaml"
    usadas = {r for d in todos if d["kind"] in ("Deployment", "Job")
              for c in todos_los_contenedores(d["spec"]["template"]) for r in
              re.findall(r"/etc/buzon/ca/([\w.-]+)", json.dumps(c))}
    assert usadas <= set(mapas["buzon-ca"])


# --- NetworkPolicies ----------------------------------------------------------------------------------------------

def coincide(selector: dict | None, etiquetas: dict) -> bool:
    if selector is None:
        return True
    if any(etiquetas.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        valor, presente = etiquetas.get(e["key"]), e["key"] in etiquetas
        ok = {"In": presente and valor in e.get("values", []), "NotIn": not (presente and valor in e["values"]),
              "Exists": presente, "DoesNotExist": not presente}[e["operator"]]
        if not ok:
            return False
    return True


def par_coincide(par: dict, otro) -> bool:
    """`otro` is a pod (namespace, labels) or an outside address (str)."""
    if "ipBlock" in par:
        if not isinstance(otro, str):
            return False
        ip = ipaddress.ip_address(otro)
        return ip in ipaddress.ip_network(par["ipBlock"]["cidr"]) and not any(
            ip in ipaddress.ip_network(x) for x in par["ipBlock"].get("except", []))
    if isinstance(otro, str):
        return False
    espacio, etiquetas = otro
    if "namespaceSelector" in par:
        if not coincide(par["namespaceSelector"], {"kubernetes.io/metadata.name": espacio}):
            return False
    elif espacio != ESPACIO:
        return False
    return coincide(par.get("podSelector"), etiquetas)


def puerto_coincide(puertos, puerto: int, protocolo: str) -> bool:
    return not puertos or any(p.get("protocol", "TCP") == protocolo and p.get("port") in (None, puerto)
                              for p in puertos)


def lado_permite(politicas, pod, otro, puerto, protocolo, tipo) -> bool:
    espacio, etiquetas = pod
    if espacio != ESPACIO:
        return True  # outside the namespace: not ours to restrict
    aplicables = [p for p in politicas if tipo in p["spec"]["policyTypes"] and coincide(p["spec"]["podSelector"],
                                                                                         etiquetas)]
    if not aplicables:
        return True
    clave, pares = ("egress", "to") if tipo == "Egress" else ("ingress", "from")
    return any((not regla.get(pares) or any(par_coincide(par, otro) for par in regla[pares]))
               and puerto_coincide(regla.get("ports"), puerto, protocolo)
               for p in aplicables for regla in p["spec"].get(clave, []))


def permite(politicas, origen, destino, puerto: int, protocolo: str = "TCP") -> bool:
    salida = lado_permite(politicas, origen, destino, puerto, protocolo, "Egress")
    entrada = isinstance(destino, str) or lado_permite(politicas, destino, origen, puerto, protocolo, "Ingress")
    return salida and entrada


def test_politicas_de_red(docs, docs_migraciones):
    politicas = list(de_tipo(docs, "NetworkPolicy").values())
    assert any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in politicas), \
        "una política niega todo por omisión"
    pods = {n: (ESPACIO, d["spec"]["template"]["metadata"]["labels"]) for n, d in de_tipo(docs, "Deployment").items()}
    (job,) = de_tipo(docs_migraciones, "Job").values()
    migrar = (ESPACIO, job["spec"]["template"]["metadata"]["labels"])
    (rabbit,) = de_tipo(docs, "RabbitmqCluster")
    (postgres,) = de_tipo(docs, "Cluster")
    (pooler,) = de_tipo(docs, "Pooler")
    # The labels the operators give their pods.
    broker = (ESPACIO, {"app.kubernetes.io/name": rabbit, "app.kubernetes.io/component": "rabbitmq"})
    base = (ESPACIO, {"cnpg.io/cluster": postgres, "cnpg.io/instanceRole": "primary"})
    pgbouncer = (ESPACIO, {"cnpg.io/poolerName": pooler, "cnpg.io/cluster": postgres})
    dns = ("kube-system", {"k8s-app": "kube-dns"})
    ingreso = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    prometheus = ("monitoring", {"app.kubernetes.io/name": "prometheus"})
    extrano = ("otro", {})
    internet = "203.0.113.7"
    salidas = {"notificaciones-correo": {587}, "notificaciones-sms": {443}, "auth": {80, 443}}

    for nombre, pod in pods.items():
        assert permite(politicas, pod, dns, 53, "UDP"), nombre
        assert permite(politicas, pod, broker, 5671), nombre
        assert permite(politicas, pod, pgbouncer, 5432) == (esquema_de(nombre) is not None), nombre
        assert not permite(politicas, pod, base, 5432), f"{nombre} llega a PostgreSQL sin PgBouncer"
        assert not permite(politicas, pod, broker, 15671), nombre
        for otro_nombre, otro in pods.items():
            assert not permite(politicas, pod, otro, 9100), (nombre, otro_nombre)
        for puerto in (80, 443, 587):
            assert permite(politicas, pod, internet, puerto) == (puerto in salidas.get(nombre, ())), (nombre, puerto)
        assert not permite(politicas, pod, "10.1.2.3", 587), nombre
        puertos = [p["containerPort"] for p in contenedor_principal(de_tipo(docs, "Deployment")[nombre])["ports"]]
        for puerto in puertos:
            assert permite(politicas, prometheus, pod, puerto), (nombre, puerto)
            assert permite(politicas, ingreso, pod, puerto) == (nombre == "gateway"), (nombre, puerto)
            assert not permite(politicas, extrano, pod, puerto), (nombre, puerto)
    assert permite(politicas, migrar, base, 5432)
    assert permite(politicas, pgbouncer, base, 5432)
    assert permite(politicas, base, base, 5432), "réplicas de PostgreSQL entre sí"
    assert permite(politicas, broker, broker, 25672), "nodos de RabbitMQ entre sí"
    assert permite(politicas, ("keda", {}), broker, 15671)
    assert permite(politicas, prometheus, broker, 15691)
    assert not permite(politicas, extrano, broker, 5671)
    assert not permite(politicas, extrano, pgbouncer, 5432)


# --- Prometheus ---------------------------------------------------------------------------------------------------

# What RabbitMQ's /metrics/detailed serves for the families monitores.yaml asks (queue_coarse_metrics,
# queue_consumer_count).
METRICAS_RABBITMQ = {"rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
                     "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_consumers"}


def metricas_del_codigo() -> set[str]:
    """Every series name the code's processes export: the prometheus_client registry once every worker kind's
    class is imported (counters as *_total, histograms as *_bucket/_sum/_count)."""
    from prometheus_client import REGISTRY

    for nombre in NOMBRES:
        clases_de_servicio()[nombre].load()
    return set(REGISTRY._names_to_collectors)


def nombres_en(expresion: str) -> set[str]:
    return set(re.findall(r"\b((?:buzon|rabbitmq)_[a-z0-9_]+)\b", expresion))


def expresiones_de_alertas(docs) -> dict[str, str]:
    (reglas,) = de_tipo(docs, "PrometheusRule").values()
    return {r["alert"]: r["expr"] for g in reglas["spec"]["groups"] for r in g["rules"]}


def test_las_alertas_usan_metricas_que_el_codigo_exporta(docs):
    alertas = expresiones_de_alertas(docs)
    # Queue depth and age, dead letters, 5xx, OCSP, renders, notifications nobody was told of.
    for necesaria in ("BuzonColaProfunda", "BuzonColaSinVaciarse", "BuzonColaApartadosCrece", "BuzonEventosApartados",
                      "BuzonErrores5xx", "BuzonOcspNoDisponible", "BuzonRenderFallando", "BuzonNotificacionesSinAviso"):
        assert necesaria in alertas
    exportadas = metricas_del_codigo() | METRICAS_RABBITMQ
    for alerta, expresion in alertas.items():
        nombres = nombres_en(expresion)
        assert nombres, alerta
        assert nombres <= exportadas, (alerta, nombres - exportadas)
    # The label values they filter on are the code's: nameko service names and entrypoints.
    servicios = {mensajeria(n)["nameko"] for n in NOMBRES}
    for expresion in alertas.values():
        assert set(re.findall(r'servicio="(\w+)"', expresion)) <= servicios
    assert "componente" in json.dumps(de_tipo(docs, "PodMonitor")["buzon-servicios"])


def test_prometheus_lee_los_puertos_de_metricas(docs):
    monitor = de_tipo(docs, "PodMonitor")["buzon-servicios"]["spec"]
    puertos = {e["port"] for e in monitor["podMetricsEndpoints"]}
    for nombre, dep in de_tipo(docs, "Deployment").items():
        c = contenedor_principal(dep)
        nombres = {p["name"] for p in c["ports"]}
        assert nombres & puertos, nombre
        if "metricas" in nombres:
            puerto = next(p["containerPort"] for p in c["ports"] if p["name"] == "metricas")
            entorno = entorno_de(docs, c)
            assert entorno["BUZON_METRICAS_PUERTO"] == str(puerto) and entorno["BUZON_METRICAS_HOST"] == "0.0.0.0"
    rabbit = de_tipo(docs, "PodMonitor")["buzon-rabbitmq"]["spec"]["podMetricsEndpoints"]
    assert any(set(e.get("params", {}).get("family", [])) >= {"queue_coarse_metrics", "queue_consumer_count"}
               for e in rabbit)


def test_tablero_de_grafana_con_red_de_cada_servicio_y_colas(docs):
    mapa = de_tipo(docs, "ConfigMap")["buzon-tablero"]
    assert mapa["metadata"]["labels"]["grafana_dashboard"] == "1"
    tablero = json.loads(mapa["data"]["tablero-buzon.json"])
    expresiones = [t["expr"] for p in tablero["panels"] for t in p.get("targets", [])]
    exportadas = metricas_del_codigo() | METRICAS_RABBITMQ
    for expresion in expresiones:
        assert nombres_en(expresion) <= exportadas, expresion
    # Rate, Errors and Duration of every service (by its `servicio` label), and the depth of every queue.
    red = [e for e in expresiones if "by (servicio" in e]
    assert any("buzon_llamadas_total[" in e for e in red)
    assert any('resultado="error"' in e for e in red)
    assert any("buzon_llamada_duracion_segundos_bucket" in e and "histogram_quantile" in e for e in red)
    assert any("rabbitmq_detailed_queue_messages_ready" in e and "by (queue)" in e for e in expresiones)
