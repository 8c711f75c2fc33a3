// The person's side of an OAuth authorization in a real Chromium (playwright-core): open the
// authorization URL a client produced, sign in to deskgate's console (it sends you there and back
// through `next`), read the consent page and press Allow; the browser then follows deskgate's
// redirect to the client's own callback, which the client serves on loopback.
//
// Two uses:
// - imported: `approveInBrowser(url)` (the TypeScript SDK test calls it from its provider's
//   redirectToAuthorization);
// - run as a program: the `BROWSER` that `mcp-remote` opens through `open`/xdg-open, with the URL as
//   its one argument.
//
// Environment: DESKGATE_BASE, DESKGATE_ADMIN_TOKEN (signs in with the token form), CHROMIUM
// (default /usr/bin/chromium), DESKGATE_CONSENT_REPORT (optional: a file the consent page's facts
// are written to as JSON, for the test to read), DESKGATE_CONSENT_DECISION (approve | deny).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) { throw new Error(`${name} is not set`); }
  return value;
};

/** Opens `authorizeUrl`, signs in, answers the consent page; returns what the page said and where
 * the browser ended (the client's callback URL with its code or error). */
export async function approveInBrowser(authorizeUrl, decision = process.env.DESKGATE_CONSENT_DECISION || "approve") {
  const base = env("DESKGATE_BASE");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "deskgate-consent-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(authorizeUrl);
    // Not signed in yet: the authorization endpoint sent us to the console's sign-in with `next`.
    if (page.url().startsWith(`${base}/ui/sign-in`)) {
      await page.fill("#api_token", env("DESKGATE_ADMIN_TOKEN"));
      await page.click("#sign-in-with-token");
    }
    await page.locator("#consent").waitFor();
    const facts = {
      client: (await page.textContent("#consent-client")).trim(),
      redirect_host: (await page.textContent("#consent-redirect-host")).trim(),
      server: (await page.textContent("#consent-server")).trim(),
      tools: (await page.textContent("#consent-tools")).trim(),
    };
    const leaving = page.waitForURL((url) => !url.href.startsWith(base), { waitUntil: "commit" });
    await page.click(decision === "approve" ? "#consent-approve" : "#consent-deny");
    await leaving;
    const result = { ...facts, callback: page.url() };
    if (process.env.DESKGATE_CONSENT_REPORT) {
      fs.writeFileSync(process.env.DESKGATE_CONSENT_REPORT, JSON.stringify(result));
    }
    return result;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  approveInBrowser(process.argv[2]).then(
    () => process.exit(0),
    (error) => {
      if (process.env.DESKGATE_CONSENT_REPORT) {
        fs.writeFileSync(process.env.DESKGATE_CONSENT_REPORT, JSON.stringify({ error: String(error) }));
      }
      console.error(error);
      process.exit(1);
    },
  );
}
