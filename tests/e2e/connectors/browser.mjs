// A browser-based MCP client (as the web Inspector or any page is): Chromium (playwright-core)
// opens a page on one origin and calls the MCP URL, on another origin, with fetch(), exactly as
// page scripts do, so every request goes through the browser's CORS checks (a preflight for the
// JSON content type and the MCP headers, then the reply headers the script may read).
//
// Launched by tests/e2e/test_connectors.py. Environment: MCP_URL, PAGES (JSON list of page URLs
// to run the client from), CHROMIUM. Prints one JSON line: for each page, what the client saw.

import { chromium } from "playwright-core";

const MCP_URL = need("MCP_URL");
const PAGES = JSON.parse(need("PAGES"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function need(name) {
  const value = process.env[name];
  if (!value) { throw new Error(`${name} is not set`); }
  return value;
}

/** Runs in the page: initialize, initialized, tools/list, tools/call, as a client script would. */
async function client(mcpUrl) {
  const post = async (message, headers = {}) => {
    const response = await fetch(mcpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify(message),
    });
    const text = await response.text();
    return {
      status: response.status,
      version: response.headers.get("mcp-protocol-version"),
      ratelimitLimit: response.headers.get("ratelimit-limit"),
      ratelimitRemaining: response.headers.get("ratelimit-remaining"),
      body: text ? JSON.parse(text) : null,
    };
  };
  try {
    const init = await post({
      jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "browser-page", version: "1.0" } },
    });
    const session = { "mcp-protocol-version": init.version };
    const initialized = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, session);
    const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, session);
    const call = await post({
      jsonrpc: "2.0", id: 3, method: "tools/call",
      params: { name: "list_all_gorgias_tags", arguments: { limit: 2 } },
    }, session);
    return {
      ok: true,
      initialize: { status: init.status, version: init.version, negotiated: init.body.result.protocolVersion },
      initialized: initialized.status,
      tools: { status: list.status, version: list.version, count: list.body.result.tools.length },
      call: {
        status: call.status,
        version: call.version,
        ratelimitLimit: call.ratelimitLimit,
        ratelimitRemaining: call.ratelimitRemaining,
        isError: call.body.result.isError,
        tags: call.body.result.structuredContent.data.length,
      },
    };
  } catch (error) {
    // What a page sees when CORS refuses it: a TypeError ("Failed to fetch"), nothing more.
    return { ok: false, error: `${error.name}: ${error.message}` };
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const results = {};
  for (const pageUrl of PAGES) {
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on("console", (message) => { if (message.type() === "error") { consoleErrors.push(message.text()); } });
    await page.goto(pageUrl);
    const result = await page.evaluate(client, MCP_URL);
    results[pageUrl] = { origin: await page.evaluate(() => window.location.origin), ...result, consoleErrors };
    await page.close();
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
} finally {
  await browser.close();
}
