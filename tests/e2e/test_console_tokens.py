"""The console's Tokens page in a real Chromium (tests/e2e/console/tokens.mjs): an operator mints
an `mcp` token limited to an account, copies it from the page, checks that it opens the account's
MCP server that requires a token but not the API, and revokes it; the revoked token is checked
here to open nothing. (Rust tests cover the same page over plain HTTP: CSRF, bad input.)"""

from __future__ import annotations

import json
import subprocess

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, node_env
from test_console import chromium


def test_the_tokens_page_mints_and_revokes_an_mcp_token(deskgate: Deskgate):
    status, guarded = deskgate.api("POST", f"/integrated-account/{deskgate.account_id}/mcp",
                                   {"name": "needs a token", "require_api_token_auth": True})
    assert status == 201, guarded
    node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
    run = subprocess.run(
        [node, str(E2E / "console" / "tokens.mjs")], cwd=E2E, capture_output=True, text=True, timeout=300,
        env={**node_env(), "DESKGATE_BASE": deskgate.base, "DESKGATE_API_TOKEN": deskgate.api_token,
             "DESKGATE_ACCOUNT": deskgate.account_id, "DESKGATE_GUARDED_URL": guarded["url"], "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})
    assert run.returncode == 0, run.stdout + run.stderr
    messages = [json.loads(line[3:]) for line in run.stdout.splitlines() if line.startswith("@@ ")]
    assert [m["step"] for m in messages] == ["created", "revoked"], run.stdout
    token = messages[0]["token"]
    # Revoked in the browser: the copied token opens nothing now.
    assert deskgate.api("GET", "/integrated-account", token=token)[0] == 401
    status, tokens = deskgate.api("GET", "/api-token")
    assert status == 200 and all(t["name"] != "cursor on a laptop" for t in tokens["result"])
