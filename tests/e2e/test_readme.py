"""The README's walk-throughs, run exactly as written.

The README marks each code block this test runs with `<!-- readme-test: <part>/<step> -->`. The
blocks of one part run in order in one bash shell (its variables carry over, as in a terminal),
in a fresh directory, on the ports the README names (8080, 8081). Two things stand in for what
a reader has:

- `cargo`: a shim on the PATH runs `cargo run --release -p deskgate -- ARGS` as the binary under
  test ($DESKGATE_BIN, which scripts/test builds) with ARGS; any other cargo command fails the
  test. A release build here would only rebuild the same code.
- the ports: every part runs in a network namespace of its own (`unshare -rn`, loopback only),
  so the README's fixed ports never meet a developer's running gateway or another test. Where
  namespaces are not allowed, the ports must be free.

Where the README tells the reader to substitute (the demo banner's MCP URL in the Inspector
command), the test reads the value where the README says it is printed. A block that blocks
(`serve`) runs in the background and the next part waits until it answers, as a reader waits
for its banner. Each step's documented outcome is asserted from what its commands printed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, E2E, NODE_BIN, ROOT

README = ROOT / "README.md"
MARKED = re.compile(r"<!-- readme-test: (?P<part>[\w-]+)/(?P<step>[\w-]+) -->\n```sh\n(?P<code>.*?)```", re.S)
# The steps whose command blocks (runs until stopped): started in the background, then awaited.
SERVES = {"serve"}

CARGO_SHIM = """#!/bin/sh
# The README's `cargo run --release -p deskgate -- ARGS`, run as the binary under test.
if [ "$1 $2 $3 $4 $5" != "run --release -p deskgate --" ]; then
  echo "readme test: unexpected cargo command: cargo $*" >&2
  exit 97
fi
shift 5
exec "$DESKGATE_BIN" "$@"
"""


def marked_blocks() -> dict[str, list[tuple[str, str]]]:
    """The README's marked blocks by part, in README order: [(step, code)]."""
    parts: dict[str, list[tuple[str, str]]] = {}
    for m in MARKED.finditer(README.read_text()):
        parts.setdefault(m["part"], []).append((m["step"], m["code"]))
    return parts


