/* The counter's pages: one page, views by the URL's #fragment, each
 * calling the JSON API (docs/counter-api.yaml).  Text is set through the
 * DOM, never as HTML.  PINs live in this page only between the holder's
 * screen and the commit, and are cleared then. */
"use strict";

let SESSION = null;           // {clerk, role, csrf}
const main = () => document.getElementById("main");

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  if (method !== "GET" && SESSION) opt.headers["X-CSRF-Token"] = SESSION.csrf;
  const r = await fetch(path, opt);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {}; }
  if (r.status === 401 && path !== "/api/signin") {
    SESSION = null;
    go("#/signin");
  }
  return { ok: r.ok, status: r.status, data };
}

function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

function errorBox(res) {
  const d = res.data || {};
  const kids = [h("div", { class: "error", "data-testid": "error", text: d.message || ("HTTP " + res.status) })];
  if (d.rule) kids.push(h("p", { class: "rule-text", "data-testid": "error-rule" },
    h("strong", {}, d.rule + ": "), ruleText(d.rule)));
  return h("div", { class: "verdict refused" }, kids);
}

function statusCell(s) {
  return h("span", { class: "status-" + s, "data-status": s }, t("st." + s));
}

function table(cols, rows, attrs) {
  return h("table", attrs || {},
    h("thead", {}, h("tr", {}, cols.map(c => h("th", { text: t(c) })))),
    h("tbody", {}, rows));
}

function dateOnly(s) { return s ? s.slice(0, 10) : ""; }

/* ---- chrome ---- */

function applyLang() {
  document.documentElement.lang = LANG;
  document.querySelectorAll("[data-t]").forEach(e => { e.textContent = t(e.dataset.t); });
  document.getElementById("lang").textContent = LANG === "ja" ? "English" : "日本語";
}

function chrome() {
  const signed = !!SESSION;
  document.getElementById("nav").hidden = !signed;
  document.getElementById("signout").hidden = !signed;
  document.getElementById("who").textContent = signed ? SESSION.clerk + " (" + SESSION.role + ")" : "";
  document.getElementById("nav-clerks").hidden = !signed || SESSION.role !== "admin";
  applyLang();
}

/* ---- views ---- */

function viewSignin() {
  const err = h("div", {});
  const form = h("form", { class: "card signin", id: "signin" },
    h("h1", { text: t("signin.title") }),
    h("label", { for: "username", text: t("signin.username") }),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password", text: t("signin.password") }),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: t("signin.submit") })),
    err);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const pw = form.password;
    const res = await api("POST", "/api/signin", { username: form.username.value, password: pw.value });
    pw.value = "";
    if (!res.ok) { err.replaceChildren(errorBox(res)); return; }
    SESSION = res.data;
    chrome();
    go("#/dashboard");
  });
  main().replaceChildren(h("section", { class: "card" }, form));
}

