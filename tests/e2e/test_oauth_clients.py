"""MCP authorization (issue 19) with real third-party OAuth clients over real sockets, the consent
given by a person in Chromium (clients/consent_browser.mjs: the console's sign-in, then Allow):

- the official TypeScript SDK's OAuthClientProvider (clients/oauth_ts_sdk.mjs): discovery, dynamic
  registration, PKCE, a loopback callback on a port the system picks, code exchange, a tool call,
  and a refresh with rotation after its access token is refused;
- `mcp-remote` as Claude Desktop runs it: it opens "the browser" through `open`/xdg-open, which
  runs the `BROWSER` this test sets (the same Chromium consent), then a tools/call succeeds through
  it over stdio;
- the MCP conformance suite's authorization-server scenarios (`conformance authorization`) for both
  spec versions: the metadata document, and the authorization code grant with the suite's own
  callback listener, consent again in Chromium.

(The Python SDK's provider and the bad inputs are in test_oauth.py.)
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import ssl
import stat
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ARTIFACTS, E2E, NODE_BIN, chromium, node_env, node_tool, start_deskgate, stdio_exchange, stop_deskgate
from test_oauth import database, http, mint_oauth

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def node() -> str:
    return str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"


def browser_env(dg, **extra) -> dict:
    return {**node_env(), "DESKGATE_BASE": dg.base, "DESKGATE_ADMIN_TOKEN": dg.admin_token, "CHROMIUM": chromium(),
            **extra}


def grants(dg, server_id: str) -> list[dict]:
    status, body = dg.api("GET", f"/integrated-account/{dg.account_id}/mcp/{server_id}/grants")
    assert status == 200, body
    return body["result"]


def test_typescript_sdk_oauth_provider_does_the_whole_dance(deskgate):
    server_id, url = mint_oauth(deskgate, "ts sdk oauth")
    run = subprocess.run([node(), str(E2E / "clients" / "oauth_ts_sdk.mjs"), url], cwd=E2E, capture_output=True,
                         text=True, timeout=300, env=browser_env(deskgate))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert result["tools"] == deskgate.tools_preview()["count"] == result["tools_after_refresh"]
    assert not result["call_is_error"], result["call_text"]
    # The SDK asked for this server (RFC 8707) with S256, and registered dynamically.
    assert result["authorize"]["resource"] == url and result["authorize"]["code_challenge_method"] == "S256"
    assert result["client_id"].startswith("dgcl_")
    # The person saw who asks for what, and the browser landed on the SDK's loopback callback.
    consent = result["consent"]
    assert consent["client"].startswith("TypeScript SDK e2e") and consent["server"].startswith("ts sdk oauth")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", consent["redirect_host"]), consent
    assert consent["callback"].startswith(f"http://{consent['redirect_host']}/callback?code=dgc_")
    # A refused access token made the SDK refresh: both tokens rotated, the old refresh is dead.
    assert result["rotated"] and result["token_responses"] == 2, result
    status, _, body = http("POST", deskgate.base + "/oauth/token",
                           {"grant_type": "refresh_token", "refresh_token": result["first_refresh"],
                            "client_id": result["client_id"]})
    assert status == 400 and json.loads(body)["error"] == "invalid_grant"
    # That replay revoked the grant: nothing is left for this server.
    assert grants(deskgate, server_id) == []
    for secret in (result["first_refresh"],):
        assert secret not in deskgate.log_text


def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for localhost: (CA cert, cert, key)."""
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "site.key", "site.csr", "site.pem"))
    run = lambda *args: subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "1", "-subj", "/CN=deskgate e2e CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=localhost")
    extensions = tmp_path / "san.cnf"
    extensions.write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "1",
        "-extfile", extensions)
    return ca, cert, key


