"""Connector emulation: the hosted and desktop clients as they really behave, replayed over real
sockets against `deskgate serve --demo`.

The SDK clients (test_clients.py) all speak textbook MCP. The hosted and desktop clients do not:
their backends send other `Accept` headers, probe OAuth discovery, never echo a session id, run
in browsers behind CORS, or go through a stdio bridge. Each scenario here sends exactly what one
client is documented to send, and names its source (an issue thread or a vendor doc) in a
comment. What "documented" means is the request pattern reported there; where a detail is not
reported, the scenario says which choice it made.

How to add a client: write a `test_<client>_<what>` function. The pieces:
- `Wire` sends HTTP exactly as given (no header is added but Host and Content-Length), and reads
  JSON or a single-event SSE reply into `Reply`.
- `Era` builds the messages and headers of one protocol era: `LEGACY` (`initialize`,
  2025-11-25) or `MODERN` (stateless 2026-07-28, `_meta` and the SEP-2243 headers).
- `McpOver` is one client's way of talking MCP over a `Wire` (its Accept, its extra headers, its
  era): `start()`, `list_tools()`, `call()`.
- `stdio_exchange` (conftest) drives a stdio bridge; `chromium()` finds the browser.
Scenarios still to come here: Claude Desktop's schema rewriting, ChatGPT's search -> fetch flow,
Cursor's tool-name budget.
"""

from __future__ import annotations

import http.client
import http.server
import json
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from itertools import count

import pytest

from conftest import BIN, E2E, NODE_BIN, chromium, node_env, start_deskgate, stdio_exchange, stop_deskgate

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"


# --- the wire ---

@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    text: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def events(self) -> list[tuple[str, str]]:
        """An SSE body as (event, data) pairs; data lines are joined with \\n as the spec says."""
        out = []
        for block in self.text.split("\n\n"):
            event, data = "message", []
            for line in block.splitlines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
            if data:
                out.append((event, "\n".join(data)))
        return out

    @property
    def json(self):
        """The JSON-RPC reply: the body, or the data of a single-event SSE body."""
        if self.content_type.startswith("text/event-stream"):
            events = self.events()
            assert len(events) == 1 and events[0][0] == "message", self.text
            return json.loads(events[0][1])
        return json.loads(self.text) if self.text.strip() else None


class Wire:
    """HTTP/1.1 to deskgate, sending exactly the headers given (plus Host and Content-Length)."""

    def __init__(self, base: str):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method: str, target: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        path = urllib.parse.urlsplit(target).path if target.startswith("http") else target
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            data = body.encode() if isinstance(body, str) else body
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            if data is not None:
                connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data)
            response = connection.getresponse()
            text = response.read().decode()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            connection.close()


# --- protocol eras ---

