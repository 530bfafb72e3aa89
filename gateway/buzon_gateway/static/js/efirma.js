/*
 * Signing with the e.firma inside the page: login, the activation's Solicitud y manifestación, and the acuse de
 * recibo that opens a notification of the Buzón.
 *
 * SAT's .key is PKCS#8 encrypted with PBES2 + 3DES, which WebCrypto cannot open, so node-forge (vendored at
 * /static/vendor/forge.min.js) decrypts it here. Only the certificate and the signature leave the page: the key
 * and its password are never sent, stored or logged (tests/test_navegador.py checks every request).
 *
 * The CSP allows no inline script, so the pages only carry the DOM this file expects:
 *   <meta name="csrf" content="...">
 *   <form id="form-efirma" data-accion="ingresar|activar|abrir" [data-cadena="..."] [data-url="/..."]>
 *     #cer (file), #key (file), #password, #boton-efirma, #mensaje (role=alert)
 */
(function () {
  "use strict";

  var MENSAJES = {
    reto_invalido: "El inicio de sesión tardó demasiado o ya se había usado. Intenta de nuevo.",
    firma_invalida: "La firma no es válida. Verifica que la clave privada (.key) corresponda a tu certificado (.cer).",
    certificado_invalido: "El archivo .cer no es un certificado válido.",
    certificado_no_confiable: "El certificado no fue emitido por el SAT o el SAT no lo reconoce.",
    certificado_vencido: "Tu e.firma está vencida. Renuévala en el SAT para continuar.",
    certificado_no_vigente: "Tu e.firma todavía no está vigente. Intenta más tarde.",
    certificado_revocado: "Tu e.firma fue revocada por el SAT y ya no puede usarse.",
    no_es_efirma: "El certificado es un CSD (sello digital), no una e.firma. Selecciona los archivos .cer y .key de tu e.firma.",
    revocacion_no_disponible: "No fue posible consultar con el SAT el estado de tu e.firma. Intenta de nuevo en unos minutos.",
    demasiadas_solicitudes: "Se hicieron demasiados intentos. Espera un momento e intenta de nuevo.",
    csrf_invalido: "La página venció. Recárgala e intenta de nuevo.",
    no_autenticado: "Tu sesión terminó. Ingresa de nuevo con tu e.firma.",
    certificado_ajeno: "La e.firma no corresponde al RFC con el que ingresaste.",
    requisitos_incompletos: "Antes de activar el Buzón IMSS debes validar un correo electrónico y un teléfono celular.",
    ya_activo: "Tu Buzón IMSS ya está activo.",
    ya_notificada: "Esta notificación ya surtió efectos: ya fue abierta o se tuvo por notificada. Recarga la página para consultarla."
  };
  var SIN_CONEXION = "No fue posible comunicarse con el Buzón IMSS. Revisa tu conexión e intenta de nuevo.";
  var ERROR_GENERAL = "No fue posible completar la operación. Intenta de nuevo.";

  // A failure whose text is meant for the person.
  function Aviso(mensaje, campo) {
    this.mensaje = mensaje;
    this.campo = campo;
  }

  function leerArchivo(archivo) {
    if (archivo.arrayBuffer) {
      return archivo.arrayBuffer();
    }
    return new Promise(function (resolver, rechazar) {
      var lector = new FileReader();
      lector.onload = function () { resolver(lector.result); };
      lector.onerror = function () { rechazar(lector.error); };
      lector.readAsArrayBuffer(archivo);
    });
  }

  // forge works on "binary strings" (one char per byte).
  function aBinario(buffer) {
    return forge.util.binary.raw.encode(new Uint8Array(buffer));
  }

  // SAT hands out DER; a PEM copy (e.g. converted with openssl) is accepted too.
  function derDe(binario, etiqueta) {
    if (binario.indexOf("-----BEGIN") === 0) {
      var bloques = forge.pem.decode(binario).filter(function (b) { return b.type.indexOf(etiqueta) !== -1; });
      if (bloques.length) {
        return bloques[0].body;
      }
    }
    return binario;
  }

  /*
   * The certificate's public key, read straight from SubjectPublicKeyInfo: forge's full certificate parser is
   * not needed and some SAT certificates carry names (T61String) that a full parser may refuse.
   */
  function llavePublicaDe(derCer) {
    try {
      var certificado = forge.asn1.fromDer(derCer);
      var tbs = certificado.value[0].value;
      var inicio = tbs[0].tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
      // version?, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
      return forge.pki.publicKeyFromAsn1(tbs[inicio + 5]);
    } catch (e) {
      throw new Aviso("El archivo .cer no es un certificado válido.", "cer");
    }
  }

  function abrirLlave(derKey, password) {
    var cifrada;
    try {
      cifrada = forge.asn1.fromDer(derKey);
    } catch (e) {
      throw new Aviso("El archivo .key no es una clave privada válida.", "key");
    }
    try {
      // decryptPrivateKeyInfo gives null when the padding is wrong; a wrong password that happens to leave a
      // valid padding produces garbage that privateKeyFromAsn1 rejects instead.
      var info = forge.pki.decryptPrivateKeyInfo(cifrada, password);
      if (info) {
        return forge.pki.privateKeyFromAsn1(info);
      }
    } catch (e) {
      // same outcome as a null: the password does not open this key
    }
    throw new Aviso("La contraseña de la clave privada no es correcta.", "password");
  }

  function firmar(llave, texto) {
    var md = forge.md.sha256.create();
    md.update(texto, "utf8");
    return forge.util.encode64(llave.sign(md));
  }

  function mensajeDeError(cuerpo) {
    var error = cuerpo && cuerpo.error;
    if (!error) {
      return ERROR_GENERAL;
    }
    return MENSAJES[error.codigo] || error.mensaje || ERROR_GENERAL;
  }

  function pedirJson(url, opciones) {
    return fetch(url, opciones).then(function (respuesta) {
      return respuesta.json().catch(function () { return null; }).then(function (cuerpo) {
        if (!respuesta.ok) {
          throw new Aviso(mensajeDeError(cuerpo));
        }
        return cuerpo || {};
      });
    }, function () {
      throw new Aviso(SIN_CONEXION);
    });
  }

  function enviarJson(url, datos) {
    var meta = document.querySelector('meta[name="csrf"]');
    return pedirJson(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : ""},
      body: JSON.stringify(datos)
    });
  }

  // Only a path of this site: a destination from the server must never send the person elsewhere.
  function esRutaPropia(ruta) {
    return typeof ruta === "string" && ruta.charAt(0) === "/" && ruta.charAt(1) !== "/" && ruta.charAt(1) !== "\\";
  }

  function irA(destino) {
    if (esRutaPropia(destino)) {
      window.location.assign(destino);
      return;
    }
    throw new Aviso(ERROR_GENERAL);
  }

  // Opens the key, checks it belongs to the certificate and gives back what the server needs.
  function prepararFirma(formulario) {
    var cer = formulario.querySelector("#cer").files[0];
    var key = formulario.querySelector("#key").files[0];
    var password = formulario.querySelector("#password").value;
    if (!cer) {
      return Promise.reject(new Aviso("Selecciona el archivo de tu certificado (.cer).", "cer"));
    }
    if (!key) {
      return Promise.reject(new Aviso("Selecciona el archivo de tu clave privada (.key).", "key"));
    }
    if (!password) {
      return Promise.reject(new Aviso("Escribe la contraseña de tu clave privada.", "password"));
    }
    return Promise.all([leerArchivo(cer), leerArchivo(key)]).then(function (contenidos) {
      var derCer = derDe(aBinario(contenidos[0]), "CERTIFICATE");
      var llave = abrirLlave(derDe(aBinario(contenidos[1]), "PRIVATE KEY"), password);
      var publica = llavePublicaDe(derCer);
      if (!publica.n || !publica.n.equals(llave.n) || !publica.e.equals(llave.e)) {
        throw new Aviso("La clave privada no corresponde al certificado.", "key");
      }
      return {
        certificado: forge.util.encode64(derCer),
        firmar: function (texto) { return firmar(llave, texto); }
      };
    }, function () {
      throw new Aviso("No fue posible leer los archivos seleccionados.");
    });
  }

  var ACCIONES = {
    ingresar: function (formulario) {
      return prepararFirma(formulario).then(function (efirma) {
        return pedirJson("/api/v1/sesiones/retos", {method: "POST", credentials: "same-origin"})
          .then(function (cuerpo) {
            return enviarJson("/ingresar", {
              certificado: efirma.certificado, reto: cuerpo.reto, firma: efirma.firmar(cuerpo.reto)
            });
          });
      });
    },
    activar: function (formulario) {
      // Exactly the string the server put in the page: any change and the signature is refused.
      var cadena = formulario.getAttribute("data-cadena");
      return prepararFirma(formulario).then(function (efirma) {
        return enviarJson("/activacion/firmar", {certificado: efirma.certificado, firma: efirma.firmar(cadena)});
      });
    },
    abrir: function (formulario) {
      // The notification's acuse de recibo, exactly as the page shows it, to the page's own route.
      var cadena = formulario.getAttribute("data-cadena");
      var url = formulario.getAttribute("data-url");
      if (!esRutaPropia(url)) {
        return Promise.reject(new Aviso(ERROR_GENERAL));
      }
      return prepararFirma(formulario).then(function (efirma) {
        return enviarJson(url, {certificado: efirma.certificado, firma: efirma.firmar(cadena)});
      });
    }
  };

  function conectar(formulario) {
    var accion = ACCIONES[formulario.getAttribute("data-accion")];
    var boton = formulario.querySelector("#boton-efirma");
    var mensaje = formulario.querySelector("#mensaje") || document.getElementById("mensaje");
    var password = formulario.querySelector("#password");
    if (!accion) {
      return;
    }
    formulario.addEventListener("submit", function (evento) {
      evento.preventDefault();
      if (boton.disabled) {
        return;
      }
      boton.disabled = true;
      formulario.setAttribute("aria-busy", "true");
      mensaje.textContent = "";
      // Let the disabled button paint before the key derivation blocks the page for a moment.
      new Promise(function (resolver) { setTimeout(resolver, 0); })
        .then(function () { return accion(formulario); })
        .then(function (cuerpo) {
          password.value = "";
          irA(cuerpo.destino);
        })
        .catch(function (error) {
          password.value = "";
          mensaje.textContent = error instanceof Aviso ? error.mensaje : ERROR_GENERAL;
          var campo = error instanceof Aviso && error.campo ? formulario.querySelector("#" + error.campo) : null;
          (campo || password).focus();
          boton.disabled = false;
          formulario.removeAttribute("aria-busy");
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var formulario = document.getElementById("form-efirma");
    if (formulario && typeof forge !== "undefined") {
      conectar(formulario);
    }
  });
})();
