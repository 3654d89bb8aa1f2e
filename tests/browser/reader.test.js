// reader.test.js: the counter's web UI choosing a card in a PC/SC reader,
// in headless Chromium (Debian's chromium, driven by playwright-core).
// Run by tests/interop/test_counter_web_browser_reader.sh, which starts a
// private pcscd with vpcd, attaches a blank card and passes:
//   JPKI (binary), JPKI_DATA, SHOTS, CLERK and CLERK_PW, the resident R,
//   the blank card's SERIAL and READER (vpcd's reader name prefix).
// The clerk delivers onto the card in the reader (the reader is offered
// on the procedure page, first), then resets its PIN with the card chosen
// in the reader again; while another program holds the card, the card
// list says the reader is in use.
"use strict";
const { chromium } = require("playwright-core");
const assert = require("assert");

const env = process.env;
const { check, checksDone, startServer, stopServer, shot } = require("./lib.js");

async function verdict(page) {
  await page.click("#check");
  await page.waitForSelector("#verdict [data-testid=verdict], #verdict [data-testid=error]");
  const err = page.locator("#verdict [data-testid=error]");
  if (await err.count()) throw new Error("check failed: " + await err.innerText());
  const v = page.locator("[data-testid=verdict]");
  return { allowed: await v.getAttribute("data-allowed"), text: await v.innerText() };
}

async function holderTypes(page, pins) {
  await page.click("#to-holder");
  await page.waitForSelector("#pin-screen");
  for (const [k, v] of Object.entries(pins)) await page.fill(`#pin-${k}`, v);
  await page.click("#pin-done");
}

async function commit(page) {
  await page.click("#commit");
  await page.waitForSelector("#receipt, [data-testid=error]");
  const err = page.locator("[data-testid=error]");
  if (await err.count()) throw new Error("refused: " + await err.innerText());
  return page.innerText("#receipt");
}

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless"] });
  const server = await startServer();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP" })).newPage();
    await page.goto(server.url + "/#/signin");
    await page.fill("input[name=username]", env.CLERK);
    await page.fill("input[name=password]", env.CLERK_PW);
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#today");

    check("the delivery page offers the blank card in the reader first, by its serial");
    await page.goto(server.url + `/#/proc/deliver?resident=${env.R}`);
    await page.waitForSelector("#f-card");
    const options = await page.$$eval("#f-card option", os => os.map(o => ({ value: o.value, text: o.textContent })));
    const reader = options.find(o => o.value.startsWith("reader:" + env.READER));
    assert.ok(reader, "no reader option: " + JSON.stringify(options));
    assert.match(reader.text, new RegExp(env.SERIAL), "the reader's option names the card's serial");
    assert.strictEqual(await page.inputValue("#f-card"), reader.value, "the card in the reader is the default");

    check("the clerk delivers onto the card in the reader (authentication certificate only)");
    await page.selectOption("#f-types", "auth");
    const v = await verdict(page);
    assert.strictEqual(v.allowed, "true", v.text);
    await holderTypes(page, { auth: "1234", cardinfo: "5678" });
    const receipt = await commit(page);
    assert.match(receipt, new RegExp(env.SERIAL), "the receipt names the card in the reader");
    const issued = await page.$$eval("#issued .pill", p => p.map(e => e.getAttribute("data-type")));
    assert.deepStrictEqual(issued, ["auth"]);
    await shot(page, "reader-deliver");

    check("a PIN reset on the resident's card, chosen in the reader");
    await page.goto(server.url + `/#/proc/reset-pin?resident=${env.R}`);
    await page.waitForSelector("#f-card");
    const opts2 = await page.$$eval("#f-card option", os => os.map(o => o.value));
    assert.ok(opts2.some(o => o.startsWith("reader:" + env.READER)), "the card in the reader is offered: " + opts2);
    await page.selectOption("#f-card", opts2.find(o => o.startsWith("reader:" + env.READER)));
    await page.selectOption("#f-pin_kind", "auth");
    const v2 = await verdict(page);
    assert.strictEqual(v2.allowed, "true", v2.text);
    await holderTypes(page, { auth: "9753" });
    await commit(page);
    console.log("browser: done, " + checksDone() + " checks");
  } finally {
    await stopServer(server);
    await browser.close();
  }
})().catch(e => { console.error("browser: FAIL: " + (e && e.stack || e)); process.exit(1); });
