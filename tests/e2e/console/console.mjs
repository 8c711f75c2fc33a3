// Drives the deskgate console in a real Chromium (playwright-core), the way an operator uses it:
// sign in, connect the sandbox account (API key, then OAuth), open it, create a read-only MCP
// server tagged `tickets`, copy its URL, see the call in Logs, edit and delete the server, delete the
// account, sign out. The create form starts read-only ("All methods" is an explicit choice), and
// reloading the "created" page mints nothing and shows the URL no more. Screenshots of every page
// at desktop and phone width go to $DESKGATE_ARTIFACTS/console/.
//
// Launched by tests/e2e/test_console.py. Protocol: lines on stdout starting with "@@ " are JSON
// messages for the test; at a handshake the script waits for one JSON line on stdin
// ({"ok": true} to go on) — that is where the test calls the MCP URL itself.
//
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_SANDBOX, DESKGATE_ARTIFACTS,
// CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import { browse, checkPage, handshake, need, shoot, shots } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const SANDBOX = need("DESKGATE_SANDBOX");
const SECRETS = ["sandbox-api-key", "wrong-api-key", API_TOKEN];

async function run(page, context) {
  // --- Sign in: nothing works without it ---
  await page.goto(`${BASE}/ui`);
  assert.match(page.url(), /\/ui\/sign-in$/, "a signed-out browser is sent to sign in");
  await checkPage(page, SECRETS);
  await shoot(page, "01-sign-in");

  await page.fill("#api_token", "dga_not-a-real-token");
  await page.click("#sign-in-with-token");
  await page.locator("#sign-in-error").waitFor();
  assert.match(await page.textContent("#sign-in-error"), /not valid/);

  // Keyboard only: the email field has focus; three tabs (password, its button) reach the
  // token field; type and press Enter.
  await page.goto(`${BASE}/ui/sign-in`);
  assert.equal(await page.evaluate(() => document.activeElement.id), "email");
  for (let i = 0; i < 3; i++) await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "api_token");
  await page.keyboard.type(API_TOKEN);
  await page.keyboard.press("Enter");
  await page.waitForURL(`${BASE}/ui`);
  const session = (await context.cookies(BASE)).find((c) => c.name === "dg_session");
  assert.ok(session, "signing in sets the session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Lax");
  await checkPage(page, SECRETS);
  await shoot(page, "02-accounts");

  // --- Connect the sandbox account through the form; a bad key is explained ---
  await page.click("a:has-text('Connect Gorgias') >> nth=0");
  await page.waitForURL(`${BASE}/ui/accounts/new`);
  await checkPage(page, SECRETS);
  await shoot(page, "03-connect");
  await page.fill("#subdomain", "acme");
  await page.fill("#email", "agent@acme.example");
  await page.fill("#api_key", "wrong-api-key");
  await page.fill("#name", "Acme (console)");
  await page.fill("#api_base_url", SANDBOX);
  await page.click("button:has-text('Check and connect')");
  await page.locator("#form-error").waitFor();
  assert.match(await page.textContent("#form-error"), /refused these credentials/i);
  assert.equal(await page.inputValue("#api_key"), "", "a rejected key is not put back in the form");
  assert.equal(await page.inputValue("#subdomain"), "acme", "the other fields are kept");
  await checkPage(page, SECRETS);
  await shoot(page, "04-connect-bad-key");

  await page.fill("#api_key", "sandbox-api-key");
  await page.click("button:has-text('Check and connect')");
  await page.waitForURL(/\/ui\/accounts\/[0-9a-f-]{36}\?notice=connected$/);
  const accountId = page.url().match(/accounts\/([0-9a-f-]{36})/)[1];
  const account = `${BASE}/ui/accounts/${accountId}`;
  await page.locator("h1:has-text('Acme (console)')").waitFor();
  const overview = await page.textContent("main");
  assert.match(overview, /Active/);
  assert.match(overview, /agent@acme\.example/);
  assert.match(overview, /Contact reason/, "the account's custom fields are listed");
  await checkPage(page, SECRETS);
  await shoot(page, "05-overview");

  // --- Connect with OAuth too (the test registered the sandbox's OAuth app) ---
  await page.goto(`${BASE}/ui/accounts/new`);
  await page.fill("#oauth-subdomain", "acme");
  await page.fill("#oauth-api_base_url", SANDBOX);
  await page.click("button:has-text('Connect with OAuth')");
  await page.waitForURL((u) => u.href.startsWith(`${SANDBOX}/oauth/authorize`));
  await page.click("button[value=approve]");
  await page.waitForURL(/\/ui\/accounts\/[0-9a-f-]{36}$/);
  const oauthAccount = page.url();
  assert.notEqual(oauthAccount, account);
  const oauthOverview = await page.textContent("main");
  assert.match(oauthOverview, /Connected with\s*OAuth/);
  assert.match(oauthOverview, /Granted scopes/);
  await checkPage(page, SECRETS);
  await shoot(page, "05b-overview-oauth");
  await page.goto(account);

  // --- MCP Servers tab: create a read-only server tagged tickets ---
  await page.click("nav.tabs >> text=MCP Servers");
  await page.waitForURL(`${account}/servers`);
  assert.match(await page.textContent("main"), /no MCP servers yet/);
  await checkPage(page, SECRETS);
  await shoot(page, "06-servers-empty");
  await page.click("a:has-text('Create MCP server')");
  await page.waitForURL(`${account}/servers/new`);
  // Least privilege by default: a new form is read-only, and its preview has no write tool.
  assert.equal(await page.isChecked("#method-read"), true, "a new form starts from read");
  assert.equal(await page.isChecked("#method-write"), false);
  assert.equal(await page.isChecked("#method-custom"), false);
  assert.equal(await page.isChecked("#method-scope-chosen"), true);
  assert.equal(await page.isChecked("#method-scope-all"), false, "everything is never the default");
  const readTools = Number(await page.getAttribute("#preview-count", "data-count"));
  assert.ok(readTools > 0, `the read-only preview lists tools (${readTools})`);
  assert.equal(await page.locator("#preview-tools .badge:not(.ok)").count(), 0, "no write or delete tool by default");
  // Everything is an explicit choice, and the preview follows it.
  await page.check("#method-scope-all");
  await page.waitForFunction((n) => Number(document.getElementById("preview-count")?.getAttribute("data-count")) > n, readTools);
  await page.waitForFunction(() => document.getElementById("preview-body").getAttribute("aria-busy") === "false");
  const allTools = Number(await page.getAttribute("#preview-count", "data-count"));
  assert.ok(allTools > 50, `"All methods" lists the whole catalog (${allTools})`);
  assert.ok(await page.locator("#preview-tools .badge.warn:has-text('deletes')").count() > 0, "deletes included");
  // Unticking every method (with "Only the methods ticked") is explained, not "everything".
  await page.uncheck("#method-read");
  assert.equal(await page.isChecked("#method-scope-chosen"), false, "unticking does not switch the scope");
  await page.check("#method-scope-chosen");
  await page.locator("#preview-error").waitFor();
  assert.match(await page.textContent("#preview-error"), /All methods, including deletes/);

  await page.fill("#name", "Tickets (read-only)");
  // Checkboxes by keyboard: focus, Space. Wait for the preview of both ticks.
  const previewed = page.waitForResponse((r) => r.url().includes("/servers/preview?") &&
    r.url().includes("method_scope=chosen") && r.url().includes("methods=read") && r.url().includes("tags=tickets"));
  await page.focus("#method-read");
  await page.keyboard.press("Space");
  await page.focus("#tag-tickets");
  await page.keyboard.press("Space");
  await previewed;
  await page.waitForFunction(() => document.getElementById("preview-body").getAttribute("aria-busy") === "false");
  await page.waitForFunction(() => document.querySelector("#preview-tools") &&
    document.querySelectorAll("#preview-tools .badge:not(.ok)").length === 0);
  const previewCount = Number(await page.getAttribute("#preview-count", "data-count"));
  const previewTools = await page.$$eval("#preview-tools code", (els) => els.map((e) => e.textContent));
  assert.ok(previewCount > 0 && previewCount < allTools, `the preview narrowed (${previewCount})`);
  assert.equal(previewTools.length, previewCount);
  assert.match(await page.textContent("#preview-tokens"), /tokens/);
  assert.match(await page.textContent("#preview-mini"), new RegExp(`^\\s*${previewCount} tools · \\d`), "the one-line summary follows");
  // Tools carry their titles, tags read as words (the machine name stays the value).
  const listTickets = page.locator("#preview-tools li", { has: page.locator("code", { hasText: /^list_all_gorgias_tickets$/ }) });
  assert.match(await listTickets.locator(".tool-title").textContent(), /List tickets/);
  assert.match(await page.textContent("label[for=tag-custom_fields]"), /^Custom fields/);
  assert.equal(await page.getAttribute("#tag-custom_fields", "value"), "custom_fields");
  await checkPage(page, SECRETS);
  await shoot(page, "07-create-server");

  await page.click("button:has-text('Create MCP server')");
  await page.waitForURL(/\/servers\/[0-9a-f-]{36}\/created\?view=[\w-]+$/);
  assert.ok(!page.url().includes("dgm_"), "the redirect carries no token");
  const createdPage = page.url();
  await page.locator("#mcp-url").waitFor();
  const url = await page.inputValue("#mcp-url");
  assert.ok(url.startsWith(`${BASE}/mcp/dgm_`), `the URL is shown (${url.slice(0, 40)}…)`);
  const mcpToken = url.split("/mcp/")[1];
  await page.click("button:has-text('Copy URL')");
  await page.locator(".url-row .copy-status:has-text('Copied')").waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, url, "the copy button copies the URL");
  assert.ok((await page.textContent("#claude-config")).includes(`"connect"`));
  assert.ok((await page.textContent("#claude-config")).includes(url));
  assert.ok((await page.textContent("#cursor-config")).includes(url));
  await page.click("#claude-config ~ .copy-group button");
  assert.ok((await page.evaluate(() => navigator.clipboard.readText())).includes(`"deskgate"`));
  await checkPage(page, SECRETS);
  await shoot(page, "08-server-created");

  // The test calls tools/list, one read tool, and a write tool (refused) on the copied URL.
  await handshake("created", { url: copied, account_id: accountId, preview_count: previewCount, preview_tools: previewTools });

  // --- A reload of the created page mints nothing and shows the token no more ---
  const reloaded = await page.reload();
  assert.equal(reloaded.request().method(), "GET", "the created page is a GET: a reload posts nothing");
  assert.equal(page.url(), createdPage);
  await page.locator("#shown-once").waitFor();
  assert.match(await page.textContent("#shown-once"), /shown once; mint a new server if you lost it/);
  assert.equal(await page.locator("#mcp-url").count(), 0);
  await checkPage(page, [...SECRETS, mcpToken]);
  await shoot(page, "08b-server-created-reloaded");

  // --- Back on the list: the URL is never shown again; the call is counted ---
  await page.click("a:has-text('Back to MCP servers')");
  await page.waitForURL(`${account}/servers`);
  assert.equal(await page.locator("#servers tbody tr").count(), 1, "the reload created no second server");
  const row = page.locator("#servers tbody tr", { hasText: "Tickets (read-only)" });
  assert.equal(await row.count(), 1);
  assert.equal((await row.locator("td.calls").textContent()).trim(), "2", "two calls in the last 24 h");
  assert.match(await row.textContent(), /read/);
  assert.match(await row.textContent(), /tickets/);
  await checkPage(page, [...SECRETS, mcpToken]);
  await shoot(page, "09-servers");

  // --- Logs: the call is there, filters narrow it ---
  await page.click("nav.tabs >> text=Logs");
  await page.waitForURL(`${account}/logs`);
  await page.selectOption("#filter-server", { label: "Tickets (read-only)" });
  await page.click("button:has-text('Filter')");
  await page.waitForURL(/logs\?server=/);
  const logRows = page.locator("#logs tbody tr");
  assert.equal(await logRows.count(), 2);
  assert.deepEqual(await logRows.evaluateAll((rows) => rows.map((r) => [r.querySelector("th code").textContent, r.dataset.outcome])),
    [["create_a_gorgias_ticket", "refused"], ["list_all_gorgias_tickets", "ok"]], "newest first");
  await checkPage(page, [...SECRETS, mcpToken]);
  await shoot(page, "10-logs");
  await page.selectOption("#filter-outcome", "ok");
  await page.click("button:has-text('Filter')");
  await page.waitForURL(/outcome=ok/);
  assert.equal(await logRows.count(), 1);
  assert.match(await logRows.first().textContent(), /list_all_gorgias_tickets/);
  await page.selectOption("#filter-outcome", "");
  await page.fill("#filter-tool", "create_a_gorgias_ticket");
  await page.click("button:has-text('Filter')");
  await page.waitForURL(/tool=create_a_gorgias_ticket/);
  assert.equal(await logRows.count(), 1);
  assert.equal(await logRows.first().getAttribute("data-outcome"), "refused");
  await page.selectOption("#filter-outcome", "rate_limited");
  await page.click("button:has-text('Filter')");
  await page.waitForURL(/outcome=rate_limited/);
  assert.match(await page.textContent("main"), /No tool call matches/);

  // --- Tools: the catalog, searchable, schemas on demand ---
  await page.click("nav.tabs >> text=Tools");
  await page.waitForURL(`${account}/tools`);
  // The catalog also lists the tools offered only to servers that ask for them (ChatGPT's
  // search and fetch, the admin tools), marked as such; the preview without options leaves
  // them out.
  const total = await page.locator("#tool-catalog > li").count();
  const grouped = await page.locator("#tool-catalog > li[data-group='chatgpt']").count();
  assert.ok(grouped >= 2, "ChatGPT's search and fetch are listed, marked");
  const admin = await page.locator("#tool-catalog > li[data-admin]").count();
  assert.ok(admin >= 30, `the admin tools are listed, marked (${admin})`);
  assert.match(await page.textContent("#tool-catalog > li[data-admin] .tool-head"), /only with admin_tools/);
  assert.equal(total - grouped - admin, allTools);
  await checkPage(page, SECRETS);
  await shoot(page, "11-tools");
  await page.fill("#tool-search", "merge ticket");
  const visible = page.locator("#tool-catalog > li:visible");
  await page.waitForFunction((t) => document.querySelectorAll("#tool-catalog > li:not([hidden])").length < t, total);
  const names = await visible.locator("h3 code").allTextContents();
  assert.ok(names.length > 0 && names.some((n) => n.startsWith("merge_")), `search finds the merge tools: ${names}`);
  assert.match(await page.textContent("#tool-count"), new RegExp(`^\\s*${names.length} of ${total}`));
  await visible.first().locator("summary").click();
  await visible.first().locator("table.parameters").waitFor();
  await shoot(page, "12-tools-search");
  // The server-side search (no script) agrees with the instant one.
  await page.goto(`${account}/tools?q=merge+ticket`);
  assert.equal(await page.locator("#tool-catalog > li").count(), names.length);
  await page.goto(`${account}/tools/list_all_gorgias_tickets`);
  // Parameters as a table an operator reads; the JSON Schema one click away.
  assert.match(await page.textContent("table.parameters tr[data-parameter=order_by]"), /created_datetime:asc/);
  assert.match(await page.textContent("table.parameters tr[data-parameter=limit]"), /From 1 to 100/);
  assert.equal(await page.locator("pre.schema").isVisible(), false);
  await page.click("details.raw-schema summary");
  assert.match(await page.textContent("pre.schema"), /"properties"/);
  await checkPage(page, SECRETS);
  await shoot(page, "13-tool");

  // --- Edit the name and expiry ---
  await page.goto(`${account}/servers`);
  await page.click("a[aria-label='Edit Tickets (read-only)']");
  await page.fill("#name", "Tickets (read)");
  await page.selectOption("#expiry", "86400");
  await checkPage(page, SECRETS);
  await shoot(page, "14-edit-server");
  await page.click("button:has-text('Save')");
  await page.waitForURL(/notice=server-updated/);
  const edited = page.locator("#servers tbody tr", { hasText: "Tickets (read)" });
  assert.equal(await edited.count(), 1);
  assert.doesNotMatch(await edited.locator("td[data-label='Expires']").textContent(), /Never/);

  // --- A form without the CSRF token is refused (and so is a forged token) ---
  await page.goto(`${account}/servers/new`);
  await page.evaluate(() => document.querySelector("#create-server input[name=csrf]").remove());
  await page.fill("#name", "no csrf");
  const [refused] = await Promise.all([
    page.waitForNavigation(),
    page.click("button:has-text('Create MCP server')"),
  ]);
  assert.equal(refused.status(), 403);
  assert.match(await page.textContent("main"), /did not come from the console/);
  await shoot(page, "15-csrf-refused");
  const forged = await page.evaluate(async (target) => {
    const post = (body) => fetch(target, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body,
    }).then((r) => r.status);
    return [await post("name=forged&methods=read"), await post("name=forged&csrf=forged")];
  }, `${account}/servers`);
  assert.deepEqual(forged, [403, 403]);
  await page.goto(`${account}/servers`);
  assert.equal(await page.locator("#servers tbody tr").count(), 1, "nothing was created by the refused posts");

  // --- Delete the server: its URL is refused from now on ---
  await page.click("a[aria-label='Delete Tickets (read)']");
  await page.locator("h2:has-text('Delete “Tickets (read)”?')").waitFor();
  await checkPage(page, SECRETS);
  await shoot(page, "16-delete-server");
  await page.click("button:has-text('Delete MCP server')");
  await page.waitForURL(/notice=server-deleted/);
  assert.equal(await page.locator("#servers").count(), 0, "the list is empty again");
  await handshake("server-deleted", { url });

  // --- An OAuth server: its URL holds no secret, so its page shows it again; no duplicate ---
  await page.goto(`${account}/servers/new`);
  await page.fill("#name", "Agents (OAuth)");
  await page.check("#auth-oauth");
  await page.click("button:has-text('Create MCP server')");
  await page.waitForURL(/\/servers\/[0-9a-f-]{36}\/created$/);
  const oauthServerUrl = `${BASE}/mcp/${page.url().match(/servers\/([0-9a-f-]{36})\/created$/)[1]}`;
  assert.equal(await page.inputValue("#mcp-url"), oauthServerUrl, "the URL is the server's id, no token");
  assert.match(await page.textContent("#oauth-note"), /OAuth[\s\S]*approves/);
  await checkPage(page, SECRETS);
  await shoot(page, "16b-oauth-server-created");
  await page.reload();
  assert.equal(await page.inputValue("#mcp-url"), oauthServerUrl);
  await page.goto(`${account}/servers`);
  const oauthRow = page.locator("#servers tbody tr", { hasText: "Agents (OAuth)" });
  assert.equal(await page.locator("#servers tbody tr").count(), 1, "one server, reload or not");
  assert.equal((await oauthRow.locator("td[data-label='Auth']").textContent()).trim(), "OAuth");
  assert.match(await oauthRow.locator("td[data-label='Methods']").textContent(), /^\s*read\s*$/, "read-only by default");

  // --- Delete the account (the demo account stays) ---
  await page.goto(account);
  await page.click("a:has-text('Delete account…')");
  await page.locator("h1:has-text('Delete Acme (console)?')").waitFor();
  await checkPage(page, SECRETS);
  await shoot(page, "17-delete-account");
  await page.click("button:has-text('Delete account')");
  await page.waitForURL(/\/ui\?notice=account-deleted$/);
  const accounts = await page.textContent("#accounts");
  assert.doesNotMatch(accounts, /Acme \(console\)/);
  assert.match(accounts, /acme/, "the OAuth account is still listed");
  assert.match(accounts, /Demo helpdesk/);
  await shoot(page, "18-accounts-after-delete");

  // --- Sign out: the session is gone ---
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(/\/ui\/sign-in\?notice=signed-out$/);
  await page.goto(`${BASE}/ui`);
  assert.match(page.url(), /\/ui\/sign-in$/);
  assert.ok(!(await context.cookies(BASE)).some((c) => c.name === "dg_session"));

  await handshake("done", { screenshots: shots });
}

browse({ origin: BASE, clipboard: true }, run);
