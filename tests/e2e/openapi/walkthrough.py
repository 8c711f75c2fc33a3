"""The README's curl walk-through, driven by a client generated from deskgate's /openapi.json
(openapi-python-client). Run by test_openapi.py in the OpenAPI tools' venv, with the generated
package `deskgate_client` on PYTHONPATH and these variables set:

  DESKGATE_BASE, DESKGATE_ADMIN_TOKEN, SANDBOX_BASE, SANDBOX_SUBDOMAIN, SANDBOX_EMAIL,
  SANDBOX_API_KEY

Every call goes through the generated code: its request building, its response parsing into the
generated models (a reply that does not fit the document fails here), its error models.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request

from deskgate_client import AuthenticatedClient
from deskgate_client.api.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from deskgate_client.api.integrated_accounts import connect_account, get_account, list_accounts, preview_tools
from deskgate_client.api.mcp_servers import (
    create_mcp_server,
    delete_mcp_server,
    get_mcp_server,
    list_mcp_servers,
    list_tool_calls,
    update_mcp_server,
)
from deskgate_client.models import (
    AccountView,
    ApiKeyCredentials,
    CreateAccount,
    CreateApiToken,
    CreatedApiToken,
    CreatedMcpServer,
    CreateMcpServer,
    ErrorBody,
    McpServerConfig,
    TokenScope,
    ToolsPreview,
    UpdatedMcpServer,
    UpdateMcpServer,
)

env = os.environ
client = AuthenticatedClient(base_url=env["DESKGATE_BASE"], token=env["DESKGATE_ADMIN_TOKEN"], raise_on_unexpected_status=True)


def step(name: str, value):
    print(f"{name}: ok")
    return value


# Connect a Gorgias account (the sandbox stands in for Gorgias).
account = connect_account.sync(client=client, body=CreateAccount(
    integration="gorgias",
    name="Acme",
    credentials=ApiKeyCredentials(subdomain=env["SANDBOX_SUBDOMAIN"], email=env["SANDBOX_EMAIL"], api_key=env["SANDBOX_API_KEY"]),
    api_base_url=env["SANDBOX_BASE"],
))
assert isinstance(account, AccountView), account
assert account.status.value == "active" and account.integration == "gorgias"
step("connect", account)

# A wrong key is a 400 with the one error body.
refused = connect_account.sync(client=client, body=CreateAccount(
    integration="gorgias", name="Wrong",
    credentials=ApiKeyCredentials(subdomain=env["SANDBOX_SUBDOMAIN"], email=env["SANDBOX_EMAIL"], api_key="wrong"),
    api_base_url=env["SANDBOX_BASE"],
))
assert isinstance(refused, ErrorBody) and refused.error.code == "bad_request", refused
step("wrong key refused", refused)

listed = list_accounts.sync(client=client, limit=10)
assert any(a.id == account.id for a in listed.result), listed
assert isinstance(get_account.sync(account.id, client=client), AccountView)

# Preview the tools a config would expose.
preview = preview_tools.sync(account.id, client=client, methods="read", tags="tickets")
assert isinstance(preview, ToolsPreview) and preview.count > 0 and preview.count == len(preview.tools), preview
step("preview", preview)

# Mint a read-only server for tickets that expires in a month.
expires = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=30)
created = create_mcp_server.sync(account.id, client=client, body=CreateMcpServer(
    name="Triage (read-only tickets)",
    config=McpServerConfig(methods=["read"], tags=["tickets"]),
    expires_at=expires.isoformat().replace("+00:00", "Z"),
))
assert isinstance(created, CreatedMcpServer), created
assert "/mcp/dgm_" in created.url
step("mint", created)

# Use the URL once, as a client would, so that the log has a record.
message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "list_all_gorgias_tickets", "arguments": {"limit": 1}}}
request = urllib.request.Request(created.url, data=json.dumps(message).encode(), method="POST", headers={
    "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
with urllib.request.urlopen(request, timeout=30) as reply:
    assert reply.status == 200

servers = list_mcp_servers.sync(account.id, client=client)
assert [s.id for s in servers.result] == [created.id], servers

patched = update_mcp_server.sync(account.id, created.id, client=client, body=UpdateMcpServer(name="Triage"))
# (An update answers with the server and, when it set a new webhook, that webhook's secret once.)
assert isinstance(patched, UpdatedMcpServer) and patched.name == "Triage", patched
step("patch", patched)

logs = list_tool_calls.sync(account.id, created.id, client=client, limit=10)
assert [r.tool for r in logs.result] == ["list_all_gorgias_tickets"], logs
assert logs.result[0].outcome.value == "ok"
step("logs", logs)

assert delete_mcp_server.sync_detailed(account.id, created.id, client=client).status_code == 204
gone = get_mcp_server.sync(account.id, created.id, client=client)
assert isinstance(gone, ErrorBody) and gone.error.code == "not_found", gone
step("delete", gone)

# Scoped tokens: an mcp token, listed without its value, revoked.
token = create_api_token.sync(client=client, body=CreateApiToken(name="cursor", scope=TokenScope.MCP))
assert isinstance(token, CreatedApiToken) and token.scope == TokenScope.MCP and token.token.startswith("dga_")
tokens = list_api_tokens.sync(client=client)
assert token.token not in json.dumps(tokens.to_dict())
scoped = AuthenticatedClient(base_url=env["DESKGATE_BASE"], token=token.token, raise_on_unexpected_status=True)
forbidden = list_accounts.sync(client=scoped)
assert isinstance(forbidden, ErrorBody) and forbidden.error.code == "forbidden", forbidden
assert revoke_api_token.sync_detailed(token.id, client=client).status_code == 204
step("tokens", tokens)
print("walk-through done")
