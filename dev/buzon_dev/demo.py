"""`make demo`: a development Patrón and a development Particular walk the guide's three steps, then use the Buzón.

Against a running `make run` (or `make up`), or starting the system in the background and stopping it after.
It uses what a person uses: the development e.firma files signed on this machine (buzon-firma), the links and
codes that reach the development mail and SMS sinks, the public API. It leaves every acuse as a PDF file.
Once both Buzones are active, the development depositing system (its key, as `make run` prints it) deposits one
notification to each; the Patrón opens theirs by signing the acuse de recibo (buzon-firma) and keeps the document
and the acuse de notificación; the Particular's stays pending, to be opened or deemed notified.
"""
from __future__ import annotations

import base64
import os
import re
import sys
import time
from pathlib import Path

import requests

from buzon_comun.config import PUERTOS_DESARROLLO, Config
from buzon_dev.documentos import firmar_pdf

PASSWORD = "12345678a"
CODIGO = re.compile(r"(?<!\d)\d{5}(?!\d)")
PERSONAS = (
    {"rfc": "EDE0101013A2", "quien": "Patrón IMSS (persona moral)", "correo": "contacto.ede@example.mx",
     "telefono": "5511112222", "correo_rp": "rh.ede@example.mx"},
    {"rfc": "MAVA800101RS5", "quien": "Particular (persona física)", "correo": "ana.martinez@example.mx",
     "telefono": "5533334444"},
)


# Who opens the notification the demo deposits; the other development user's stays pending.
ABRE = "EDE0101013A2"


class ErrorDemo(Exception):
    pass


def documento_pdf(lineas: list[str]) -> bytes:
    """A one-page PDF with these lines (Helvetica, WinAnsi), as small as a deposited document can be."""
    def literal(texto: str) -> bytes:
        crudo = texto.encode("cp1252", "replace")
        return b"(" + crudo.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    texto = b"BT /F1 12 Tf 16 TL 72 720 Td " + b" ".join(literal(linea) + b" Tj T*" for linea in lineas) + b" ET"
    objetos = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(texto), texto),
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    posiciones = []
    for numero, objeto in enumerate(objetos, start=1):
        posiciones.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (numero, objeto)
    inicio_xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objetos) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % posicion for posicion in posiciones)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objetos) + 1, inicio_xref)
    return bytes(pdf)


def paso(texto: str) -> None:
    print(f"\n== {texto}", flush=True)


def detalle(texto: str) -> None:
    print(f"   {texto}", flush=True)


def esperar(condicion, plazo: float = 60, que: str = "la respuesta del sistema"):
    limite = time.monotonic() + plazo
    while time.monotonic() < limite:
        resultado = condicion()
        if resultado:
            return resultado
        time.sleep(0.3)
    raise ErrorDemo(f"no llegó {que} en {plazo:.0f} s")


