// The operator's second day in the console, in a real Chromium (playwright-core): test the
// account's connection (ok, then Gorgias refusing the key), pick tools on the create form, edit a
// server's access with the per-tool picker and the live preview, open the server's page and try
// a read tool there. Every page is screenshot at 1280 px and at 390 px (a phone), and must not
// overflow horizontally at either width.
//
// Launched by tests/e2e/test_console_servers.py, which checks afterwards what a real MCP client
// and the audit log saw. Lines on stdout starting with "@@ " are JSON messages for the test.
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT, DESKGATE_SERVER (a server of
// that account: read methods, tag tickets), DESKGATE_SANDBOX, DESKGATE_ARTIFACTS, CHROMIUM.

import assert from "node:assert/strict";
import { browse, checkPage, need, report, shoot, shots, signIn } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const ACCOUNT = need("DESKGATE_ACCOUNT");
const SERVER = need("DESKGATE_SERVER");
const SANDBOX = need("DESKGATE_SANDBOX");

async function testConnection(page) {
  await page.click("#test-connection button");
  await page.waitForURL(new RegExp(`/ui/accounts/${ACCOUNT}(#health)?$`));
  return (await page.textContent("#health-detail")).trim();
}

/** Opens the picker and the group holding a tool, then ticks (or unticks) it. */
async function pick(page, tool, on = true) {
  const picker = page.locator("#tool-picker > details");
  if ((await picker.getAttribute("open")) === null) { await picker.locator("summary").first().click(); }
  const group = page.locator("details.tool-group", { has: page.locator(`#tool-${tool}`) });
  if ((await group.getAttribute("open")) === null) { await group.locator("summary").first().click(); }
  if (on) { await page.check(`#tool-${tool}`); } else { await page.uncheck(`#tool-${tool}`); }
}

browse({ origin: BASE }, async (page) => {
  await signIn(page, BASE, API_TOKEN);

  // --- Account health: ok, then the key refused by Gorgias, shown on the Overview and the list ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}`);
  assert.match(await testConnection(page), /accepted the stored credentials/);
  assert.equal((await page.textContent("#account-health")).trim(), "Active");
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "30-health-ok");

  const fault = await page.request.post(`${SANDBOX}/_sandbox/faults`, { data: { status: 401 } });
  assert.ok(fault.ok(), "the sandbox refused the fault");
  assert.match(await testConnection(page), /revoked or is wrong/);
  assert.equal((await page.textContent("#account-health")).trim(), "Credentials refused");
  assert.equal(await page.locator(".account-head .badge", { hasText: "Active" }).count(), 0,
    "the heading still says Active");
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "31-health-refused");
  await page.goto(`${BASE}/ui`);
  const row = page.locator("#accounts tbody tr", { has: page.locator(`a[href="/ui/accounts/${ACCOUNT}"]`) });
  assert.match(await row.locator("td[data-label='Status']").textContent(), /Credentials refused/);
  await shoot(page, "32-accounts-health");
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}`);
  assert.match(await testConnection(page), /accepted the stored credentials/, "healthy again without the fault");
  report("health", {});

  // --- The per-tool picker on the create form feeds the preview ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/servers/new`);
  await pick(page, "list_all_gorgias_tags");
  await page.locator("#preview-count[data-count='1']").waitFor();
  const pickedBadge = await page.locator("label[for='tool-list_all_gorgias_tags'] .badge").textContent();
  assert.equal(pickedBadge.trim(), "read");
  assert.equal((await page.locator("label[for='tool-delete_a_gorgias_tag_by_id'] .badge").textContent()).trim(), "deletes");
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "33-create-picker");

  // --- Admin tools (issue 14): Write on the macros offers their writes only when asked for ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/servers/new`);
  await page.check("#method-write");
  await page.check("#tag-macros");
  // The preview follows each tick; wait for the one with both (no ticket tool left).
  const previewShows = (has, hasNot) => page.waitForFunction(([has, hasNot]) => {
    const names = [...document.querySelectorAll("#preview-tools code")].map((c) => c.textContent);
    return document.querySelector("#preview-body").getAttribute("aria-busy") === "false"
      && names.includes(has) && !names.includes(hasNot);
  }, [has, hasNot]);
  await previewShows("list_all_gorgias_macros", "list_all_gorgias_tickets");
  const withoutAdmin = await page.locator("#preview-tools code").allTextContents();
  assert.ok(!withoutAdmin.includes("create_a_gorgias_macro"), `admin tool offered: ${withoutAdmin}`);
  assert.match(await page.textContent("label[for='tool-create_a_gorgias_macro']"), /admin/);
  await page.check("#admin-tools");
  await previewShows("create_a_gorgias_macro", "list_all_gorgias_tickets");
  const withAdmin = await page.locator("#preview-tools code").allTextContents();
  assert.deepEqual(withAdmin.filter((n) => !withoutAdmin.includes(n)).sort(),
    ["create_a_gorgias_macro", "delete_a_gorgias_macro_by_id", "update_a_gorgias_macro_by_id"]);
  await checkPage(page, [API_TOKEN]);

  // --- Edit a server's access: tags off, two tools picked; the preview follows ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/servers/${SERVER}`);
  assert.match(await page.textContent("#server-methods"), /read/);
  await page.click("a:has-text('Edit access')");
  await page.waitForURL(/\/edit$/);
  assert.ok(await page.isChecked("#tag-tickets"), "the edit form starts from the server's tags");
  await page.uncheck("#tag-tickets");
  await pick(page, "list_all_gorgias_tags");
  await pick(page, "list_all_gorgias_teams");
  await page.locator("#preview-count[data-count='2']").waitFor();
  const previewed = await page.locator("#preview-tools code").allTextContents();
  assert.deepEqual(previewed.sort(), ["list_all_gorgias_tags", "list_all_gorgias_teams"]);
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "34-edit-server-access");
  await page.click("#edit-server button:has-text('Save')");
  await page.waitForURL(/notice=server-updated/);

  // --- The server's page: settings, tools, and Try a read tool ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/servers/${SERVER}`);
  assert.match(await page.textContent("#server-tools"), /list_all_gorgias_tags, list_all_gorgias_teams/);
  const offered = await page.locator("#try-tool-name option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(offered.sort(), ["list_all_gorgias_tags", "list_all_gorgias_teams"]);
  await page.selectOption("#try-tool-name", "list_all_gorgias_tags");
  await page.fill("#try-arguments", '{"limit": 2}');
  await page.click("#try-form button[type=submit]");
  await page.locator("#try-output").waitFor();
  const output = await page.textContent("#try-output");
  assert.match(output, /"data"/);
  assert.match(await page.textContent("#try-result"), /OK/);
  assert.equal(await page.locator("#usage-chart g.day").count(), 7);
  assert.ok(Number(await page.textContent("#usage-calls")) >= 1, "the tried call is not in the usage");
  // The last hour (5-minute slots) and the last day (hours): the call just tried is in both.
  const weekCalls = Number(await page.textContent("#usage-calls"));
  for (const [range, slots, heading] of [["hour", 12, /last hour/], ["day", 24, /last 24 hours/]]) {
    await page.click(`#server-usage nav.usage-ranges a[data-range=${range}]`);
    await page.waitForURL(new RegExp(`\\?range=${range}#server-usage$`));
    assert.match(await page.textContent("#server-usage h3"), heading);
    assert.equal(await page.locator("#usage-chart g.day").count(), slots);
    const last = page.locator("#usage-chart g.day").last();
    assert.ok(Number(await last.getAttribute("data-calls")) >= 1, `the tried call is not in the ${range}'s last slot`);
    assert.ok(Number(await page.textContent("#usage-calls")) <= weekCalls);
    await shoot(page, `35-server-usage-${range}`);
  }
  await page.click("#server-usage nav.usage-ranges a[data-range=week]");
  await page.waitForURL(/\?range=week#server-usage$/);
  // The sandbox's answer reported its rate-limit bucket: today's slot shows the headroom left.
  assert.match(await page.textContent("#usage-headroom"), /^\s*\d+%\s*$/);
  const headroom = Number(await page.locator("#headroom-chart g.slot").last().getAttribute("data-headroom"));
  assert.ok(headroom > 0 && headroom <= 100, `headroom ${headroom}`);
  assert.match(await page.textContent("#recent-calls"), /list_all_gorgias_tags/);
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "35-server-page");
  const logsHref = await page.locator("#server-recent a", { hasText: "All calls" }).getAttribute("href");
  assert.equal(logsHref, `/ui/accounts/${ACCOUNT}/logs?server=${SERVER}`);

  // --- From the Tools tab: a read tool links to the servers that can try it ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/tools/list_all_gorgias_teams`);
  await page.click(`#try-on-servers a[href*="/servers/${SERVER}?"]`);
  await page.waitForURL(new RegExp(`/servers/${SERVER}\\?tool=list_all_gorgias_teams`));
  assert.equal(await page.inputValue("#try-tool-name"), "list_all_gorgias_teams");
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/tools/delete_a_gorgias_tag_by_id`);
  assert.equal(await page.locator("#try-this-tool").count(), 0, "a write offers Try");

  // --- The account's own usage on its Overview, and the server's logs, also on a phone ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}`);
  assert.equal(await page.locator("#account-usage #usage-chart g.day").count(), 7);
  assert.ok(Number(await page.textContent("#account-usage #usage-calls")) >= 1);
  await checkPage(page, [API_TOKEN]);
  await shoot(page, "36-overview-usage");
  await page.goto(`${BASE}${logsHref}`);
  assert.match(await page.textContent("main"), /list_all_gorgias_tags/);
  await shoot(page, "37-server-logs");
  report("done", { screenshots: shots });
});
