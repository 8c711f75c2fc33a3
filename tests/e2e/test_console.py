"""The web console, end to end.

`test_console_in_a_browser` drives the whole operator path in a real Chromium
(tests/e2e/console/console.mjs with playwright-core) and, in between, calls the MCP URL the
console handed out exactly as a client would. Screenshots land in $DESKGATE_ARTIFACTS/console/.

`test_console_sessions_and_csrf` checks the console's protections over plain HTTP: sign-in, the
session cookie's attributes, the CSRF token on every post, sign-out, and asset caching.
"""

from __future__ import annotations

import http.cookiejar
import json
import queue
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, chromium, node_env

SCRIPT = E2E / "console" / "console.mjs"
# The sandbox's built-in OAuth client (gorgias-sandbox's default config).
SANDBOX_OAUTH_CLIENT_ID = "606d8961c9809e208baf1835"
SANDBOX_OAUTH_SECRET = "sandbox-client-secret"
PAGES = [
    "01-sign-in", "02-accounts", "03-connect", "04-connect-bad-key", "05-overview", "05b-overview-oauth",
    "06-servers-empty",
    "07-create-server", "08-server-created", "08b-server-created-reloaded", "09-servers", "10-logs", "11-tools", "12-tools-search",
    "13-tool", "14-edit-server", "15-csrf-refused", "16-delete-server", "16b-oauth-server-created", "17-delete-account",
    "18-accounts-after-delete",
]


# --- a minimal MCP client over Streamable HTTP (JSON replies) ---

class Mcp:
    def __init__(self, url: str):
        self.url = url
        self.protocol: str | None = None
        self.next_id = 1

    def post(self, message: dict) -> tuple[int, dict | None]:
        request = urllib.request.Request(self.url, data=json.dumps(message).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json, text/event-stream")
        if self.protocol:
            request.add_header("MCP-Protocol-Version", self.protocol)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, parse_reply(response.read().decode(), response.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as error:
            body = error.read().decode()
            return error.code, (json.loads(body) if body.strip().startswith("{") else None)

    def request(self, method: str, params: dict | None = None) -> dict:
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        self.next_id += 1
        status, reply = self.post(message)
        assert status == 200, (status, reply)
        assert reply is not None and "result" in reply, reply
        return reply["result"]

    def initialize(self) -> dict:
        result = self.request("initialize", {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "deskgate-console-e2e", "version": "1.0"},
        })
        self.protocol = result["protocolVersion"]
        status, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert status in (200, 202), status
        return result


def parse_reply(body: str, content_type: str) -> dict | None:
    if "text/event-stream" in content_type:
        for line in body.splitlines():
            if line.startswith("data:") and line[5:].strip():
                return json.loads(line[5:])
        return None
    return json.loads(body) if body.strip() else None


# --- talking to the browser script ---

class Script:
    """The browser script, with its stdout read on a thread so every wait has a timeout."""

    def __init__(self, dg: Deskgate):
        env = {
            **node_env(),
            "DESKGATE_BASE": dg.base,
            "DESKGATE_API_TOKEN": dg.api_token,
            "DESKGATE_SANDBOX": dg.sandbox,
            "DESKGATE_ARTIFACTS": str(ARTIFACTS),
            "CHROMIUM": chromium(),
        }
        node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
        self.process = subprocess.Popen(
            [node, str(SCRIPT)], cwd=E2E, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.messages: queue.Queue = queue.Queue()
        self.output: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self):
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            if line.startswith("@@ "):
                self.messages.put(json.loads(line[3:]))
        self.messages.put({"step": "exited"})

    def _read_errors(self):
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))

    def expect(self, step: str, timeout: float = 180) -> dict:
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            pytest.fail(f"the browser script did not reach {step!r} in {timeout}s:\n{self.transcript()}")
        if message["step"] != step:
            self.process.kill()
            pytest.fail(f"the browser script stopped before {step!r}: {message.get('error', message)}\n{self.transcript()}")
        return message

    def go_on(self):
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"ok": True}) + "\n")
        self.process.stdin.flush()

    def stop(self, why: str):
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.write(json.dumps({"ok": False, "error": why}) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def transcript(self) -> str:
        return "\n".join(self.output[-40:] + self.errors[-40:])


def test_console_in_a_browser(deskgate: Deskgate):
    # The sandbox's OAuth app, so the console offers "Connect with OAuth".
    status, body = deskgate.api("PUT", "/oauth-app/gorgias",
                                {"client_id": SANDBOX_OAUTH_CLIENT_ID, "client_secret": SANDBOX_OAUTH_SECRET})
    assert status == 200, body
    script = Script(deskgate)
    try:
        created = script.expect("created")
        url = created["url"]
        assert url.startswith(deskgate.base + "/mcp/dgm_")

        # tools/list on the copied URL: exactly the read tools tagged tickets, as the console
        # previewed them and as the API lists them for that filter.
        client = Mcp(url)
        client.initialize()
        tools = client.request("tools/list")["tools"]
        names = [t["name"] for t in tools]
        assert all(t["annotations"]["readOnlyHint"] is True for t in tools), names
        status, expected = deskgate.api(
            "GET", f"/integrated-account/{created['account_id']}/tools?methods=read&tags=tickets")
        assert status == 200, expected
        assert sorted(names) == sorted(t["name"] for t in expected["tools"])
        assert sorted(names) == sorted(created["preview_tools"])
        assert len(names) == created["preview_count"]
        assert "list_all_gorgias_tickets" in names
        assert not any(n.startswith(("create_", "update_", "delete_")) for n in names), names

        # One call, for the Logs tab to show.
        result = client.request("tools/call", {"name": "list_all_gorgias_tickets", "arguments": {"limit": 2}})
        assert result.get("isError") is not True, result
        # A write tool is not even listed, and calling it is refused.
        status, refused = client.post({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
                                       "params": {"name": "create_a_gorgias_ticket", "arguments": {}}})
        assert status == 200 and ("error" in refused or refused["result"].get("isError")), refused
        script.go_on()

        # The server was deleted in the console: its URL is refused.
        deleted = script.expect("server-deleted")
        status, _ = Mcp(deleted["url"]).post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}})
        assert status == 404
        script.go_on()

        done = script.expect("done")
        script.go_on()
    except BaseException:
        script.stop("the test failed")
        raise
    assert script.process.wait(timeout=60) == 0, script.transcript()

    shots = {Path(p).name for p in done["screenshots"]}
    for page in PAGES:
        for width in ("desktop", "phone"):
            name = f"{page}-{width}.png"
            assert name in shots, name
            assert (ARTIFACTS / "console" / name).stat().st_size > 5000, name


