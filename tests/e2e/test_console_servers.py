"""The console's server pages and account health in a real Chromium (tests/e2e/console/servers.mjs),
checked from outside the browser (issue 17):

- Test connection says ok, then — with the sandbox answering 401 as for a revoked key — says so in
  plain words on the Overview and in the account list (never a plain "Active");
- the per-tool picker feeds the create form's preview;
- editing a server's access in the browser changes what an already connected official MCP client
  (Python SDK) lists on its next request;
- "Try this tool" on the server page runs the read through the call pipeline: the result is shown
  and the audit log holds the call, with the console as its client;
- every page of it fits a 390 px phone screen (no horizontal overflow; screenshots in
  $DESKGATE_ARTIFACTS/console/).
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, chromium, node_env

PAGES = ["30-health-ok", "31-health-refused", "32-accounts-health", "33-create-picker",
         "34-edit-server-access", "35-server-page", "36-overview-usage", "37-server-logs"]


def run_browser(deskgate: Deskgate, server_id: str) -> subprocess.CompletedProcess:
    node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
    return subprocess.run(
        [node, str(E2E / "console" / "servers.mjs")], cwd=E2E, capture_output=True, text=True, timeout=300,
        env={**node_env(), "DESKGATE_BASE": deskgate.base, "DESKGATE_API_TOKEN": deskgate.api_token,
             "DESKGATE_ACCOUNT": deskgate.account_id, "DESKGATE_SERVER": server_id,
             "DESKGATE_SANDBOX": deskgate.sandbox, "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})


def test_edit_access_try_a_tool_and_test_the_connection_in_a_browser(deskgate: Deskgate):
    status, created = deskgate.api("POST", f"/integrated-account/{deskgate.account_id}/mcp",
                                   {"name": "Support (edited in the console)",
                                    "config": {"methods": ["read"], "tags": ["tickets"]}})
    assert status == 201, created
    expected_before = sorted(t["name"] for t in deskgate.tools_preview(methods="read", tags="tickets")["tools"])

    async def session_around_the_browser():
        # One client session, connected before the edit and asked again after it.
        async with streamable_http_client(created["url"]) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                before = sorted(t.name for t in (await session.list_tools()).tools)
                browser = await asyncio.to_thread(run_browser, deskgate, created["id"])
                after = sorted(t.name for t in (await session.list_tools()).tools) if browser.returncode == 0 else None
                return before, browser, after

    before, browser, after = asyncio.run(session_around_the_browser())
    assert browser.returncode == 0, browser.stdout + browser.stderr
    messages = [json.loads(line[3:]) for line in browser.stdout.splitlines() if line.startswith("@@ ")]
    assert [m["step"] for m in messages] == ["health", "done"], browser.stdout
    assert before == expected_before and "list_all_gorgias_tickets" in before
    assert after == ["list_all_gorgias_tags", "list_all_gorgias_teams"], after

    # The server as the API now describes it: what the browser saved.
    status, server = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{created['id']}")
    assert status == 200
    assert server["config"]["methods"] == ["read"]
    assert "tags" not in server["config"]
    assert server["config"]["tools"] == ["list_all_gorgias_tags", "list_all_gorgias_teams"]

    # The tried call went through the pipeline and is in the audit log, as the console.
    status, logs = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{created['id']}/logs")
    assert status == 200, logs
    tried = [r for r in logs["result"] if r["client_name"] == "deskgate console (try this tool)"]
    assert len(tried) == 1, logs
    assert tried[0]["tool"] == "list_all_gorgias_tags" and tried[0]["outcome"] == "ok"
    assert tried[0]["upstream_status"] == 200

    shots = {p.rsplit("/", 1)[-1] for p in messages[-1]["screenshots"]}
    for page in PAGES:
        for width in ("desktop", "phone"):
            name = f"{page}-{width}.png"
            assert name in shots, name
            assert (ARTIFACTS / "console" / name).stat().st_size > 5000, name
