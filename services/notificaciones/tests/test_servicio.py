"""The three services on real RabbitMQ and PostgreSQL, sending to the development mail and SMS sinks; buzon's
avisos of notifications sent from buzon's exchange with their real origin, announced so buzon finds its own, and
never ahead of a person waiting for a validation code."""
import email
import email.policy
import json
import re
import uuid

import eventlet
import pytest
from kombu import Connection, Producer
from nameko.standalone.events import event_dispatcher, get_event_exchange
from sqlalchemy import func, select

from buzon_comun.errores import NoEncontrado
from buzon_comun.eventos import CorreoSolicitado, SmsSolicitado, mensaje
from buzon_comun.reloj import Reloj
from buzon_dev.correo import SumideroCorreo
from buzon_dev.sms import SumideroSms
from buzon_dev import pruebas
from buzon_dev.pruebas import llamar, oyente
from buzon_notificaciones.extensiones import COLAS_FALLIDAS
from buzon_notificaciones.models import entregas
from buzon_notificaciones.service import Servicio, TrabajadorCorreo, TrabajadorSms


@pytest.fixture
def entorno(entorno_bd, limpiar_bd, monkeypatch, url_publica):
    monkeypatch.setenv("BUZON_METRICAS_PUERTO", "0")
    monkeypatch.setenv("BUZON_METRICAS_PUERTO_NOTIFICACIONES_CORREO", "0")
    monkeypatch.setenv("BUZON_METRICAS_PUERTO_NOTIFICACIONES_SMS", "0")
    monkeypatch.setenv("BUZON_PUBLIC_URL", url_publica)
    monkeypatch.setenv("BUZON_REINTENTOS_S", "0.2,0.2,0.2")
    monkeypatch.setenv("BUZON_SMS_TIMEOUT_S", "3")
    monkeypatch.setenv("BUZON_SMTP_TIMEOUT_S", "3")
    return monkeypatch


@pytest.fixture
def buzon_correo(entorno, tmp_path):
    with SumideroCorreo(tmp_path / "correo") as sumidero:
        entorno.setenv("BUZON_SMTP_HOST", "127.0.0.1")
        entorno.setenv("BUZON_SMTP_PORT", str(sumidero.puerto_smtp))
        yield sumidero


@pytest.fixture
def proveedor_sms(entorno, tmp_path):
    with SumideroSms(tmp_path / "sms") as sumidero:
        entorno.setenv("BUZON_SMS_URL", sumidero.url)
        yield sumidero


@pytest.fixture
def iniciar(container_factory, config_nameko):
    def iniciar(clase):
        contenedor = container_factory(clase, config_nameko)
        contenedor.start()
        return contenedor
    return iniciar


@pytest.fixture
def publicar(config_nameko):
    """Publish a request as contactos does."""
    despachar = event_dispatcher(config_nameko)

    def publicar(solicitud):
        despachar("contactos", solicitud["tipo"], solicitud)
    return publicar


def esperar(condicion, plazo=20.0, mensaje=None):
    return pruebas.esperar(condicion, plazo=plazo, paso=0.05, mensaje=mensaje)


def esperar_estado(consulta, id_mensaje, estados=("enviado", "fallido"), plazo=20.0):
    def estado():
        try:
            datos = llamar(consulta, "entrega", id_mensaje)
        except NoEncontrado:
            return None
        return datos if datos["estado"] in estados else None
    return esperar(estado, plazo=plazo, mensaje=f"el mensaje {id_mensaje} no llegó a {estados}")


def leer_fallida(config_nameko, canal, plazo=5.0):
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        cola = COLAS_FALLIDAS[canal](conexion.default_channel)
        cola.declare()  # the relay declares it when it first publishes there, maybe a moment after the state shows
        recibido = esperar(lambda: cola.get(no_ack=True), plazo=plazo, mensaje=f"nada en la cola de fallidas de {canal}")
        return json.loads(recibido.body)


