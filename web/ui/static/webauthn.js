// Portcullis WebAuthn helper: security keys and passkeys without inline script
// (the Content-Security-Policy is script-src 'self'). No dependencies.
//
// PAGE CONTRACT
//
//   <script src="/static/webauthn.js" defer></script>
//
//   <div hidden data-webauthn-only>            shown only when the browser can do WebAuthn
//     <button type="button"
//       data-webauthn="register | verify | login"
//       data-begin="/account/webauthn/begin"    begin URL (POST)
//       data-finish="/account/webauthn/finish"  finish URL (POST)
//       data-csrf="TOKEN"                       CSRF token
//       data-extra='{"ticket":"..."}'           optional JSON object merged into both bodies
//       data-error="key-error">                 id of the element that shows errors
//     <p id="key-error" role="alert" hidden></p>
//   </div>
//
//   register: navigator.credentials.create() (BeginEnroll / FinishEnroll).
//   verify:   navigator.credentials.get() for a known user (BeginVerify / FinishVerify).
//   login:    navigator.credentials.get() without allowCredentials (BeginDiscoverable /
//             FinishDiscoverable). When the page also has an
//             <input autocomplete="username webauthn">, a conditional request is started
//             on load, so the browser offers passkeys in the field's autofill; clicking
//             the button cancels it and asks in a dialog instead.
//
// WIRE CONTRACT (all JSON, same origin, credentials: same-origin)
//
//   Both requests carry the header  X-CSRF-Token: <data-csrf>
//   and the token again in the body as "csrf_token".
//
//   begin   POST data-begin   {...extra, "csrf_token": "..."}
//           200 -> {"challenge_id": "...", "options": <options>}
//             options: PublicKeyCredentialCreationOptionsJSON (register) or
//             PublicKeyCredentialRequestOptionsJSON (verify, login), as go-webauthn
//             writes them: binary members unpadded base64url. A {"publicKey": {...}}
//             wrapper is accepted too.
//
//   finish  POST data-finish  {...extra, "csrf_token": "...", "challenge_id": "...",
//                              "credential": <PublicKeyCredential.toJSON()>}
//           200 -> {"redirect": "/path"}   the page goes there (same origin only)
//
//   Either  4xx/5xx -> {"error": "message for the user"}   shown in data-error
//
// A begun challenge is single-use: every attempt starts with a new begin.
(function () {
  "use strict";

  var pkc = window.PublicKeyCredential;
  if (!pkc || !navigator.credentials || !window.fetch) {
    return; // data-webauthn-only elements stay hidden
  }

  // ---- base64url and the JSON forms, for browsers without the WebAuthn L3 helpers ----

  function fromB64u(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64u(buf) {
    if (!buf) return undefined;
    var bytes = new Uint8Array(buf instanceof ArrayBuffer ? buf : buf.buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var c = { type: d.type, id: fromB64u(d.id) };
      if (d.transports) c.transports = d.transports;
      return c;
    });
  }

  function creationOptions(json) {
    if (typeof pkc.parseCreationOptionsFromJSON === "function") {
      return pkc.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64u(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64u(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (typeof pkc.parseRequestOptionsFromJSON === "function") {
      return pkc.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64u(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var response = { clientDataJSON: toB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64u(r.attestationObject);
      if (typeof r.getTransports === "function") response.transports = r.getTransports();
      if (typeof r.getAuthenticatorData === "function") response.authenticatorData = toB64u(r.getAuthenticatorData());
      if (typeof r.getPublicKey === "function") response.publicKey = toB64u(r.getPublicKey());
      if (typeof r.getPublicKeyAlgorithm === "function") response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
    } else {
      response.authenticatorData = toB64u(r.authenticatorData);
      response.signature = toB64u(r.signature);
      if (r.userHandle) response.userHandle = toB64u(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  // ---- talking to the server ----

  function ServerError(message) {
    this.name = "ServerError";
    this.message = message;
  }

  function post(url, csrf, body) {
    body.csrf_token = csrf;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().then(
        function (data) {
          if (!resp.ok || !data || data.error) {
            throw new ServerError((data && data.error) || "The server refused the request (" + resp.status + ").");
          }
          return data;
        },
        function () {
          throw new ServerError("The server answered something unexpected (" + resp.status + ").");
        }
      );
    });
  }

  function config(el) {
    var extra = {};
    if (el.dataset.extra) {
      try {
        extra = JSON.parse(el.dataset.extra) || {};
      } catch (e) {
        extra = {};
      }
    }
    return {
      mode: el.dataset.webauthn,
      begin: el.dataset.begin,
      finish: el.dataset.finish,
      csrf: el.dataset.csrf || "",
      extra: extra,
      errorEl: el.dataset.error ? document.getElementById(el.dataset.error) : null,
    };
  }

  function body(cfg, more) {
    return Object.assign({}, cfg.extra, more || {});
  }

  function showError(cfg, message) {
    if (cfg.errorEl) {
      cfg.errorEl.textContent = message;
      cfg.errorEl.hidden = false;
    } else {
      window.alert(message);
    }
  }

  function clearError(cfg) {
    if (cfg.errorEl) {
      cfg.errorEl.textContent = "";
      cfg.errorEl.hidden = true;
    }
  }

  function follow(data) {
    var to = data && data.redirect;
    if (typeof to !== "string" || to === "") {
      throw new ServerError("The server did not say where to go next.");
    }
    var url = new URL(to, window.location.href);
    if (url.origin !== window.location.origin) {
      throw new ServerError("The server tried to send you to another site.");
    }
    window.location.assign(url.href);
  }

  function message(err, mode) {
    if (err instanceof ServerError) return err.message;
    switch (err && err.name) {
      case "NotAllowedError":
        return "The request was cancelled or timed out. Try again.";
      case "InvalidStateError":
        return mode === "register"
          ? "This security key or passkey is already registered."
          : "This security key or passkey cannot be used here.";
      case "SecurityError":
        return "Security keys cannot be used on this address.";
      case "NotSupportedError":
        return "This browser or security key does not support what the server asked for.";
      default:
        return "Something went wrong: " + ((err && err.message) || err);
    }
  }

  // ---- ceremonies ----

  // run performs begin -> browser -> finish -> redirect. signal and mediation are set for
  // the conditional (autofill) request only.
  function run(cfg, signal, mediation, onOptions) {
    return post(cfg.begin, cfg.csrf, body(cfg)).then(function (begun) {
      var json = begun.options && begun.options.publicKey ? begun.options.publicKey : begun.options;
      if (!begun.challenge_id || !json || !json.challenge) {
        throw new ServerError("The server sent no challenge.");
      }
      if (onOptions) onOptions(json);
      var ask;
      if (cfg.mode === "register") {
        ask = navigator.credentials.create({ publicKey: creationOptions(json) });
      } else {
        var req = { publicKey: requestOptions(json) };
        if (signal) req.signal = signal;
        if (mediation) req.mediation = mediation;
        ask = navigator.credentials.get(req);
      }
      return ask.then(function (cred) {
        if (!cred) throw new ServerError("No credential was chosen.");
        return post(cfg.finish, cfg.csrf, body(cfg, { challenge_id: begun.challenge_id, credential: credentialJSON(cred) }));
      });
    });
  }

  var conditional = null; // AbortController of the pending autofill request

  function cancelConditional() {
    if (conditional) {
      conditional.abort();
      conditional = null;
    }
  }

  function onClick(ev) {
    var el = ev.currentTarget;
    if (el.getAttribute("aria-busy") === "true") return;
    var cfg = config(el);
    // Only one WebAuthn request may be pending: the dialog replaces the autofill one.
    cancelConditional();
    clearError(cfg);
    el.setAttribute("aria-busy", "true");
    el.disabled = true;
    run(cfg)
      .then(follow)
      .catch(function (err) {
        showError(cfg, message(err, cfg.mode));
      })
      .then(function () {
        el.removeAttribute("aria-busy");
        el.disabled = false;
      });
  }

  // startConditional offers passkeys in the autofill of the user-name field. The
  // challenge is short-lived (options.timeout is the server's challenge lifetime), so
  // the request is renewed shortly before the server forgets it.
  function startConditional(cfg) {
    if (typeof pkc.isConditionalMediationAvailable !== "function") return;
    pkc.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) return;
      var ctl = new AbortController();
      var renew = null;
      conditional = ctl;
      function armRenewal(json) {
        var ms = typeof json.timeout === "number" && json.timeout > 20000 ? json.timeout - 10000 : 100000;
        renew = setTimeout(function () {
          if (conditional === ctl) {
            cancelConditional();
            startConditional(cfg);
          }
        }, ms);
      }
      run(cfg, ctl.signal, "conditional", armRenewal)
        .then(function (data) {
          clearTimeout(renew);
          follow(data);
        })
        .catch(function (err) {
          clearTimeout(renew);
          if (ctl.signal.aborted || (err && err.name === "AbortError")) return;
          showError(cfg, message(err, "login"));
        });
    });
  }

  function init() {
    var shown = document.querySelectorAll("[data-webauthn-only]");
    for (var i = 0; i < shown.length; i++) shown[i].hidden = false;

    var buttons = document.querySelectorAll("[data-webauthn]");
    var login = null;
    for (var j = 0; j < buttons.length; j++) {
      var el = buttons[j];
      el.addEventListener("click", onClick);
      if (el.dataset.webauthn === "login" && !login) login = el;
    }
    if (login && document.querySelector('input[autocomplete~="webauthn"]')) {
      startConditional(config(login));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
