// An action nobody decided in time, in a real Chromium (playwright-core), driven by
// tests/e2e/test_console_approvals.py against a deskgate started with --approval-expiry-secs 2:
// the Overview counts nothing waiting, the Approvals tab lists the action as Expired with
// "nothing sent" and offers no Approve button, and an approval posted anyway (a tab left open
// since before the expiry) is refused with a 409 that says it expired.
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT, DESKGATE_ACTION,
// DESKGATE_ARTIFACTS, CHROMIUM.

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
const ACCOUNT = env("DESKGATE_ACCOUNT");
const ACTION = env("DESKGATE_ACTION");
const SHOTS = path.join(process.env.DESKGATE_ARTIFACTS || "test-artifacts", "console");

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
  const account = `${BASE}/ui/accounts/${ACCOUNT}`;

  await page.goto(`${BASE}/ui/sign-in`);
  await page.fill("#api_token", env("DESKGATE_API_TOKEN"));
  await page.click("#sign-in-with-token");
  await page.waitForURL(`${BASE}/ui`);

  await page.goto(account);
  assert.equal(await page.locator("#approvals-waiting").count(), 0, "an expired action is counted as waiting");

  await page.goto(`${account}/approvals`);
  assert.equal((await page.textContent("#waiting-count")).trim(), "0");
  assert.equal(await page.locator(`#action-${ACTION}`).count(), 0, "an expired action is offered for a decision");
  const decided = await page.textContent("#decided");
  assert.match(decided, /Expired/);
  assert.match(decided, /nothing sent/);
  assert.match(decided, /reply_to_gorgias_customer/);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "35-expired.png"), fullPage: true });

  // A form left open from before the expiry: its approval is refused, saying why.
  const csrf = await page.evaluate(() => document.querySelector("input[name=csrf]")?.value);
  assert.ok(csrf, "the page carries no CSRF token to post with");
  const late = await page.request.post(`${account}/approvals/${ACTION}/approve`, {
    form: { csrf, "text.body_text": "approved too late" } });
  assert.equal(late.status(), 409);
  assert.match(await late.text(), /expired/);
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
assert.deepEqual(errors, [], "the browser reported errors");