class Demo:
    def __init__(self, config: Config, salida: Path):
        self.config = config
        self.url = config.public_url
        self.api = f"{self.url}/api/v1"
        self.efirmas = config.data_dir / "efirmas"
        self.salida = salida
        self.correo_web = f"http://127.0.0.1:{PUERTOS_DESARROLLO['correo_web']}"
        self.sms_web = f"http://127.0.0.1:{PUERTOS_DESARROLLO['sms']}"

    # --- the API, as a person's browser would use it ---

    def _llamar(self, metodo: str, ruta: str, cabecera: dict, **kwargs) -> requests.Response:
        return requests.request(metodo, f"{self.api}{ruta}", headers=cabecera, timeout=30, **kwargs)

    def _json(self, respuesta: requests.Response, esperado: int) -> dict:
        if respuesta.status_code != esperado:
            raise ErrorDemo(f"{respuesta.request.method} {respuesta.url}: {respuesta.status_code} {respuesta.text}")
        return respuesta.json()

    def correos(self, para: str) -> list[dict]:
        return requests.get(f"{self.correo_web}/api/mensajes", params={"para": para}, timeout=10).json()["mensajes"]

    def sms(self, para: str) -> list[dict]:
        return requests.get(f"{self.sms_web}/api/mensajes", params={"to": para}, timeout=10).json()["mensajes"]

    # --- the three steps ---

    def ingresar(self, persona: dict) -> dict:
        from buzon_firma.cli import iniciar_sesion

        paso(f"{persona['quien']} {persona['rfc']} · 1. Ingresa al Buzón IMSS con tu e.firma vigente")
        cer, key = self.efirmas / f"{persona['rfc']}.cer", self.efirmas / f"{persona['rfc']}.key"
        if not cer.exists():
            raise ErrorDemo(f"no está la e.firma de desarrollo {cer}: ¿el sistema corre con la PKI de desarrollo?")
        sesion = iniciar_sesion(self.url, cer, key, PASSWORD)
        detalle(f"sesión de {sesion['nombre']} (certificado {sesion['numero_certificado']}); la llave no salió de "
                f"este equipo")
        return {"Authorization": f"Bearer {sesion['token']}"}

    def registrar_medios(self, persona: dict, cabecera: dict) -> list[dict]:
        paso(f"{persona['rfc']} · 2. Registra y valida tus medios de contacto")
        medios = self._json(self._llamar("GET", "/medios-contacto", cabecera), 200)["medios"]
        for medio in medios:
            if medio["estado"] == "pendiente":
                self._json(self._llamar("DELETE", f"/medios-contacto/{medio['id']}", cabecera), 200)
        vigentes = {(m["mecanismo"], tuple(m["registros_patronales"])): m for m in medios if m["estado"] == "validado"}
        pedidos = [("correo", persona["correo"], None), ("telefono", persona["telefono"], None)]
        if persona.get("correo_rp"):
            rps = self._json(self._llamar("GET", "/registros-patronales", cabecera), 200)["registros_patronales"]
            detalle("Registros Patronales: " + ", ".join(rp["registro_patronal"] for rp in rps))
            pedidos.append(("correo", persona["correo_rp"], ["*"]))
        validados = []
        for mecanismo, valor, rps in pedidos:
            ya = [m for (mec, alcance), m in vigentes.items() if mec == mecanismo and bool(alcance) == bool(rps)]
            if ya:
                detalle(f"{mecanismo} {ya[0]['valor']} ya estaba validado (folio {ya[0]['folio']})")
                validados.append(ya[0])
                continue
            validados.append(self._registrar_y_validar(cabecera, mecanismo, valor, rps))
        return validados

    def _registrar_y_validar(self, cabecera: dict, mecanismo: str, valor: str, rps) -> dict:
        cuerpo = {"mecanismo": mecanismo, "valor": valor, **({"registros_patronales": rps} if rps else {})}
        antes = len(self.correos(valor) if mecanismo == "correo" else self.sms("+52" + valor))
        medio = self._json(self._llamar("POST", "/medios-contacto", cabecera, json=cuerpo), 201)
        alcance = f" para los RP {', '.join(medio['registros_patronales'])}" if medio["registros_patronales"] else ""
        detalle(f"{mecanismo} {medio['valor']}{alcance}: registrado, folio {medio['folio']}, "
                f"{medio['registrado_en']} (recuadro verde)")
        if mecanismo == "correo":
            mensaje = esperar(lambda: self.correos(valor)[: len(self.correos(valor)) - antes], que="el correo")[0]
            enlace = re.search(re.escape(self.url) + r"/\S+", mensaje["texto"]).group(0)
            detalle(f"correo recibido: «{mensaje['asunto']}»; clic en «aquí»")
            pagina = requests.get(enlace, timeout=30)
            if pagina.status_code != 200:
                raise ErrorDemo(f"la página de validación respondió {pagina.status_code}")
            detalle("la página confirma la validación (Cerrar)")
        else:
            mensaje = esperar(lambda: self.sms("+52" + valor)[: len(self.sms("+52" + valor)) - antes], que="el SMS")[0]
            codigo = CODIGO.search(mensaje["text"]).group(0)
            detalle(f"SMS recibido con el código {codigo}; Validación de Celular")
            self._json(self._llamar("POST", f"/medios-contacto/{medio['id']}/validacion", cabecera,
                                    json={"codigo": codigo}), 200)
        validado = esperar(lambda: next((m for m in self._json(self._llamar("GET", "/medios-contacto", cabecera),
                                                                200)["medios"]
                                         if m["id"] == medio["id"] and m["estado"] == "validado"), None))
        detalle(f"{mecanismo} validado, folio del acuse de validación {validado['acuses']['validacion']}")
        return validado

    def activar(self, persona: dict, cabecera: dict) -> dict:
        from buzon_firma.cli import cargar_certificado, cargar_llave, certificado_b64, firmar, verificar_par

        paso(f"{persona['rfc']} · 3. Firma la Solicitud y manifestación de conformidad")
        estado = self._json(self._llamar("GET", "/activacion", cabecera), 200)
        detalle(f"tipo: {estado['tipo']}; requisitos: {estado['requisitos']}")
        if estado["aviso"]:
            detalle(f"aviso: {estado['aviso']}")
        if estado["estado"] == "activo":
            detalle(f"el Buzón IMSS ya estaba activo (folio {estado['folio']})")
            return estado
        solicitud = self._json(self._llamar("GET", "/activacion/solicitud", cabecera), 200)
        detalle("Solicitud y manifestación del solicitante: " + solicitud["texto"][:100].replace("\n", " ") + "…")
        cer, key = self.efirmas / f"{persona['rfc']}.cer", self.efirmas / f"{persona['rfc']}.key"
        llave = cargar_llave(key, PASSWORD)
        verificar_par(llave, cargar_certificado(cer))
        activado = self._json(self._llamar("POST", "/activacion", cabecera, json={
            "certificado": certificado_b64(cer), "firma": firmar(llave, solicitud["cadena_original"])}), 201)
        detalle(f"Aceptar y firmar: Buzón IMSS activo, folio {activado['folio']}, {activado['activado_en']}")
        return activado

    def descargar_acuses(self, persona: dict, cabecera: dict, medios: list[dict]) -> list[Path]:
        paso(f"{persona['rfc']} · Acuses")
        carpeta = self.salida / persona["rfc"]
        carpeta.mkdir(parents=True, exist_ok=True)
        descargas = [("/activacion/acuse", carpeta / "acuse-solicitud-y-manifestacion.pdf")]
        for medio in medios:
            for tipo in ("registro", "validacion"):
                descargas.append((f"/medios-contacto/{medio['id']}/acuses/{tipo}",
                                  carpeta / f"acuse-{tipo}-{medio['mecanismo']}-{medio['acuses'][tipo]}.pdf"))
        guardados = []
        for ruta, archivo in descargas:
            respuesta = esperar(lambda: (r := self._llamar("GET", ruta, cabecera)).status_code == 200 and r,
                                que=f"el acuse {ruta}")
            archivo.write_bytes(respuesta.content)
            detalle(f"{archivo}")
            guardados.append(archivo)
        return guardados

    # --- the Buzón: the Institute notifies, the person opens by signing ---

    def depositar(self, persona: dict, cabecera: dict, clave_sistema: str) -> dict:
        """As the development depositing system: one notification to this person's Buzón, and its avisos."""
        paso(f"{persona['rfc']} · 4. Buzón IMSS: el Instituto te deposita una notificación")
        sistema = {"Authorization": f"Bearer {clave_sistema}"}
        referencia = f"DEMO-{persona['rfc']}-{time.strftime('%Y%m%d-%H%M%S')}"
        asunto = "Invitación a regularizar el pago de cuotas obrero patronales"
        rps = []
        if persona.get("correo_rp"):
            rps = [self._json(self._llamar("GET", "/registros-patronales", cabecera),
                              200)["registros_patronales"][0]["registro_patronal"]]
        documento = documento_pdf(["Instituto Mexicano del Seguro Social", "Subdelegación Cuauhtémoc", "",
                                   f"Oficio {referencia}", f"Destinatario: {persona['rfc']}"
                                   + (f", Registro Patronal {rps[0]}" if rps else ""), "",
                                   asunto + ".", "Documento de demostración (make demo)."])
        # Signed as the Institute signs its acts, with the development key the launcher gave buzon to trust.
        documento = firmar_pdf(documento, self.config.data_dir / "pki-documentos")
        antes = len(self.correos(persona["correo"]))
        depositada = self._json(self._llamar("POST", "/notificaciones", sistema, json={
            "rfc": persona["rfc"], **({"registros_patronales": rps} if rps else {}), "asunto": asunto,
            "area": "Subdelegación Cuauhtémoc", "tipo_acto": "Invitación", "referencia": referencia,
            "documento": base64.b64encode(documento).decode("ascii")}), 201)
        detalle(f"depositada por el sistema «desarrollo»: {referencia}" + (f" para el RP {rps[0]}" if rps else "")
                + f", id {depositada['id']}, {depositada['depositada_en']}")
        aviso = esperar(lambda: [c for c in self.correos(persona["correo"])[: len(self.correos(persona["correo"]))
                                                                          - antes]
                                 if "Tienes un mensaje" in c["asunto"]], que="el aviso por correo")[0]
        detalle(f"aviso en {persona['correo']}: «{aviso['asunto']}» (sin el asunto ni el documento)")
        vista = esperar(lambda: (v := self._json(self._llamar("GET", f"/notificaciones/{depositada['id']}", sistema),
                                                 200))["aviso_enviado_en"] and v, que="el envío de los avisos")
        avisos = ", ".join(f"{a['mecanismo']} {a['estado']}" for a in vista["avisos"])
        detalle(f"el sistema depositante ve los avisos: {avisos}; enviados {vista['aviso_enviado_en']}")
        return depositada

    def abrir(self, persona: dict, cabecera: dict, id_notificacion: str) -> list[Path]:
        from buzon_firma.cli import abrir_notificacion, descargar_acuse_notificacion, descargar_documento

        paso(f"{persona['rfc']} · 5. Abre la notificación firmando el acuse de recibo con tu e.firma")
        token = cabecera["Authorization"].removeprefix("Bearer ")
        [listada] = [n for n in self._json(self._llamar("GET", "/buzon/notificaciones", cabecera),
                                           200)["notificaciones"] if n["id"] == id_notificacion]
        detalle(f"en tu Buzón: «{listada['asunto']}», {listada['area']}, {listada['estado']}")
        cer, key = self.efirmas / f"{persona['rfc']}.cer", self.efirmas / f"{persona['rfc']}.key"
        abierta = abrir_notificacion(self.url, token, id_notificacion, cer, key, PASSWORD)
        codigo = abierta["codigo_verificacion"] or "impreso en el acuse"
        detalle(f"abierta el {abierta['notificada_en']}: acuse de notificación {abierta['folio_acuse']}, código de "
                f"verificación {codigo}")
        carpeta = self.salida / persona["rfc"]
        documento = carpeta / f"notificacion-{id_notificacion}.pdf"
        documento.write_bytes(descargar_documento(self.url, token, id_notificacion))
        acuse = carpeta / f"acuse-notificacion-{abierta['folio_acuse']}.pdf"
        acuse.write_bytes(descargar_acuse_notificacion(self.url, token, id_notificacion))
        for archivo in (documento, acuse):
            detalle(f"{archivo}")
        return [documento, acuse]

    def buzon(self, sesiones: dict[str, dict]) -> None:
        """Step 4 for each development user, step 5 for one of them."""
        from buzon_firma.cli import ErrorFirma
        from buzon_gateway.notificaciones_buzon import clave_desarrollo

        if self.config.sistemas_depositantes:
            paso("4. Buzón IMSS: se omite, BUZON_SISTEMAS_DEPOSITANTES está definida y la demostración no tiene "
                 "la clave de ningún sistema depositante")
            return
        if os.environ.get("BUZON_DOCUMENTOS_CA_DIR"):
            paso("4. Buzón IMSS: se omite, BUZON_DOCUMENTOS_CA_DIR está definida y la demostración no tiene la "
                 "llave con que el Instituto firma sus documentos")
            return
        clave = clave_desarrollo(self.config)
        depositadas = {persona["rfc"]: self.depositar(persona, sesiones[persona["rfc"]], clave)
                       for persona in PERSONAS}
        for persona in PERSONAS:
            if persona["rfc"] == ABRE:
                try:
                    self.abrir(persona, sesiones[persona["rfc"]], depositadas[persona["rfc"]]["id"])
                except ErrorFirma as error:
                    raise ErrorDemo(f"buzon-firma: {error}") from None
            else:
                paso(f"{persona['rfc']} · 5. La notificación queda pendiente")
                detalle(f"id {depositadas[persona['rfc']]['id']}: ábrela con buzon-firma abrir; si no la abres en "
                        "3 días hábiles, se tiene por notificada al día hábil siguiente")