def test_an_email_request_is_sent_once_with_its_link(buzon_correo, iniciar, publicar, solicitud_correo, url_publica):
    consulta = iniciar(Servicio)
    iniciar(TrabajadorCorreo)
    solicitud = solicitud_correo(para="ana.correo@example.com", ahora=Reloj().ahora())
    publicar(solicitud)
    [recibido] = esperar(lambda: buzon_correo.mensajes(para="ana.correo@example.com"))
    enlace = solicitud["datos"]["datos"]["enlace"]
    assert recibido["asunto"] == "Buzón IMSS: valida tu correo electrónico"
    assert re.findall(re.escape(url_publica) + r"\S*", recibido["texto"]) == [enlace]
    assert enlace in recibido["html"]
    crudo = email.message_from_bytes(buzon_correo.almacen.crudo(recibido["id"]), policy=email.policy.default)
    assert crudo["Message-ID"] == f"<{solicitud['datos']['id_mensaje']}@buzon.imss.gob.mx>"
    assert "no-responder@buzon.imss.gob.mx" in crudo["From"]
    estado = esperar_estado(consulta, solicitud["datos"]["id_mensaje"])
    assert estado["estado"] == "enviado" and estado["canal"] == "correo" and estado["intentos"] == 1
    assert estado["enviado_en"] is not None


def test_an_sms_retried_after_two_503_arrives_once_with_the_same_id(proveedor_sms, iniciar, publicar, solicitud_sms):
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    proveedor_sms.fallar(2, 503)
    solicitud = solicitud_sms(para="+525511110001", datos={"codigo": "73915"}, ahora=Reloj().ahora())
    id_mensaje = solicitud["datos"]["id_mensaje"]
    publicar(solicitud)
    estado = esperar_estado(consulta, id_mensaje)
    assert estado["estado"] == "enviado" and estado["intentos"] == 3 and "503" in estado["ultimo_error"]
    eventlet.sleep(1.5)  # a timer tick or two: nothing else may go out
    [recibido] = proveedor_sms.mensajes(to="+525511110001")
    assert recibido["id"] == id_mensaje and "73915" in recibido["text"] and recibido["from"] == "BUZON IMSS"


def test_the_same_request_twice_is_sent_once(proveedor_sms, iniciar, publicar, solicitud_sms):
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    solicitud = solicitud_sms(para="+525511110002", ahora=Reloj().ahora())
    publicar(solicitud)
    publicar(solicitud)
    publicar({**solicitud, "id": str(uuid.uuid4())})
    esperar_estado(consulta, solicitud["datos"]["id_mensaje"])
    eventlet.sleep(1.5)
    assert len(proveedor_sms.mensajes(to="+525511110002")) == 1


def test_a_refused_sms_fails_at_once_into_the_dead_letter_queue(proveedor_sms, iniciar, publicar, solicitud_sms,
                                                                config_nameko):
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    proveedor_sms.fallar(1, 400)
    solicitud = solicitud_sms(para="+525511110003", ahora=Reloj().ahora())
    publicar(solicitud)
    estado = esperar_estado(consulta, solicitud["datos"]["id_mensaje"])
    assert estado["estado"] == "fallido" and estado["intentos"] == 1 and "400" in estado["ultimo_error"]
    assert leer_fallida(config_nameko, "sms") == solicitud
    assert proveedor_sms.mensajes(to="+525511110003") == []


def test_an_sms_that_always_fails_gives_up_after_the_last_retry(proveedor_sms, iniciar, publicar, solicitud_sms,
                                                               config_nameko, entorno):
    entorno.setenv("BUZON_REINTENTOS_S", "0.2,0.2")
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    proveedor_sms.fallar(100, 503)
    solicitud = solicitud_sms(para="+525511110004", ahora=Reloj().ahora())
    publicar(solicitud)
    estado = esperar_estado(consulta, solicitud["datos"]["id_mensaje"], estados=("fallido",))
    assert estado["intentos"] == 3 and "tras 3 intentos" in estado["ultimo_error"]
    assert leer_fallida(config_nameko, "sms") == solicitud


