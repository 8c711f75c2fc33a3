// The console's Approvals in a real Chromium (playwright-core), driven by
// tests/e2e/test_console_approvals.py:
//   1. create an MCP server in the console whose policy (the create form's Policies field) holds
//      customer replies for approval, with a webhook (the form's field; its secret shown once,
//      then rotated on the server's webhook page);
//   2. (the test calls the reply tool twice with a real MCP client; both are held)
//   3. the Overview counts what waits; the Approvals tab shows each action in plain words with
//      its ticket's context; one reply's text is edited and approved (the page shows Gorgias's
//      answer), the other rejected with a reason; deciding again is refused with a clear 409;
//   4. the Logs tab's policy decision filter shows held and approved calls.
// Lines on stdout starting with "@@ " are JSON messages for the test, which answers on stdin.
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT, DESKGATE_WEBHOOK_URL,
// DESKGATE_ARTIFACTS, CHROMIUM.

import assert from "node:assert/strict";
import { browse, checkPage, handshake, need, shoot, signIn } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const ACCOUNT = need("DESKGATE_ACCOUNT");
const WEBHOOK_URL = need("DESKGATE_WEBHOOK_URL");
const POLICIES = JSON.stringify([{ tool: "reply_to_gorgias_customer", mode: "approve" }]);