@dataclass(frozen=True)
class Era:
    name: str
    version: str

    def message(self, method: str, params: dict | None = None, id: int | None = None) -> tuple[dict, dict]:
        """A JSON-RPC message of this era and the headers it travels with."""
        params = dict(params or {})
        headers = {}
        if self.version == MODERN_VERSION:
            params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                               "io.modelcontextprotocol/clientCapabilities": {}}
            headers = {"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": method}
            if method == "tools/call":
                headers["Mcp-Name"] = params["name"]
        elif method != "initialize":
            headers = {"MCP-Protocol-Version": self.version}
        message = {"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})}
        if id is not None:
            message["id"] = id
        return message, headers


LEGACY = Era("initialize era", LEGACY_VERSION)
MODERN = Era("2026-07-28", MODERN_VERSION)


@dataclass
class McpOver:
    """One client's way of speaking MCP: its Accept (None = no header), extra headers, era."""

    wire: Wire
    url: str
    accept: str | None
    era: Era = LEGACY
    extra: dict[str, str] = field(default_factory=dict)
    client_name: str = "connector-e2e"
    ids: count = field(default_factory=lambda: count(1))

    def send(self, method: str, params: dict | None = None, notification: bool = False) -> Reply:
        message, headers = self.era.message(method, params, None if notification else next(self.ids))
        all_headers = {"Content-Type": "application/json", **self.extra, **headers}
        if self.accept is not None:
            all_headers["Accept"] = self.accept
        return self.wire.request("POST", self.url, json.dumps(message), all_headers)

    def start(self) -> Reply:
        """`initialize` + `notifications/initialized`, or `server/discover` in the 2026 era."""
        if self.era is MODERN:
            return self.send("server/discover")
        reply = self.send("initialize", {"protocolVersion": self.era.version, "capabilities": {},
                                         "clientInfo": {"name": self.client_name, "version": "1.0.0"}})
        assert self.send("notifications/initialized", notification=True).status == 202
        return reply

    def list_tools(self) -> Reply:
        return self.send("tools/list")

    def call(self, name: str, arguments: dict) -> Reply:
        return self.send("tools/call", {"name": name, "arguments": arguments})


def assert_served(reply: Reply, content_type: str = "application/json") -> dict:
    """A 200 whose body is a JSON-RPC result, framed as `content_type`."""
    assert reply.status == 200, (reply.status, reply.text[:500])
    assert reply.content_type.startswith(content_type), (reply.content_type, reply.text[:200])
    body = reply.json
    assert "result" in body, reply.text[:500]
    return body["result"]


def assert_a_full_session(client: McpOver, content_type: str = "application/json") -> None:
    """start, tools/list and a tools/call that reaches Gorgias, all served as `content_type`."""
    started = assert_served(client.start(), content_type)
    if client.era is MODERN:
        assert MODERN_VERSION in started["supportedVersions"]
    else:
        assert started["protocolVersion"] == client.era.version
    tools = assert_served(client.list_tools(), content_type)["tools"]
    assert len(tools) == 109
    called = client.call("get_single_gorgias_account", {})
    result = assert_served(called, content_type)
    assert result["isError"] is False and result["structuredContent"]["domain"] == "acme", result
    assert called.headers.get("ratelimit-limit") == "40"


# --- claude.ai ---

def test_claude_ai_probe_sequence(deskgate):
    """claude.ai's connector broker, adding an authless server.

    anthropics/claude-ai-mcp#76 logs it: `POST /mcp` with `accept=*/*` and `initialize`
    (protocolVersion 2025-11-25, clientInfo Anthropic 1.0.0), then
    `GET /.well-known/oauth-protected-resource/mcp`, `GET /.well-known/oauth-protected-resource`,
    `GET /.well-known/oauth-authorization-server`, `POST /register`, all expected to be 404 for an
    authless server. anthropics/claude-ai-mcp#533 logs the same sequence from the broker's user
    agent (python-httpx/0.28.1) and says tools/list should follow. `/.well-known/openid-configuration`
    is the next document the MCP 2025-11-25 authorization spec has clients try after RFC 8414's;
    it is probed too (our choice: claude.ai's logs do not show it). anthropics/claude-ai-mcp#975:
    the broker never echoes `Mcp-Session-Id`, and consecutive requests come from different nodes.
    """
    wire = Wire(deskgate.base)
    broker = {"User-Agent": "python-httpx/0.28.1"}
    client = McpOver(wire, deskgate.mcp_url, accept="*/*", extra=broker, client_name="Anthropic")
    init = client.send("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                      "clientInfo": {"name": "Anthropic", "version": "1.0.0"}})
    assert assert_served(init)["protocolVersion"] == "2025-11-25"
    assert init.headers.get("mcp-protocol-version") == "2025-11-25"
    assert "mcp-session-id" not in init.headers, "stateless: nothing for the broker to echo"

    mcp_path = urllib.parse.urlsplit(deskgate.mcp_url).path
    for method, path in [
        ("GET", f"/.well-known/oauth-protected-resource{mcp_path}"),
        ("GET", "/.well-known/oauth-protected-resource"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/openid-configuration"),
    ]:
        reply = wire.request(method, path, headers={"Accept": "application/json", **broker})
        assert reply.status == 404, (path, reply.status, reply.text[:200])
    registration = {"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                    "client_name": "Claude"}
    reply = wire.request("POST", "/register", json.dumps(registration),
                         {"Content-Type": "application/json", "Accept": "application/json", **broker})
    assert reply.status == 404, (reply.status, reply.text[:200])

    # It proceeds authless: the rest of the session, with no session id, each request on a fresh
    # connection (as from another node).
    assert client.send("notifications/initialized", notification=True).status == 202
    tools = assert_served(client.list_tools())["tools"]
    assert {"list_all_gorgias_tickets", "get_single_gorgias_account"} <= {t["name"] for t in tools}
    result = assert_served(client.call("list_all_gorgias_tickets", {"limit": 2}))
    assert result["isError"] is False and len(result["structuredContent"]["data"]) == 2


# --- Claude Code ---

@pytest.mark.parametrize("era", [LEGACY, MODERN], ids=lambda e: e.name)
def test_claude_code_sends_application_json_alone(deskgate, era):
    """anthropics/claude-code#45368: Claude Code 2.1.96's HTTP transport sent
    `Accept: application/json` alone, and servers requiring both types answered 406. Replayed in
    both eras (Claude Code speaks the `initialize` era; a 2026-era client may send the same)."""
    client = McpOver(Wire(deskgate.base), deskgate.mcp_url, accept="application/json", era=era,
                     extra={"User-Agent": "claude-code/2.1.96"})
    assert_a_full_session(client)


# --- a text/event-stream-only client ---

@pytest.mark.parametrize("era", [LEGACY, MODERN], ids=lambda e: e.name)
def test_event_stream_only_client(deskgate, era):
    """modelcontextprotocol/python-sdk#2349: Anthropic's MCP proxy (claude.ai's remote
    integrations) sends `Accept: text/event-stream` alone and expects SSE. Each reply must be one
    `message` event carrying the JSON-RPC reply, and then the stream ends."""
    client = McpOver(Wire(deskgate.base), deskgate.mcp_url, accept="text/event-stream", era=era)
    assert_a_full_session(client, "text/event-stream")
    reply = client.call("list_all_gorgias_tags", {"limit": 3})
    assert reply.text.startswith("event: message\n") and reply.text.endswith("\n\n"), reply.text[:200]
    assert len(reply.events()) == 1
    assert len(reply.json["result"]["structuredContent"]["data"]) == 3


def test_an_accept_that_allows_neither_is_a_clear_406(deskgate):
    client = McpOver(Wire(deskgate.base), deskgate.mcp_url, accept="text/html")
    reply = client.send("initialize", {"protocolVersion": LEGACY_VERSION, "capabilities": {},
                                       "clientInfo": {"name": "html-only", "version": "1"}})
    assert reply.status == 406
    assert reply.json["error"]["code"] == -32600
    assert "application/json or text/event-stream" in reply.json["error"]["message"]


# --- a browser client ---

class Page(http.server.BaseHTTPRequestHandler):
    """A blank page: the origin a browser-based client's script runs on."""

    def do_GET(self):  # noqa: N802 (the http.server hook's name)
        body = b"<!doctype html><meta charset=utf-8><title>MCP client page</title><p>connector e2e"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pages():
    """Two page servers on loopback: two origins, one of which deskgate will allow."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    for server in servers:
        server.shutdown()


def test_browser_client_on_an_allowed_origin(pages):
    """A browser-based MCP client (the web Inspector, a page of one's own) on an origin listed
    with `--allowed-origins`, calling with fetch() in Chromium: the preflights pass, the calls
    succeed, and the script reads `MCP-Protocol-Version` and the `ratelimit-*` headers. A page
    on another origin fails as browsers fail, with "Failed to fetch"."""
    allowed, other = pages
    dg = start_deskgate(["--allowed-origins", allowed])
    try:
        env = {**node_env(), "MCP_URL": dg.mcp_url, "PAGES": json.dumps([allowed + "/", other + "/"]),
               "CHROMIUM": chromium()}
        node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
        run = subprocess.run([node, str(E2E / "connectors" / "browser.mjs")], capture_output=True, text=True,
                             timeout=180, env=env, cwd=E2E)
        assert run.returncode == 0, run.stdout + run.stderr
        results = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        stop_deskgate(dg, "test_connectors-browser")
    assert dg.mcp_url.rsplit("/", 1)[-1] not in dg.log_text, "the MCP token reached a log line"
    seen = results[allowed + "/"]
    assert seen["origin"] == allowed
    assert seen["ok"], seen
    assert seen["initialize"] == {"status": 200, "version": LEGACY_VERSION, "negotiated": LEGACY_VERSION}
    assert seen["initialized"] == 202
    assert seen["tools"] == {"status": 200, "version": LEGACY_VERSION, "count": 109}
    call = seen["call"]
    assert call["status"] == 200 and call["isError"] is False and call["tags"] == 2, call
    assert call["version"] == LEGACY_VERSION
    assert call["ratelimitLimit"] == "40" and call["ratelimitRemaining"] is not None, call

    refused = results[other + "/"]
    assert refused["origin"] == other
    assert refused["ok"] is False and "Failed to fetch" in refused["error"], refused


# --- the stdio bridge ---

def test_stdio_bridge_in_the_initialize_era(deskgate):
    """Claude Desktop's config file launches local servers over stdio (the README's path):
    `deskgate connect <url>` bridges them, with the handshake a stdio client sends."""
    replies = stdio_exchange([BIN, "connect", deskgate.mcp_url], [
        LEGACY.message("initialize", {"protocolVersion": LEGACY_VERSION, "capabilities": {},
                                      "clientInfo": {"name": "claude-ai", "version": "0.1"}}, 1)[0],
        LEGACY.message("notifications/initialized")[0],
        LEGACY.message("tools/list", id=2)[0],
        LEGACY.message("tools/call", {"name": "get_single_gorgias_account", "arguments": {}}, 3)[0],
    ], 3)
    assert replies[0]["result"]["protocolVersion"] == LEGACY_VERSION
    assert len(replies[1]["result"]["tools"]) == 109
    assert replies[2]["result"]["structuredContent"]["domain"] == "acme"


def test_stdio_bridge_pinned_to_2026_07_28(deskgate):
    """A stdio client pinned to 2026-07-28 sends `server/discover` and per-request `_meta`; the
    bridge must send the version, `Mcp-Method` and `Mcp-Name` headers that era requires (before,
    every request got -32020). The exact line of issue 13."""
    discover = {"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                     "io.modelcontextprotocol/clientCapabilities": {}}}}
    replies = stdio_exchange([BIN, "connect", deskgate.mcp_url], [
        discover,
        MODERN.message("tools/list", id=2)[0],
        MODERN.message("tools/call", {"name": "list_all_gorgias_tags", "arguments": {"limit": 2}}, 3)[0],
    ], 3)
    assert "error" not in replies[0], replies[0]
    assert MODERN_VERSION in replies[0]["result"]["supportedVersions"]
    assert len(replies[1]["result"]["tools"]) == 109
    assert replies[2]["result"]["resultType"] == "complete"
    assert len(replies[2]["result"]["structuredContent"]["data"]) == 2


def test_stdio_bridge_never_prints_the_token(deskgate):
    """The MCP URL is the credential: when the server cannot be reached the bridge says so, with
    the URL's token cut out, on stderr and in the JSON-RPC error."""
    dead = f"http://127.0.0.1:9/mcp/{deskgate.mcp_url.rsplit('/', 1)[-1]}"
    process = subprocess.run([BIN, "connect", dead], input=json.dumps(LEGACY.message("tools/list", id=1)[0]) + "\n",
                             capture_output=True, text=True, timeout=60)
    token = deskgate.mcp_url.rsplit("/", 1)[-1]
    reply = json.loads(process.stdout.strip().splitlines()[-1])
    assert reply["error"]["code"] == -32603 and "/mcp/<token>" in reply["error"]["message"], reply
    assert token not in process.stdout and token not in process.stderr
    assert "/mcp/<token>" in process.stderr


# --- JSON-RPC error forms ---

def test_json_rpc_error_forms(deskgate):
    """Bad input gets JSON-RPC errors a client can parse: -32700 for malformed JSON (HTTP 400),
    -32600 for what is not a message, -32602 for `arguments` that are not an object, 413 with a
    JSON-RPC body for a chunked body over the limit, and batches where 2025-03-26 has them."""
    wire = Wire(deskgate.base)
    both = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    reply = wire.request("POST", deskgate.mcp_url, '{"jsonrpc": "2.0", "id": 1, "method": ', both)
    assert reply.status == 400 and reply.json["error"]["code"] == -32700 and reply.json["id"] is None, reply.text

    reply = wire.request("POST", deskgate.mcp_url, '{"jsonrpc": "1.0", "id": 4, "method": "tools/list"}', both)
    assert reply.status == 400 and reply.json["error"]["code"] == -32600 and reply.json["id"] == 4, reply.text

    client = McpOver(wire, deskgate.mcp_url, accept="application/json, text/event-stream")
    reply = client.send("tools/call", {"name": "list_all_gorgias_tags", "arguments": ["limit", 2]})
    assert reply.status == 200 and reply.json["error"]["code"] == -32602, reply.text
    assert "`arguments` must be an object" in reply.json["error"]["message"]

    # Chunked, over the 1 MiB limit.
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "list_all_gorgias_tags", "arguments": {"pad": "x" * (2 << 20)}}}).encode()
    connection = http.client.HTTPConnection(wire.host, wire.port, timeout=60)
    try:
        connection.request("POST", urllib.parse.urlsplit(deskgate.mcp_url).path,
                           (body[i:i + 65536] for i in range(0, len(body), 65536)),
                           {**both, "Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = connection.getresponse()
        status, text = response.status, response.read().decode()
    finally:
        connection.close()
    assert status == 413 and json.loads(text)["error"]["code"] == -32600, (status, text)

    batch = [LEGACY.message("tools/call", {"name": "list_all_gorgias_tags", "arguments": {"limit": 1}}, 10)[0],
             LEGACY.message("notifications/initialized")[0],
             LEGACY.message("ping", id=11)[0]]
    reply = wire.request("POST", deskgate.mcp_url, json.dumps(batch), {**both, "MCP-Protocol-Version": "2025-03-26"})
    assert reply.status == 200, reply.text[:300]
    assert sorted(r["id"] for r in reply.json) == [10, 11]
    reply = wire.request("POST", deskgate.mcp_url, json.dumps(batch), {**both, "MCP-Protocol-Version": "2025-11-25"})
    assert reply.status == 400 and reply.json["error"]["code"] == -32600, reply.text
    # None of it was a server failure (the oversized chunked body used to be a 500 and an ERROR).
    assert "response failed" not in deskgate.log_text
