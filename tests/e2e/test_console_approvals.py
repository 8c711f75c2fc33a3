"""Human approval in the console (issue 15), end to end in a real Chromium
(tests/e2e/console/approvals.mjs) against `deskgate serve --demo`:

- the console's create form mints a server whose policy (its Policies field) holds customer
  replies, and the server's webhook page gives it a webhook whose secret is shown once;
- a real MCP client (the official Python SDK) calls the reply tool twice: both are held, nothing
  reaches the sandbox, and a local receiver gets one signed notice for each;
- in the Approvals tab one reply is edited and approved, the other rejected with a reason;
- the sandbox received exactly the edited text, once, and nothing of the rejected reply; the
  model reads the rejection's reason with get_pending_action_status;
- the Logs tab's policy decision filter shows the held and approved calls;
- and, on a deskgate whose held calls expire after two seconds, an action nobody decided is
  shown as expired, a late approval is refused, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import queue
import subprocess
import threading
import time
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import ARTIFACTS, E2E, NODE_BIN, Deskgate, node_env, start_deskgate, stop_deskgate
from test_console import chromium
from test_workflows import mcp_session

EDITED = "Hello Ava,\n\nA person checked this: your refund was approved today.\n— The support team"
TEXTS = ["Refund approved, see you!", "Your refund is denied, stop writing to us."]


class Receiver:
    """A webhook receiver on a loopback port that keeps what it gets."""

    def __init__(self):
        self.deliveries: queue.Queue = queue.Queue()
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                deliveries.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/deskgate-hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> tuple[dict, bytes]:
        return self.deliveries.get(timeout=15)


def signed(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's check (docs/approvals.md): HMAC-SHA256 over `t.body`, a fresh `t`."""
    parts = dict(p.split("=", 1) for p in headers["x-deskgate-signature"].split(","))
    if abs(time.time() - int(parts["t"])) > 300:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Script:
    def __init__(self, deskgate: Deskgate, webhook: str):
        node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
        self.process = subprocess.Popen(
            [node, str(E2E / "console" / "approvals.mjs")], cwd=E2E, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**node_env(), "DESKGATE_BASE": deskgate.base, "DESKGATE_API_TOKEN": deskgate.api_token,
                 "DESKGATE_ACCOUNT": deskgate.account_id, "DESKGATE_WEBHOOK_URL": webhook,
                 "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})
        self.messages: queue.Queue = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            if line.startswith("@@ "):
                self.messages.put(json.loads(line[3:]))
        self.messages.put({"step": "exited"})

    def expect(self, step: str) -> dict:
        try:
            message = self.messages.get(timeout=240)
        except queue.Empty:
            message = {"step": "timeout"}
        if message["step"] != step:
            self.process.kill()
            errors = self.process.stderr.read() if self.process.poll() is not None else ""
            raise AssertionError(f"the browser script stopped before {step!r}:\n"
                                 + "\n".join(self.output[-30:]) + "\n" + errors)
        return message

    def answer(self, **data):
        self.process.stdin.write(json.dumps({"ok": True, **data}) + "\n")
        self.process.stdin.flush()

    def finish(self):
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        code = self.process.wait(timeout=60)
        errors = self.process.stderr.read()
        assert code == 0, "\n".join(self.output[-30:]) + "\n" + errors


def two_tickets(deskgate: Deskgate) -> list[dict]:
    """Two tickets on the email channel whose customer has an address: a reply can reach them."""
    request = urllib.request.Request(
        f"{deskgate.sandbox}/api/tickets?limit=50",
        headers={"Authorization": "Basic " + base64.b64encode(b"agent@acme.example:sandbox-api-key").decode()})
    with urllib.request.urlopen(request, timeout=30) as r:
        ids = [t["id"] for t in json.loads(r.read())["data"]]
    tickets = [deskgate.sandbox_ticket(i) for i in ids]
    tickets = [t for t in tickets if t["channel"] == "email" and (t["customer"] or {}).get("email")]
    assert len(tickets) >= 2, "the sandbox has no two email tickets"
    return tickets[:2]


def test_a_held_reply_is_edited_and_approved_and_another_rejected_in_the_console(deskgate: Deskgate):
    receiver = Receiver()
    tickets = two_tickets(deskgate)
    before = [len(deskgate.sandbox_ticket(t["id"])["messages"]) for t in tickets]
    script = Script(deskgate, receiver.url)
    try:
        created = script.expect("created")
        secret = created["secret"]

        async def hold_two():
            async with mcp_session(created["url"]) as (session, _):
                ids = []
                for ticket, text in zip(tickets, TEXTS):
                    result = await session.call_tool(
                        "reply_to_gorgias_customer", {"ticket_id": ticket["id"], "body_text": text})
                    assert not result.is_error, result
                    assert result.structured_content["status"] == "pending_approval", result
                    ids.append(result.structured_content["action_id"])
                return ids

        actions = asyncio.run(hold_two())
        for ticket, count in zip(tickets, before):
            assert len(deskgate.sandbox_ticket(ticket["id"])["messages"]) == count, "a held reply was sent"

        # One signed notice per held call, without the reply's text.
        for action, ticket in zip(actions, tickets):
            headers, body = receiver.next()
            assert signed(secret, headers, body), headers
            assert not signed(created["first_secret"], headers, body), "the rotated-out secret still signs"
            notice = json.loads(body)
            assert notice["event"] == "action.pending" and notice["id"] == action, notice
            assert notice["mcp_server_id"] == created["server_id"]
            assert notice["integrated_account_id"] == deskgate.account_id
            assert notice["tool"] == "reply_to_gorgias_customer" and notice["ticket_id"] == ticket["id"]
            assert notice["console_url"] == f"{deskgate.base}/ui/accounts/{deskgate.account_id}/approvals#action-{action}"
            assert all(text not in body.decode() for text in TEXTS)

        customer = tickets[0]["customer"]
        script.answer(actions=actions, tickets=[t["id"] for t in tickets], texts=TEXTS, edited=EDITED, context={
            "subject": tickets[0]["subject"], "status": tickets[0]["status"],
            "customer": f"{customer['name']} <{customer['email']}>"})
        script.expect("decided")

        # Exactly the edited text reached the customer's ticket, once; nothing of the rejected one.
        sent = deskgate.sandbox_ticket(tickets[0]["id"])["messages"]
        assert len(sent) == before[0] + 1, sent[-2:]
        assert sent[-1]["body_text"] == EDITED, sent[-1]
        assert sent[-1]["public"] is True and sent[-1]["from_agent"] is True
        assert all(TEXTS[0] not in (m.get("body_text") or "") for m in sent)
        untouched = deskgate.sandbox_ticket(tickets[1]["id"])["messages"]
        assert len(untouched) == before[1]
        assert all(TEXTS[1] not in (m.get("body_text") or "") for m in untouched)

        async def status_of(action):
            async with mcp_session(created["url"]) as (session, _):
                result = await session.call_tool("get_pending_action_status", {"action_id": action})
                return result.structured_content

        rejected = asyncio.run(status_of(actions[1]))
        assert rejected["status"] == "rejected" and rejected["reason"] == "Wrong tone: rewrite it", rejected
        approved = asyncio.run(status_of(actions[0]))
        assert approved["status"] == "approved" and approved["result_outcome"] == "ok", approved

        status, listed = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/actions")
        assert status == 200
        decisions = {a["id"]: a for a in listed}
        assert decisions[actions[0]]["arguments"]["body_text"] == EDITED
        assert decisions[actions[0]]["decided_by"].startswith("api token ")
        script.answer()
        script.finish()
    finally:
        if script.process.poll() is None:
            script.process.kill()
        receiver.server.shutdown()
    for value in (secret, created["first_secret"]):
        assert value not in deskgate.log_text, "a webhook secret reached deskgate's log"


def test_an_action_nobody_decided_expires_and_cannot_be_approved_later():
    """Pending actions expire (issue 15, item 3): with --approval-expiry-secs 2 a held reply
    expires, the console shows it as expired and refuses a late approval, nothing reaches the
    customer, and the model reads `expired`."""
    deskgate = start_deskgate(["--approval-expiry-secs", "2"])
    try:
        ticket = two_tickets(deskgate)[0]
        before = len(deskgate.sandbox_ticket(ticket["id"])["messages"])
        url = deskgate.mint(
            {"methods": ["read", "write"],
             "policies": [{"tool": "reply_to_gorgias_customer", "mode": "approve"}]},
            name="Replies that expire")

        async def hold_one():
            async with mcp_session(url) as (session, _):
                result = await session.call_tool(
                    "reply_to_gorgias_customer", {"ticket_id": ticket["id"], "body_text": "Too late?"})
                assert result.structured_content["status"] == "pending_approval", result
                return result.structured_content

        held = asyncio.run(hold_one())
        held_at = time.time()
        # The answer says when it expires: two seconds from now, not a day.
        expires = datetime.fromisoformat(held["expires_at"].replace("Z", "+00:00")).timestamp()
        assert 0 < expires - held_at <= 3, held
        time.sleep(max(0.0, expires - time.time()) + 0.5)

        node = str(NODE_BIN / "node") if (NODE_BIN / "node").exists() else "node"
        run = subprocess.run(
            [node, str(E2E / "console" / "approvals_expired.mjs")], cwd=E2E, text=True, capture_output=True,
            timeout=180,
            env={**node_env(), "DESKGATE_BASE": deskgate.base, "DESKGATE_API_TOKEN": deskgate.api_token,
                 "DESKGATE_ACCOUNT": deskgate.account_id, "DESKGATE_ACTION": held["action_id"],
                 "DESKGATE_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": chromium()})
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

        assert len(deskgate.sandbox_ticket(ticket["id"])["messages"]) == before, "an expired reply was sent"

        async def status():
            async with mcp_session(url) as (session, _):
                result = await session.call_tool("get_pending_action_status", {"action_id": held["action_id"]})
                return result.structured_content

        assert asyncio.run(status())["status"] == "expired"
    finally:
        stop_deskgate(deskgate, "test_console_approvals_expiry")