def namespaces_work() -> bool:
    try:
        # A new namespace's loopback is down: bringing it up needs `ip` (iproute2) too.
        return subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ports_free(*ports: int) -> bool:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def run_part(part: str, blocks: list[tuple[str, str]], after_serve: str = "", timeout: int = 180,
             extra_path: str = "") -> tuple[Path, dict[str, str]]:
    """Runs one part's blocks in a fresh directory; returns the directory and each step's output.

    `after_serve` is bash run after a `serve` step answers and before the next step (the part's
    own glue, such as reading a printed value); it is not README text.
    """
    work = Path(tempfile.mkdtemp(prefix=f"deskgate-readme-{part}-"))
    shim = work / ".shim"
    shim.mkdir()
    (shim / "cargo").write_text(CARGO_SHIM)
    (shim / "cargo").chmod(0o755)
    lines = ["ip link set lo up 2>/dev/null || true", f"cd {work}"]
    for step, code in blocks:
        (work / f".step-{step}.sh").write_text(code)
        if step in SERVES:
            # In the background, as a terminal of its own; the next steps wait until it answers.
            lines.append(f"bash .step-{step}.sh > .out-{step} 2>&1 &")
            lines.append("for i in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:8080/readyz && break; "
                         "sleep 0.1; done")
            lines.append(after_serve)
        else:
            # The reader's second terminal: every later step in one shell, so variables carry over.
            lines.append(f"printf '\\n@@step %s\\n' {step}")
            lines.append(f"source .step-{step}.sh")
    driver = work / ".driver.sh"
    # Steps after a serve share one shell: the driver sources them, its output split per step.
    driver.write_text("\n".join(lines) + "\n")
    environment = {
        **os.environ,
        "PATH": f"{shim}:{extra_path}{os.environ.get('PATH', '')}",
        "DESKGATE_BIN": BIN,
        "NO_COLOR": "1",
    }
    environment.pop("DESKGATE_ADMIN_TOKEN", None)
    command = ["bash", str(driver)]
    if namespaces_work():
        command = ["unshare", "-rn", *command]
    elif not ports_free(8080, 8081):
        pytest.fail("the README's ports 8080/8081 are taken and network namespaces are not allowed here")
    # To a file, not a pipe: what the README leaves running in the background keeps the
    # terminal's output open after the last step.
    log = work / ".terminal"
    with log.open("w") as terminal:
        process = subprocess.Popen(command, cwd=work, env=environment, stdout=terminal,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        process.wait(timeout=timeout)
    finally:
        # The serve step and the sandbox the README starts with `&` are still running: stop the
        # whole process group the driver started.
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    output = log.read_text()
    outputs: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("@@step "):
            current = line.split(" ", 1)[1]
            outputs[current] = ""
        elif current is not None:
            outputs[current] += line + "\n"
        else:
            outputs.setdefault("", "")
            outputs[""] += line + "\n"
    for step, _ in blocks:
        if step in SERVES:
            outputs[step] = (work / f".out-{step}").read_text()
    return work, outputs


def json_lines(text: str) -> list[dict]:
    """The JSON documents a step printed, one per line (curl -s prints no newline: split on `}{`)."""
    found = []
    decoder = json.JSONDecoder()
    i = 0
    while (start := text.find("{", i)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        found.append(value)
        i = end
    return found


def documented_count(code: str) -> int:
    """The tool count the README prints as the preview's answer (`# {"count":8,...}`)."""
    m = re.search(r'^# \{"count":(\d+)', code, re.M)
    assert m, "the README no longer shows the preview's count"
    return int(m.group(1))


def test_every_marked_block_is_run():
    """The markers this test knows are exactly the ones in the README: a renamed or new marked
    block is not silently skipped, and a removed one is noticed."""
    parts = marked_blocks()
    assert {p: [s for s, _ in b] for p, b in parts.items()} == {
        "demo": ["serve", "inspector"],
        "curl": ["serve", "sandbox", "account", "mint", "mcp", "notes-only", "reporting", "approval", "budget",
                 "reserve"],
        "sandbox": ["alone"],
    }


def test_curl_walk_through_as_written():
    blocks = marked_blocks()["curl"]
    code = dict(blocks)
    work, out = run_part("curl", blocks)

    assert "deskgate is serving" in out["serve"], out["serve"]
    assert "DESKGATE_ADMIN_TOKEN registered as an API token" in out["serve"]
    admin = (work / "admin-token").read_text().strip()
    assert oct((work / "admin-token").stat().st_mode & 0o777) == "0o600"
    assert admin not in out["serve"], "the admin token reached the log"
    assert "unexpected cargo command" not in "".join(out.values())

    # The sandbox step prints the sandbox's banner and waits until it answers.
    assert 'Gorgias sandbox for account "acme" is running.' in out["sandbox"], out["sandbox"]

    # The account: active, with the id the README's sed kept, and never the credentials.
    (account,) = json_lines(out["account"])
    assert account["status"] == "active" and account["integration"] == "gorgias", account
    assert "sandbox-api-key" not in out["account"]

    # The preview's count is what the README prints; the minted URL is echoed.
    preview, *_ = json_lines(out["mint"])
    assert preview["count"] == documented_count(code["mint"]), preview["count"]
    # (curl -s ends without a newline, so the echoed URL follows the preview's JSON on its line.)
    assert re.search(r"\}http://127\.0\.0\.1:8080/mcp/dgm_[A-Za-z0-9_-]+\s*$", out["mint"]), out["mint"][-300:]

    # The MCP calls: the list is the previewed tools, a read answers with tickets, a write is refused.
    listed, called, refused = json_lines(out["mcp"])
    names = {t["name"] for t in listed["result"]["tools"]}
    assert names == {t["name"] for t in preview["tools"]}, names
    assert "list_all_gorgias_tickets" in names and "create_a_gorgias_tag" not in names
    result = called["result"]
    assert not result.get("isError"), result
    tickets = json.loads(result["content"][0]["text"])["data"]
    assert len(tickets) == 2 and all("subject" in t for t in tickets), tickets
    assert refused["error"] == {"code": -32602, "message": "unknown tool: create_a_gorgias_tag"}, refused
    assert f'# {json.dumps(refused, separators=(",", ":"))}' in code["mcp"], "the README shows another answer"

    # The Safe writes examples each mint a server (the answer has its URL); the reserve is set.
    for step in ("notes-only", "reporting", "budget"):
        (created,) = json_lines(out[step])
        assert created.get("url", "").startswith("http://127.0.0.1:8080/mcp/dgm_"), (step, created)
    # The approval: the reply is held (nothing sent), listed as pending, then approved and sent.
    held, pending, approved = json_lines(out["approval"])
    waiting = held["result"]["structuredContent"]
    assert waiting["status"] == "pending_approval" and held["result"]["isError"] is False, held
    assert pending["id"] == waiting["action_id"] and pending["status"] == "pending", pending
    assert pending["arguments"] == {"ticket_id": 170000200, "body_text": "Your order ships tomorrow."}
    assert approved["id"] == waiting["action_id"] and approved["status"] == "approved", approved
    assert approved["result_outcome"] == "ok", approved
    assert json.loads(approved["result_text"])["ticket_id"] == 170000200

    (patched,) = json_lines(out["reserve"])
    assert patched["rate_limit_reserve"] == 20, patched


def test_demo_quick_start_as_written():
    """`serve --demo` prints the banner the README shows; its MCP URL, put where the README's
    Inspector command has `http://127.0.0.1:8080/mcp/dgm_...`, lists the tools."""
    blocks = marked_blocks()["demo"]
    (serve_step, serve_code), (inspector_step, inspector_code) = blocks
    # The set-up block's second line is `scripts/test`, the suite this test runs in: only the
    # first line, the gateway, is run.
    first, second = serve_code.strip().splitlines()
    assert second.startswith("scripts/test"), second
    placeholder = "http://127.0.0.1:8080/mcp/dgm_..."
    assert placeholder in inspector_code
    # The Inspector as the README runs it (`npx @modelcontextprotocol/inspector`), with the
    # package the test suite installs (tests/e2e/node_modules) where npx looks for it first.
    glue = (
        "ln -s " + str(E2E / "node_modules") + " node_modules\n"
        "URL=$(grep -Eo 'http://127\\.0\\.0\\.1:8080/mcp/dgm_[A-Za-z0-9_-]+' .out-serve | head -1)\n"
        "sed -i \"s#" + placeholder.replace(".", "\\.") + "#$URL#\" .step-inspector.sh\n"
    )
    work, out = run_part("demo", [(serve_step, first + "\n"), (inspector_step, inspector_code)],
                         after_serve=glue, extra_path=f"{NODE_BIN}:")

    banner = out["serve"]
    assert "deskgate demo is ready" in banner, banner
    for label in ("Sandbox (a local Gorgias emulator):", "its login (HTTP Basic):", "Demo account id:",
                  "Console:", "API token:"):
        assert label in banner, label
    assert "http://127.0.0.1:8080/ui" in banner
    listed = json_lines(out["inspector"])[0]
    names = {t["name"] for t in listed["tools"]}
    assert "list_all_gorgias_tickets" in names, sorted(names)[:5]


def test_sandbox_on_its_own_as_written():
    """The sandbox alone: its two example reads answer with its seeded data."""
    _, out = run_part("sandbox", marked_blocks()["sandbox"])
    tickets, account = json_lines(out["alone"])[-2:]
    assert len(tickets["data"]) == 2 and tickets["meta"]["next_cursor"], tickets
    created = [t["created_datetime"] for t in tickets["data"]]
    assert created == sorted(created, reverse=True), created
    assert account["domain"], account
