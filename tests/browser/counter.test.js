// counter.test.js: the counter's web UI in headless Chromium (Debian's
// chromium, driven by playwright-core).  Run by
// tests/interop/test_counter_web_browser.sh, which prepares the data
// directory (residents, clerks, the cards made beforehand) and passes:
//   JPKI (binary), JPKI_DATA, SHOTS (screenshot directory), DOC_IMAGES
//   (optional: where to put the README's pictures), CLERK1/CLERK2 and
//   their password CLERK_PW, the resident ids A (delivery, PIN reset,
//   loss and reissue), B (proxy, R14) and D (renewal refused, R9), and
//   the two instants T0 and T1 (the proxy's second visit).
// Each step checks what the page shows; the server is started here, on a
// free loopback port, once at T0 and again at T1.
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const assert = require("assert");

const env = process.env;
const { check, checksDone, startServer, stopServer, shot } = require("./lib.js");

async function signIn(page, url, who) {
  await page.goto(url + "/#/signin");
  await page.fill("input[name=username]", who);
  await page.fill("input[name=password]", env.CLERK_PW);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("#today");
}

async function openResident(page, query, id) {
  await page.click("a[href='#/search']");
  await page.fill("input[type=search]", query);
  await page.press("input[type=search]", "Enter");
  await page.click(`#results a[href='#/resident/${id}']`);
  await page.waitForSelector("#facts");
}

async function startProc(page, proc) {
  await page.click(`#procedures button[data-proc='${proc}']`);
  await page.waitForSelector("#check");
}

async function checkRule(page, allowed, rule) {
  await page.click("#check");
  await page.waitForSelector("[data-testid=verdict], [data-testid=error]");
  const err = page.locator("#verdict [data-testid=error]");
  if (await err.count()) throw new Error("check failed: " + await err.innerText());
  const v = await page.waitForSelector("[data-testid=verdict]");
  assert.strictEqual(await v.getAttribute("data-allowed"), String(allowed),
    await v.innerText());
  if (rule) await page.waitForSelector(`[data-testid=verdict] [data-rule='${rule}']`);
  return v.innerText();
}

async function holderTypes(page, pins) {
  await page.click("#to-holder");
  await page.waitForSelector("#pin-screen");
  for (const [k, v] of Object.entries(pins)) {
    const input = page.locator(`#pin-${k}`);
    assert.strictEqual(await input.getAttribute("type"), "password", "PINs are masked");
    await input.fill(v);
  }
  await page.click("#pin-done");
  assert.strictEqual(await page.locator("#pin-screen").count(), 0, "the PIN screen is gone");
}

async function commit(page) {
  await page.click("#commit");
  await page.waitForSelector("#receipt, [data-testid=error], #form-mailed");
  const err = page.locator("[data-testid=error]");
  if (await err.count()) throw new Error("refused: " + await err.innerText());
}

// The resident page's certificate rows, once they are `want` (sorted):
// the page may still be rendering the answer it fetched; 10 s at most.
async function certRowsAre(page, want, msg) {
  const sorted = [...want].sort();
  await page.waitForFunction(w => {
    const rows = [...document.querySelectorAll("#certificates tbody tr")].map(r =>
      r.getAttribute("data-type") + ":" + r.getAttribute("data-status")).sort();
    return JSON.stringify(rows) === JSON.stringify(w);
  }, sorted, { timeout: 10000 }).catch(() => {});
  assert.deepStrictEqual((await certRows(page)).sort(), sorted, msg);
}

