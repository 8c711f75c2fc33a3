"""Scale-out: three `deskgate serve` replicas on one PostgreSQL database, behind a real load balancer
(Debian's nginx, round robin, no sticky sessions), driven by the official Python MCP SDK.

- The triage workflow runs through the balancer over Streamable HTTP and over the legacy HTTP+SSE
  transport (the stream stays on one replica while the POSTs land on all of them), and requests
  land on every replica (read from the replicas' own logs).
- A server deleted through one replica is refused through the balancer within one second.
- A replica killed (SIGKILL) in the middle of a triage run loses no audit record of a write the
  client saw complete (a write's record is committed before it is sent), at most the reads it
  answered within the write-behind window (50 ms) before it died, and the client carries on
  through the others.

Needs DESKGATE_TEST_POSTGRES_URL (CI sets it); without it the module is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ARTIFACTS, BIN
from test_workflows import assert_triaged, triage

POSTGRES_URL = os.environ.get("DESKGATE_TEST_POSTGRES_URL", "")
REPLICAS = 3

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="DESKGATE_TEST_POSTGRES_URL is not set: replicas need a shared PostgreSQL"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drain(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line.rstrip("\n"))


@dataclass
class Replica:
    process: subprocess.Popen
    address: str
    logs: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.address}"

    def events(self, since: int = 0) -> list[dict]:
        """Its JSON log lines from line `since` on."""
        out = []
        for line in self.logs[since:]:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


@dataclass
class Cluster:
    balancer: str
    replicas: list[Replica]
    admin_token: str
    sandbox: str
    sandbox_credentials: dict
    account_id: str = ""
    minted_tokens: list[str] = field(default_factory=list)

    def request(self, method: str, url: str, body=None, headers: dict | None = None):
        """(status, parsed JSON body or raw text or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, (json.loads(raw) if raw else None)
        except ValueError:
            return status, raw.decode(errors="replace")

    def api(self, method: str, path: str, body=None, base: str | None = None):
        return self.request(method, (base or self.balancer) + path, body,
                            {"Authorization": f"Bearer {self.admin_token}"})

    def mint(self, name: str) -> tuple[str, str]:
        status, created = self.api("POST", f"/integrated-account/{self.account_id}/mcp", {"name": name})
        assert status == 201, created
        self.minted_tokens.append(created["url"].rsplit("/", 1)[-1])
        return created["id"], created["url"]

    def audit(self, server_id: str) -> list[dict]:
        # Each replica writes read records behind its answers within 50 ms; the replica that
        # answers this request flushes its own, the others need the window to pass.
        time.sleep(0.2)
        records, cursor = [], None
        while True:
            query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            status, page = self.api(
                "GET", f"/integrated-account/{self.account_id}/mcp/{server_id}/logs?{urllib.parse.urlencode(query)}")
            assert status == 200, page
            records += page["result"]
            cursor = page.get("next_cursor")
            if not cursor:
                return records

    def sandbox_ticket(self, ticket_id: int) -> dict:
        with urllib.request.urlopen(f"{self.sandbox}/_sandbox/state/tickets/{ticket_id}", timeout=30) as r:
            return json.loads(r.read())

    def reset_sandbox(self) -> None:
        request = urllib.request.Request(f"{self.sandbox}/_sandbox/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 204

    def marks(self) -> list[int]:
        """Where each replica's log stands now (to look only at what follows)."""
        return [len(r.logs) for r in self.replicas]

    def tool_calls(self, server_id: str, since: list[int]) -> list[int]:
        """Tool calls each replica ran for a server since `since`, from its `tool call` log lines."""
        return [
            sum(1 for e in r.events(mark)
                if e.get("fields", {}).get("message") == "tool call"
                and e["fields"].get("mcp_server.id") == server_id)
            for r, mark in zip(self.replicas, since)
        ]

    def requests(self, since: list[int], method: str, path: str) -> list[int]:
        """Requests each replica answered since `since` (tower-http's response log line; paths
        are logged with the MCP token cut out)."""
        return [
            sum(1 for e in r.events(mark)
                if e.get("fields", {}).get("message") == "finished processing request"
                and e.get("span", {}).get("method") == method and e["span"].get("path") == path)
            for r, mark in zip(self.replicas, since)
        ]


def mcp_post(url: str, message: dict) -> int:
    """One raw Streamable HTTP request, as any client sends it; returns the HTTP status."""
    request = urllib.request.Request(url, data=json.dumps(message).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json, text/event-stream")
    request.add_header("MCP-Protocol-Version", "2025-11-25")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen, str, dict]:
    credentials = {"subdomain": "acme", "email": "agent@acme.example", "api_key": "sandbox-" + secrets.token_hex(8)}
    process = subprocess.Popen(
        # A roomy rate limit: this module is about replicas, not about Gorgias's limits.
        [BIN, "sandbox", "--listen", "127.0.0.1:0", "--email", credentials["email"], "--api-key",
         credentials["api_key"], "--rate-limit-capacity", "100000"],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        line = process.stdout.readline()
        if m := re.search(r"Base URL:\s+(\S+)", line):
            threading.Thread(target=drain, args=(process.stdout, []), daemon=True).start()
            return process, m.group(1), credentials
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the sandbox did not print its base URL")


def start_replica(database_url: str, public_url: str, env: dict, workdir: Path) -> Replica:
    process = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--database-url", database_url, "--public-url", public_url,
         "--allow-custom-upstream", "--sweep-interval-secs", "1"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    logs: list[str] = []
    threading.Thread(target=drain, args=(process.stderr, logs), daemon=True).start()
    deadline = time.time() + 60
    while time.time() < deadline:
        for line in list(logs):
            if '"deskgate is serving"' in line:
                return Replica(process, json.loads(line)["fields"]["listen"], logs)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("a replica did not start:\n" + "\n".join(logs))


NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # Never the URI: MCP URLs carry their token.
    log_format upstreams '$request_method $status $upstream_addr';
    access_log {prefix}/access.log upstreams;

    # Round robin (nginx's default), no stickiness of any kind.
    upstream deskgate {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        # Mounted under a path prefix, as behind a shared proxy: deskgate hands out URLs under
        # its --public-url, and the legacy SSE endpoint event must carry the prefix too.
        location {mount}/ {{
            proxy_pass http://deskgate/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # SSE events must reach the client as they are written, and a stream may stay open.
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


# Where the balancer mounts deskgate.
MOUNT = "/helpdesk"


def start_nginx(port: int, upstreams: list[str], prefix: Path) -> subprocess.Popen:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (scripts/test installs Debian's nginx)"
    prefix.mkdir(parents=True, exist_ok=True)
    # nginx's workers drop to an unprivileged user when started as root: let them in.
    for folder in (prefix.parent, prefix):
        folder.chmod(0o755)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        prefix=prefix, port=port, mount=MOUNT, servers="\n".join(f"        server {u};" for u in upstreams)))
    subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf), "-e", "stderr"], check=True,
                   capture_output=True)
    process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not start: " + (prefix / "error.log").read_text())


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    workdir = Path(tempfile.mkdtemp(prefix="deskgate-replicas-"))
    name = "deskgate_e2e_" + secrets.token_hex(6)
    psql(POSTGRES_URL, f"CREATE DATABASE {name}")
    database_url = urllib.parse.urlunparse(urllib.parse.urlparse(POSTGRES_URL)._replace(path=f"/{name}"))
    processes: list[subprocess.Popen] = []
    replicas: list[Replica] = []
    try:
        sandbox, sandbox_url, credentials = start_sandbox(workdir)
        processes.append(sandbox)
        port = free_port()
        balancer = f"http://127.0.0.1:{port}{MOUNT}"
        admin = "admin-" + secrets.token_urlsafe(24)
        env = {
            **os.environ,
            # What replicas must share: the vault key (credentials sealed by one are opened by
            # all) and the bootstrap admin token.
            "DESKGATE_VAULT_KEY": "1:" + base64.b64encode(os.urandom(32)).decode(),
            "DESKGATE_ADMIN_TOKEN": admin,
            "DESKGATE_LOG_FORMAT": "json",
            # tower-http's per-request lines show which replica answered what.
            "DESKGATE_LOG": "info,tower_http=debug",
        }
        # One at a time: the first migrates the fresh database.
        for _ in range(REPLICAS):
            replica = start_replica(database_url, balancer, env, workdir)
            replicas.append(replica)
            processes.append(replica.process)
        nginx = start_nginx(port, [r.address for r in replicas], workdir / "nginx")
        processes.append(nginx)
        c = Cluster(balancer, replicas, admin, sandbox_url, credentials)
        status, account = c.api("POST", "/integrated-account", {
            "integration": "gorgias", "name": "Replicated", "credentials": credentials, "api_base_url": sandbox_url})
        assert status == 201, account
        c.account_id = account["id"]
        yield c
        secrets_ = [admin, credentials["api_key"], *c.minted_tokens]
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, replica in enumerate(replicas):
            (ARTIFACTS / f"replica-{i}.log").write_text("\n".join(replica.logs))
        if (workdir / "nginx" / "access.log").exists():
            shutil.copy(workdir / "nginx" / "access.log", ARTIFACTS / "nginx-access.log")
        psql(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    # Secrets never reach a log line: the admin token, the Gorgias API key, the MCP URLs' tokens.
    for replica in replicas:
        text = "\n".join(replica.logs)
        for secret in secrets_:
            assert secret not in text, f"a secret reached a replica's log: {secret[:8]}…"


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_triage_through_the_balancer_lands_on_every_replica(cluster, transport):
    cluster.reset_sandbox()
    server_id, url = cluster.mint(f"triage over {transport}")
    assert url.startswith(cluster.balancer + "/mcp/"), url
    completed = []
    since = cluster.marks()

    decided = asyncio.run(triage(url, transport, on_call=lambda tool, args, result: completed.append(tool)))

    assert_triaged(decided, cluster.sandbox_ticket)
    ran = cluster.tool_calls(server_id, since)
    assert all(n > 0 for n in ran), f"tool calls per replica: {ran}"
    assert sum(ran) == len(completed), (ran, len(completed))
    assert len(cluster.audit(server_id)) == len(completed)
    if transport == "sse":
        # One replica held the stream; the messages were POSTed to all of them and every reply
        # still reached the client on that one stream.
        streams = cluster.requests(since, "GET", "/mcp/<token>/sse")
        assert sorted(streams) == [0] * (REPLICAS - 1) + [1], streams
        posts = cluster.requests(since, "POST", "/mcp/<token>/message")
        assert all(n > 0 for n in posts), f"SSE messages per replica: {posts}"
    else:
        posts = cluster.requests(since, "POST", "/mcp/<token>")
        assert all(n > 0 for n in posts), f"MCP requests per replica: {posts}"


def test_a_server_deleted_through_one_replica_is_refused_through_the_balancer_within_a_second(cluster):
    server_id, url = cluster.mint("short-lived")
    # Every replica has served it (and cached it).
    since = cluster.marks()
    for _ in range(2 * REPLICAS):
        assert mcp_post(url, TOOLS_LIST) == 200
    assert all(n > 0 for n in cluster.requests(since, "POST", "/mcp/<token>"))

    status, _ = cluster.api("DELETE", f"/integrated-account/{cluster.account_id}/mcp/{server_id}",
                            base=cluster.replicas[0].base)
    assert status == 204
    deleted = time.monotonic()
    while (status := mcp_post(url, TOOLS_LIST)) != 404:
        assert status == 200, status
        assert time.monotonic() - deleted < 1.0, "still served through the balancer a second after the delete"
    refused_after = time.monotonic() - deleted
    assert refused_after < 1.0
    print(f"refused through the balancer {refused_after * 1000:.0f} ms after the delete")
    # And from then on, on every replica.
    for _ in range(REPLICAS):
        assert mcp_post(url, TOOLS_LIST) == 404
    for replica in cluster.replicas:
        assert mcp_post(replica.base + url[len(cluster.balancer):], TOOLS_LIST) == 404


def test_a_replica_killed_mid_run_loses_no_audit_record(cluster):
    # Last in this module: it leaves one replica fewer.
    cluster.reset_sandbox()
    server_id, url = cluster.mint("survivor")
    victim = cluster.replicas[-1]
    completed: list[tuple[str, dict]] = []
    killed_after: list[int] = []
    since = cluster.marks()

    answered_at: list[float] = []
    killed_at: list[float] = []

    def on_call(tool, arguments, result):
        completed.append((tool, arguments))
        answered_at.append(time.monotonic())
        if len(completed) == 5:
            killed_at.append(time.monotonic())
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(timeout=10)
            killed_after.append(len(completed))

    decided = asyncio.run(triage(url, "http", on_call=on_call))

    assert killed_after == [5]
    assert_triaged(decided, cluster.sandbox_ticket)
    ran = cluster.tool_calls(server_id, since)
    assert ran[-1] > 0, f"the killed replica never served this run: {ran}"
    assert all(n > 0 for n in ran[:-1]), ran
    assert len(completed) > 10 and sum(ran) == len(completed), (ran, len(completed))
    # Every write the client saw complete is in the audit log, whichever replica ran it (its
    # intent was committed before it was sent). Reads are written behind their answers within
    # 50 ms: the victim may have taken the last such window of reads with it, never more.
    records = cluster.audit(server_id)
    is_read = lambda tool: tool.startswith(("list_all_", "get_single_", "search_", "get_"))
    recorded = collections.Counter(r["tool"] for r in records)
    seen = collections.Counter(t for t, _ in completed)
    writes = lambda c: collections.Counter({t: n for t, n in c.items() if not is_read(t)})
    assert writes(recorded) == writes(seen), (recorded, seen)
    missing_reads = sum((seen - recorded).values())
    assert not (recorded - seen), (recorded, seen)
    # Slack of another window for scheduling between the answer and the kill.
    in_window = sum(1 for t in answered_at if t >= killed_at[0] - 0.1)
    assert missing_reads <= in_window, (missing_reads, in_window, recorded, seen)