async function viewDashboard() {
  const res = await api("GET", "/api/dashboard");
  if (!res.ok) return main().replaceChildren(errorBox(res));
  const d = res.data;
  const notices = h("div", { class: "muted" });
  main().replaceChildren(
    h("h1", { text: t("nav.dashboard") + " — " + d.today }),
    h("div", { class: "grid" },
      h("section", { class: "card", id: "today" },
        h("h2", { text: t("dash.today") + " (" + d.procedures.length + ")" }),
        table(["col.when", "col.proc", "col.clerk", "col.total"], d.procedures.map(p =>
          h("tr", {}, h("td", { text: p.at.slice(11, 16) }),
            h("td", {}, h("a", { href: "#/receipt/" + p.number, text: p.label })),
            h("td", { text: p.clerk }), h("td", { text: p.total_yen + " 円" }))))),
      h("section", { class: "card", id: "expiring" },
        h("h2", { text: t("dash.expiring") + " (" + d.expiring.length + ")" }),
        table(["res.name", "col.type", "col.expiry"], d.expiring.map(c =>
          h("tr", {}, h("td", {}, h("a", { href: "#/resident/" + c.resident, text: c.name || c.resident })),
            h("td", { text: t("cert." + c.type) }), h("td", { text: c.expiry_date })))),
        h("div", { class: "row" }, h("button", { id: "make-notices", onclick: async () => {
          const r = await api("POST", "/api/procedures/notices", { within_months: 3 });
          notices.replaceChildren(r.ok ? h("div", { id: "notices-made" },
            h("p", { text: r.data.notices + " / " + r.data.certificates + " (" + r.data.directory + ")" }),
            r.data.documents.map(d => h("a", { class: "button", href: "/api/documents/" + d, target: "_blank", text: d.split("/")[1] }))) : errorBox(r));
        } }, t("dash.notices"))), notices),
      h("section", { class: "card", id: "revocations" },
        h("h2", { text: t("dash.revoked") + " (" + d.revocations.length + ")" }),
        table(["res.name", "col.type", "col.when", "col.status"], d.revocations.map(c =>
          h("tr", {}, h("td", {}, h("a", { href: "#/resident/" + c.resident, text: c.name || c.resident })),
            h("td", { text: t("cert." + c.type) }), h("td", { text: dateOnly(c.revoked_at) }),
            h("td", { text: c.reason })))))));
}

