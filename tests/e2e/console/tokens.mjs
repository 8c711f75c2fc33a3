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
import { browse, checkPage, need, report, shoot, signIn } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const ACCOUNT = need("DESKGATE_ACCOUNT");
const GUARDED_URL = need("DESKGATE_GUARDED_URL");

browse({ origin: BASE }, async (page) => {
  await signIn(page, BASE, API_TOKEN);

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
});
