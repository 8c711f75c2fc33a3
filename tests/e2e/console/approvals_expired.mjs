// An action nobody decided in time, in a real Chromium (playwright-core), driven by
// tests/e2e/test_console_approvals.py against a deskgate started with --approval-expiry-secs 2:
// the Overview counts nothing waiting, the Approvals tab lists the action as Expired with
// "nothing sent" and offers no Approve button, and an approval posted anyway (a tab left open
// since before the expiry) is refused with a 409 that says it expired.
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT, DESKGATE_ACTION,
// DESKGATE_ARTIFACTS, CHROMIUM.

import assert from "node:assert/strict";
import { browse, need, shoot, signIn } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const ACCOUNT = need("DESKGATE_ACCOUNT");
const ACTION = need("DESKGATE_ACTION");

browse({ origin: BASE }, async (page) => {
  const account = `${BASE}/ui/accounts/${ACCOUNT}`;

  await signIn(page, BASE, API_TOKEN);

  await page.goto(account);
  assert.equal(await page.locator("#approvals-waiting").count(), 0, "an expired action is counted as waiting");

  await page.goto(`${account}/approvals`);
  assert.equal((await page.textContent("#waiting-count")).trim(), "0");
  assert.equal(await page.locator(`#action-${ACTION}`).count(), 0, "an expired action is offered for a decision");
  const decided = await page.textContent("#decided");
  assert.match(decided, /Expired/);
  assert.match(decided, /nothing sent/);
  assert.match(decided, /reply_to_gorgias_customer/);
  await shoot(page, "35-expired");

  // A form left open from before the expiry: its approval is refused, saying why.
  const csrf = await page.evaluate(() => document.querySelector("input[name=csrf]")?.value);
  assert.ok(csrf, "the page carries no CSRF token to post with");
  const late = await page.request.post(`${account}/approvals/${ACTION}/approve`, {
    form: { csrf, "text.body_text": "approved too late" } });
  assert.equal(late.status(), 409);
  assert.match(await late.text(), /expired/);
});