function viewSearch(q) {
  const out = h("div", { id: "results" });
  const input = h("input", { type: "search", id: "q", name: "q", value: q || "", placeholder: t("search.hint"), "aria-label": t("search.hint") });
  const form = h("form", { role: "search" }, input,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", text: t("search.go") })));
  form.addEventListener("submit", ev => { ev.preventDefault(); go("#/search?q=" + encodeURIComponent(input.value)); });
  main().replaceChildren(h("section", { class: "card" }, h("h1", { text: t("search.title") }), form), out);
  if (q) search(q, out);
  input.focus();
}

async function search(q, out) {
  const res = await api("GET", "/api/residents?q=" + encodeURIComponent(q));
  if (!res.ok) return out.replaceChildren(errorBox(res));
  const rows = res.data.residents;
  out.replaceChildren(h("section", { class: "card" }, rows.length === 0 ? h("p", { text: t("search.none") }) :
    table(["res.name", "res.kana", "res.number", "res.birth", "res.address"], rows.map(r =>
      h("tr", {}, h("td", {}, h("a", { href: "#/resident/" + r.id, class: "resident-link", text: r.surname + " " + r.given })),
        h("td", { text: r.kana }), h("td", { text: r.number }), h("td", { text: r.birth }),
        h("td", { text: r.address }))))));
}

const PROCS = ["deliver", "issue", "renew", "reset-pin", "update-card", "report-lost", "reissue", "proxy-apply", "proxy-complete"];

async function viewResident(id) {
  const res = await api("GET", "/api/residents/" + id);
  if (!res.ok) return main().replaceChildren(errorBox(res));
  const d = res.data, r = d.resident;
  const active = d.cards.find(c => c.status === "active");
  const facts = [["res.number", r.number], ["res.name", r.surname + " " + r.given], ["res.kana", r.kana],
    ["res.address", r.address], ["res.birth", r.birth], ["res.gender", t("g." + r.gender)], ["res.age", d.age]];
  main().replaceChildren(
    h("h1", { id: "resident-name", text: r.surname + " " + r.given }),
    h("div", { class: "grid" },
      h("section", { class: "card", id: "facts" }, h("h2", { text: t("res.facts") }),
        h("table", {}, h("tbody", {}, facts.map(([k, v]) => h("tr", {}, h("th", { text: t(k) }), h("td", { text: v })))))),
      h("section", { class: "card procs", id: "procedures" }, h("h2", { text: t("res.procedures") }),
        PROCS.map(p => h("button", { "data-proc": p, onclick: () =>
          go("#/proc/" + p + "?resident=" + r.id + (active ? "&card=" + active.serial : "")) }, t("proc." + p))))),
    h("section", { class: "card", id: "cards" }, h("h2", { text: t("res.cards") }),
      table(["col.serial", "col.status", "col.issued", "col.expiry", "col.image"], d.cards.map(c =>
        h("tr", {}, h("td", { text: c.serial }), h("td", {}, statusCell(c.status)),
          h("td", { text: c.issued_on }), h("td", { text: c.expiry }),
          h("td", { text: c.image + (c.facts_current ? "" : " ⚠ R11") })))) ),
    h("section", { class: "card", id: "certificates" }, h("h2", { text: t("res.certs") }),
      table(["col.type", "col.serial", "col.status", "col.expiry", "col.renewal"], d.certificates.map(c =>
        h("tr", { "data-type": c.type, "data-status": c.status }, h("td", { text: t("cert." + c.type) }),
          h("td", { class: "serial", text: c.serial }), h("td", {}, statusCell(c.status),
            c.reason ? h("span", { class: "muted", text: " " + c.reason }) : null),
          h("td", { text: c.expiry_date }), h("td", { text: c.renewal_opens }))))),
    h("section", { class: "card", id: "receipts" }, h("h2", { text: t("res.receipts") }),
      table(["receipt.number", "col.when", "col.proc", "col.clerk", "col.total"], d.receipts.map(p =>
        h("tr", {}, h("td", {}, h("a", { href: "#/receipt/" + p.number, text: p.number })),
          h("td", { text: p.at.replace("T", " ").slice(0, 16) }), h("td", { text: p.label }),
          h("td", { text: p.clerk }), h("td", { text: p.total_yen + " 円" }))))),
    h("section", { class: "card", id: "history" }, h("h2", { text: t("res.history") }),
      table(["col.when", "col.action", "col.actor"], d.history.slice(-30).reverse().map(e =>
        h("tr", {}, h("td", { text: e.at.replace("T", " ").slice(0, 16) }), h("td", { text: e.action }),
          h("td", { text: e.actor }))))));
}

/* ---- the guided procedures ---- */

/* The fields each procedure asks the clerk for, and the PINs the holder
 * types on their own screen. */
function procFields(p) {
  const f = [];
  if (["deliver", "reissue", "issue", "renew", "proxy-apply"].includes(p))
    f.push(["types", "select", p === "deliver" || p === "reissue" ? ["both", "sign", "auth", "none"] : ["both", "sign", "auth"]]);
  if (p === "reset-pin") f.push(["pin_kind", "select", ["auth", "sign", "cardinfo"]]);
  if (p === "proxy-apply") f.push(["purpose", "select", ["issue", "renew", "reset-pin"]], ["pin_kind", "select", ["auth", "sign", "cardinfo"]]);
  if (["issue", "renew", "reset-pin", "update-card", "proxy-complete", "deliver", "reissue"].includes(p)) f.push(["card", "card"]);
  if (p === "proxy-complete") f.push(["form", "text"], ["check_code", "secret"]);
  if (p === "proxy-apply" || p === "proxy-complete")
    f.push(["proxy_name", "text"], ["proxy_doc", "text"], ["proxy_docno", "text"]);
  else if (p !== "report-lost")
    f.push(["id_doc", "text"], ["id_number", "text"]);
  return f;
}

function pinsNeeded(p, v) {
  const types = v.types || "both";
  const s = types === "both" || types === "sign", a = types === "both" || types === "auth";
  if (p === "deliver" || p === "reissue") return [...(s ? ["sign"] : []), ...(a ? ["auth"] : []), "cardinfo"];
  if (p === "issue" || p === "renew") return [...(s ? ["sign"] : []), ...(a ? ["auth"] : [])];
  if (p === "reset-pin") return [v.pin_kind || "auth"];
  if (p === "proxy-complete") return v.pins_for || [];
  return [];
}

async function viewProc(p, params) {
  const resident = params.get("resident");
  /* The resident's cards, newest first: the one in use is the default. */
  const rd = await api("GET", "/api/residents/" + resident);
  const cards = rd.ok ? rd.data.cards.slice().reverse() : [];
  /* Cards in the PC/SC readers on the server host: the resident's own for
   * a procedure on a card, cards the store does not know (blank) for a new
   * one.  The value "reader:NAME" sends "reader" instead of "card". */
  const newCard = p === "deliver" || p === "reissue";
  const rc = await api("GET", "/api/cards?readers=1");
  const inReaders = rc.ok ? rc.data.cards.filter(c => c.source === "pcsc" && c.serial &&
    (newCard ? c.resident === undefined : String(c.resident) === String(resident))) : [];
  const options = [
    ...inReaders.map(c => ({ value: "reader:" + c.name, text: c.name + " — " + c.serial + (newCard ? "" : " (" + t("flow.in_reader") + ")") })),
    ...(newCard ? [{ value: "", text: t("flow.new_image") }] :
      cards.map(c => ({ value: c.serial, text: c.serial + " (" + t("st." + c.status) + ", " + c.image + ")" }))),
  ];
  const values = { card: params.get("card") || (options[0] ? options[0].value : "") };
  const verdict = h("div", { id: "verdict" });
  const stage = h("div", { id: "stage" });
  const fields = procFields(p).map(([name, kind, opts]) => {
    let input;
    if (kind === "select") input = h("select", { name, id: "f-" + name }, opts.map(o => h("option", { value: o, text: o === "both" ? t("flow.both") : o === "none" ? t("flow.none") : o })));
    else if (kind === "card") input = h("select", { name, id: "f-card" }, options.map(o => h("option", { value: o.value,
      selected: o.value === values.card, text: o.text })));
    else input = h("input", { name, id: "f-" + name, type: kind === "secret" ? "password" : "text", autocomplete: "off" });
    input.addEventListener("change", () => { verdict.replaceChildren(); stage.replaceChildren(); });
    return h("div", {}, h("label", { for: input.id, text: t("flow." + ({ types: "types", pin_kind: "pin_kind", purpose: "purpose", card: "card", form: "form", check_code: "check_code", proxy_name: "proxy_name", proxy_doc: "proxy_doc", proxy_docno: "proxy_docno", id_doc: "id_doc", id_number: "id_number" })[name]) }), input);
  });
  const form = h("form", { id: "proc-form" }, fields);
  const read = () => {
    const v = {};
    for (const el of form.elements) if (el.name) v[el.name] = el.value;
    return v;
  };
  const checkBtn = h("button", { class: "primary", id: "check", type: "button", onclick: async () => {
    const v = read();
    const q = new URLSearchParams({ procedure: p });
    if (v.card && v.card.startsWith("reader:")) q.set("reader", v.card.slice(7));
    if (v.card && !v.card.startsWith("reader:") && !["deliver", "reissue", "report-lost", "proxy-apply"].includes(p)) q.set("card", v.card);
    else if (!v.card || !v.card.startsWith("reader:") || newCard) q.set("resident", resident);
    if (v.types) q.set("types", p === "proxy-apply" ? "both" : v.types);
    if (p === "reset-pin" && v.pin_kind) q.set("pin_kind", v.pin_kind);
    const res = await api("GET", "/api/check?" + q);
    if (!res.ok) return verdict.replaceChildren(errorBox(res));
    showVerdict(verdict, res.data);
    stage.replaceChildren();
    if (res.data.allowed) stage.append(nextStep(p, resident, read, stage));
  } }, t("flow.check"));
  main().replaceChildren(
    h("h1", {}, t("proc." + p), " ", h("a", { class: "muted", href: "#/resident/" + resident, text: "← " + resident })),
    h("section", { class: "card" }, form, h("div", { class: "row" }, checkBtn), verdict, stage));
}

function showVerdict(box, d) {
  box.replaceChildren(h("div", { class: "verdict " + (d.allowed ? "ok" : "refused"), "data-testid": "verdict", "data-allowed": String(d.allowed) },
    h("strong", { text: d.allowed ? t("flow.allowed") : t("flow.refused") }),
    h("p", { "data-testid": "verdict-message", text: d.message }),
    d.rules.map(r => h("p", { class: "rule-text", "data-rule": r }, h("strong", { text: t("flow.rule") + " " + r + ": " }), ruleText(r))),
    d.fees && d.fees.length ? h("p", { "data-testid": "fees" }, t("flow.fees") + ": ",
      d.fees.map(f => f.label + " " + f.yen + " 円").join(" + "), " = " + d.total_yen + " 円") : null));
}

/* After the rule allows it: the holder's PIN screen when PINs are
 * needed, then the commit. */
function nextStep(p, resident, read, stage) {
  const v = read();
  const pins = pinsNeeded(p, v);
  const commit = h("button", { class: "primary", id: "commit", type: "button" }, t("flow.commit"));
  let holder = {};
  commit.addEventListener("click", async () => {
    commit.disabled = true;
    const body = buildBody(p, resident, read(), holder);
    holder = {};
    const res = await api("POST", "/api/procedures/" + p, body);
    for (const k of Object.keys(body)) body[k] = null;
    if (!res.ok) { stage.replaceChildren(errorBox(res)); return; }
    if (p === "proxy-apply") return stage.replaceChildren(formMailed(res.data));
    stage.replaceChildren(receiptView(res.data.receipt, true));
  });
  if (pins.length === 0 && p !== "proxy-complete") return h("div", { class: "row" }, commit);
  if (p === "proxy-complete") {
    const sel = ["sign", "auth", "cardinfo"].map(k => h("label", {}, h("input", { type: "checkbox", value: k, class: "form-pin" }), " " + t("pin." + k)));
    const go2 = h("button", { id: "to-holder", type: "button", onclick: () => {
      const chosen = sel.map(l => l.querySelector("input")).filter(i => i.checked).map(i => i.value);
      stage.replaceChildren(pinScreen(chosen, holder, commit, true));
    } }, t("flow.to_holder"));
    return h("div", {}, h("p", { class: "muted", text: t("flow.form") }), sel, h("div", { class: "row" }, go2));
  }
  return h("div", { class: "row" }, h("button", { id: "to-holder", type: "button", onclick: () =>
    stage.replaceChildren(pinScreen(pins, holder, commit, false)) }, t("flow.to_holder")));
}

function pinScreen(kinds, holder, commit, fromForm) {
  const inputs = kinds.map(k => h("div", {}, h("label", { for: "pin-" + k, text: (fromForm ? "" : "") + t("pin." + k) }),
    h("input", { id: "pin-" + k, name: "pin-" + k, type: "password", autocomplete: "off", inputmode: k === "sign" ? "text" : "numeric" })));
  const done = h("button", { id: "pin-done", class: "primary", type: "button", onclick: () => {
    for (const k of kinds) {
      const el = document.getElementById("pin-" + k);
      holder[k] = el.value;
      el.value = "";
    }
    screen.replaceWith(h("div", { class: "row" }, commit));
  } }, t("pin.back"));
  const screen = h("div", { class: "pin-screen", id: "pin-screen" }, h("h2", { text: t("pin.title") }),
    h("p", { text: t("pin.note") }), inputs, h("div", { class: "row" }, done));
  return screen;
}

function buildBody(p, resident, v, holder) {
  const b = {};
  if (resident) b.resident = Number(resident);
  for (const k of ["types", "card", "pin_kind", "purpose", "id_doc", "id_number", "check_code"])
    if (v[k] !== undefined && v[k] !== "") b[k] = v[k];
  if (v.form) b.form = Number(v.form);
  if (v.proxy_name !== undefined) b.proxy = { name: v.proxy_name, doc_type: v.proxy_doc, doc_number: v.proxy_docno };
  if (p === "reset-pin") b.new_pin = holder[v.pin_kind || "auth"];
  else b.pins = { sign: holder.sign, auth: holder.auth, cardinfo: holder.cardinfo };
  if (p === "report-lost") delete b.card;
  if (b.card && b.card.startsWith("reader:")) {
    b.reader = b.card.slice(7);
    delete b.card;
  }
  return b;
}

function formMailed(d) {
  return h("div", { class: "verdict ok", id: "form-mailed" },
    h("strong", { text: t("flow.form_mailed") }),
    h("p", { "data-testid": "form-number", "data-form": d.form, text: t("flow.form") + ": " + d.form + " (" + d.form_expiry + ")" }),
    h("p", {}, h("a", { class: "button", id: "form-pdf", href: "/api/documents/" + d.document, target: "_blank", text: "PDF" })),
    h("p", { class: "rule-text" }, h("strong", { text: "R14: " }), ruleText("R14")));
}

function receiptView(r, fresh) {
  const fees = r.fees || [];
  return h("div", { class: "receipt", id: "receipt", "data-total": r.total_yen },
    fresh ? h("p", { class: "verdict ok", text: t("flow.done") }) : null,
    h("h2", { text: t("receipt.title") + " — " + r.label }),
    h("p", {}, t("receipt.number") + ": ", h("span", { id: "receipt-number", text: r.number })),
    h("p", { class: "muted", text: (r.at || "").replace("T", " ").slice(0, 19) + " / " + r.clerk }),
    r.card ? h("p", { text: t("flow.card") + ": " + r.card }) : null,
    (r.issued || []).length ? h("p", { id: "issued" }, t("res.certs") + ": ",
      r.issued.map(c => h("span", { class: "pill", "data-type": c.type, text: t("cert." + c.type) + " " + dateOnly(c.not_after) }))) : null,
    r.security_code ? h("p", { text: "セキュリティコード: " + r.security_code }) : null,
    r.note ? h("p", { class: "muted", text: r.note }) : null,
    h("table", { id: "fees" }, h("tbody", {},
      fees.length === 0 ? h("tr", {}, h("td", { text: t("receipt.none") })) :
        fees.map(f => h("tr", { "data-item": f.item }, h("td", { text: f.label }), h("td", { class: "yen", text: f.yen + " 円" }))),
      h("tr", { class: "total" }, h("td", { text: t("receipt.total") }), h("td", { id: "total", text: r.total_yen + " 円" })))),
    h("div", { class: "row noprint" }, h("button", { id: "print", type: "button", onclick: () => window.print() }, t("receipt.print")),
      h("a", { class: "button", id: "receipt-pdf", href: "/api/receipts/" + r.number + ".pdf", download: "receipt-" + r.number + ".pdf", text: t("receipt.pdf") }),
      r.resident ? h("a", { class: "button", href: "#/resident/" + r.resident, text: "← " + t("nav.search") }) : null));
}

async function viewReceipt(n) {
  const res = await api("GET", "/api/receipts/" + n);
  if (!res.ok) return main().replaceChildren(errorBox(res));
  main().replaceChildren(h("section", { class: "card" }, receiptView(res.data, false)));
}

async function viewCards() {
  const res = await api("GET", "/api/cards?readers=1");
  if (!res.ok) return main().replaceChildren(errorBox(res));
  main().replaceChildren(h("section", { class: "card" }, h("h1", { text: t("cards.title") }),
    table(["col.image", "col.serial", "col.status", "res.name"], res.data.cards.map(c =>
      h("tr", {}, h("td", { text: (c.source === "pcsc" ? "PC/SC: " : "") + c.name }), h("td", { text: c.serial || c.error || "" }),
        h("td", { text: c.status ? t("st." + c.status) : "" }),
        h("td", {}, c.resident ? h("a", { href: "#/resident/" + c.resident, text: c.resident }) : "")))),
    res.data.readers_note ? h("p", { class: "muted", text: "PC/SC: " + res.data.readers_note }) : null));
}

async function viewClerks() {
  const res = await api("GET", "/api/clerks");
  if (!res.ok) return main().replaceChildren(errorBox(res));
  const msg = h("div", {});
  const name = h("input", { id: "c-name", name: "name", autocomplete: "off" });
  const role = h("select", { id: "c-role" }, ["clerk", "supervisor", "admin"].map(r => h("option", { value: r, text: r })));
  const pw = h("input", { id: "c-password", type: "password", autocomplete: "new-password" });
  const post = async (path, body) => {
    const r = await api("POST", path, body);
    pw.value = "";
    if (!r.ok) return msg.replaceChildren(errorBox(r));
    viewClerks();
  };
  main().replaceChildren(
    h("section", { class: "card" }, h("h1", { text: t("nav.clerks") }),
      h("div", { class: "row" },
        h("div", {}, h("label", { for: "c-name", text: t("signin.username") }), name),
        h("div", {}, h("label", { for: "c-role", text: t("clerks.role") }), role),
        h("div", {}, h("label", { for: "c-password", text: t("signin.password") }), pw),
        h("button", { id: "clerk-add", class: "primary", type: "button", onclick: () =>
          post("/api/clerks", { name: name.value, role: role.value, password: pw.value }) }, t("clerks.add")),
        h("button", { id: "clerk-passwd", type: "button", onclick: () =>
          post("/api/clerks/password", { name: name.value, password: pw.value }) }, t("clerks.passwd"))), msg),
    h("section", { class: "card" }, table(["signin.username", "clerks.role", "col.status", "col.when", "col.action"],
      res.data.clerks.map(c => h("tr", { "data-clerk": c.name }, h("td", { text: c.name }), h("td", { text: c.role }),
        h("td", { text: c.state }), h("td", { text: c.last_signin.replace("T", " ").slice(0, 16) }),
        h("td", {}, c.state !== "disabled" && c.name !== SESSION.clerk ?
          h("button", { class: "danger", onclick: () => post("/api/clerks/disable", { name: c.name }) }, t("clerks.disable")) : ""))))));
}

async function viewAudit(params) {
  const q = new URLSearchParams();
  for (const k of ["actor", "action", "subject"]) if (params.get(k)) q.set(k, params.get(k));
  const res = await api("GET", "/api/audit?" + q);
  if (!res.ok) return main().replaceChildren(errorBox(res));
  const d = res.data;
  const form = h("form", { class: "row", id: "audit-filter" }, ["actor", "action", "subject"].map(k =>
    h("div", {}, h("label", { for: "a-" + k, text: t("col." + k) }), h("input", { id: "a-" + k, name: k, value: params.get(k) || "" }))),
    h("button", { type: "submit", text: t("audit.filter") }));
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) p.set(el.name, el.value);
    go("#/audit?" + p);
  });
  main().replaceChildren(
    h("section", { class: "card" }, h("h1", { text: t("nav.audit") }),
      h("div", { class: "verdict " + (d.verify.verdict === "ok" ? "ok" : "refused"), id: "audit-verdict", "data-verdict": d.verify.verdict },
        t("audit.verdict") + ": " + t("audit." + d.verify.verdict) + " (" + d.verify.checked + ") " + d.verify.message),
      form, h("div", { class: "row" }, h("button", { id: "request-export", type: "button", onclick: async () => {
        const r = await api("POST", "/api/approvals", { kind: "audit-export" });
        if (r.ok) go("#/approvals");
      } }, t("audit.export")))),
    h("section", { class: "card" }, table(["col.when", "col.actor", "col.action", "col.subject"], d.entries.slice().reverse().map(e =>
      h("tr", {}, h("td", { text: e.seq + " " + e.at.replace("T", " ").slice(0, 19) }), h("td", { text: e.actor }),
        h("td", { text: e.action }), h("td", { text: e.subject }))))));
}

