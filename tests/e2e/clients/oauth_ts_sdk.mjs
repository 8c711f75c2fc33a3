// The official TypeScript MCP SDK (@modelcontextprotocol/sdk 1.x) as an OAuth client of an
// `oauth`-mode deskgate server: its StreamableHTTPClientTransport with an OAuthClientProvider does
// the whole dance (401 -> protected resource metadata -> authorization server metadata -> dynamic
// registration -> PKCE authorization request), the consent is given in Chromium
// (consent_browser.mjs) which lands on this script's own loopback callback, the SDK exchanges the
// code, lists the tools and calls one; then the access token is spoiled so the next request is
// refused and the SDK refreshes (rotation) by itself. Prints one JSON line for the test.
//
// Usage: node oauth_ts_sdk.mjs <mcp url>   (environment: see consent_browser.mjs; with
// DESKGATE_CLIENT_METADATA_URL the SDK uses that Client ID Metadata Document URL as its client_id
// instead of registering, as it does when the server advertises support)

import http from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { approveInBrowser } from "./consent_browser.mjs";

const serverUrl = new URL(process.argv[2]);

// The loopback callback (RFC 8252 §7.3), on a port the system picks.
let received;
const callbackHit = new Promise((resolve) => { received = resolve; });
const callback = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname !== "/callback") { res.writeHead(404).end(); return; }
  res.writeHead(200, { "Content-Type": "text/plain" }).end("You can close this window.");
  received(url.searchParams);
});
await new Promise((resolve) => callback.listen(0, "127.0.0.1", resolve));
const redirectUrl = `http://127.0.0.1:${callback.address().port}/callback`;

class Provider {
  constructor() { this.saved = {}; this.tokenHistory = []; }
  get clientMetadataUrl() { return process.env.DESKGATE_CLIENT_METADATA_URL || undefined; }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK e2e",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() { this.saved.state = `st-${Math.random().toString(36).slice(2)}`; return this.saved.state; }
  clientInformation() { return this.saved.client; }
  saveClientInformation(client) { this.saved.client = client; }
  tokens() { return this.saved.tokens; }
  saveTokens(tokens) { this.saved.tokens = tokens; this.tokenHistory.push(tokens); }
  saveCodeVerifier(verifier) { this.saved.verifier = verifier; }
  codeVerifier() { return this.saved.verifier; }
  redirectToAuthorization(url) {
    this.authorizeUrl = url;
    this.consent = approveInBrowser(url.href);
  }
}

const provider = new Provider();
const connect = async () => {
  const client = new Client({ name: "ts-sdk-oauth-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
  return client;
};

// First contact: refused with 401, the SDK discovers, registers and sends the person to consent.
let firstError;
try {
  await connect();
} catch (error) {
  firstError = error;
}
if (!(firstError instanceof UnauthorizedError)) {
  throw new Error(`expected the first connection to need authorization, got ${firstError}`);
}
const consent = await provider.consent;
const params = await callbackHit;
if (params.get("state") !== provider.saved.state) { throw new Error("the state came back changed"); }
if (params.get("error")) { throw new Error(`authorization refused: ${params.get("error")}`); }
const finishing = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
await finishing.finishAuth(params.get("code"));

let client = await connect();
const tools = await client.listTools();
const call = await client.callTool({ name: "list_all_gorgias_tickets", arguments: { limit: 2 } });
await client.close();

// The access token is spoiled (as if it expired): deskgate answers 401 and the SDK refreshes.
const first = provider.saved.tokens;
provider.saved.tokens = { ...first, access_token: "dgo_spoiled-spoiled-spoiled-spoiled-spoiled00" };
client = await connect();
const again = await client.listTools();
await client.close();
callback.close();

const authorize = Object.fromEntries(provider.authorizeUrl.searchParams);
console.log(JSON.stringify({
  tools: tools.tools.length,
  tools_after_refresh: again.tools.length,
  call_is_error: Boolean(call.isError),
  call_text: call.content?.[0]?.text?.slice(0, 200),
  consent,
  authorize,
  client_id: provider.saved.client.client_id,
  first_refresh: first.refresh_token,
  rotated: provider.saved.tokens.refresh_token !== first.refresh_token
    && provider.saved.tokens.access_token !== first.access_token,
  token_responses: provider.tokenHistory.length,
}));
