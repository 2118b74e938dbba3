/*
 * app.js — the OOBE screen: renders what the agent says, nothing else.
 *
 * linkjoin-oobe (platform/oobe/bridge) relays the agent's UI protocol
 * (agent/ui/ui_proto.h; v2 adds members and the notice, prompt_closed and
 * leaving events) as Server-Sent Events on /events and forwards what the
 * person does (credentials, retry) from POST /send.  The screen keeps the
 * last hello, progress, prompt, notice, result and leaving event and draws
 * one screen from them; texts for the person come from the events (the
 * agent renders them in the catalog locale it chose), the screen's own
 * words from /i18n/<locale>.json (`linkjoin messages --json`, screen.*
 * ids) with the English below as fallback.  Event data is only ever put
 * into the page as text (textContent), never as markup.
 *
 * A new screen moves focus to its heading; progress and notices are read
 * out through a polite live region, failures through an assertive one.
 * When the stream or the agent goes away the kept state is dropped: the
 * agent sends it again on reconnect (hello, open prompt, last progress,
 * last result), so an answered prompt is never shown twice.
 */
"use strict";

(function () {
  /*
   * English for every word the screen uses itself: ids from the agent's
   * catalog (agent/ui/messages.c: screen.*, and result./prompt./step./tty.
   * where the same words exist there), so /i18n/<locale>.json translates
   * them; this table is only the fallback when that file cannot be had.
   */
  const EN = {
    "screen.title": "Setting up your device",
    "screen.try_again": "Try again",
    "screen.sign_in": "Sign in",
    "screen.admin_details": "Details for your IT admin",
    "screen.enter_code": "Enter this code",
    "screen.open_address": "Open this address on your phone or computer",
    "screen.scan_code": "Scan the code",
    "screen.code_expires": "The code expires in {minutes} min",
    "screen.code_expired": "The code has expired",
    "screen.restart_device": "Restart the device to try again",
    "screen.username": "Username",
    "screen.password": "Password",
    "screen.checking_device": "Checking the device",
    "screen.almost_done": "Almost done: your IT admin needs to finish setting up this device",
    "screen.contact_admin": "Contact your IT admin",
    "screen.retry_in": "Trying again in {seconds} seconds",
    "screen.retry_in_min": "Trying again in {minutes} min",
    "screen.retry_until": "You can try again until {time}",
    "screen.step_of": "Step {index} of {count}",
    "screen.error_code": "Error code",
    "screen.server_code": "Server code",
    "screen.serial": "Serial number",
    "screen.user": "User",
    "screen.time": "Time",
    "screen.request_id": "Request ID",
    "screen.correlation_id": "Correlation ID",
    "screen.device_id": "Device ID",
    "screen.waiting_for.person": "Waiting for you",
    "screen.waiting_for.service": "Waiting for Microsoft's service",
    "screen.waiting_for.tpm": "Waiting for the device's security chip (TPM)",
    "screen.waiting_for.device": "Working on this device",
    "screen.reconnecting": "Reconnecting to the setup service",
    "screen.finished": "Setup is finished. You can close this screen.",
    "prompt.device_code.title": "Sign in with your work or school account",
    "prompt.credentials.title": "Sign in with your work or school account",
    "prompt.credentials.password": "Enter the password for your work account",
    "prompt.browser.title": "Sign in with your work or school account",
    "prompt.browser.instructions": "To sign in, open this address in a web browser.",
    "step.signin.wait": "Waiting for sign-in",
    "step.signin.signing_in": "Signing in",
    "step.preflight.retry": "Trying again",
    "result.joined.title": "Your device is ready",
    "result.joined_mdm_pending.title": "Almost done",
    "result.joined_incomplete.title": "Almost done",
    "result.failed.title": "Setup could not finish",
    "result.already_joined.title": "This device is already set up",
    "result.already_joined.message": "This device is already joined; nothing was changed.",
    "result.cancelled.title": "Setup was cancelled",
    "tty.done_tenant": "Done: this device is joined to {tenant}.",
    "tty.done": "Done: this device is joined.",
    "tty.pending": "Almost done: this device is joined; its device management (Intune) setup will finish by itself.",
    "tty.signed_in_as": "Signed in as:",
    "tty.reason": "Reason:",
    "tty.trace_id": "Trace ID:",
    "leaving.done": "Setup is finished.",
    "leaving.retry_window_closed": "Setup has stopped. Restart the device to try again.",
    "leaving.cancelled": "Setup was cancelled.",
    "leaving.signal": "Setup was stopped.",
    "screen.show_password": "Show password",
    "screen.hide_password": "Hide password",
    "screen.need_username": "Enter your username.",
    "screen.send_failed": "That did not reach the setup service. Try again.",
  };
  const CATALOGS = ["en", "de", "fr", "ja"];

  let words = Object.assign({}, EN);
  let wordsLocale = "";

  /* The catalog locale for a BCP 47 tag: de-*, fr-*, ja-* and the rest (en). */
  function catalogLocale(tag) {
    const l = String(tag || "en").toLowerCase().split(/[-_]/)[0];
    return CATALOGS.indexOf(l) >= 0 ? l : "en";
  }

  /* A screen word with {name} placeholders filled in. */
  function t(id, args) {
    let s = typeof words[id] === "string" ? words[id] : EN[id] !== undefined ? EN[id] : id;
    if (args) {
      s = s.replace(/\{([a-z_]+)\}/g, (m, k) => (args[k] !== undefined && args[k] !== null ? String(args[k]) : m));
    }
    return s;
  }

  function loadWords(locale) {
    const l = catalogLocale(locale);
    document.documentElement.lang = l;
    if (l === wordsLocale) return;
    wordsLocale = l;
    fetch("/i18n/" + l + ".json", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((cat) => {
        if (l !== wordsLocale) return;
        words = Object.assign({}, EN);
        if (cat && typeof cat === "object") {
          for (const k of Object.keys(cat)) if (typeof cat[k] === "string") words[k] = cat[k];
        }
        rebuild();
      })
      .catch(() => {});
  }

  /* ---- state ---- */
  const st = {
    link: "connecting", // connecting | up | down (the event stream)
    agent: true, // the bridge reaches the agent
    hello: null,
    progress: null,
    prompt: null,
    notice: null,
    result: null,
    leaving: null,
    local: null, // "signing_in" | "retrying": what the page itself just sent
    sendError: "",
    seq: 0,
  };

  function now() {
    return performance.now();
  }

  function dropKept() {
    st.progress = null;
    st.prompt = null;
    st.notice = null;
    st.result = null;
    st.local = null;
    st.sendError = "";
  }

  function onEvent(ev) {
    if (!ev || typeof ev !== "object" || typeof ev.type !== "string") return;
    ev._at = now();
    ev._seq = ++st.seq;
    switch (ev.type) {
      case "hello":
        // a hello always comes first, then the whole state again (on
        // connect, and in the client's locale after the page's own hello)
        dropKept();
        st.hello = ev;
        st.leaving = null;
        document.documentElement.setAttribute("data-protocol", String(Number(ev.protocol) || 1));
        if (typeof ev.locale === "string") loadWords(ev.locale);
        break;
      case "progress":
        st.progress = ev;
        st.local = null;
        // a busy notice ends with the progress after its wait; others stay
        if (st.notice && Number(st.notice.retry_in) > 0) st.notice = null;
        // Signing in is over once another phase runs; a progress after a
        // result is a new attempt (retry).
        if (st.prompt && ev.phase !== "signin") st.prompt = null;
        st.result = null;
        announce(progressText(ev), false);
        break;
      case "prompt":
        // A v1 agent replays hello, last progress, last prompt: a prompt
        // after a progress of a later phase was answered already.
        if (st.progress && st.progress.phase !== "signin") return;
        st.prompt = ev;
        st.result = null;
        st.notice = null;
        st.local = null;
        st.sendError = "";
        break;
      case "prompt_closed":
        if (st.prompt && (!ev.kind || st.prompt.kind === ev.kind)) st.prompt = null;
        break;
      case "notice":
        st.notice = ev;
        announce(ev.text || "", false);
        break;
      case "result":
        st.result = ev;
        st.prompt = null;
        st.notice = null;
        st.local = null;
        break;
      case "leaving":
        st.leaving = ev;
        announce(str(ev.text), false);
        break;
      case "error":
        if (st.local) {
          st.local = null;
          st.sendError = ev.message || t("screen.send_failed");
        }
        break;
      case "bridge":
        if (ev.agent === "disconnected") {
          st.agent = false;
        } else if (ev.agent === "connected") {
          st.agent = true;
          dropKept();
        }
        break;
      default:
        return;
    }
    render();
  }

  /* ---- the event stream ---- */
  let es = null;
  let backoff = 250;

  function connect() {
    const lang = navigator.language || "en";
    es = new EventSource("/events?locale=" + encodeURIComponent(lang));
    es.onopen = () => {
      backoff = 250;
      st.link = "up";
      st.agent = true;
      dropKept();
      render();
    };
    es.onmessage = (m) => {
      let ev = null;
      try {
        ev = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      onEvent(ev);
    };
    es.onerror = () => {
      st.link = "down";
      render();
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    };
  }

  function send(msg) {
    return fetch("/send", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(msg),
    }).then(
      (r) => r.status,
      () => 0
    );
  }

  /* ---- DOM helpers ---- */
  function el(tag, attrs, kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of kids || []) if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return e;
  }

  function str(v) {
    return typeof v === "string" && v !== "" ? v : "";
  }

  const live = { polite: null, assertive: null, last: "" };

  function announce(text, urgent) {
    if (!text || (!urgent && text === live.last)) return;
    const r = urgent ? live.assertive : live.polite;
    if (!r) return;
    live.last = text;
    r.textContent = "";
    // a new node each time, so the same words are read again
    setTimeout(() => {
      r.textContent = text;
    }, 50);
  }

  /* ---- screens ---- */
  let current = { key: "", update: null };

  function progressText(p) {
    return p ? str(p.text) || str(p.step) : "";
  }

  /* A tty label ("Reason:") as a label without its colon. */
  function label(id) {
    return t(id).replace(/\s*[:：]\s*$/, "");
  }

  function heading(text) {
    return el("h1", { id: "screen-title", tabindex: "-1", text: text });
  }

  function secondsLeft(ev, seconds) {
    return Math.max(0, Math.ceil(seconds - (now() - ev._at) / 1000));
  }

  function bar(percent) {
    const fill = el("span");
    const b = el("div", {
      class: "bar",
      role: "progressbar",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-label": t("screen.title"),
    }, [fill]);
    b.set = (p) => {
      const v = Math.max(0, Math.min(100, Math.round(Number(p) || 0)));
      b.setAttribute("aria-valuenow", String(v));
      fill.style.width = v + "%";
    };
    b.set(percent);
    return b;
  }

  /*
   * A notice with retry_in counts down: its text is the catalog's template
   * (message_id) with the seconds left, else the agent's text as sent.
   */
  function noticeBox() {
    const box = el("div", { class: "notice", id: "notice", hidden: true });
    const text = el("p");
    box.append(text);
    box.set = (n) => {
      box.hidden = !n;
      if (!n) return;
      const secs = Number(n.retry_in);
      const id = str(n.message_id);
      if (secs > 0 && id && typeof words[id] === "string") {
        text.textContent = t(id, Object.assign({}, n.args || {}, { seconds: secondsLeft(n, secs) }));
      } else {
        text.textContent = str(n.text);
      }
    };
    return box;
  }

  function screenProgress(checking) {
    const stepEl = el("p", { class: "step lead" });
    const info = el("p", { class: "stepinfo" });
    const b = bar(0);
    const nb = noticeBox();
    const sec = el("section", { class: "screen", "aria-labelledby": "screen-title" }, [
      heading(t(checking ? "screen.checking_device" : "screen.title")),
      stepEl,
      b,
      info,
      nb,
    ]);
    const update = () => {
      const p = st.progress;
      let step = progressText(p);
      if (st.local === "signing_in") step = t("step.signin.signing_in");
      if (st.local === "retrying") step = t("step.preflight.retry");
      stepEl.textContent = step;
      b.set(p ? p.percent : 0);
      info.textContent = "";
      if (p && Number(p.index) > 0 && Number(p.count) > 0) {
        info.appendChild(el("span", { text: t("screen.step_of", { index: p.index, count: p.count }) }));
      }
      if (p && typeof p.waiting_for === "string" && EN["screen.waiting_for." + p.waiting_for]) {
        info.appendChild(el("span", { class: "waiting", text: t("screen.waiting_for." + p.waiting_for) }));
      }
      nb.set(st.notice);
    };
    update();
    return { el: sec, update: update };
  }

  function screenDeviceCode(p) {
    const uri = str(p.verification_uri);
    const code = str(p.user_code);
    const cd = el("p", { class: "countdown" });
    const qrSrc = "/qr.svg?c=" + encodeURIComponent(code);
    const sec = el("section", { class: "screen", "aria-labelledby": "screen-title" }, [
      heading(t("prompt.device_code.title")),
      el("div", { class: "codewrap" }, [
        el("div", { class: "codetext" }, [
          el("p", { class: "lead", text: t("screen.open_address") }),
          el("p", { class: "url", text: uri }),
          el("p", { class: "lead", text: t("screen.enter_code") }),
          el("div", { class: "code", id: "user-code", "aria-label": code.split("").join(" "), text: code }),
          cd,
          el("p", { class: "waiting muted", text: t("step.signin.wait") }),
        ]),
        el("figure", { class: "qr" }, [
          el("img", { src: qrSrc, alt: t("screen.scan_code"), width: "176", height: "176" }),
          el("figcaption", { "aria-hidden": "true", text: t("screen.scan_code") }),
        ]),
      ]),
    ]);
    const update = () => {
      const total = Number(p.expires_in);
      if (!(total > 0)) {
        cd.hidden = true;
        return;
      }
      const left = secondsLeft(p, total);
      cd.textContent = left <= 0 ? t("screen.code_expired") : t("screen.code_expires", { minutes: Math.ceil(left / 60) });
    };
    update();
    return { el: sec, update: update };
  }

  function screenCredentials(p) {
    const errUser = el("p", { class: "fielderror", id: "err-user", hidden: true });
    const errPw = el("p", { class: "fielderror", id: "err-pw", hidden: true });
    const user = el("input", {
      type: "email",
      id: "username",
      name: "username",
      autocomplete: "username",
      autocapitalize: "off",
      spellcheck: "false",
      value: str(p.username),
      "aria-describedby": "err-user",
    });
    const pw = el("input", {
      type: "password",
      id: "password",
      name: "password",
      autocomplete: "current-password",
      "aria-describedby": "err-pw",
    });
    const toggle = el("button", {
      type: "button",
      class: "secondary",
      id: "show-password",
      "aria-controls": "password",
      "aria-pressed": "false",
      text: t("screen.show_password"),
    });
    toggle.addEventListener("click", () => {
      const shown = pw.type === "password";
      pw.type = shown ? "text" : "password";
      toggle.setAttribute("aria-pressed", shown ? "true" : "false");
      toggle.textContent = t(shown ? "screen.hide_password" : "screen.show_password");
    });
    const submit = el("button", { type: "submit", id: "sign-in", text: t("screen.sign_in") });
    const sendErr = el("p", { class: "fielderror", role: "alert", hidden: true });
    const form = el("form", { novalidate: true, autocomplete: "on" }, [
      el("label", { for: "username", text: t("screen.username") }),
      user,
      errUser,
      el("label", { for: "password", text: t("screen.password") }),
      el("div", { class: "pwrow" }, [pw, toggle]),
      errPw,
      sendErr,
      el("div", { class: "actions" }, [submit]),
    ]);
    const fieldError = (input, err, msg) => {
      err.textContent = msg;
      err.hidden = !msg;
      input.setAttribute("aria-invalid", msg ? "true" : "false");
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const u = user.value.trim();
      fieldError(user, errUser, u ? "" : t("screen.need_username"));
      fieldError(pw, errPw, pw.value ? "" : t("prompt.credentials.password"));
      if (!u) return user.focus();
      if (!pw.value) return pw.focus();
      const msg = { type: "credentials", username: u, password: pw.value };
      pw.value = "";
      submit.disabled = true;
      st.local = "signing_in";
      st.sendError = "";
      const prompt = st.prompt;
      render();
      send(msg).then((code) => {
        msg.password = "";
        if (code === 202) {
          if (st.prompt === prompt) st.prompt = null;
        } else {
          st.local = null;
          st.sendError = t("screen.send_failed");
        }
        render();
      });
    });
    const lead = str(p.text) || str(p.message);
    const sec = el("section", { class: "screen", "aria-labelledby": "screen-title" }, [
      heading(t("prompt.credentials.title")),
      lead ? el("p", { class: "lead", text: lead }) : null,
      form,
    ]);
    const update = () => {
      submit.disabled = st.local === "signing_in";
      sendErr.textContent = st.sendError;
      sendErr.hidden = !st.sendError;
    };
    update();
    return { el: sec, update: update };
  }

  function screenBrowser(p) {
    return {
      el: el("section", { class: "screen", "aria-labelledby": "screen-title" }, [
        heading(t("prompt.browser.title")),
        el("p", { class: "lead", text: str(p.text) || str(p.message) || t("prompt.browser.instructions") }),
      ]),
    };
  }

  /* next_action from a v2 result, or what a v1 result's fix_by implies. */
  function nextAction(r) {
    if (r.next_action && typeof r.next_action.action === "string") return r.next_action;
    switch (r.fix_by) {
      case "user":
      case "retry":
        return { action: "retry_now" };
      case "hardware":
        return { action: "restart_device" };
      case "admin":
      case "support":
        return { action: "contact_admin" };
      default:
        return { action: "none" };
    }
  }

  /* Seconds (page clock) until the agent stops accepting retry; null = unknown/none. */
  function retryWindow(r) {
    if (typeof r.retry_until !== "string") return null;
    const until = Date.parse(r.retry_until);
    const sup = r.support || {};
    const agentNow = Date.parse(str(sup.time) || str(r.time));
    if (isNaN(until)) return null;
    const span = isNaN(agentNow) ? (until - Date.now()) / 1000 : (until - agentNow) / 1000;
    return Math.max(0, span - (now() - r._at) / 1000);
  }

  function retryAccepted(r) {
    if (!st.agent || st.link !== "up" || st.leaving) return false;
    if (r.status === "cancelled" || r.status === "already_joined") return false;
    if (r.status === "joined" && !r.reason) return false;
    if (r.next_action || r.retry_until !== undefined) {
      const w = retryWindow(r);
      return w !== null && w > 0;
    }
    return true; // v1: the agent accepts retry after any failure while it runs
  }

  function detailsBox(r) {
    const sup = r.support || {};
    const srv = r.server || {};
    const dev = r.device || {};
    const rows = [
      ["tty.reason", str(r.reason)],
      ["screen.error_code", str(sup.code) || str(r.code)],
      ["screen.server_code", str(sup.server_code) || str(srv.error_code)],
      ["screen.serial", str(sup.serial) || str(dev.serial) || str(st.hello && st.hello.device && st.hello.device.serial)],
      ["screen.user", str(sup.upn) || str(r.upn)],
      ["screen.time", str(sup.time) || str(r.time)],
      ["screen.request_id", str(sup.request_id) || str(srv.request_id)],
      ["screen.correlation_id", str(sup.correlation_id) || str(srv.correlation_id)],
      ["tty.trace_id", str(srv.trace_id)],
      ["screen.device_id", str(sup.device_id) || str(r.device_id)],
    ];
    const dl = el("dl");
    for (const [id, v] of rows) {
      if (!v) continue;
      dl.append(el("dt", { text: label(id) }), el("dd", {}, [el("code", { text: v })]));
    }
    const admin = str(r.admin_text) || str(r.admin_action);
    return el("details", { class: "details", id: "admin-details" }, [
      el("summary", { text: t("screen.admin_details") }),
      admin ? el("p", { class: "admin", text: admin }) : null,
      dl,
    ]);
  }

  function resultKind(r) {
    switch (r.status) {
      case "joined":
        if (!r.reason) return "joined";
        return r.setup_complete ? "joined" : "incomplete";
      case "joined_mdm_pending":
        return "pending";
      case "already_joined":
        return "already";
      case "cancelled":
        return "cancelled";
      default:
        return "failed";
    }
  }

  const TITLE = {
    joined: "result.joined.title",
    incomplete: "result.joined_incomplete.title",
    pending: "result.joined_mdm_pending.title",
    already: "result.already_joined.title",
    cancelled: "result.cancelled.title",
    failed: "result.failed.title",
  };

  /* The lead sentence: the event's own text, else the catalog's. */
  function resultLead(r, kind) {
    const msg = str(r.text) || str(r.message);
    if (msg) return msg;
    const tenant = str(r.tenant_name);
    switch (kind) {
      case "joined":
        return tenant ? t("tty.done_tenant", { tenant: tenant }) : t("tty.done");
      case "pending":
        return t("tty.pending");
      case "incomplete":
        return t("screen.almost_done");
      case "already":
        return t("result.already_joined.message");
      default:
        return "";
    }
  }

  /*
   * A result; with a leaving event other than "done" the agent has stopped
   * after it: the leaving text heads the screen and the result's details
   * stay below it (the person still needs them for the admin).
   */
  function screenResult(r, leaving) {
    const kind = resultKind(r);
    const good = kind === "joined" || kind === "already";
    const bad = kind === "failed";
    const title = str(r.title) || t(TITLE[kind]);
    const kids = [
      el("span", { class: "mark " + (good ? "ok" : bad ? "bad" : "wait"), "aria-hidden": "true", text: good ? "✓" : bad ? "!" : "…" }),
    ];
    if (leaving) {
      kids.push(heading(str(leaving.text) || t("leaving." + leaving.why)));
      kids.push(el("h2", { id: "result-title", text: title }));
    } else {
      kids.push(heading(title));
    }
    const lead = resultLead(r, kind);
    if (lead) kids.push(el("p", { class: "lead", id: "result-message", text: lead }));
    if (good && str(r.upn)) kids.push(el("p", { id: "signed-in-as", text: label("tty.signed_in_as") + ": " + r.upn }));
    let update = null;
    if ((r.reason || bad) && kind !== "cancelled") {
      const na = nextAction(r);
      const todo = el("div", { class: "todo" + (bad ? "" : " calm"), id: "todo" });
      const naText = el("p", { id: "next-action" });
      const untilText = el("p", { class: "muted countdown", id: "retry-until" });
      const retryBtn = el("button", { type: "button", id: "retry", text: t("screen.try_again") });
      const actions = el("div", { class: "actions" }, [retryBtn]);
      const sendErr = el("p", { class: "fielderror", hidden: true });
      todo.append(naText, untilText, actions, sendErr);
      retryBtn.addEventListener("click", () => {
        if (!retryAccepted(r)) return;
        retryBtn.disabled = true;
        st.local = "retrying";
        st.sendError = "";
        send({ type: "retry" }).then((code) => {
          if (code === 202) {
            st.result = null;
          } else {
            st.local = null;
            st.sendError = t("screen.send_failed");
          }
          render();
        });
      });
      kids.push(todo);
      const sup = r.support || {};
      // the code a person reads out: ours, else the service's (AADSTS...)
      const code = str(sup.code) || str(r.code) || str(sup.server_code) || str(r.server && r.server.error_code);
      if (code) kids.push(el("p", { class: "errcode", id: "error-code" }, [t("screen.error_code") + ": ", el("code", { text: code })]));
      kids.push(detailsBox(r));
      update = () => {
        const later = na.action === "retry_later" ? secondsLeft(r, Number(na.seconds) || 0) : 0;
        let what = "";
        if (na.action === "retry_later" && later >= 120) what = t("screen.retry_in_min", { minutes: Math.ceil(later / 60) });
        else if (na.action === "retry_later" && later > 0) what = t("screen.retry_in", { seconds: later });
        else if (na.action === "contact_admin") what = t("screen.contact_admin");
        else if (na.action === "restart_device") what = t("screen.restart_device");
        naText.textContent = what;
        naText.hidden = !what;
        const accepted = retryAccepted(r);
        actions.hidden = !accepted;
        retryBtn.disabled = !accepted || st.local === "retrying" || later > 0;
        const w = retryWindow(r);
        untilText.hidden = !(accepted && w !== null);
        if (!untilText.hidden) {
          const until = new Date(Date.now() + w * 1000);
          untilText.textContent = t("screen.retry_until", {
            time: until.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" }),
          });
        }
        todo.hidden = !what && !accepted;
        sendErr.textContent = st.sendError;
        sendErr.hidden = !st.sendError;
      };
      update();
    }
    return { el: el("section", { class: "screen", "aria-labelledby": "screen-title" }, kids), update: update, urgent: bad };
  }

  function screenLeaving(ev) {
    const why = str(ev.why) || "done";
    const text = str(ev.text) || t("leaving." + why);
    const kids = [
      el("span", { class: "mark " + (why === "done" ? "ok" : "wait"), "aria-hidden": "true", text: why === "done" ? "✓" : "…" }),
      heading(text),
    ];
    if (why === "done") kids.push(el("p", { class: "lead", text: t("screen.finished") }));
    return { el: el("section", { class: "screen", "aria-labelledby": "screen-title" }, kids) };
  }

  function screenSimple(titleId, textId) {
    return {
      el: el("section", { class: "screen", "aria-labelledby": "screen-title" }, [
        heading(t(titleId)),
        textId ? el("p", { class: "lead", text: t(textId) }) : null,
      ]),
    };
  }

  /*
   * Which screen the kept state calls for: [key, builder].  Keys name the
   * content (and the locale), so the same state sent again (a replay on
   * reconnect) keeps the screen, focus and what was typed.
   */
  function choose() {
    const loc = "|" + ((st.hello && st.hello.locale) || "");
    // a result stays on screen when the agent goes away after it (it is
    // done); leaving "done" after a result changes nothing
    const r = st.result;
    const lv = st.leaving;
    const rkey = r ? [r.status, r.reason, r.code, r.time].join("|") + loc : "";
    if (lv && (lv.why !== "done" || !r)) {
      return ["leaving:" + lv.why + "|" + rkey, () => (r ? screenResult(r, lv) : screenLeaving(lv))];
    }
    if (r) return ["result:" + rkey, () => screenResult(r)];
    if (st.link === "connecting") return ["connecting", () => screenSimple("screen.title", "")];
    if (st.link !== "up" || !st.agent) return ["reconnecting", () => screenSimple("screen.reconnecting", "")];
    const p = st.prompt;
    if (p && (!st.local || (p.kind === "credentials" && st.local === "signing_in"))) {
      if (p.kind === "device_code") return ["code:" + p.user_code + loc, () => screenDeviceCode(p)];
      if (p.kind === "credentials") return ["cred:" + p.username + loc, () => screenCredentials(p)];
      return ["browser:" + p.authorize_url + loc, () => screenBrowser(p)];
    }
    // "checking" until sign-in: the preflight and the discovery the agent
    // runs before it (at 7 %; the one after sign-in is at 55 %)
    const pr = st.progress;
    const early = pr && (pr.phase === "preflight" || (pr.phase === "discover" && Number(pr.percent) < 10));
    const checking = !st.local && (!pr || early);
    return [(checking ? "checking" : "progress") + loc, () => screenProgress(checking)];
  }

  function renderChrome(key) {
    const badge = document.getElementById("linkstate");
    // an agent that leaves after its result (or leaving event) is done, not
    // lost; the reconnecting screen says it already
    const down = (st.link === "down" || !st.agent) && !st.result && !st.leaving && key !== "reconnecting";
    badge.hidden = !down;
    badge.textContent = down ? t("screen.reconnecting") + "…" : "";
    document.getElementById("brand").textContent = t("screen.title");
    document.title = t("screen.title");
    const foot = document.getElementById("foot");
    const d = (st.hello && st.hello.device) || {};
    const parts = [];
    const model = (str(d.manufacturer) + " " + str(d.model)).trim();
    if (model) parts.push(model);
    if (str(d.serial)) parts.push(t("screen.serial") + ": " + d.serial);
    foot.textContent = parts.join(" · ");
  }

  /* Events that arrive together (a replay) are drawn once, in the next frame. */
  let pending = false;
  function render() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(flush);
    setTimeout(flush, 250); // no frames in a hidden tab
  }

  function flush() {
    if (!pending) return;
    pending = false;
    draw();
  }

  function draw() {
    const [key, build] = choose();
    renderChrome(key);
    if (key === current.key) {
      if (current.update) current.update();
      return;
    }
    mount(key, build());
  }

  /* Rebuild the current screen (new words); focus stays where it was. */
  function rebuild() {
    const [key, build] = choose();
    renderChrome(key);
    // a screen not yet drawn is drawn as new (its heading takes focus)
    mount(key, build(), key === current.key);
  }

  function mount(key, scr, keepFocus) {
    const main = document.getElementById("main");
    const old = document.getElementById("screen");
    scr.el.id = "screen";
    scr.el.setAttribute("data-screen", key.split(/[:|]/)[0]);
    // keep what was typed when only the words change
    if (keepFocus && old && current.key === key) {
      for (const inp of old.querySelectorAll("input[id]")) {
        const n = scr.el.querySelector("#" + inp.id);
        if (n && inp.type !== "password") n.value = inp.value;
        else if (n && inp.value) n.value = inp.value;
      }
    }
    const had = old && old.contains(document.activeElement) ? document.activeElement.id || "screen-title" : "";
    if (old) main.replaceChild(scr.el, old);
    else main.appendChild(scr.el);
    current = { key: key, update: scr.update || null };
    if (keepFocus) {
      // new words for the same screen: focus stays on the same control
      const f = had && scr.el.querySelector("#" + had);
      if (f) f.focus();
    } else {
      const h = scr.el.querySelector("h1");
      if (h) h.focus();
      if (scr.urgent) {
        const r = st.result;
        announce(h.textContent + ". " + (str(r && r.text) || str(r && r.message)), true);
      }
    }
  }

  function tick() {
    if (current.update) current.update();
  }

  document.addEventListener("DOMContentLoaded", () => {
    live.polite = document.getElementById("live-polite");
    live.assertive = document.getElementById("live-assertive");
    loadWords(navigator.language);
    current.key = "connecting";
    connect();
    setInterval(tick, 1000);
  });
})();