def test_a_sent_message_is_announced(proveedor_sms, iniciar, publicar, solicitud_sms):
    Oyente, recibidos = oyente("oyente_notificaciones", ("notificaciones", "mensaje_enviado"))
    iniciar(Oyente)
    iniciar(TrabajadorSms)
    solicitud = solicitud_sms(para="+525511110005", ahora=Reloj().ahora())
    publicar(solicitud)
    [evento] = esperar(lambda: recibidos)
    assert evento["tipo"] == "mensaje_enviado" and evento["version"] == 1
    assert evento["datos"]["id_mensaje"] == solicitud["datos"]["id_mensaje"]
    assert evento["datos"]["referencia"] == solicitud["datos"]["referencia"]
    assert evento["datos"]["canal"] == "sms" and evento["datos"]["plantilla"] == "codigo_sms"


def test_each_channel_has_its_own_workers(buzon_correo, proveedor_sms, iniciar, publicar, solicitud_correo,
                                          solicitud_sms):
    """With the email workers down, the SMS worker leaves email requests in their queue for them."""
    consulta = iniciar(Servicio)
    iniciar(TrabajadorCorreo).stop()  # its queue stays, as when every email worker is down
    trabajador_sms = iniciar(TrabajadorSms)
    assert llamar(trabajador_sms, "salud") == {"estado": "ok", "servicio": "notificaciones_sms"}
    correo = solicitud_correo(para="ana.canales@example.com", ahora=Reloj().ahora())
    sms = solicitud_sms(para="+525511110006", ahora=Reloj().ahora())
    publicar(correo)
    publicar(sms)
    esperar_estado(consulta, sms["datos"]["id_mensaje"])
    eventlet.sleep(1.5)
    with pytest.raises(NoEncontrado):
        llamar(consulta, "entrega", correo["datos"]["id_mensaje"])
    assert buzon_correo.mensajes() == []
    iniciar(TrabajadorCorreo)
    esperar(lambda: buzon_correo.mensajes(para="ana.canales@example.com"))
    assert esperar_estado(consulta, correo["datos"]["id_mensaje"])["estado"] == "enviado"


def test_every_service_answers_health_under_its_own_name(entorno, iniciar):
    for clase, nombre in ((Servicio, "notificaciones"), (TrabajadorCorreo, "notificaciones_correo"),
                          (TrabajadorSms, "notificaciones_sms")):
        assert llamar(iniciar(clase), "salud") == {"estado": "ok", "servicio": nombre}


def test_the_email_worker_keeps_its_connection_across_messages_and_closes_it_when_it_stops(
        servidor_smtp, entorno, iniciar, publicar, solicitud_correo):
    entorno.setenv("BUZON_SMTP_HOST", "127.0.0.1")
    entorno.setenv("BUZON_SMTP_PORT", str(servidor_smtp.puerto))
    trabajador = iniciar(TrabajadorCorreo)
    for n in range(3):
        publicar(solicitud_correo(para=f"ana.{n}@example.com", ahora=Reloj().ahora()))
        esperar(lambda: len(servidor_smtp.recibidos) == n + 1)
    assert len(servidor_smtp.conexiones()) == 1
    trabajador.stop()
    assert servidor_smtp.despedidas == list(servidor_smtp.conexiones())


def test_a_burst_of_emails_is_sent_and_announced_once_each(buzon_correo, iniciar, publicar, solicitud_correo):
    Oyente, recibidos = oyente("oyente_rafaga", ("notificaciones", "mensaje_enviado"))
    iniciar(Oyente)
    iniciar(TrabajadorCorreo)
    solicitudes = [solicitud_correo(para=f"rafaga.{n}@example.com", ahora=Reloj().ahora()) for n in range(30)]
    for solicitud in solicitudes:
        publicar(solicitud)
    esperar(lambda: len(recibidos) >= 30)
    eventlet.sleep(1)
    assert sorted(e["datos"]["id_mensaje"] for e in recibidos) == sorted(s["datos"]["id_mensaje"] for s in solicitudes)
    assert len(buzon_correo.mensajes()) == 30


