"""The two seed workflows, run through the official Python MCP SDK against `deskgate serve --demo`,
with assertions on the sandbox's state afterwards (not on what deskgate said it did).

The test plays the model: it reads what the tools return and decides from that alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from contextlib import asynccontextmanager
from typing import Callable

from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

PASSWORD_WORDS = ("log in", "password", "connecter", "anmelden", "iniciar sesión", "login")
REFUND_WORDS = ("refund", "remboursement", "rückerstattung", "reembolso")


def structured(result) -> dict:
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def call(session, tool: str, arguments: dict) -> dict:
    """Calls a tool the way a well-behaved agent does: deskgate never retries, so when Gorgias's
    rate limit is reached the agent waits the `ratelimit-reset` seconds the error carries."""
    for _ in range(6):
        result = await session.call_tool(tool, arguments)
        limits = result.structured_content or {}
        if result.is_error and "ratelimit-reset" in limits:
            await asyncio.sleep(limits["ratelimit-reset"] + 0.2)
            continue
        return structured(result)
    raise AssertionError(f"{tool} stayed rate limited")


def text_of(ticket: dict) -> str:
    """Everything written on a concise ticket: its subject and each message's one body (under
    the key that says who wrote it)."""
    parts = [ticket.get("subject") or ""]
    for message in ticket.get("messages") or []:
        for key in ("untrusted_customer_text", "text", "internal_note"):
            parts.append(message.get(key) or "")
    return " ".join(parts).lower()


@asynccontextmanager
async def mcp_session(url: str, transport: str = "http"):
    """An initialized SDK session on an MCP URL, over Streamable HTTP (`http`) or the legacy
    HTTP+SSE transport (`sse`, whose stream is opened at `<url>/sse`). Yields (session, init)."""
    if transport == "sse":
        streams = sse_client(url + "/sse")
    elif transport == "http":
        streams = streamable_http_client(url)
    else:
        raise ValueError(f"unknown transport {transport!r}")
    async with streams as (read, write, *_):
        async with ClientSession(read, write) as session:
            yield session, await session.initialize()


class Observed:
    """A session whose completed tool calls are reported to `on_call(tool, arguments, result)`:
    how a test counts what the client saw finish, or acts between two calls."""

    def __init__(self, session, on_call: Callable):
        self.session, self.on_call = session, on_call

    async def call_tool(self, tool: str, arguments: dict):
        result = await self.session.call_tool(tool, arguments)
        self.on_call(tool, arguments, result)
        return result

    def __getattr__(self, name):
        return getattr(self.session, name)


async def triage(url: str, transport: str = "http", on_call: Callable | None = None) -> dict[str, list[int]]:
    """Lists unassigned recent tickets, reads each, and routes password resets and refunds."""
    decided: dict[str, list[int]] = {"login": [], "refund": [], "other": []}
    async with mcp_session(url, transport) as (session, init):
        if on_call is not None:
            session = Observed(session, on_call)
        assert "internal-note" in init.instructions
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"search_gorgias_view_items", "add_gorgias_ticket_tags", "update_a_gorgias_ticket_by_id"} <= names

        teams = (await call(session, "list_all_gorgias_teams", {"limit": 100}))["data"]
        tier1 = next(t["id"] for t in teams if t["name"] == "Tier 1")

        # Unassigned open tickets, newest first; page through with the cursor as received.
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=24)
        unassigned, cursor = [], None
        while True:
            args = {
                "view_id": 0,
                "view": {
                    "type": "ticket-list",
                    "filters": "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, null)",
                    "order_by": "created_datetime",
                    "order_dir": "desc",
                },
                "limit": 10,
            }
            if cursor:
                args["next_cursor"] = cursor
            page = (await call(session, "search_gorgias_view_items", args))
            unassigned += page["data"]
            cursor = page["meta"]["next_cursor"]
            if not cursor:
                break
        recent = [
            t for t in unassigned
            if "assignee_team" not in t and dt.datetime.fromisoformat(t["created_datetime"]) >= since
        ]
        assert len(recent) >= 6, f"the seed should have recent unassigned tickets, got {len(recent)}"

        for summary in recent:
            ticket = (await call(session, "get_single_gorgias_ticket_by_id", {"id": summary["id"]}))
            words = text_of(ticket)
            if any(w in words for w in PASSWORD_WORDS):
                (await call(session, 
                    "add_gorgias_ticket_tags", {"ticket_id": ticket["id"], "names": ["login_issue"]}))
                (await call(session, 
                    "update_a_gorgias_ticket_by_id", {"id": ticket["id"], "assignee_team": {"id": tier1}}))
                decided["login"].append(ticket["id"])
            elif any(w in words for w in REFUND_WORDS):
                (await call(session, 
                    "add_gorgias_ticket_tags", {"ticket_id": ticket["id"], "names": ["finance"]}))
                (await call(session, 
                    "update_a_gorgias_ticket_by_id", {"id": ticket["id"], "priority": "high"}))
                decided["refund"].append(ticket["id"])
            else:
                decided["other"].append(ticket["id"])
    return decided


def test_triage_routes_password_resets_and_refunds(deskgate):
    decided = asyncio.run(triage(deskgate.mcp_url))
    assert_triaged(decided, deskgate.sandbox_ticket)


def assert_triaged(decided: dict[str, list[int]], sandbox_ticket: Callable[[int], dict]) -> None:
    """Checks the sandbox's state after a triage run (not what deskgate said it did)."""
    assert decided["login"] and decided["refund"] and decided["other"], decided

    for ticket_id in decided["login"]:
        ticket = sandbox_ticket(ticket_id)
        assert "login_issue" in {t["name"] for t in ticket["tags"]}, ticket["tags"]
        assert ticket["assignee_team"]["name"] == "Tier 1", ticket["assignee_team"]
    for ticket_id in decided["refund"]:
        ticket = sandbox_ticket(ticket_id)
        assert "finance" in {t["name"] for t in ticket["tags"]}, ticket["tags"]
        assert ticket["priority"] == "high"
        assert ticket["assignee_team"] is None
    for ticket_id in decided["other"]:
        ticket = sandbox_ticket(ticket_id)
        names = {t["name"] for t in ticket["tags"]}
        assert "login_issue" not in names and "finance" not in names
        assert ticket["assignee_team"] is None