def ejecutar(args) -> int:
    from buzon_dev.lanzador import abajo, arriba, salud_ok

    config = Config.desde_entorno()
    iniciado_aqui = False
    if not salud_ok(f"{config.public_url}/health"):
        print("El sistema no está en marcha: se inicia en segundo plano (make up)…", flush=True)
        if arriba(args) != 0:
            return 1
        iniciado_aqui = True
    demo = Demo(config, config.data_dir / "demo")
    try:
        sesiones = {}
        for persona in PERSONAS:
            cabecera = sesiones[persona["rfc"]] = demo.ingresar(persona)
            medios = demo.registrar_medios(persona, cabecera)
            demo.activar(persona, cabecera)
            demo.descargar_acuses(persona, cabecera, medios)
        demo.buzon(sesiones)
        print(f"\nListo: los acuses y la notificación abierta quedaron en {demo.salida}", flush=True)
        return 0
    except ErrorDemo as error:
        print(f"\ndemo: {error}", file=sys.stderr)
        return 1
    finally:
        if iniciado_aqui and not os.environ.get("BUZON_DEMO_DEJAR_ARRIBA"):
            abajo(args)


def registrar_cli(subparsers) -> None:
    subparsers.add_parser("demo", help="recorre los tres pasos con un Patrón y un Particular de desarrollo, les "
                                       "deposita una notificación y el Patrón la abre (make demo)"
                          ).set_defaults(func=ejecutar)