async function viewApprovals() {
  const res = await api("GET", "/api/approvals");
  if (!res.ok) return main().replaceChildren(errorBox(res));
  const msg = h("div", {});
  const serial = h("input", { id: "revoke-serial", name: "serial" });
  const reason = h("select", { id: "revoke-reason", name: "reason" }, ["keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "unspecified"].map(r => h("option", { value: r, text: r })));
  const act = async (path, id) => {
    const r = await api("POST", path, { id });
    if (!r.ok) return msg.replaceChildren(errorBox(r));
    viewApprovals();
  };
  const exportIt = async id => {
    const r = await api("GET", "/api/approvals/export/" + id);
    if (!r.ok) return msg.replaceChildren(errorBox(r));
    const blob = new Blob([JSON.stringify(r.data, null, 1)], { type: "application/json" });
    const a = h("a", { href: URL.createObjectURL(blob), download: "audit-export-" + id + ".json", text: "audit-export-" + id + ".json" });
    msg.replaceChildren(h("p", {}, r.data.verdict + " " + r.data.checked + " ", a));
  };
  main().replaceChildren(
    h("section", { class: "card" }, h("h1", { text: t("appr.title") }),
      h("div", { class: "row" }, h("div", {}, h("label", { for: "revoke-serial", text: t("col.serial") }), serial),
        h("div", {}, h("label", { for: "revoke-reason", text: "reason" }), reason),
        h("button", { id: "request-revoke", type: "button", onclick: async () => {
          const r = await api("POST", "/api/approvals", { kind: "revoke", serial: serial.value, reason: reason.value });
          if (!r.ok) return msg.replaceChildren(errorBox(r));
          viewApprovals();
        } }, t("appr.revoke"))), msg),
    h("section", { class: "card" }, table(["col.when", "col.action", "col.actor", "col.status", "col.action"], res.data.approvals.map(a =>
      h("tr", { "data-approval": a.id }, h("td", { text: a.at.replace("T", " ").slice(0, 16) }),
        h("td", { text: a.kind + (a.serial ? " " + a.serial : "") }), h("td", { text: a.requester + (a.approver ? " → " + a.approver : "") }),
        h("td", { text: a.state + (a.exported ? " (exported)" : "") }),
        h("td", {}, a.state === "pending" && SESSION.role !== "clerk" && a.requester !== SESSION.clerk ?
          [h("button", { class: "approve", onclick: () => act("/api/approvals/approve", a.id) }, t("appr.approve")),
           h("button", { onclick: () => act("/api/approvals/reject", a.id) }, t("appr.reject"))] :
          a.kind === "audit-export" && a.state === "approved" && !a.exported && a.requester === SESSION.clerk ?
            h("button", { onclick: () => exportIt(a.id) }, t("appr.download")) : ""))))));
}

/* ---- routing ---- */

async function route() {
  const hash = location.hash || "#/dashboard";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (!SESSION && parts[0] !== "signin") {
    const s = await api("GET", "/api/session");
    if (s.ok) SESSION = s.data; else return;     /* api() went to sign-in */
  }
  chrome();
  document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("active", a.getAttribute("href") === "#/" + parts[0]));
  switch (parts[0]) {
    case "signin": return viewSignin();
    case "search": return viewSearch(params.get("q"));
    case "resident": return viewResident(parts[1]);
    case "proc": return viewProc(parts[1], params);
    case "receipt": return viewReceipt(parts[1]);
    case "cards": return viewCards();
    case "audit": return viewAudit(params);
    case "approvals": return viewApprovals();
    case "clerks": return viewClerks();
    default: return viewDashboard();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("lang").addEventListener("click", () => {
    LANG = LANG === "ja" ? "en" : "ja";
    localStorage.setItem("jpki.lang", LANG);
    route();
  });
  document.getElementById("signout").addEventListener("click", async () => {
    await api("POST", "/api/signout", {});
    SESSION = null;
    go("#/signin");
  });
  window.addEventListener("hashchange", route);
  route();
});