async def draft(url: str, ticket_id: int) -> dict:
    """Reads a ticket and its customer, then leaves an internal note for the agents."""
    async with Client(url, mode="auto") as client:
        ticket = (await call(client, "get_single_gorgias_ticket_by_id", {"id": ticket_id}))
        customer = (await call(client, 
            "get_single_gorgias_customer_by_id", {"id": ticket["customer"]["id"]}))
        history = (await call(client, 
            "list_all_gorgias_tickets", {"customer_id": customer["id"], "limit": 30}))["data"]
        me = (await call(client, "get_single_gorgias_user_by_id", {"id": 0}))

        # A public email without a sending address is refused before it reaches Gorgias: the
        # schema's routing rules keep a model from emailing a customer by mistake.
        refused = await client.call_tool("create_a_gorgias_message", {
            "ticket_id": ticket_id, "channel": "email", "from_agent": True, "public": True,
            "sender": {"id": me["id"]}, "body_text": "Draft reply"})
        assert refused.is_error, refused

        language = customer.get("language") or "en"
        note = (
            f"Draft for {customer.get('name') or customer.get('email')} (language: {language}, "
            f"{len(history)} tickets on record): apologise for the trouble with "
            f"\"{ticket['subject']}\" and offer the next step."
        )
        created = (await call(client, "create_a_gorgias_message", {
            "ticket_id": ticket_id, "channel": "internal-note", "from_agent": True, "public": False,
            "sender": {"id": me["id"]}, "body_text": note}))
        return {"note": created, "customer": customer, "text": note}


def test_context_aware_draft_adds_an_internal_note_never_an_email(deskgate):
    # A refund ticket of a customer with history.
    ticket_id = asyncio.run(find_refund_ticket(deskgate.mcp_url))
    before = deskgate.sandbox_ticket(ticket_id)
    result = asyncio.run(draft(deskgate.mcp_url, ticket_id))
    after = deskgate.sandbox_ticket(ticket_id)

    new = [m for m in after["messages"] if m["id"] not in {m["id"] for m in before["messages"]}]
    assert len(new) == 1, new
    note = new[0]
    assert note["channel"] == "internal-note" and note["public"] is False and note["from_agent"] is True
    assert note["body_text"] == result["text"]
    assert note["id"] == result["note"]["id"]
    assert result["customer"]["language"] in note["body_text"]
    # Nothing went out: no public agent message was added, and a note does not move the
    # conversation's last message.
    assert not [m for m in new if m["public"]]
    assert after["last_message_datetime"] == before["last_message_datetime"]
    assert len(after["messages"]) == len(before["messages"]) + 1


async def find_refund_ticket(url: str) -> int:
    async with Client(url, mode="auto") as client:
        page = (await call(client, "search_gorgias_view_items", {
            "view_id": 0, "view": {"type": "ticket-list", "search": "refund"}, "limit": 20}))
        for summary in page["data"]:
            # A list item names its customer; the ticket carries the customer's id.
            ticket = await call(client, "get_single_gorgias_ticket_by_id", {"id": summary["id"]})
            customer = (await call(client,
                "get_single_gorgias_customer_by_id", {"id": ticket["customer"]["id"]}))
            history = (await call(client, 
                "list_all_gorgias_tickets", {"customer_id": customer["id"], "limit": 5}))["data"]
            if customer.get("language") and len(history) > 1:
                return summary["id"]
    raise AssertionError("the seed has no refund ticket from a customer with history: " + json.dumps(page)[:500])
