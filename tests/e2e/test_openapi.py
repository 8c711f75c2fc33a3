"""The management API's OpenAPI document, checked by using it (issue 16, finding 10):

- it is a valid OpenAPI document (openapi-spec-validator);
- a client generated from it (openapi-python-client) drives the README's walk-through:
  connect the sandbox account, preview tools, mint a server, list, patch, read its log, delete,
  and mint/revoke a scoped token (tests/e2e/openapi/walkthrough.py);
- schemathesis sends a bounded number of generated requests to every operation and checks each
  answer against the document (status codes, headers, bodies, content types, auth).

The tools live in their own venv (.tools/openapi-venv, from requirements-openapi.txt; installed by
scripts/test): schemathesis pins a newer pytest than the rest of the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import E2E, ROOT, start_deskgate, stop_deskgate

TOOLS = ROOT / ".tools" / "openapi-venv" / "bin"
# Generated requests per operation and phase: enough to cover every documented answer, a few
# seconds on CI.
MAX_EXAMPLES = 10


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: scripts/test installs tests/e2e/requirements-openapi.txt there")
    return str(path)


@pytest.fixture(scope="module")
def deskgate(request):
    dg = start_deskgate()
    yield dg
    stop_deskgate(dg, request.module.__name__)


@pytest.fixture(scope="module")
def document(deskgate, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    with urllib.request.urlopen(deskgate.base + "/openapi.json", timeout=30) as response:
        path.write_bytes(response.read())
    return path


def test_the_document_is_valid_openapi(document: Path):
    checked = subprocess.run([tool("openapi-spec-validator"), str(document)], capture_output=True, text=True)
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr
    spec = json.loads(document.read_text())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == {s[1:-1] for s in path.split("/") if s.startswith("{")}, (method, path)
            assert {"400", "401", "429"} <= set(operation["responses"]), (method, path)


def test_a_generated_client_drives_the_walkthrough(deskgate, document: Path, tmp_path: Path):
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    generated = subprocess.run(
        [tool("openapi-python-client"), "generate", "--path", str(document), "--output-path",
         str(tmp_path / "deskgate_client"), "--meta", "none", "--config", str(config)],
        capture_output=True, text=True)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    sandbox = deskgate.sandbox_get("/_sandbox")
    run = subprocess.run(
        [tool("python"), str(E2E / "openapi" / "walkthrough.py")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "DESKGATE_BASE": deskgate.base,
             "DESKGATE_ADMIN_TOKEN": deskgate.admin_token, "SANDBOX_BASE": deskgate.sandbox,
             "SANDBOX_SUBDOMAIN": sandbox["subdomain"], "SANDBOX_EMAIL": sandbox["email"],
             "SANDBOX_API_KEY": sandbox["api_key"]})
    assert run.returncode == 0 and "walk-through done" in run.stdout, run.stdout + run.stderr


def test_schemathesis_finds_nothing_the_document_does_not_say(deskgate, document: Path, tmp_path: Path):
    # Left out: `positive_data_acceptance` (valid-looking data is refused for reasons a schema
    # cannot state: credentials Gorgias rejects, unknown tags, expiries too soon) and
    # `not_a_server_error`, because connecting a random subdomain is a documented 502 here (no
    # Gorgias to reach); a real 500 is caught below in deskgate's log instead.
    run = subprocess.run(
        [tool("schemathesis"), "run", deskgate.base + "/openapi.json",
         "-H", f"Authorization: Bearer {deskgate.admin_token}",
         "--max-examples", str(MAX_EXAMPLES), "--seed", "20261202",
         "--checks", "all", "--exclude-checks", "positive_data_acceptance,not_a_server_error"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # it writes a .schemathesis/ cache
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    failed = [line for line in deskgate.logs if "request failed" in line or " 500 " in line]
    assert not failed, failed[:5]
