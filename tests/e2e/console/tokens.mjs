// The console's Tokens page in a real Chromium (playwright-core): sign in, open Tokens from the
// top navigation, create an `mcp` token limited to the demo account (shown once, copied from the
// page), check it opens that account's MCP server but not the management API, then revoke it through its confirmation page.
// Screenshots go to $DESKGATE_ARTIFACTS/console/.
//
// Launched by tests/e2e/test_console_tokens.py. Lines on stdout starting with "@@ " are JSON
// messages for the test. Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT,
// DESKGATE_GUARDED_URL (an MCP server of that account requiring a token), DESKGATE_ARTIFACTS,
// CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) { throw new Error(`${name} is not set`); }
  return value;
};
const BASE = env("DESKGATE_BASE");
const API_TOKEN = env("DESKGATE_API_TOKEN");
const ACCOUNT = env("DESKGATE_ACCOUNT");
const GUARDED_URL = env("DESKGATE_GUARDED_URL");
const SHOTS = path.join(process.env.DESKGATE_ARTIFACTS || "test-artifacts", "console");

const report = (step, data = {}) => process.stdout.write(`@@ ${JSON.stringify({ step, ...data })}\n`);

/** One h1, labelled controls, captioned tables with scoped headers, no API token rendered. */
async function checkPage(page, secrets) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      if (!((el.labels && el.labels.length) || el.getAttribute("aria-label"))) { out.push(`unlabelled ${el.name}`); }
    }
    for (const table of document.querySelectorAll("table")) {
      if (!table.caption) { out.push(`table #${table.id} has no caption`); }
      for (const th of table.querySelectorAll("th")) { if (!th.getAttribute("scope")) { out.push("th without scope"); } }
    }
    if (document.querySelectorAll("h1").length !== 1) { out.push("not exactly one h1"); }
    return out;
  });
  assert.deepEqual(problems, [], `accessibility problems on ${page.url()}`);
  const html = await page.content();
  for (const secret of secrets) { assert.ok(!html.includes(secret), `a secret is rendered on ${page.url()}`); }
}

async function shoot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const [width, height, kind] of [[1280, 800, "desktop"], [390, 844, "phone"]]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${kind}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= width, `${name} overflows at ${width}px`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "deskgate-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  viewport: { width: 1280, height: 800 },
});
const errors = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(`${BASE}/ui/sign-in`);
  await page.fill("#api_token", API_TOKEN);
  await page.click("#sign-in-with-token");
  await page.waitForURL(`${BASE}/ui`);

  await page.click("nav.top-nav a:has-text('Tokens')");
  await page.waitForURL(`${BASE}/ui/tokens`);
  await checkPage(page, [API_TOKEN]);
  assert.match(await page.textContent("#tokens"), /this session/);
  await shoot(page, "20-tokens");

  await page.fill("#token-name", "cursor on a laptop");
  await page.check("input[name=scope][value=mcp]");
  await page.check(`input[name=account][value="${ACCOUNT}"]`);
  await page.click("button:has-text('Create token')");
  await page.locator("#api-token").waitFor();
  const token = (await page.inputValue("#api-token")).trim();
  assert.match(token, /^dga_[\w-]{43}$/);
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "21-token-created");

  const api = await page.request.get(`${BASE}/integrated-account`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(api.status(), 403, "an mcp token opened the management API");
  const initialize = { jsonrpc: "2.0", id: 0, method: "initialize", params: {
    protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "console-e2e", version: "1" } } };
  const mcp = await page.request.post(GUARDED_URL, { data: initialize, headers: {
    Authorization: `Bearer ${token}`, Accept: "application/json, text/event-stream" } });
  assert.equal(mcp.status(), 200, "the mcp token did not open a server of its account");
  report("created", { token });

  await page.goto(`${BASE}/ui/tokens`);
  await checkPage(page, [API_TOKEN, token]);
  const row = page.locator("#tokens tr", { hasText: "cursor on a laptop" });
  assert.match(await row.textContent(), new RegExp(ACCOUNT));
  await row.locator("a:has-text('Revoke')").click();
  await checkPage(page, [API_TOKEN, token]);
  await shoot(page, "22-token-revoke");
  await page.click("button:has-text('Revoke token')");
  await page.waitForURL(/\/ui\/tokens\?notice=token-revoked$/);
  assert.equal(await page.locator("#tokens tr", { hasText: "cursor on a laptop" }).count(), 0);
  report("revoked");
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
assert.deepEqual(errors, [], "the browser reported errors");
