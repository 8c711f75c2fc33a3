"""What the two seed workflows cost a model, measured through the official Python MCP SDK against
`deskgate serve --demo` (issue 14, item 8). Run it with `scripts/workflow-cost`; the test in
test_workflow_cost.py runs the same measurement and holds the targets.

Each workflow runs twice on the same sandbox seed (the sandbox is reset before every run):

- the task way: the task-shaped tools (integrations/gorgias/tasks.yaml) with their concise
  results, on a server minted with exactly those tools;
- the old way, the baseline: the raw API tools with `response_format: "detailed"` (the upstream's
  JSON as received), on a server minted with exactly the raw tools it uses.

Both ways follow the same rule and make the same decisions, so the difference is the tools:
- triage: list the open, unassigned queue; newest first, skip tickets a team already has; decide
  each ticket (password/login -> tag login_issue + team "Tier 1"; refund -> tag finance + priority
  high; anything else -> leave it); stop once 5 tickets were acted on. The task way decides from
  the concise list item (subject and excerpt) and reads a ticket's context only when the item
  matches no rule; the old way reads each ticket it decides on in full, as the seed workflow in
  test_workflows.py does, looks up the team's id, and tags and updates in two calls.
- draft: read a refund ticket with its customer and the customer's recent tickets, then leave a
  context-aware internal note.

What is counted, per workflow: every tools/call the client made (a rate-limited retry would count
too; none is expected, the reset refills the bucket), and the o200k_base tokens of each result's
text content (the text blocks joined), counted by `deskgate integrations tokens --lines`. The
tools/list figure is the JSON `{"tools": [...]}` of the tools as the client received them
(`Tool.model_dump(by_alias=True, exclude_none=True)`, compact separators, non-ASCII kept); it is
what a client puts in the model's context before the first call, once per session, and is
reported beside the workflow, not added to its result tokens. The sandbox's own count of Gorgias
API requests is shown too: a task tool makes several.

Afterwards the sandbox's state is checked, not what deskgate said: the triaged tickets carry the
tags, team and priority; the note is an internal note (not public, from an agent) and the
conversation's last message did not move.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp import ClientSession, types  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from conftest import BIN, Deskgate, start_deskgate, stop_deskgate  # noqa: E402
from test_workflows import PASSWORD_WORDS, REFUND_WORDS, assert_triaged, text_of  # noqa: E402

# Targets (issue 14): (tool calls, result tokens) at most.
TARGETS = {"triage": (10, 8_000), "draft": (3, 2_500)}
ACT_ON = 5
TASK_TOOLS = ["search_gorgias_tickets", "get_gorgias_ticket_context", "triage_gorgias_ticket",
              "add_gorgias_internal_note"]
RAW_TOOLS = ["list_all_gorgias_teams", "search_gorgias_view_items", "get_single_gorgias_ticket_by_id",
             "add_gorgias_ticket_tags", "update_a_gorgias_ticket_by_id", "get_single_gorgias_customer_by_id",
             "list_all_gorgias_tickets", "create_a_gorgias_message"]
DETAILED = {"response_format": "detailed"}
TASK_WAY, OLD_WAY = "task tools, concise", "raw API tools, detailed"


@dataclass
class Call:
    tool: str
    text: str
    is_error: bool
    tokens: int = 0


@dataclass
class Run:
    """One workflow run one way: the calls the client made and what it all cost."""

    workflow: str
    way: str
    calls: list[Call] = field(default_factory=list)
    upstream_requests: int = 0
    tools_list_tokens: int = 0
    tools_count: int = 0
    rate_limited: int = 0
    summary: str = ""

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.calls)

    @property
    def target(self) -> tuple[int, int] | None:
        return TARGETS[self.workflow] if self.way == TASK_WAY else None

    @property
    def met(self) -> bool:
        return self.target is None or (len(self.calls) <= self.target[0] and self.tokens <= self.target[1])


class WorkflowError(Exception):
    """A tool failed: the workflow could not go on."""


class Meter:
    """An SDK session that records every tools/call and its result's text content."""

    def __init__(self, session: ClientSession, run: Run):
        self.session, self.run = session, run

    async def call(self, tool: str, arguments: dict) -> Any:
        # deskgate never retries; a rate-limited call waits the `ratelimit-reset` seconds it
        # carries and goes again (and both calls count).
        for _ in range(6):
            result = await self.session.call_tool(tool, arguments)
            text = "\n".join(block.text for block in result.content if block.type == "text")
            self.run.calls.append(Call(tool, text, result.is_error))
            limits = result.structured_content if isinstance(result.structured_content, dict) else {}
            reset = limits.get("ratelimit-reset", (limits.get("error") or {}).get("ratelimit-reset"))
            if result.is_error and reset is not None:
                self.run.rate_limited += 1
                await asyncio.sleep(float(reset) + 0.2)
                continue
            if result.is_error:
                raise WorkflowError(f"{tool} failed: {text}")
            return result.structured_content
        raise WorkflowError(f"{tool} stayed rate limited")