async function certRows(page) {
  return page.$$eval("#certificates tbody tr", rows => rows.map(r =>
    r.getAttribute("data-type") + ":" + r.getAttribute("data-status")));
}

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless"] });
  let server = await startServer({ JPKI_NOW: env.T0 });
  const posted = [];
  try {
    const ctx1 = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" });
    const page = await ctx1.newPage();
    page.on("request", r => { if (r.method() === "POST") posted.push(r.url()); });

    check("a clerk signs in; the dashboard shows today's procedures, expiring certificates, revocations");
    await signIn(page, server.url, env.CLERK1);
    assert.match(await page.innerText("#who"), new RegExp(env.CLERK1));
    assert.match(await page.innerText("#expiring"), /3か月以内.*\(0\)/, "D's expire in 4 months: not yet listed");
    await shot(page, "dashboard");

    check("the clerk finds resident A by kana and delivers a card with both certificates (R8)");
    await openResident(page, "ヤマダ", env.A);
    assert.match(await page.innerText("#facts"), /山田 太郎/);
    await startProc(page, "deliver");
    await page.selectOption("#f-types", "both");
    await checkRule(page, true, "R8");
    await holderTypes(page, { sign: "HOLDER15", auth: "1234", cardinfo: "5678" });
    await commit(page);
    const issued = await page.$$eval("#issued .pill", p => p.map(e => e.getAttribute("data-type")).sort());
    assert.deepStrictEqual(issued, ["auth", "sign"], "the receipt lists both certificates");
    assert.doesNotMatch(await page.content(), /HOLDER15/, "the signing password is nowhere on the page");
    await page.click("a[href='#/resident/" + env.A + "']");
    await page.waitForSelector("#certificates");
    await certRowsAre(page, ["auth:valid", "sign:valid"]);
    assert.match(await page.innerText("#cards"), /使用中/);
    assert.match(await page.innerText("#history"), /counter\.deliver/);
    assert.match(await page.innerText("#receipts"), /個人番号カード交付|カード交付|交付/);
    await shot(page, "resident");

    check("PIN reset (R2) on A's card: the rule in its own words, the holder's masked screen, a receipt");
    await startProc(page, "reset-pin");
    await page.selectOption("#f-pin_kind", "auth");
    const r2 = await checkRule(page, true, "R2");
    assert.match(r2, /マイナンバーカードをお持ちのうえ/);
    await holderTypes(page, { auth: "4321" });
    await commit(page);
    assert.match(await page.innerText("#receipt"), /暗証番号|PIN|初期化/);
    assert.doesNotMatch(await page.content(), /4321/);

    check("renewal four months before expiry is refused with R9 and changes nothing");
    await page.goto(server.url + "/#/resident/" + env.D);
    await page.waitForSelector("#certificates");
    const before = await certRows(page), receiptsBefore = await page.innerText("#receipts");
    await startProc(page, "renew");
    const r9 = await checkRule(page, false, "R9");
    assert.match(r9, /R9: renewal opens 2026-05-01/);
    assert.match(r9, /有効期間の3か月前から更新の手続きが可能/);
    assert.strictEqual(await page.locator("#commit").count(), 0, "no commit after a refusal");
    await shot(page, "refusal-R9");
    await page.goto(server.url + "/#/resident/" + env.D);
    await page.waitForSelector("#certificates");
    assert.deepStrictEqual(await certRows(page), before);
    assert.strictEqual(await page.innerText("#receipts"), receiptsBefore);

    check("a manual revocation of D's authentication certificate waits for a second person");
    const dAuth = await page.innerText("#certificates tr[data-type=auth] td.serial");
    await page.goto(server.url + "/#/approvals");
    await page.fill("#revoke-serial", dAuth);
    await page.selectOption("#revoke-reason", "keyCompromise");
    await page.click("#request-revoke");
    await page.waitForSelector("tr[data-approval] >> text=pending");
    assert.strictEqual(await page.locator("tr[data-approval] button.approve").count(), 0,
      "the requester cannot approve");
    await page.goto(server.url + "/#/resident/" + env.D);
    await page.waitForSelector("#certificates");
    assert.deepStrictEqual(await certRows(page), before, "nothing revoked before the approval");

    check("loss report, then reissue with the fee receipt: 800 + 200 yen (R7)");
    await page.goto(server.url + "/#/resident/" + env.A);
    await page.waitForSelector("#procedures");
    await startProc(page, "report-lost");
    await checkRule(page, true, null);
    await commit(page);
    await page.goto(server.url + "/#/resident/" + env.A);
    await page.waitForSelector("#certificates");
    await certRowsAre(page, ["auth:revoked", "sign:revoked"]);
    await startProc(page, "reissue");
    const r7 = await checkRule(page, true, "R7");
    assert.match(r7, /800 円 \+ .*200 円 = 1000 円/);
    await holderTypes(page, { sign: "HOLDER16", auth: "2468", cardinfo: "1357" });
    await commit(page);
    const fees = await page.$$eval("#fees tr[data-item]", rows => rows.map(r =>
      r.getAttribute("data-item") + "=" + r.querySelector(".yen").textContent));
    assert.deepStrictEqual(fees, ["card_reissue=800 円", "certs_on_reissued_card=200 円"]);
    assert.strictEqual(await page.innerText("#total"), "1000 円");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#receipt-pdf")]);
    const receiptPdf = path.join(env.SHOTS, "receipt-reissue.pdf");
    fs.mkdirSync(env.SHOTS, { recursive: true });
    await download.saveAs(receiptPdf);
    assert.strictEqual(download.suggestedFilename(), "receipt-" + await page.innerText("#receipt-number") + ".pdf");
    const paper = execFileSync("pdftotext", ["-layout", receiptPdf, "-"]).toString().replace(/[ 　]/g, "");
    for (const want of ["手数料領収書兼受付票", "（card_reissue）800円", "（certs_on_reissued_card）200円", "合計1,000円",
      "受付番号" + await page.innerText("#receipt-number")])
      assert.ok(paper.includes(want), "the receipt PDF shows " + want + ":\n" + paper);
    const holder = (await (await page.request.get(server.url + "/api/residents/" + env.A)).json()).resident;
    assert.ok(paper.includes(holder.surname + holder.given + "様"), "the receipt PDF names the holder:\n" + paper);
    await page.evaluate(() => window.scrollTo(0, document.querySelector("[data-testid=verdict]").offsetTop - 8));
    await shot(page, "procedure");

    check("a second clerk's session: a proxy without the form, visit 1 (R14): the form to mail");
    const ctx2 = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: "ja-JP" });
    const page2 = await ctx2.newPage();
    page2.on("request", r => { if (r.method() === "POST") posted.push(r.url()); });
    await signIn(page2, server.url, env.CLERK2);
    await page2.goto(server.url + "/#/resident/" + env.B);
    await page2.waitForSelector("#procedures");
    await startProc(page2, "proxy-apply");
    await page2.selectOption("#f-purpose", "issue");
    await page2.selectOption("#f-types", "sign");
    await page2.fill("#f-proxy_name", "鈴木 一郎");
    await page2.fill("#f-proxy_doc", "driving-licence");
    await page2.fill("#f-proxy_docno", "123456789012");
    await checkRule(page2, true, "R14");
    await commit(page2);
    const form = await page2.getAttribute("[data-testid=form-number]", "data-form");
    assert.ok(Number(form) > 0);
    const pdf = await page2.request.get(server.url + "/api/documents/form-" + form + ".pdf");
    assert.strictEqual(pdf.headers()["content-type"], "application/pdf");
    await shot(page2, "proxy-visit1");

    check("the same day, completing with that form is refused (R14)");
    await stopServer(server);
    const pdfPath = path.join(env.JPKI_DATA, "documents", "form-" + form + ".pdf");
    const code = execFileSync("pdftotext", ["-f", "2", "-l", "2", pdfPath, "-"]).toString()
      .match(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/m)[0];

    check("visit 2, days later: the second clerk completes with the sealed form's PINs (R13/R14)");
    server = await startServer({ JPKI_NOW: env.T1 });
    await signIn(page2, server.url, env.CLERK2);
    await page2.goto(server.url + "/#/resident/" + env.B);
    await page2.waitForSelector("#procedures");
    await startProc(page2, "proxy-complete");
    await page2.fill("#f-form", form);
    await page2.fill("#f-check_code", code);
    await page2.fill("#f-proxy_name", "鈴木 一郎");
    await page2.fill("#f-proxy_doc", "driving-licence");
    await page2.fill("#f-proxy_docno", "123456789012");
    await checkRule(page2, true, "R13");
    await page2.check("input.form-pin[value=sign]");
    await holderTypes(page2, { sign: "SEALED22" });
    await commit(page2);
    assert.match(await page2.innerText("#receipt"), /署名用/);
    await page2.goto(server.url + "/#/resident/" + env.B);
    await page2.waitForSelector("#certificates");
    assert.ok((await certRows(page2)).includes("sign:valid"), "B's signing certificate is valid");
    assert.match(await page2.innerText("#receipts"), new RegExp(env.CLERK2));
    await shot(page2, "proxy-visit2");

    check("after the restart the supervisor approves the revocation asked for before it");
    await page2.goto(server.url + "/#/approvals");
    await page2.click("tr[data-approval] button.approve");
    await page2.waitForSelector("tr[data-approval] >> text=approved");
    await page2.goto(server.url + "/#/resident/" + env.D);
    await page2.waitForSelector("#certificates");
    assert.ok((await certRows(page2)).includes("auth:revoked"), "D's authentication certificate is revoked");
    await page2.goto(server.url + "/#/audit?action=cert.revoke");
    await page2.waitForSelector("#audit-verdict");
    assert.match(await page2.innerText("main"), new RegExp(env.CLERK1 + "\\+" + env.CLERK2));

    check("the audit log shows the clerks and `jpki audit verify`'s verdict");
    await page2.goto(server.url + "/#/audit?actor=" + env.CLERK2);
    await page2.waitForSelector("#audit-verdict");
    assert.strictEqual(await page2.getAttribute("#audit-verdict", "data-verdict"), "ok");
    assert.match(await page2.innerText("main"), /clerk.signin/);

    check("English switch");
    await page2.click("#lang");
    await page2.waitForSelector("text=Audit chain");
    assert.strictEqual(await page2.getAttribute("html", "lang"), "en");

    check("no PIN or password ever in a URL; none in the server's log");
    for (const u of posted) assert.doesNotMatch(u, /HOLDER|1234|4321|SEALED|pw/i);
    const log = server.log();
    for (const secret of ["HOLDER15", "HOLDER16", "SEALED22", env.CLERK_PW, code])
      assert.ok(!log.includes(secret), "the log has no " + secret.length + "-character secret");
    console.log(`browser: ok (${checksDone()} checks)`);
  } finally {
    await browser.close();
    await stopServer(server).catch(() => {});
  }
})().catch(e => { console.error("browser: FAIL:", e); process.exit(1); });
