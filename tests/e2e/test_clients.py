"""Real MCP clients from outside this project, over real sockets, against `deskgate serve --demo`:
the official Python SDK (Streamable HTTP in both protocol eras, and the legacy HTTP+SSE transport),
the official Inspector CLI (Node), the OpenAI Agents SDK (Node), mcp-remote, and `deskgate connect`
as a subprocess speaking stdio.

The demo server exposes the whole catalog; the expected tool count is what the management API's
tools preview says for it, so adding a tool to the definitions does not break these tests.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from conftest import BIN, E2E, node_env, node_tool, stdio_exchange


def test_python_sdk_negotiates_the_stateless_2026_revision(deskgate):
    async def run():
        async with Client(deskgate.mcp_url, mode="auto") as client:
            tools = (await client.list_tools()).tools
            account = await client.call_tool("get_single_gorgias_account", {})
            page = await client.call_tool("list_all_gorgias_tickets", {"limit": 3})
            nxt = await client.call_tool(
                "list_all_gorgias_tickets", {"limit": 3, "next_cursor": page.structured_content["meta"]["next_cursor"]})
            return tools, account, page, nxt

    tools, account, page, nxt = asyncio.run(run())
    assert len(tools) == deskgate.tools_preview()["count"]
    assert not account.is_error and account.structured_content["domain"] == "acme"
    assert len(page.structured_content["data"]) == 3
    first = {t["id"] for t in page.structured_content["data"]}
    second = {t["id"] for t in nxt.structured_content["data"]}
    assert first.isdisjoint(second), "the cursor did not move to the next page"


def test_python_sdk_legacy_streamable_http(deskgate):
    async def run():
        async with streamable_http_client(deskgate.mcp_url) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                tools = await session.list_tools()
                bad = await session.call_tool("update_a_gorgias_ticket_by_id", {"id": 1, "status": "pending"})
                return init, tools, bad

    init, tools, bad = asyncio.run(run())
    assert init.protocol_version == "2025-11-25"
    assert init.server_info.name == "deskgate"
    assert len(tools.tools) == deskgate.tools_preview()["count"]
    by_name = {t.name: t for t in tools.tools}
    assert by_name["list_all_gorgias_tickets"].annotations.read_only_hint is True
    assert by_name["delete_a_gorgias_ticket_by_id"].annotations.destructive_hint is True
    assert bad.is_error and "open" in bad.content[0].text and "closed" in bad.content[0].text


def test_python_sdk_over_the_legacy_sse_transport(deskgate):
    async def run():
        async with sse_client(deskgate.mcp_url + "/sse") as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                tags = await session.call_tool("list_all_gorgias_tags", {"limit": 5})
                return tools, tags

    tools, tags = asyncio.run(run())
    assert len(tools.tools) == deskgate.tools_preview()["count"]
    assert not tags.is_error and len(tags.structured_content["data"]) == 5


def inspector(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([node_tool("inspector"), "--cli", *args], capture_output=True, text=True,
                          timeout=120, env=node_env(), cwd=E2E)


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_inspector_cli_lists_and_calls(deskgate, transport):
    url = deskgate.mcp_url + ("/sse" if transport == "sse" else "")
    listed = inspector(url, "--transport", transport, "--method", "tools/list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout)["result"]["tools"]}
    assert "create_a_gorgias_message" in names
    called = inspector(url, "--transport", transport, "--method", "tools/call", "--tool-name",
                       "list_all_gorgias_teams", "--tool-args-json", '{"limit": 10}', "--format", "json")
    assert called.returncode == 0, called.stderr
    teams = json.loads(called.stdout)["result"]["structuredContent"]["data"]
    assert "Tier 1" in {t["name"] for t in teams}
    # A tool error is reported as one (exit code 5), not as a crash.
    failed = inspector(url, "--transport", transport, "--method", "tools/call", "--tool-name",
                       "get_single_gorgias_ticket_by_id", "--tool-args-json", '{"id": 1}', "--format", "json")
    assert failed.returncode == 5, (failed.returncode, failed.stdout, failed.stderr)


def test_inspector_cli_modern_era(deskgate):
    listed = inspector(deskgate.mcp_url, "--transport", "http", "--protocol-era", "modern",
                       "--method", "tools/call", "--tool-name", "list_all_gorgias_tags",
                       "--tool-args-json", '{"limit": 2}', "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["result"]["structuredContent"]["data"]) == 2


def test_openai_agents_sdk(deskgate):
    script = E2E / "clients" / "openai_agents.mjs"
    run = subprocess.run(["node", str(script), deskgate.mcp_url], capture_output=True, text=True, timeout=120,
                         env=node_env(), cwd=E2E)
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    expected = deskgate.tools_preview()["count"]
    assert out["streamable"]["tools"] == expected and out["sse"]["tools"] == expected
    assert out["streamable"]["account"] == "acme" and out["sse"]["account"] == "acme"


HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude-ai", "version": "0.1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"name": "get_single_gorgias_account", "arguments": {}}},
]


def test_deskgate_connect_bridges_stdio(deskgate):
    replies = stdio_exchange([BIN, "connect", deskgate.mcp_url], HANDSHAKE, 3)
    assert replies[0]["result"]["protocolVersion"] == "2025-06-18"
    assert len(replies[1]["result"]["tools"]) == deskgate.tools_preview()["count"]
    assert replies[2]["result"]["structuredContent"]["domain"] == "acme"
    # A dead URL gives a JSON-RPC error, not a hang.
    dead = deskgate.mcp_url[:-4] + "AAAA"
    replies = stdio_exchange([BIN, "connect", dead], HANDSHAKE[:1], 1)
    assert "error" in replies[0], replies


def test_mcp_remote_bridges_stdio(deskgate):
    replies = stdio_exchange([node_tool("mcp-remote"), deskgate.mcp_url, "--transport", "http-only"], HANDSHAKE, 3)
    assert len(replies[1]["result"]["tools"]) == deskgate.tools_preview()["count"]
    assert replies[2]["result"]["structuredContent"]["domain"] == "acme"