@asynccontextmanager
async def session_on(url: str):
    async with streamable_http_client(url) as (read, write, *_):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


def count_tokens(texts: list[str]) -> list[int]:
    """o200k_base tokens of each text, by deskgate's own counter: one process for all the
    single-line texts (`--lines`), one more per text that holds a line break."""
    counts: list[int | None] = [None] * len(texts)
    single = [i for i, t in enumerate(texts) if "\n" not in t and "\r" not in t]
    if single:
        out = subprocess.run([BIN, "integrations", "tokens", "--lines"], input="".join(texts[i] + "\n" for i in single),
                             capture_output=True, text=True, check=True).stdout.split()
        assert len(out) == len(single), (len(out), len(single))
        for i, n in zip(single, out):
            counts[i] = int(n)
    for i, text in enumerate(texts):
        if counts[i] is None:
            counts[i] = int(subprocess.run([BIN, "integrations", "tokens"], input=text, capture_output=True,
                                           text=True, check=True).stdout)
    return counts  # type: ignore[return-value]


async def tools_list(url: str) -> tuple[int, str]:
    """The server's tools (every page) as the client received them: (count, compact JSON)."""
    async with session_on(url) as session:
        tools, cursor = [], None
        while True:
            page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
            tools += [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
    return len(tools), json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False)


def topic_of(words: str) -> str | None:
    words = words.lower()
    if any(w in words for w in PASSWORD_WORDS):
        return "login"
    if any(w in words for w in REFUND_WORDS):
        return "refund"
    return None


# --- Triage ----------------------------------------------------------------------------------

async def triage_with_tasks(meter: Meter) -> dict[str, list[int]]:
    decided: dict[str, list[int]] = {"login": [], "refund": [], "other": []}
    queue, cursor = [], None
    while True:
        args = {"status": "open", "unassigned": True, **({"next_cursor": cursor} if cursor else {})}
        page = await meter.call("search_gorgias_tickets", args)
        queue += page["data"]
        if not (cursor := page["meta"].get("next_cursor")):
            break
    meter.run.summary = f"queue of {len(queue)}"
    for item in queue:  # newest first
        if sum(len(v) for k, v in decided.items() if k != "other") == ACT_ON:
            break
        if item.get("assignee_team"):
            continue  # already routed
        topic = topic_of(f"{item.get('subject') or ''} {item.get('untrusted_excerpt') or ''}")
        if topic is None:  # the list item settles nothing: read the conversation
            context = await meter.call("get_gorgias_ticket_context", {"ticket_id": item["id"]})
            topic = topic_of(text_of(context["ticket"]))
        if topic == "login":
            await meter.call("triage_gorgias_ticket", {"ticket_id": item["id"], "tags": ["login_issue"],
                                                       "assignee_team": {"name": "Tier 1"}})
        elif topic == "refund":
            await meter.call("triage_gorgias_ticket", {"ticket_id": item["id"], "tags": ["finance"],
                                                       "priority": "high"})
        decided[topic or "other"].append(item["id"])
    return decided


def raw_text(ticket: dict) -> str:
    """A raw (detailed) ticket's subject and every message's text."""
    parts = [ticket.get("subject") or ""]
    parts += [m.get("body_text") or m.get("stripped_text") or "" for m in ticket.get("messages") or []]
    return " ".join(parts)