def test_typescript_sdk_uses_a_client_id_metadata_document(tmp_path, request):
    """The TS SDK, seeing client_id_metadata_document_supported, sends its document's https URL as
    its client_id and never registers; deskgate fetches the document over TLS. (deskgate runs
    with the tests-only flag so it may fetch from loopback, and trusts the test CA through
    SSL_CERT_FILE.)"""
    ca, cert, key = tls_files(tmp_path)
    hits: list[str] = []
    document: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = json.dumps(document).encode() if self.path == "/ts/client.json" else b"{}"
            self.send_response(200 if self.path == "/ts/client.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_id = f"https://localhost:{server.server_address[1]}/ts/client.json"
    # Any loopback port: the SDK's callback listens on one the system picks (RFC 8252 §7.3).
    document.update({"client_id": client_id, "client_name": "TS SDK via metadata document",
                     "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"})
    dg = start_deskgate(["--oauth-client-metadata-allow-private"], env={"SSL_CERT_FILE": str(ca)})
    try:
        server_id, url = mint_oauth(dg, "ts sdk cimd")
        run = subprocess.run([node(), str(E2E / "clients" / "oauth_ts_sdk.mjs"), url], cwd=E2E, capture_output=True,
                             text=True, timeout=300, env=browser_env(dg, DESKGATE_CLIENT_METADATA_URL=client_id))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        result = json.loads(run.stdout.strip().splitlines()[-1])
        assert result["client_id"] == client_id and not result["call_is_error"], result
        assert result["authorize"]["client_id"] == client_id
        assert result["consent"]["client"].startswith("TS SDK via metadata document"), result["consent"]
        assert result["rotated"], result
        # Fetched over TLS (once: the consent POST used the cache); nothing was registered.
        assert hits == ["/ts/client.json"], hits
        with sqlite3.connect(database(dg)) as db:
            assert [r[0] for r in db.execute("SELECT id FROM oauth_clients")] == [client_id]
        assert "OAuth client registered" not in dg.log_text
    finally:
        stop_deskgate(dg, request.node.name)
        server.shutdown()


def browser_script(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that xdg-open runs as $BROWSER with the URL: the Chromium consent."""
    report = tmp_path / "consent.json"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nexec "{node()}" "{E2E / "clients" / "consent_browser.mjs"}" "$1" '
                      f'>>"{tmp_path / "browser.log"}" 2>&1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, report


def test_mcp_remote_opens_the_browser_and_calls_a_tool(deskgate, tmp_path):
    server_id, url = mint_oauth(deskgate, "mcp-remote oauth")
    script, report = browser_script(tmp_path)
    env = browser_env(deskgate, BROWSER=str(script), DESKGATE_CONSENT_REPORT=str(report),
                      MCP_REMOTE_CONFIG_DIR=str(tmp_path / "mcp-auth"))
    # No desktop: xdg-open falls back to $BROWSER, as on a headless Linux box.
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION"):
        env.pop(name, None)
    command = [node_tool("mcp-remote"), url, "--auth-timeout", "180"]
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "stdio", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "list_all_gorgias_tickets", "arguments": {"limit": 2}}},
    ]
    replies = stdio_exchange(command, messages, expect=2, env=env)
    assert replies[0]["result"]["serverInfo"], replies[0]
    assert not replies[1]["result"].get("isError"), replies[1]
    # The browser writes its report once the callback page commits; mcp-remote may have got
    # the code from that very request, and finished its call, a moment before.
    deadline = time.monotonic() + 30
    while not (report.exists() and report.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.1)
    consent = json.loads(report.read_text())
    assert "error" not in consent, consent
    assert consent["server"].startswith("mcp-remote oauth")
    # mcp-remote's own loopback callback received the code.
    callback = urllib.parse.urlparse(consent["callback"])
    assert callback.hostname in ("localhost", "127.0.0.1") and "code=dgc_" in callback.query, consent
    [grant] = grants(deskgate, server_id)
    assert grant["client_name"] == consent["client"].split(" (the name")[0].strip()
    # The tokens mcp-remote stored work for this server only.
    stored = next((tmp_path / "mcp-auth").rglob("*_tokens.json"))
    access = json.loads(stored.read_text())["access_token"]
    assert access.startswith("dgo_") and access not in deskgate.log_text


CALLBACK_PORT = 33419


def register(dg, redirect: str, name: str) -> str:
    status, _, body = http("POST", dg.base + "/oauth/register",
                           json.dumps({"client_name": name, "redirect_uris": [redirect]}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 201, body
    return json.loads(body)["client_id"]


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_conformance_authorization_scenarios(deskgate, revision):
    _, url = mint_oauth(deskgate, f"conformance oauth {revision}")
    client_id = register(deskgate, f"http://127.0.0.1:{CALLBACK_PORT}/callback", "conformance suite")
    out_dir = ARTIFACTS / "conformance-authorization" / revision
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    process = subprocess.Popen(
        [node_tool("conformance"), "authorization", "--url", deskgate.base + "/oauth", "--client-id", client_id,
         "--resource", url, "-p", str(CALLBACK_PORT), "--spec-version", revision, "-o", str(out_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=node_env(), cwd=E2E)
    lines: list[str] = []
    opened: dict[str, object] = {}

    # The suite prints the authorization URL for a person to open; the person is Chromium.
    def read():
        assert process.stdout
        for line in process.stdout:
            lines.append(ANSI.sub("", line.rstrip("\n")))
            if lines[-1].startswith(deskgate.base + "/oauth/authorize?") and "run" not in opened:
                opened["run"] = subprocess.run(
                    [node(), str(E2E / "clients" / "consent_browser.mjs"), lines[-1]], cwd=E2E,
                    capture_output=True, text=True, timeout=180, env=browser_env(deskgate))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.wait(timeout=400)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=30)
    output = "\n".join(lines)
    (ARTIFACTS / "conformance-authorization" / f"{revision}.txt").write_text(output)
    browser = opened.get("run")
    assert browser is not None, output[-3000:]
    assert browser.returncode == 0, browser.stdout + browser.stderr
    assert process.returncode == 0, output[-4000:]
    # Every check of both scenarios passed: no failure, and no warning (the CIMD one included).
    checks = {}
    for path in out_dir.rglob("checks.json"):
        for check in json.loads(path.read_text()):
            checks[check["id"]] = check["status"]
    assert checks.get("authorization-server-metadata") == "SUCCESS", output[-3000:]
    assert checks.get("authorization-code-grant") == "SUCCESS", output[-3000:]
    assert checks.get("authorization-server-metadata-cimd") == "SUCCESS", output[-3000:]
    assert set(checks.values()) == {"SUCCESS"}, checks