def test_a_notice_of_a_medios_change_goes_out_once_by_each_channel_even_redelivered(
        buzon_correo, proveedor_sms, iniciar, publicar, solicitud_correo, solicitud_sms):
    """What contactos asks when a medio lapses: one email and one SMS to the owner's validated medios. A request
    delivered twice (the outbox publishes at least once) is sent once."""
    consulta = iniciar(Servicio)
    iniciar(TrabajadorCorreo)
    iniciar(TrabajadorSms)
    datos = {"medio_id": "m-1", "mecanismo": "telefono", "valor": "5512345678", "momento": "2026-11-28T12:00:00-06:00",
             "rfc": "EDE0101013A2", "nombre": "EMPRESA DE DEMOSTRACION SA DE CV",
             "registros_patronales": [{"registro_patronal": "A1234567890", "razon_social": "PLANTA UNO"}]}
    correo = solicitud_correo(para="dueno@example.com", plantilla="aviso_medio_vencido", datos=datos)
    sms = solicitud_sms(para="+525511110002", plantilla="aviso_medio_vencido", datos=datos)
    for solicitud in (correo, sms, correo, sms):
        publicar(solicitud)
    for solicitud in (correo, sms):
        assert esperar_estado(consulta, solicitud["datos"]["id_mensaje"])["estado"] == "enviado"
    eventlet.sleep(1.5)  # a redelivered copy, if it went out, would be here by now
    [recibido] = buzon_correo.mensajes(para="dueno@example.com")
    assert recibido["asunto"] == "Buzón IMSS: un medio de contacto fue dado de baja por vencimiento"
    assert "RFC: EDE0101013A2 (EMPRESA DE DEMOSTRACION SA DE CV)" in recibido["texto"]
    assert "- A1234567890 (PLANTA UNO)" in recibido["texto"] and "Número celular: 5512345678" in recibido["texto"]
    [texto] = [m["text"] for m in proveedor_sms.mensajes(to="+525511110002")]
    assert texto.isascii() and len(texto) <= 160 and "dado de baja por vencimiento" in texto


# -- buzon's avisos of notifications ----------------------------------------------------------------------------

RFC = "EDE0101013A2"
DATOS_AVISO = {"rfc": RFC, "registros_patronales": [{"registro_patronal": "A1234567890"}],
               "depositada_en": "2026-12-07T01:30:00+00:00"}
# A campaign's avisos waiting in their queue when a person asks for a code.
AVISOS_EN_ESPERA = 2000


def aviso(clase, para: str, *, id_notificacion: str | None = None) -> dict:
    evento = clase(id_mensaje=str(uuid.uuid4()), para=para, plantilla="aviso_notificacion", datos=DATOS_AVISO,
                   referencia=id_notificacion or str(uuid.uuid4()))
    return mensaje(evento, ahora=Reloj().ahora())


@pytest.fixture
def despachar(config_nameko):
    return event_dispatcher(config_nameko)


