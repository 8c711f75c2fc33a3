"""Shared fixtures for the end-to-end suites: the real `deskgate` binary started the way the
README starts it (`deskgate serve --demo`), on a loopback port, with its own SQLite file.

The binary comes from $DESKGATE_BIN (scripts/test builds it); artifacts (screenshots, logs)
go to $DESKGATE_ARTIFACTS.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("DESKGATE_BIN", str(ROOT / "target" / "debug" / "deskgate"))
ARTIFACTS = Path(os.environ.get("DESKGATE_ARTIFACTS", ROOT / "test-artifacts"))
NODE_BIN = ROOT / ".tools" / "node" / "node_modules" / ".bin"
E2E = Path(__file__).resolve().parent


@dataclass
class Deskgate:
    """A running `deskgate serve --demo`."""

    process: subprocess.Popen
    base: str
    mcp_url: str
    sandbox: str
    api_token: str
    admin_token: str
    account_id: str
    logs: list[str] = field(default_factory=list)
    banner: list[str] = field(default_factory=list)

    @property
    def log_text(self) -> str:
        """Everything deskgate logged (stderr)."""
        return "\n".join(self.logs)

    def api(self, method: str, path: str, body=None, token: str | None = None):
        """A management API call; returns (status, parsed JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.admin_token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, (json.loads(raw) if raw else None)

    def tools_preview(self, **query: str) -> dict:
        """What `GET /integrated-account/:id/tools` says a config exposes (count, bytes, tools):
        the server's own account of its catalog, so tests need not hard-code a tool count."""
        suffix = ("?" + urllib.parse.urlencode(query)) if query else ""
        status, preview = self.api("GET", f"/integrated-account/{self.account_id}/tools{suffix}")
        assert status == 200, preview
        return preview

    def mint(self, config: dict | None = None, **extra) -> str:
        body = {"name": extra.pop("name", "e2e"), **extra}
        if config is not None:
            body["config"] = config
        status, created = self.api("POST", f"/integrated-account/{self.account_id}/mcp", body)
        assert status == 201, created
        return created["url"]

    def sandbox_ticket(self, ticket_id: int) -> dict:
        with urllib.request.urlopen(f"{self.sandbox}/_sandbox/state/tickets/{ticket_id}", timeout=30) as r:
            return json.loads(r.read())

    def sandbox_get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.sandbox}{path}", timeout=30) as r:
            return json.loads(r.read())


def start_deskgate(extra_args: list[str] | None = None, env: dict | None = None) -> Deskgate:
    workdir = Path(tempfile.mkdtemp(prefix="deskgate-e2e-"))
    admin = "admin-" + secrets.token_urlsafe(24)
    environment = {
        **os.environ,
        "DESKGATE_ADMIN_TOKEN": admin,
        "DESKGATE_LOG": "info",
        "NO_COLOR": "1",
        **(env or {}),
    }
    process = subprocess.Popen(
        [BIN, "serve", "--demo", "--listen", "127.0.0.1:0", "--database-url", f"sqlite:{workdir / 'deskgate.db'}",
         "--vault-key-file", str(workdir / "deskgate.key"), *(extra_args or [])],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    banner: list[str] = []
    logs: list[str] = []

    # Logs (stderr) are drained from the start so the process never blocks on a full pipe; they
    # are what the secret checks read. The banner (stdout) is the one place secrets are printed.
    def drain(stream, into):
        for line in stream:
            into.append(line.rstrip("\n"))

    threading.Thread(target=drain, args=(process.stderr, logs), daemon=True).start()
    found: dict[str, str] = {}
    deadline = time.time() + 60
    assert process.stdout is not None
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError("deskgate exited:\n" + "\n".join(banner + logs))
            continue
        banner.append(line.rstrip("\n"))
        if m := re.search(r"Sandbox \(a local Gorgias emulator\):\s+(\S+)", line):
            found["sandbox"] = m.group(1)
        if m := re.search(r"Demo account id:\s+(\S+)", line):
            found["account"] = m.group(1)
        if m := re.search(r"API token:\s+(\S+)", line):
            found["token"] = m.group(1)
        if m := re.match(r"\s+(http://\S+/mcp/dgm_\S+)$", line):
            found["mcp"] = m.group(1)
        if len(found) == 4:
            break
    else:
        process.kill()
        raise RuntimeError("deskgate did not print its demo banner:\n" + "\n".join(banner + logs))
    threading.Thread(target=drain, args=(process.stdout, banner), daemon=True).start()
    base = found["mcp"].split("/mcp/")[0]
    return Deskgate(process, base, found["mcp"], found["sandbox"], found["token"], admin, found["account"], logs,
                    banner)


def stop_deskgate(dg: Deskgate, name: str) -> None:
    dg.process.terminate()
    try:
        dg.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        dg.process.kill()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.log").write_text(dg.log_text)


@pytest.fixture(scope="module")
def deskgate(request) -> Deskgate:
    dg = start_deskgate()
    yield dg
    stop_deskgate(dg, request.module.__name__)
    # Secrets never reach a log line: the MCP token, the API tokens, the sandbox's API key.
    token = dg.mcp_url.rsplit("/", 1)[-1]
    for secret in (token, dg.api_token, dg.admin_token, "sandbox-api-key"):
        assert secret not in dg.log_text, f"a secret reached deskgate's output: {secret[:8]}…"


def node_tool(name: str) -> str:
    """A Node tool installed for the tests (tests/e2e/node_modules/.bin)."""
    return str(E2E / "node_modules" / ".bin" / name)


def node_env() -> dict:
    """The environment Node tools run in: Node 22 from .tools first on the PATH."""
    return {**os.environ, "PATH": f"{NODE_BIN}:{os.environ.get('PATH', '')}"}


def chromium() -> str:
    """Debian's Chromium, which the browser tests drive with playwright-core."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: `apt-get install -y chromium` (scripts/test installs it)")
    return path


def stdio_exchange(command: list[str], messages: list[dict], expect: int, env: dict | None = None) -> list[dict]:
    """Feeds JSON-RPC lines to a stdio bridge and collects `expect` replies."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env or node_env(), cwd=E2E)
    replies: list[dict] = []
    try:
        assert process.stdin and process.stdout
        for message in messages:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
            if "id" in message:
                while True:
                    line = process.stdout.readline()
                    assert line, process.stderr.read() if process.stderr else "the bridge closed its output"
                    reply = json.loads(line)
                    if reply.get("id") == message["id"]:
                        replies.append(reply)
                        break
        assert len(replies) == expect
        return replies
    finally:
        process.kill()
        process.wait(timeout=10)
