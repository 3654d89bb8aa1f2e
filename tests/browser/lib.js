// lib.js: what the browser tests share: the step counter, `jpki counter
// serve` started on a free loopback port and stopped, and screenshots.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const env = process.env;
let checks = 0;

// check(what): the next step, numbered, on stdout.
function check(what) { checks++; console.log(`browser: check ${checks}: ${what}`); }
function checksDone() { return checks; }

// startServer(extraEnv): `jpki counter serve` on the test's data directory
// and a port of its choosing; resolves to {p, url, log()} once it says
// where it listens.
function startServer(extraEnv) {
  return new Promise((resolve, reject) => {
    const p = spawn(env.JPKI, ["counter", "serve", "--data", env.JPKI_DATA, "--listen", "127.0.0.1:0"],
      { env: { ...env, ...(extraEnv || {}) }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", log = "";
    p.stderr.on("data", d => { log += d; });
    p.stdout.on("data", d => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) resolve({ p, url: m[1], log: () => log });
    });
    p.on("exit", code => reject(new Error(`server exited ${code}: ${log}`)));
  });
}

async function stopServer(s) {
  s.p.removeAllListeners("exit");
  const done = new Promise(r => s.p.on("exit", r));
  s.p.kill("SIGTERM");
  await done;
}

// shot(page, name): a full-page screenshot under SHOTS; the README's
// pictures (resident, procedure, dashboard) also into DOC_IMAGES when set.
async function shot(page, name) {
  fs.mkdirSync(env.SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(env.SHOTS, name + ".png"), fullPage: true });
  if (env.DOC_IMAGES && ["resident", "procedure", "dashboard"].includes(name))
    await page.screenshot({ path: path.join(env.DOC_IMAGES, name + ".png") });   // the viewport, as seen
}

module.exports = { check, checksDone, startServer, stopServer, shot };