def test_an_aviso_from_buzon_is_sent_recorded_as_buzons_and_announced_for_buzon(
        buzon_correo, proveedor_sms, iniciar, despachar, url_publica):
    Oyente, recibidos = oyente("oyente_avisos", ("notificaciones", "mensaje_enviado"))
    iniciar(Oyente)
    consulta = iniciar(Servicio)
    iniciar(TrabajadorCorreo)
    iniciar(TrabajadorSms)
    id_notificacion = str(uuid.uuid4())
    correo = aviso(CorreoSolicitado, "patron@example.com", id_notificacion=id_notificacion)
    sms = aviso(SmsSolicitado, "+525511112222", id_notificacion=id_notificacion)
    for solicitud in (correo, sms):
        despachar("buzon", solicitud["tipo"], solicitud)
    for solicitud in (correo, sms):
        estado = esperar_estado(consulta, solicitud["datos"]["id_mensaje"])
        assert estado["estado"] == "enviado" and estado["origen"] == "buzon"
        assert estado["plantilla"] == "aviso_notificacion" and estado["referencia"] == id_notificacion
    [recibido] = esperar(lambda: buzon_correo.mensajes(para="patron@example.com"))
    assert recibido["asunto"] == "Tienes un mensaje en tu Buzón IMSS"
    assert f"RFC: {RFC}" in recibido["texto"] and "06/12/2026 a las 19:30" in recibido["texto"]
    assert url_publica + "/" in recibido["texto"]
    [texto] = [m["text"] for m in esperar(lambda: proveedor_sms.mensajes(to="+525511112222"))]
    assert "Tienes un mensaje en tu Buzon IMSS" in texto and texto.isascii() and len(texto) <= 160
    # What buzon listens to: the aviso's id as id_mensaje, the notification's as referencia, its template.
    eventos = esperar(lambda: recibidos if len(recibidos) == 2 else None)
    assert {(e["datos"]["id_mensaje"], e["datos"]["canal"], e["datos"]["referencia"], e["datos"]["plantilla"])
            for e in eventos} == {(correo["datos"]["id_mensaje"], "correo", id_notificacion, "aviso_notificacion"),
                                  (sms["datos"]["id_mensaje"], "sms", id_notificacion, "aviso_notificacion")}


def test_contactos_requests_keep_their_origin(proveedor_sms, iniciar, despachar, solicitud_sms):
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    solicitud = solicitud_sms(para="+525511113333", ahora=Reloj().ahora())
    despachar("contactos", "sms_solicitado", solicitud)
    assert esperar_estado(consulta, solicitud["datos"]["id_mensaje"])["origen"] == "contactos"


def test_a_validation_code_goes_out_while_thousands_of_avisos_wait(
        proveedor_sms, iniciar, config_nameko, db, solicitud_sms):
    """A campaign's avisos are all queued before a person asks for a code; the worker starts with both waiting.
    The code is sent after a handful of avisos (the worker's free places go to its two queues in turn), not after
    the campaign: counted, not timed."""
    iniciar(TrabajadorSms).stop()  # declares both queues, as a worker that ran before
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        productor = Producer(conexion.channel(), exchange=get_event_exchange("buzon", config_nameko))
        for numero in range(AVISOS_EN_ESPERA):
            solicitud = aviso(SmsSolicitado, f"+5255{numero:08d}")
            productor.publish(json.dumps(solicitud), routing_key="sms_solicitado", content_type="application/json",
                              delivery_mode=2)
    codigo = solicitud_sms(para="+525599990000", ahora=Reloj().ahora())
    event_dispatcher(config_nameko)("contactos", "sms_solicitado", codigo)
    consulta = iniciar(Servicio)
    iniciar(TrabajadorSms)
    esperar_estado(consulta, codigo["datos"]["id_mensaje"], estados=("enviado",), plazo=60)

    def enviados_de(origen):
        return db.execute(select(func.count()).select_from(entregas).where(
            entregas.c.origen == origen, entregas.c.estado == "enviado")).scalar_one()
    with db.begin():
        avisos_antes = enviados_de("buzon")
    db.close()
    # At most the worker's prefetch (10) and a few turns of the queues: far from the campaign.
    assert avisos_antes <= AVISOS_EN_ESPERA // 20, avisos_antes
    assert proveedor_sms.mensajes(to="+525599990000")
    with Connection(config_nameko["AMQP_URI"]) as conexion:
        _, en_espera, _ = conexion.default_channel.queue_declare(
            "evt-buzon-sms_solicitado--notificaciones_sms.aviso_sms_solicitado", passive=True)
    assert en_espera >= AVISOS_EN_ESPERA // 2, en_espera
