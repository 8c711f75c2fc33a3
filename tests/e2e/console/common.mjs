// What every console script shares: its environment, the "@@ " messages to the Python test that
// launched it (and, at a handshake, the test's answer on stdin), a Chromium that fails the script
// on any script error of ours, the API-token sign-in, the checks every page must pass, and
// screenshots at desktop and phone width in $DESKGATE_ARTIFACTS/console/.
//
// A script calls `browse(options, body)` once; `body(page, context)` is the script.
// Environment read here: DESKGATE_ARTIFACTS, CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const SHOTS = path.join(process.env.DESKGATE_ARTIFACTS || "test-artifacts", "console");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** A required environment variable. */
export function need(name) {
  const value = process.env[name];
  if (!value) { throw new Error(`${name} is not set`); }
  return value;
}

/** Tells the test where we are: one "@@ " line of JSON on stdout. */
export function report(step, data = {}) {
  process.stdout.write(`@@ ${JSON.stringify({ step, ...data })}\n`);
}

// Opened at the first handshake only: an open stdin keeps the process alive, and most scripts
// never read it.
let stdin = null;

/** Tells the test where we are and waits for its answer, one JSON line on stdin
 *  ({"ok": true, …} to go on); returns that answer. */
export async function handshake(step, data = {}) {
  stdin ??= readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  report(step, data);
  const { value, done } = await stdin.next();
  assert.ok(!done, `the test closed stdin at step ${step}`);
  const reply = JSON.parse(value);
  assert.ok(reply.ok, `the test stopped at step ${step}: ${reply.error || "no reason"}`);
  return reply;
}

/** Every screenshot file written so far, in order. */
export const shots = [];

/** A full-page screenshot at laptop and at phone width; the page must not scroll sideways at
 *  either. */
export async function shoot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const [width, height, kind] of [[1280, 800, "desktop"], [390, 844, "phone"]]) {
    await page.setViewportSize({ width, height });
    // From the top, so sticky parts sit where a reader first sees them.
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(SHOTS, `${name}-${kind}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= width, `${name} is ${overflow}px wide at ${width}px: something does not wrap`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** What every page must get right: a label on every control (a <label>, aria-label, or an
 *  aria-labelledby naming text that is there), tables with captions and scoped headers, one h1,
 *  a main landmark, and none of `secrets` anywhere in the markup. */
export async function checkPage(page, secrets) {
  const problems = await page.evaluate(() => {
    const out = [];
    const labelledBy = (el) => {
      const ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
      return ids.length > 0 && ids.every((id) => document.getElementById(id)?.textContent.trim());
    };
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || labelledBy(el);
      if (!labelled) { out.push(`unlabelled control ${el.name || el.id}`); }
    }
    for (const table of document.querySelectorAll("table")) {
      if (!table.caption) { out.push(`table #${table.id} has no caption`); }
      for (const th of table.querySelectorAll("th")) {
        if (!th.getAttribute("scope")) { out.push(`th without scope in #${table.id}: ${th.textContent}`); }
      }
    }
    if (document.querySelectorAll("h1").length !== 1) { out.push(`${document.querySelectorAll("h1").length} h1 elements`); }
    if (!document.querySelector("main")) { out.push("no main landmark"); }
    return out;
  });
  assert.deepEqual(problems, [], `accessibility problems on ${page.url()}`);
  const html = await page.content();
  for (const secret of secrets) {
    assert.ok(!html.includes(secret), `a secret (${secret.slice(0, 6)}…) is rendered on ${page.url()}`);
  }
}

/** Signs the browser in with an API token, through the sign-in page's token form. */
export async function signIn(page, base, token) {
  await page.goto(`${base}/ui/sign-in`);
  await page.fill("#api_token", token);
  await page.click("#sign-in-with-token");
  await page.waitForURL(`${base}/ui`);
}

/** Runs `body(page, context)` in a fresh headless Chromium, then exits: 0, or 1 after a "failed"
 *  message with the error. A script error on any page, or an error logged to the console by a
 *  page of `origin` (deskgate's), fails the script too; requests answered 400/401/403 on purpose
 *  (a bad key, a bad token, no CSRF token) log a line the browser reports, so those are let be.
 *  `clipboard` lets the pages of `origin` read and write the clipboard. */
export function browse({ origin, clipboard = false }, body) {
  launched(origin, clipboard, body).then(() => process.exit(0), (error) => {
    // stdin may stay open for handshakes, so leave explicitly.
    report("failed", { error: String((error && error.stack) || error) });
    process.exit(1);
  });
}

async function launched(origin, clipboard, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "deskgate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
  });
  const errors = [];
  try {
    if (clipboard) { await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin }); }
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("response", (r) => {
      if (r.status() >= 400) {
        process.stdout.write(`HTTP ${r.status()} ${r.request().method()} ${r.url().replace(/dgm_[\w-]+/, "dgm_…")}\n`);
      }
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // Another site's pages (the sandbox's consent page) are not ours to judge.
      const ours = (m.location().url || page.url()).startsWith(origin);
      if (m.type() === "error" && ours && !/responded with a status of (400|401|403)\b/.test(m.text())) {
        errors.push(`console: ${m.text()}`);
      }
    });
    await body(page, context);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  assert.deepEqual(errors, [], "the browser reported errors (a script or CSP failure?)");
}
