"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in package.json)
against `deskgate serve --demo`, for the two protocol revisions deskgate serves: 2025-11-25 (the
`initialize` era) and 2026-07-28 (stateless, per-request `_meta`).

Every scenario a revision requires runs. The suite exits non-zero on any failure that is not in
the revision's baseline file (tests/e2e/conformance/baseline-<revision>.yml), and those files list
only checks that cannot apply to a gateway (the suite's fixture tools, prompts and resources),
each with its reason. On top of the exit code, the scenarios a gateway must pass are named here,
so a baseline that grew to hide a real failure would still be caught.

The suite's authorization-server scenarios (`conformance authorization`: the metadata document,
Client ID Metadata Document support, and the authorization code grant with consent in Chromium)
run against an `oauth` server in test_oauth_clients.py, for both revisions, with no baseline.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import ARTIFACTS, E2E, node_env, node_tool

ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Scenario -> the least number of checks that must pass in it (all of them, where every check
# applies to a gateway).
MUST_PASS = {
    "2025-11-25": {
        "server-initialize": 1,
        "ping": 1,
        "tools-list": 1,
        "dns-rebinding-protection": 2,
    },
    "2026-07-28": {
        "server-stateless": 21,
        "tools-list": 4,
        "http-header-validation": 14,
        "dns-rebinding-protection": 2,
        "sep-2164-resource-not-found": 2,
        "input-required-result-validate-input": 3,
        "input-required-result-unsupported-methods": 2,
    },
}


def summary(output: str) -> dict[str, tuple[int, int]]:
    """`✓ tools-list: 4 passed, 0 failed` lines of the SUMMARY block, by scenario."""
    block = output.split("=== SUMMARY ===", 1)[-1]
    return {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"^[✓✗] (\S+): (\d+) passed, (\d+) failed", block, re.M)
    }


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
def test_conformance_suite(deskgate, revision):
    out_dir = ARTIFACTS / "conformance" / revision
    out_dir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [node_tool("conformance"), "server", "--url", deskgate.mcp_url, "--requirements", revision,
         "--expected-failures", str(E2E / "conformance" / f"baseline-{revision}.yml"), "-o", str(out_dir)],
        capture_output=True, text=True, timeout=600, env=node_env(), cwd=E2E,
    )
    output = ANSI.sub("", run.stdout + run.stderr)
    (ARTIFACTS / "conformance" / f"{revision}.txt").write_text(output)
    assert run.returncode == 0, output[-4000:]
    assert "Baseline check passed" in output, output[-4000:]

    scenarios = summary(output)
    for scenario, least in MUST_PASS[revision].items():
        assert scenario in scenarios, f"{scenario} did not run at {revision}:\n{output[-3000:]}"
        passed, failed = scenarios[scenario]
        assert passed >= least, f"{scenario}: {passed} passed, {failed} failed (expected ≥ {least} passed)"
        if scenario != "server-stateless":
            assert failed == 0, f"{scenario}: {failed} failed"