async def triage_the_old_way(meter: Meter) -> dict[str, list[int]]:
    decided: dict[str, list[int]] = {"login": [], "refund": [], "other": []}
    teams = (await meter.call("list_all_gorgias_teams", {"limit": 100, **DETAILED}))["data"]
    tier1 = next(t["id"] for t in teams if t["name"] == "Tier 1")
    queue, cursor = [], None
    while True:
        args = {"view_id": 0, "view": {"type": "ticket-list",
                                       "filters": "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, null)",
                                       "order_by": "created_datetime", "order_dir": "desc"},
                **({"next_cursor": cursor} if cursor else {}), **DETAILED}
        page = await meter.call("search_gorgias_view_items", args)
        queue += page["data"]
        if not (cursor := page["meta"].get("next_cursor")):
            break
    meter.run.summary = f"queue of {len(queue)}"
    for item in queue:
        if sum(len(v) for k, v in decided.items() if k != "other") == ACT_ON:
            break
        if item.get("assignee_team"):
            continue
        ticket = await meter.call("get_single_gorgias_ticket_by_id", {"id": item["id"], **DETAILED})
        topic = topic_of(raw_text(ticket))
        if topic == "login":
            await meter.call("add_gorgias_ticket_tags", {"ticket_id": item["id"], "names": ["login_issue"], **DETAILED})
            await meter.call("update_a_gorgias_ticket_by_id", {"id": item["id"], "assignee_team": {"id": tier1},
                                                               **DETAILED})
        elif topic == "refund":
            await meter.call("add_gorgias_ticket_tags", {"ticket_id": item["id"], "names": ["finance"], **DETAILED})
            await meter.call("update_a_gorgias_ticket_by_id", {"id": item["id"], "priority": "high", **DETAILED})
        decided[topic or "other"].append(item["id"])
    return decided


# --- Internal-note draft ---------------------------------------------------------------------

def note_for(subject: str, customer: dict, recent: list[dict]) -> str:
    """The note an agent would leave: who the customer is, what they said before, what to do."""
    orders = len(((customer.get("data") or {}).get("orders")) or [])
    others = [t for t in recent if t.get("subject") != subject]
    earlier = "; ".join(f"{t['subject']} ({t['status']})" for t in others[:3]) or "none"
    return (
        f"Draft for {customer.get('name') or customer.get('email')} (language: {customer.get('language') or 'en'}, "
        f"{orders} orders). Customer note: {(customer.get('note') or 'none').rstrip('.')}. Recent tickets: {earlier}. "
        f"Suggested reply: apologise for \"{subject}\", confirm the refund for the damaged item and give "
        f"the 5-7 business day timeline."
    )


async def draft_with_tasks(meter: Meter, ticket_id: int) -> str:
    context = await meter.call("get_gorgias_ticket_context", {"ticket_id": ticket_id})
    recent = (context.get("customer_recent_tickets") or {}).get("data") or []
    note = note_for(context["ticket"]["subject"], context["customer"], recent)
    await meter.call("add_gorgias_internal_note", {"ticket_id": ticket_id, "body_text": note})
    return note


async def draft_the_old_way(meter: Meter, ticket_id: int) -> str:
    ticket = await meter.call("get_single_gorgias_ticket_by_id", {"id": ticket_id, **DETAILED})
    customer = await meter.call("get_single_gorgias_customer_by_id", {"id": ticket["customer"]["id"], **DETAILED})
    recent = (await meter.call("list_all_gorgias_tickets", {"customer_id": customer["id"], "limit": 5,
                                                            **DETAILED}))["data"]
    note = note_for(ticket["subject"], customer, recent)
    await meter.call("create_a_gorgias_message", {"ticket_id": ticket_id, "channel": "internal-note",
                                                  "from_agent": True, "public": False, "body_text": note,
                                                  **DETAILED})
    return note


# --- The measurement -------------------------------------------------------------------------

def sandbox_post(dg: Deskgate, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(dg.sandbox + path, data=b"", method="POST"), timeout=30).read()


def assert_noted(before: dict, after: dict, note: str) -> None:
    """Exactly one new message, an internal note from an agent with this text; nothing public."""
    new = [m for m in after["messages"] if m["id"] not in {m["id"] for m in before["messages"]}]
    assert len(new) == 1, new
    assert new[0]["channel"] == "internal-note" and new[0]["public"] is False and new[0]["from_agent"] is True, new[0]
    assert new[0]["body_text"] == note, new[0]["body_text"]
    assert after["last_message_datetime"] == before["last_message_datetime"]