browse({ origin: BASE }, async (page) => {
  const account = `${BASE}/ui/accounts/${ACCOUNT}`;

  await signIn(page, BASE, API_TOKEN);

  // --- 1. A server whose policy holds customer replies, created in the console ---
  await page.goto(`${account}/servers/new`);
  await page.fill("#name", "Replies with approval");
  await page.check("#method-scope-all");
  await page.fill("#policies", POLICIES);
  // A bad webhook URL is refused with the form kept; nothing is minted.
  await page.fill("#webhook_url", "ftp://example.com/hook");
  await page.evaluate(() => document.getElementById("webhook_url").setAttribute("type", "text"));
  await page.click("button:has-text('Create MCP server')");
  await page.locator("#form-error").waitFor();
  assert.match(await page.textContent("#form-error"), /webhook_url must use http or https/);
  assert.equal(await page.inputValue("#policies"), POLICIES, "the refused form keeps the policies");
  await page.fill("#webhook_url", WEBHOOK_URL);
  await page.click("button:has-text('Create MCP server')");
  await page.waitForURL(/\/servers\/[0-9a-f-]{36}\/created\?view=[\w-]+&webhook=[\w-]+$/);
  const serverId = page.url().match(/servers\/([0-9a-f-]{36})\/created/)[1];
  await page.locator("#mcp-url").waitFor();
  const url = (await page.inputValue("#mcp-url")).trim();
  assert.match(url, /\/mcp\/dgm_/);

  // The webhook's secret: behind a link on the created page, shown once.
  await page.click("#webhook-created a");
  await page.waitForURL(/\/webhook\?view=[\w-]+$/);
  await page.locator("#webhook-secret").waitFor();
  const secret = (await page.inputValue("#webhook-secret")).trim();
  assert.match(secret, /^dgwhsec_[0-9a-f]{64}$/);
  assert.equal(await page.inputValue("#webhook-url"), WEBHOOK_URL);
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "30-webhook-secret");
  await page.reload();
  assert.equal(await page.locator("#webhook-secret").count(), 0, "the secret is shown once");
  await page.goto(`${account}/servers`);
  await page.click(`a[aria-label="Webhook of Replies with approval"]`);
  await page.waitForURL(`${account}/servers/${serverId}/webhook`);
  assert.equal(await page.locator("#webhook-secret").count(), 0);
  await checkPage(page, [API_TOKEN, secret]);
  // Rotated: a new secret, shown once; the first one no longer signs (the test checks).
  await page.click("#webhook-rotate button[type=submit]");
  await page.locator("#webhook-secret").waitFor();
  const rotated = (await page.inputValue("#webhook-secret")).trim();
  assert.match(rotated, /^dgwhsec_[0-9a-f]{64}$/);
  assert.notEqual(rotated, secret);

  const held = await handshake("created", { url, server_id: serverId, secret: rotated, first_secret: secret });

  // The webhook page says how the notices went.
  await page.goto(`${account}/servers/${serverId}/webhook`);
  assert.match(await page.textContent("#webhook-last"), /delivered \(HTTP 204\)/);
  await checkPage(page, [API_TOKEN, secret, rotated]);
  const [approveId, rejectId] = held.actions;

  // --- 3. The inbox ---
  await page.goto(account);
  assert.match(await page.textContent("#approvals-waiting"), /2 actions wait for approval/);
  await page.click("#approvals-waiting a");
  await page.waitForURL(`${account}/approvals`);
  assert.equal((await page.textContent("#waiting-count")).trim(), "2");
  const first = page.locator(`#action-${approveId}`);
  const text = await first.textContent();
  assert.match(text, new RegExp(`Send a public reply to the customer of ticket #${held.tickets[0]}`));
  assert.match(text, /Replies with approval/);
  assert.match(text, /reply_to_gorgias_customer/);
  assert.match(text, /Expires/);
  // The ticket's context, read from the helpdesk.
  assert.ok(text.includes(held.context.subject), `the ticket's subject is missing: ${text}`);
  assert.ok(text.includes(held.context.customer), `the customer is missing: ${text}`);
  assert.ok(text.includes(held.context.status), "the ticket's status is missing");
  assert.ok(await first.locator(".context-messages li").count() >= 1, "no messages in the context");
  // The exact text the agent wrote, editable.
  const box = `#body_text-${approveId}`;
  assert.equal(await page.inputValue(box), held.texts[0]);
  await checkPage(page, [API_TOKEN, secret, rotated]);
  await shoot(page, "31-approvals");

  // Edited, then approved: the page shows Gorgias's answer after a redirect.
  await page.fill(box, held.edited);
  const csrf = await page.inputValue(`#action-${approveId} form.approve input[name=csrf]`);
  await first.locator("button:has-text('Approve and send')").click();
  await page.waitForURL(/\/approvals\?notice=approved&action=/);
  const notice = await page.textContent("#decision-notice");
  assert.match(notice, /Approved and sent/);
  assert.match(notice, /Gorgias accepted it/);
  assert.equal((await page.textContent("#waiting-count")).trim(), "1");
  await shoot(page, "32-approved");

  // Rejected with a reason.
  await page.fill(`#reason-${rejectId}`, "Wrong tone: rewrite it");
  await page.locator(`#action-${rejectId} button:has-text('Reject')`).click();
  await page.waitForURL(/\/approvals\?notice=rejected&action=/);
  assert.match(await page.textContent("#decision-notice"), /Rejected/);
  assert.equal((await page.textContent("#waiting-count")).trim(), "0");
  const decided = await page.textContent("#decided");
  assert.match(decided, /Wrong tone: rewrite it/);
  assert.match(decided, /Approved/);
  await checkPage(page, [API_TOKEN, secret]);
  await shoot(page, "33-decided");

  // Deciding again (a second tab, a double click) is refused, saying why; nothing is sent.
  const again = await page.request.post(`${account}/approvals/${approveId}/approve`, {
    form: { csrf, "text.body_text": "sent twice?" } });
  assert.equal(again.status(), 409);
  assert.match(await again.text(), /already approved/);
  const rejectAgain = await page.request.post(`${account}/approvals/${rejectId}/approve`, {
    form: { csrf, "text.body_text": "approve a rejected one?" } });
  assert.equal(rejectAgain.status(), 409);
  assert.match(await rejectAgain.text(), /already rejected/);
  // Without the CSRF token nothing is decided either.
  const forged = await page.request.post(`${account}/approvals/${approveId}/reject`, { form: { reason: "x" } });
  assert.equal(forged.status(), 403);

  // --- 4. The Logs tab's policy decision filter ---
  await page.goto(`${account}/logs`);
  await page.selectOption("#filter-decision", "held");
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/policy_decision=held/);
  const heldRows = await page.$$eval("#logs tbody tr", (rows) => rows.map((r) => r.textContent));
  assert.equal(heldRows.length, 2, `two held calls: ${heldRows}`);
  assert.ok(heldRows.every((r) => /reply_to_gorgias_customer/.test(r) && /policy: held/.test(r)), heldRows.join("\n"));
  await checkPage(page, [API_TOKEN, secret]);
  await shoot(page, "34-logs-held");
  await page.selectOption("#filter-decision", "approved");
  await page.click("form.filters button[type=submit]");
  await page.waitForURL(/policy_decision=approved/);
  const approvedRows = await page.$$eval("#logs tbody tr", (rows) => rows.map((r) => r.getAttribute("data-outcome")));
  assert.deepEqual(approvedRows, ["ok"], "one approved call, answered ok");
  assert.match(await page.textContent("#export-csv").then(() => page.getAttribute("#export-csv", "href")), /policy_decision=approved/);
  await handshake("decided");
});
