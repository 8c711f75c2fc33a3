"""A person's password sign-in and consent in a real Chromium (tests/e2e/console/people.mjs),
then the rest of the OAuth dance over real sockets: an admin adds an agent and shares an
`oauth` server with them through the API; a client registers and sends the browser to the
authorization URL; the agent signs in with their password (a wrong one is refused first) and
allows; the code is exchanged with its PKCE verifier here, a tool is called with the access
token, and the audit log names the agent and the client behind the call. (Rust tests cover
throttling, roles on every route and refusals.)"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import urllib.parse
import urllib.request

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, chromium, node_env


def post_form(url: str, fields: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json, text/event-stream")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_an_agent_signs_in_with_a_password_and_approves_a_client(deskgate: Deskgate):
    # The admin's part: an oauth server, an agent, the server shared with them.
    status, server = deskgate.api("POST", f"/integrated-account/{deskgate.account_id}/mcp",
                                  {"name": "Support desk", "auth": "oauth", "config": {"methods": ["read"]}})
    assert status == 201, server
    email, password = f"agent-{secrets.token_hex(4)}@acme.example", secrets.token_urlsafe(18)
    status, person = deskgate.api("POST", "/people", {"email": email, "role": "agent", "password": password})
    assert status == 201, person
    status, _ = deskgate.api(
        "PUT", f"/integrated-account/{deskgate.account_id}/mcp/{server['id']}/shares/{person['id']}")
    assert status == 204

    # The client's part: register, then the authorization URL with PKCE.
    callback = "http://127.0.0.1:9/callback"
    status, client = post_json(f"{deskgate.base}/oauth/register",
                               {"client_name": "E2E Agent Client", "redirect_uris": [callback]})
    assert status == 201, client
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = f"{deskgate.base}/oauth/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": callback,
        "state": "s-123", "code_challenge": challenge, "code_challenge_method": "S256",
        "resource": server["url"], "scope": "mcp"})

    node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
    run = subprocess.run(
        [node, str(E2E / "console" / "people.mjs")], cwd=E2E, capture_output=True, text=True, timeout=300,
        env={**node_env(), "DESKGATE_AUTHORIZE_URL": authorize, "DESKGATE_EMAIL": email,
             "DESKGATE_PASSWORD": password, "DESKGATE_CALLBACK": callback,
             "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})
    assert run.returncode == 0, run.stdout + run.stderr
    messages = {m["step"]: m for m in
                (json.loads(line[3:]) for line in run.stdout.splitlines() if line.startswith("@@ "))}
    consent = messages["consent"]
    assert consent["client"].startswith("E2E Agent Client"), consent
    assert consent["server"].startswith("Support desk"), consent
    assert consent["signed_in_as"] == email
    assert consent["nav"] == ["My servers"], "an agent's navigation offers only their page"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(messages["approved"]["callback"]).query))
    assert query["state"] == "s-123" and query["code"].startswith("dgc_"), query

    # The code for tokens, then a real call with the access token.
    status, tokens = post_form(f"{deskgate.base}/oauth/token", {
        "grant_type": "authorization_code", "code": query["code"], "client_id": client["client_id"],
        "code_verifier": verifier, "redirect_uri": callback, "resource": server["url"]})
    assert status == 200, tokens
    status, reply = post_json(server["url"], {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "list_all_gorgias_tags", "arguments": {"limit": 1}}},
        {"Authorization": f"Bearer {tokens['access_token']}", "MCP-Protocol-Version": "2025-11-25"})
    assert status == 200 and not reply["result"].get("isError"), reply

    # The audit log: the call, the agent who let the client in, and the client.
    status, logs = deskgate.api(
        "GET", f"/integrated-account/{deskgate.account_id}/mcp/{server['id']}/logs?person={person['id']}")
    assert status == 200, logs
    record = logs["result"][0]
    assert record["tool"] == "list_all_gorgias_tags"
    assert record["person_email"] == email and record["oauth_client_id"] == client["client_id"], record
    # The grant is listed as the agent's.
    status, grants = deskgate.api("GET", f"/people/{person['id']}/grants")
    assert status == 200 and [g["client_name"] for g in grants["result"]] == ["E2E Agent Client"], grants
    assert password not in deskgate.log_text and verifier not in deskgate.log_text