@dataclass
class Report:
    runs: list[Run]
    demo_tools_count: int
    demo_tools_list_tokens: int

    @property
    def ok(self) -> bool:
        return all(r.met for r in self.runs)

    def run(self, workflow: str, way: str) -> Run:
        return next(r for r in self.runs if r.workflow == workflow and r.way == way)

    def markdown(self) -> str:
        lines = [
            "| Workflow | Way | Tool calls | Result tokens | tools/list tokens (tools) | Gorgias API requests | Target | Met |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for r in self.runs:
            target = f"≤ {r.target[0]} calls, ≤ {r.target[1]:,} tokens" if r.target else "baseline"
            met = ("yes" if r.met else "**NO**") if r.target else "–"
            lines.append(f"| {r.workflow} | {r.way} | {len(r.calls)} | {r.tokens:,} | {r.tools_list_tokens:,} "
                         f"({r.tools_count}) | {r.upstream_requests} | {target} | {met} |")
        lines.append("")
        for workflow in TARGETS:
            new, old = self.run(workflow, TASK_WAY), self.run(workflow, OLD_WAY)
            lines.append(f"- {workflow}: {len(new.calls)} calls vs {len(old.calls)} "
                         f"({len(new.calls) / len(old.calls):.2f}×), {new.tokens:,} result tokens vs {old.tokens:,} "
                         f"({new.tokens / old.tokens:.2f}×)")
        lines.append(f"- the demo server's full tools/list: {self.demo_tools_list_tokens:,} tokens "
                     f"({self.demo_tools_count} tools)")
        lines += ["", "Calls (tool × count = result tokens):", ""]
        for r in self.runs:
            by_tool: dict[str, list[int]] = {}
            for c in r.calls:
                by_tool.setdefault(c.tool, []).append(c.tokens)
            calls = ", ".join(f"{t} × {len(n)} = {sum(n):,}" for t, n in by_tool.items())
            extra = f"; {r.rate_limited} rate-limited" if r.rate_limited else ""
            lines.append(f"- {r.workflow}, {r.way} ({r.summary}{extra}): {calls}")
        return "\n".join(lines)


async def measure_async(dg: Deskgate, log: Callable[[str], None]) -> Report:
    task_url = dg.mint({"tools": TASK_TOOLS}, name="workflow cost: task tools")
    raw_url = dg.mint({"tools": RAW_TOOLS}, name="workflow cost: raw API tools")
    listings = {TASK_WAY: await tools_list(task_url), OLD_WAY: await tools_list(raw_url),
                "demo": await tools_list(dg.mcp_url)}

    async def run(workflow: str, way: str, body: Callable, *args) -> tuple[Run, Any]:
        sandbox_post(dg, "/_sandbox/reset")  # the same seed, a full rate-limit bucket, zeroed stats
        record = Run(workflow, way)
        async with session_on(task_url if way == TASK_WAY else raw_url) as session:
            outcome = await body(Meter(session, record), *args)
        record.upstream_requests = dg.sandbox_get("/_sandbox/stats")["api_requests"]
        log(f"{workflow}, {way}: {len(record.calls)} calls")
        return record, outcome

    runs: list[Run] = []
    draft_ticket = None
    for way, triage_body in ((TASK_WAY, triage_with_tasks), (OLD_WAY, triage_the_old_way)):
        record, decided = await run("triage", way, triage_body)
        acted = decided["login"] + decided["refund"]
        assert len(acted) == ACT_ON, decided
        assert_triaged(decided, dg.sandbox_ticket)
        record.summary += f"; acted on {ACT_ON}: login {decided['login']}, refund {decided['refund']}; " \
                          f"left {decided['other']}"
        runs.append(record)
        draft_ticket = draft_ticket or decided["refund"][0]
    for way, draft_body in ((TASK_WAY, draft_with_tasks), (OLD_WAY, draft_the_old_way)):
        sandbox_post(dg, "/_sandbox/reset")
        before = dg.sandbox_ticket(draft_ticket)
        record, note = await run("draft", way, draft_body, draft_ticket)
        assert_noted(before, dg.sandbox_ticket(draft_ticket), note)
        record.summary = f"ticket {draft_ticket}"
        runs.append(record)

    # Every result text and the tool lists, counted in one process.
    texts = [c.text for r in runs for c in r.calls]
    keys = [TASK_WAY, OLD_WAY, "demo"]
    counts = count_tokens(texts + [listings[k][1] for k in keys])
    calls = iter(counts[:len(texts)])
    for r in runs:
        for c in r.calls:
            c.tokens = next(calls)
    listed = dict(zip(keys, counts[len(texts):]))
    for r in runs:
        r.tools_count, r.tools_list_tokens = listings[r.way][0], listed[r.way]
    return Report(runs, listings["demo"][0], listed["demo"])


def measure(dg: Deskgate, log: Callable[[str], None] = lambda _: None) -> Report:
    """Runs both workflows both ways on a running `deskgate serve --demo`, checks the sandbox's
    state after each, and counts. Raises AssertionError when a run did not do its work."""
    return asyncio.run(measure_async(dg, log))


def main() -> int:
    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    log(f"starting {BIN} serve --demo")
    dg = start_deskgate()
    try:
        report = measure(dg, log)
    finally:
        stop_deskgate(dg, "workflow_cost")
    print(report.markdown())
    if not report.ok:
        missed = [r.workflow for r in report.runs if not r.met]
        log(f"target missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
