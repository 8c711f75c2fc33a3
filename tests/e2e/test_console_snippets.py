"""The "server created" page's client snippets (issue 17), in a real Chromium
(tests/e2e/console/snippets.mjs): ChatGPT, Claude Desktop, Cursor, Claude Code, VS Code,
mcp-remote, the SSE URL and Python, each with the new server's URL, no literal backticks, copy
buttons that copy what is shown. Then the Python snippet is run as the page shows it, with the
official SDK, against the server, and the SSE URL is opened as the older clients open it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, chromium, node_env


def run_browser(deskgate: Deskgate) -> subprocess.CompletedProcess:
    node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
    return subprocess.run(
        [node, str(E2E / "console" / "snippets.mjs")], cwd=E2E, capture_output=True, text=True, timeout=300,
        env={**node_env(), "DESKGATE_BASE": deskgate.base, "DESKGATE_API_TOKEN": deskgate.api_token,
             "DESKGATE_ACCOUNT": deskgate.account_id, "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})


def test_every_client_snippet_holds_the_url_and_the_python_one_runs(deskgate: Deskgate):
    browser = run_browser(deskgate)
    assert browser.returncode == 0, browser.stdout + browser.stderr
    messages = {m["step"]: m for m in (json.loads(line[3:]) for line in browser.stdout.splitlines()
                                        if line.startswith("@@ "))}
    assert list(messages) == ["url-server", "oauth-server", "badges", "done"], browser.stdout
    created = messages["url-server"]

    # The Python snippet, exactly as the page shows it, run with the official SDK.
    program = Path(tempfile.mkdtemp(prefix="deskgate-snippet-")) / "client.py"
    program.write_text(created["python"])
    run = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    count = len(deskgate.tools_preview(methods="read")["tools"])
    assert run.stdout.startswith(f"{count} tools, such as "), run.stdout

    # The SSE URL opens the legacy transport: its first event names where to post messages.
    with urllib.request.urlopen(urllib.request.Request(created["sse"], headers={"Accept": "text/event-stream"}),
                                timeout=30) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        first = b""
        while b"\n\n" not in first:
            first += stream.read(1)
    assert b"event: endpoint" in first, first
