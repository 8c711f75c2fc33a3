// The "server created" page's client snippets in a real Chromium (playwright-core): create a
// URL server and an OAuth server through the console's form, and on each created page read
// every client's card (ChatGPT, Claude Desktop or Claude, Cursor, Claude Code, VS Code,
// mcp-remote, the SSE URL, Python). Each snippet must hold the server's URL; no card shows a
// literal Markdown backtick; the Copy buttons copy exactly what is shown. The Tools tab's
// badges use the picker's words (read, writes, deletes).
//
// Launched by tests/e2e/test_console_snippets.py, which runs the Python snippet as written.
// Lines on stdout starting with "@@ " are JSON messages for the test.
// Environment: DESKGATE_BASE, DESKGATE_API_TOKEN, DESKGATE_ACCOUNT, DESKGATE_ARTIFACTS, CHROMIUM.

import assert from "node:assert/strict";
import { browse, need, report, shoot, signIn } from "./common.mjs";

const BASE = need("DESKGATE_BASE");
const API_TOKEN = need("DESKGATE_API_TOKEN");
const ACCOUNT = need("DESKGATE_ACCOUNT");

/** Creates a server through the console's form; returns its URL as the created page shows it. */
async function create(page, name, oauth) {
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/servers/new`);
  await page.fill("#name", name);
  if (oauth) { await page.check("#auth-oauth"); }
  await page.click("button:has-text('Create MCP server')");
  try {
    await page.waitForURL(/\/servers\/[0-9a-f-]{36}\/created(\?|$)/);
  } catch (e) {
    throw new Error(`no created page for ${name}: at ${page.url()}: ${await page.textContent("main")}`);
  }
  return (await page.inputValue("#mcp-url")).trim();
}

/** Every card of the "Connect a client" grid: heading -> the text of its snippet (if any). */
async function cards(page) {
  return page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll(".client-grid > section.card")].map((card) => [
      card.querySelector("h4").textContent.trim(),
      { text: card.innerText, snippet: card.querySelector("pre")?.textContent ?? null,
        snippetId: card.querySelector("pre")?.id ?? null },
    ])));
}

/** The Copy button of a snippet puts exactly the shown text on the clipboard. */
async function copies(page, id) {
  await page.click(`button[data-copy='${id}']`);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await page.textContent(`#${id}`), `Copy for #${id}`);
}

browse({ origin: BASE, clipboard: true }, async (page) => {
  await signIn(page, BASE, API_TOKEN);

  // --- A secret-URL server: every client's card, each snippet with the URL ---
  const url = await create(page, "Snippets (URL)", false);
  assert.match(url, /\/mcp\/dgm_/);
  const found = await cards(page);
  const expected = {
    "ChatGPT": null, "Claude Desktop": "claude-config", "Cursor": "cursor-config",
    "Claude Code": "claude-code-snippet", "VS Code": "vscode-config",
    "Other desktop clients (mcp-remote)": "mcp-remote-snippet", "Older clients (SSE)": "sse-url",
    "Python": "python-snippet",
  };
  assert.deepEqual(Object.keys(found).sort(), Object.keys(expected).sort());
  for (const [heading, id] of Object.entries(expected)) {
    const card = found[heading];
    assert.ok(!card.text.includes("`"), `a literal backtick in the ${heading} card: ${card.text}`);
    if (id === null) { continue; }
    assert.equal(card.snippetId, id, heading);
    assert.ok(card.snippet.includes(url), `the ${heading} snippet lacks the URL: ${card.snippet}`);
  }
  assert.equal(found["Claude Code"].snippet, `claude mcp add --transport http gorgias ${url}`);
  assert.deepEqual(JSON.parse(found["VS Code"].snippet), { servers: { gorgias: { type: "http", url } } });
  assert.equal(found["Other desktop clients (mcp-remote)"].snippet, `npx mcp-remote ${url}`);
  assert.equal(found["Older clients (SSE)"].snippet, `${url}/sse`);
  const main = await page.textContent("main");
  assert.ok(!main.includes("`"), "a literal backtick on the created page");
  for (const id of ["claude-code-snippet", "vscode-config", "python-snippet"]) { await copies(page, id); }
  await shoot(page, "40-created-snippets");
  report("url-server", { url, python: found["Python"].snippet, sse: found["Older clients (SSE)"].snippet });

  // --- An OAuth server: the same clients, its URL (no secret) in each snippet; no Python program ---
  const oauthUrl = await create(page, "Snippets (OAuth)", true);
  const oauthCards = await cards(page);
  for (const id of ["claude-code-snippet", "vscode-config", "mcp-remote-snippet", "sse-url"]) {
    const card = Object.values(oauthCards).find((c) => c.snippetId === id);
    assert.ok(card && card.snippet.includes(oauthUrl), `${id} on the OAuth page`);
  }
  assert.equal(oauthCards["Python"].snippet, null);
  assert.match(oauthCards["Python"].text, /OAuthClientProvider/);
  assert.ok(!(await page.textContent("main")).includes("`"), "a literal backtick on the OAuth created page");
  report("oauth-server", { url: oauthUrl });

  // --- One vocabulary for what a tool does: the Tools tab's badges are the picker's words ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/tools`);
  const badges = new Set((await page.$$eval("main .badge", (els) => els.map((e) => e.textContent.trim()))));
  for (const word of ["read", "writes", "deletes"]) { assert.ok(badges.has(word), `no "${word}" badge on the Tools tab`); }
  for (const word of ["read-only", "destructive"]) { assert.ok(!badges.has(word), `a "${word}" badge on the Tools tab`); }
  report("badges", { badges: [...badges] });

  // --- Code quoted in texts (tool descriptions, parameter notes, sign-in errors) shows as code ---
  await page.goto(`${BASE}/ui/accounts/${ACCOUNT}/tools/create_a_gorgias_message`);
  // (A raw JSON Schema block is code already; everything else is prose.)
  const prose = await page.evaluate(() => {
    const main = document.querySelector("main").cloneNode(true);
    for (const pre of main.querySelectorAll("pre.schema")) { pre.remove(); }
    return main.textContent;
  });
  assert.ok(!prose.includes("`"), "a literal backtick on a tool page");
  assert.ok(await page.locator("main .description code").count() > 0, "quoted code is not code");

  report("done");
});