# --- plain HTTP checks of sessions and CSRF ---

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, no automatic redirects: every answer is seen as sent."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def send(self, method: str, path: str, form: dict | list | None = None, headers: dict | None = None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with self.opener.open(request, timeout=30) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no hidden {name} field"
    return match.group(1)


def test_console_sessions_and_csrf(deskgate: Deskgate):
    b = Browser(deskgate.base)
    status, headers, _ = b.send("GET", "/ui")
    assert status == 303 and headers["Location"] == "/ui/sign-in"
    status, headers, _ = b.send("GET", f"/ui/accounts/{deskgate.account_id}/servers")
    assert status == 303 and headers["Location"] == "/ui/sign-in"

    # Sign-in needs the form's nonce cookie (no signing a browser in from another site).
    status, headers, html = b.send("GET", "/ui/sign-in")
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    nonce = hidden(html, "nonce")
    stranger = Browser(deskgate.base)
    status, _, _ = stranger.send("POST", "/ui/sign-in", {"nonce": nonce, "api_token": deskgate.api_token})
    assert status == 403
    status, _, html = b.send("POST", "/ui/sign-in", {"nonce": nonce, "api_token": "dga_wrong"})
    assert status == 401 and "not valid" in html
    nonce = hidden(html, "nonce")
    status, headers, _ = b.send("POST", "/ui/sign-in", {"nonce": nonce, "api_token": deskgate.api_token})
    assert status == 303 and headers["Location"] == "/ui"
    session_cookie = next(v for v in headers.get_all("Set-Cookie") if v.startswith("dg_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Path=/;" in session_cookie
    assert deskgate.api_token not in session_cookie

    status, headers, html = b.send("GET", f"/ui/accounts/{deskgate.account_id}/servers/new")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    csrf = hidden(html, "csrf")
    servers = f"/integrated-account/{deskgate.account_id}/mcp"
    before = len(deskgate.api("GET", servers)[1]["result"])

    # Every post needs the token: missing or wrong is a 403 and changes nothing.
    form = [("name", "csrf probe"), ("methods", "read"), ("tags", "tickets")]
    for extra in ([], [("csrf", "forged")], [("csrf", "")]):
        status, _, html = b.send("POST", f"/ui/accounts/{deskgate.account_id}/servers", form + extra)
        assert status == 403 and "did not come from the console" in html
    for path in (f"/ui/accounts/{deskgate.account_id}/delete", "/ui/accounts", "/ui/sign-out"):
        status, _, _ = b.send("POST", path, [])
        assert status == 403, path
    assert len(deskgate.api("GET", servers)[1]["result"]) == before
    assert deskgate.api("GET", f"/integrated-account/{deskgate.account_id}")[0] == 200

    # With the token it works: post/redirect/get, the redirect carries no secret, and the page
    # it leads to shows the URL once.
    status, headers, _ = b.send("POST", f"/ui/accounts/{deskgate.account_id}/servers", form + [("csrf", csrf)])
    assert status == 303
    created_page = headers["Location"]
    assert re.fullmatch(rf"/ui/accounts/{deskgate.account_id}/servers/[0-9a-f-]+/created\?view=[\w-]+", created_page)
    assert "dgm_" not in created_page
    status, headers, html = b.send("GET", created_page)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    url = re.search(r'id="mcp-url"[^>]*>([^<]+)</textarea>', html)
    assert url and "/mcp/dgm_" in url.group(1)
    token = url.group(1).rsplit("/", 1)[1]
    listed = deskgate.api("GET", servers)[1]["result"]
    assert len(listed) == before + 1
    created = next(s for s in listed if s["name"] == "csrf probe")
    assert created["config"] == {"methods": ["read"], "tags": ["tickets"], "tool_exposure": "all"}
    # A reload shows it no more and mints nothing; another session never sees it.
    status, headers, html = b.send("GET", created_page)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert token not in html and "shown once" in html and 'id="mcp-url"' not in html
    assert len(deskgate.api("GET", servers)[1]["result"]) == before + 1
    for path in ("/servers", f"/servers/{created['id']}/edit", "/logs"):
        _, _, html = b.send("GET", f"/ui/accounts/{deskgate.account_id}{path}")
        assert token not in html, path

    # Every method is an explicit choice: a form with no method ticked mints nothing.
    status, _, html = b.send("POST", f"/ui/accounts/{deskgate.account_id}/servers",
                             [("name", "no methods"), ("method_scope", "chosen"), ("csrf", csrf)])
    assert status == 400 and "All methods, including deletes" in html
    assert len(deskgate.api("GET", servers)[1]["result"]) == before + 1

    # An OAuth server: its created page shows the URL (no secret) and how clients connect.
    status, headers, _ = b.send("POST", f"/ui/accounts/{deskgate.account_id}/servers",
                                [("name", "oauth probe"), ("methods", "read"), ("auth", "oauth"), ("csrf", csrf)])
    assert status == 303 and "view=" not in headers["Location"]
    status, _, html = b.send("GET", headers["Location"])
    oauth_server = next(s for s in deskgate.api("GET", servers)[1]["result"] if s["name"] == "oauth probe")
    assert oauth_server["auth"] == "oauth"
    url = re.search(r'id="mcp-url"[^>]*>([^<]+)</textarea>', html)
    assert status == 200 and url and url.group(1).endswith(f"/mcp/{oauth_server['id']}")
    assert 'id="oauth-note"' in html and "approves" in html
    assert deskgate.api("DELETE", f"{servers}/{oauth_server['id']}")[0] in (200, 204)

    # A bad config is explained on the form, and nothing is minted.
    status, _, html = b.send("POST", f"/ui/accounts/{deskgate.account_id}/servers",
                             [("name", "nothing"), ("methods", "read"), ("tags", "bulk"), ("csrf", csrf)])
    assert status == 400 and "exposes no tools" in html
    assert len(deskgate.api("GET", servers)[1]["result"]) == before + 1

    # The stylesheet is cached for good under its hashed URL, and revalidated otherwise.
    css = re.search(r'href="(/ui/assets/console\.css\?v=[0-9a-f]+)"', html).group(1)
    status, headers, _ = b.send("GET", css)
    assert status == 200 and "immutable" in headers["Cache-Control"] and headers["Content-Type"].startswith("text/css")
    status, _, _ = b.send("GET", "/ui/assets/console.css", headers={"If-None-Match": headers["ETag"]})
    assert status == 304

    # Sign-out ends the session on the server, not just in this browser.
    stolen = b.cookie("dg_session")
    status, headers, _ = b.send("POST", "/ui/sign-out", [("csrf", csrf)])
    assert status == 303 and headers["Location"].startswith("/ui/sign-in")
    replay = Browser(deskgate.base)
    status, headers, _ = replay.send("GET", "/ui", headers={"Cookie": f"dg_session={stolen}"})
    assert status == 303 and headers["Location"] == "/ui/sign-in"
