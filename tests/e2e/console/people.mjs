// A person signs in with their email and password and approves an application, in a real
// Chromium (playwright-core): the authorization URL sends a signed-out browser to the sign-in
// page (which says an application asks for access), the password form signs the agent in and
// returns to the consent page, which names the client and the server; Allow redirects to the
// client's callback with a code. Screenshots go to $DESKGATE_ARTIFACTS/console/.
//
// Launched by tests/e2e/test_console_people.py. Lines on stdout starting with "@@ " are JSON
// messages for the test. Environment: DESKGATE_AUTHORIZE_URL, DESKGATE_EMAIL,
// DESKGATE_PASSWORD, DESKGATE_CALLBACK (the redirect URI's prefix), DESKGATE_ARTIFACTS,
// CHROMIUM (default /usr/bin/chromium).

import assert from "node:assert/strict";
import { browse, need, report, shoot } from "./common.mjs";

const AUTHORIZE_URL = need("DESKGATE_AUTHORIZE_URL");
const EMAIL = need("DESKGATE_EMAIL");
const PASSWORD = need("DESKGATE_PASSWORD");
const CALLBACK = need("DESKGATE_CALLBACK");

browse({ origin: new URL(AUTHORIZE_URL).origin }, async (page) => {
  await page.goto(AUTHORIZE_URL);
  assert.match(page.url(), /\/ui\/sign-in\?next=/, "a signed-out browser is sent to sign in");
  await page.locator("#sign-in-next").waitFor();
  await shoot(page, "people-01-sign-in");

  // A wrong password is refused on the page, and the way back to the consent is kept.
  await page.fill("#email", EMAIL);
  await page.fill("#password", "not the password at all");
  await page.click("#sign-in-with-password");
  await page.locator("#sign-in-error").waitFor();
  assert.match(await page.textContent("#sign-in-error"), /do not match/);

  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await page.click("#sign-in-with-password");
  await page.locator("#consent").waitFor();
  const facts = {
    client: (await page.textContent("#consent-client")).trim(),
    server: (await page.textContent("#consent-server")).trim(),
    signed_in_as: (await page.textContent("#signed-in-as")).trim(),
    nav: await page.locator("nav.top-nav a").allTextContents(),
  };
  report("consent", facts);
  await shoot(page, "people-02-consent");

  const redirected = page.waitForRequest((r) => r.url().startsWith(CALLBACK));
  await page.click("#consent-approve");
  const callback = (await redirected).url();
  report("approved", { callback });
});
