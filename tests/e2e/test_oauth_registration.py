"""How OAuth clients come to be known to deskgate (issue 19), over real sockets:

- Client ID Metadata Documents: a `client_id` that is the URL of a JSON document, fetched by
  deskgate from a real local HTTP server (deskgate started with
  `--oauth-client-metadata-allow-private`, the tests-only flag: normally only https on public
  addresses is fetched), then the whole flow to a tool call; documents that lie about themselves,
  list other redirect URIs or are too large are refused on the page, never redirected to; without
  the flag, loopback and private addresses are refused before any fetch;
- native redirect URIs: loopback http on a port chosen at run time (RFC 8252 §7.3) and an app's
  own scheme (cursor://), while javascript:, data: and file: are refused at registration;
- limits: registrations per caller address (429 with Retry-After; distinct addresses through a
  trusted proxy's X-Forwarded-For), metadata document fetches per caller address, and the sweep
  of registrations never used.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import start_deskgate, stop_deskgate
from test_oauth import consent, console_cookie, database, http, mcp_post, mint_oauth, pkce


class Documents:
    """A local HTTP server of client metadata documents: path -> (status, body bytes)."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: list[str] = []
        documents = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                documents.hits.append(self.path)
                status, body = documents.routes.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, path: str, document: dict | bytes, status: int = 200) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, body)
        return self.base + path


@pytest.fixture(scope="module")
def documents():
    docs = Documents()
    yield docs
    docs.server.shutdown()


@pytest.fixture(scope="module")
def lenient(request):
    """deskgate that may fetch documents from loopback (tests only), sweeping every second and
    believing X-Forwarded-For from loopback (so tests can speak for several addresses)."""
    dg = start_deskgate(["--oauth-client-metadata-allow-private", "--sweep-interval-secs", "1",
                         "--trusted-proxies", "127.0.0.1/32"])
    yield dg
    stop_deskgate(dg, request.module.__name__ + ".lenient")


def authorize_url(dg, client_id: str, redirect: str, server_url: str, challenge: str) -> str:
    return dg.base + "/oauth/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "st-9",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": server_url, "scope": "mcp"})


def page(dg, url: str, cookie: str, forwarded_for: str | None = None):
    headers = {"Cookie": cookie, **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    return http("GET", url, headers=headers)


# --- Client ID Metadata Documents ---------------------------------------------------------------------


def test_the_metadata_advertises_client_id_metadata_documents(lenient):
    status, _, body = http("GET", lenient.base + "/.well-known/oauth-authorization-server/oauth")
    metadata = json.loads(body)
    assert status == 200 and metadata["client_id_metadata_document_supported"] is True
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_a_metadata_document_client_does_the_whole_flow(lenient, documents):
    _, server_url = mint_oauth(lenient, "cimd server")
    cookie = console_cookie(lenient)
    redirect = "http://127.0.0.1:40123/callback"
    client_id = documents.publish("/apps/good/client.json", {
        "client_id": documents.base + "/apps/good/client.json", "client_name": "Document Client",
        "redirect_uris": [redirect], "token_endpoint_auth_method": "none", "logo_uri": "ignored"})
    verifier, challenge = pkce()
    url = authorize_url(lenient, client_id, redirect, server_url, challenge)
    status, _, body = page(lenient, url, cookie)
    assert status == 200, body
    assert "Document Client" in body and "127.0.0.1:40123" in body
    location = consent(lenient, url, cookie)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert location.startswith(redirect) and query["state"] == ["st-9"]
    # Fetched once: the consent POST was served from the cache.
    assert documents.hits.count("/apps/good/client.json") == 1
    status, _, body = http("POST", lenient.base + "/oauth/token", {
        "grant_type": "authorization_code", "code": query["code"][0], "code_verifier": verifier,
        "client_id": client_id, "redirect_uri": redirect, "resource": server_url})
    assert status == 200, body
    tokens = json.loads(body)
    assert mcp_post(server_url, tokens["access_token"])[0] == 200
    # The grant names the document's client, and refresh works with the URL as client_id.
    _, grants = lenient.api("GET", f"/integrated-account/{lenient.account_id}/mcp/{server_url.rsplit('/', 1)[1]}/grants")
    assert [(g["client_id"], g["client_name"]) for g in grants["result"]] == [(client_id, "Document Client")]
    status, _, body = http("POST", lenient.base + "/oauth/token", {
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id})
    assert status == 200, body


@pytest.mark.parametrize("case", ["lies about its id", "other redirect", "too large", "missing", "js redirect",
                                  "client secret"])
def test_a_bad_metadata_document_is_refused_on_the_page(lenient, documents, case):
    _, server_url = mint_oauth(lenient, f"cimd refusal {case}")
    cookie = console_cookie(lenient)
    redirect = "http://127.0.0.1:40124/callback"
    path = f"/apps/{case.replace(' ', '-')}/client.json"
    client_id = documents.base + path
    document = {"client_id": client_id, "client_name": "Bad", "redirect_uris": [redirect]}
    if case == "lies about its id":
        document["client_id"] = "https://claude.ai/oauth/client.json"
    elif case == "other redirect":
        document["redirect_uris"] = ["http://127.0.0.1:40124/elsewhere"]
    elif case == "too large":
        document["padding"] = "x" * 6000
    elif case == "js redirect":
        document["redirect_uris"] = ["javascript:alert(1)"]
    elif case == "client secret":
        document["token_endpoint_auth_method"] = "client_secret_basic"
    if case != "missing":
        documents.publish(path, document)
    status, headers, body = page(lenient, authorize_url(lenient, client_id, redirect, server_url, pkce()[1]), cookie)
    assert status == 400 and "Location" not in headers, (status, body[:500])
    assert "not valid" in body or "could not be fetched" in body or "redirect URI" in body, body
    # Nothing was granted.
    _, grants = lenient.api("GET", f"/integrated-account/{lenient.account_id}/mcp/{server_url.rsplit('/', 1)[1]}/grants")
    assert grants["result"] == []


def test_without_the_flag_inside_addresses_and_plain_http_are_never_fetched(deskgate, documents):
    _, server_url = mint_oauth(deskgate, "cimd strict")
    cookie = console_cookie(deskgate)
    redirect = "http://127.0.0.1:40125/callback"
    before = len(documents.hits)
    for client_id in (documents.publish("/apps/strict/client.json", {"client_id": "x", "redirect_uris": [redirect]}),
                      "https://127.0.0.1/apps/client.json", "https://[::1]/client.json",
                      "https://169.254.169.254/latest/client.json", "https://localhost/client.json"):
        status, headers, body = page(deskgate, authorize_url(deskgate, client_id, redirect, server_url, pkce()[1]),
                                     cookie)
        assert status == 400 and "Location" not in headers, (client_id, status)
        assert "cannot be used" in body, body
    assert len(documents.hits) == before, "deskgate fetched from loopback without the flag"


def test_metadata_document_fetches_are_limited_per_address(lenient, documents):
    _, server_url = mint_oauth(lenient, "cimd fetch limit")
    cookie = console_cookie(lenient)
    redirect = "http://127.0.0.1:40126/callback"
    statuses = []
    for i in range(12):
        path = f"/apps/many/{i}/client.json"
        client_id = documents.publish(path, {"client_id": documents.base + path, "client_name": f"many {i}",
                                             "redirect_uris": [redirect]})
        status, headers, _ = page(lenient, authorize_url(lenient, client_id, redirect, server_url, pkce()[1]),
                                  cookie, forwarded_for="198.51.100.7")
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429], statuses
    # Another address is not held up by that one.
    path = "/apps/many/other/client.json"
    client_id = documents.publish(path, {"client_id": documents.base + path, "redirect_uris": [redirect]})
    status, _, _ = page(lenient, authorize_url(lenient, client_id, redirect, server_url, pkce()[1]), cookie,
                        forwarded_for="198.51.100.8")
    assert status == 200


# --- native redirects ------------------------------------------------------------------------------------


def register(dg, redirects: list[str], forwarded_for: str | None = None):
    headers = {"Content-Type": "application/json", **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    status, headers, body = http("POST", dg.base + "/oauth/register",
                                 json.dumps({"client_name": "native app", "redirect_uris": redirects}).encode(), headers)
    return status, headers, json.loads(body) if body else None


def test_loopback_redirects_may_use_any_port_and_apps_their_own_scheme(deskgate):
    _, server_url = mint_oauth(deskgate, "native redirects")
    cookie = console_cookie(deskgate)
    status, _, client = register(deskgate, ["http://127.0.0.1/callback", "cursor://anysphere.cursor-retrieval/oauth/cb"])
    assert status == 201, client
    # The port the app listens on today was not known at registration (RFC 8252 §7.3).
    verifier, challenge = pkce()
    todays = "http://127.0.0.1:45678/callback"
    location = consent(deskgate, authorize_url(deskgate, client["client_id"], todays, server_url, challenge), cookie)
    assert location.startswith(todays + "?code=dgc_"), location
    query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    code = query["code"][0]
    # RFC 9207: the response names its issuer, on success and on refusal alike.
    assert query["iss"] == [deskgate.base + "/oauth"], location
    denied = consent(deskgate, authorize_url(deskgate, client["client_id"], todays, server_url, pkce()[1]), cookie,
                     decision="deny")
    denied_query = urllib.parse.parse_qs(urllib.parse.urlparse(denied).query)
    assert denied_query["error"] == ["access_denied"] and denied_query["iss"] == [deskgate.base + "/oauth"]
    status, _, body = http("POST", deskgate.base + "/oauth/token", {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": client["client_id"],
        "redirect_uri": todays, "resource": server_url})
    assert status == 200, body
    # A path other than the registered one is not the same redirect.
    status, headers, _ = page(deskgate, authorize_url(deskgate, client["client_id"], "http://127.0.0.1:45678/other",
                                                      server_url, challenge), cookie)
    assert status == 400 and "Location" not in headers
    # The app's own scheme: the consent page says so (not just a host), and the browser is sent
    # back to it.
    cursor = authorize_url(deskgate, client["client_id"], "cursor://anysphere.cursor-retrieval/oauth/cb", server_url,
                           pkce()[1])
    status, _, body = page(deskgate, cursor, cookie)
    assert status == 200 and "cursor://anysphere.cursor-retrieval" in body
    location = consent(deskgate, cursor, cookie)
    assert location.startswith("cursor://anysphere.cursor-retrieval/oauth/cb?code=dgc_"), location


def test_application_type_is_echoed_and_checked(deskgate):
    status, _, body = http("POST", deskgate.base + "/oauth/register",
                           json.dumps({"client_name": "cli", "application_type": "native",
                                       "redirect_uris": ["http://localhost:0/callback"]}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 201 and json.loads(body)["application_type"] == "native", body
    status, _, body = http("POST", deskgate.base + "/oauth/register",
                           json.dumps({"client_name": "cli", "application_type": "toaster",
                                       "redirect_uris": ["http://localhost/callback"]}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["error"] == "invalid_client_metadata", body


@pytest.mark.parametrize("redirect", ["javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
                                      "file:///etc/passwd", "cursor://anysphere/cb#fragment", "vbscript:msgbox(1)",
                                      "http://evil.example/cb"])
def test_dangerous_redirect_uris_are_refused_at_registration(deskgate, redirect):
    status, _, body = register(deskgate, [redirect])
    assert status == 400 and body["error"] == "invalid_redirect_uri", body


# --- limits -----------------------------------------------------------------------------------------------


def test_registrations_are_limited_per_address(lenient):
    statuses = [register(lenient, ["http://127.0.0.1/cb"], forwarded_for="203.0.113.50")[0] for _ in range(20)]
    assert statuses == [201] * 20
    status, headers, body = register(lenient, ["http://127.0.0.1/cb"], forwarded_for="203.0.113.50")
    assert status == 429 and body["error"] == "temporarily_unavailable", body
    assert 1 <= int(headers["Retry-After"]) <= 30
    # Another address registers as usual.
    assert register(lenient, ["http://127.0.0.1/cb"], forwarded_for="203.0.113.51")[0] == 201


def test_registrations_never_used_are_swept(lenient):
    _, server_url = mint_oauth(lenient, "sweep")
    cookie = console_cookie(lenient)
    unused = register(lenient, ["http://127.0.0.1/cb"], forwarded_for="203.0.113.60")[2]["client_id"]
    used = register(lenient, ["http://127.0.0.1/cb"], forwarded_for="203.0.113.60")[2]["client_id"]
    verifier, challenge = pkce()
    location = consent(lenient, authorize_url(lenient, used, "http://127.0.0.1:40127/cb", server_url, challenge), cookie)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    status, _, body = http("POST", lenient.base + "/oauth/token", {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": used,
        "redirect_uri": "http://127.0.0.1:40127/cb", "resource": server_url})
    assert status == 200, body
    # Both registered "two days ago"; the grant of the used one is then revoked too.
    with sqlite3.connect(database(lenient)) as db:
        db.execute("UPDATE oauth_clients SET created_at = created_at - 2 * 86400000 WHERE id IN (?, ?)", (unused, used))
        db.execute("DELETE FROM oauth_grants WHERE client_id = ?", (used,))
    deadline = time.time() + 15
    while time.time() < deadline:
        with sqlite3.connect(database(lenient)) as db:
            left = {row[0] for row in db.execute("SELECT id FROM oauth_clients WHERE id IN (?, ?)", (unused, used))}
        if unused not in left:
            break
        time.sleep(0.5)
    assert left == {used}, left
    status, _, body = page(lenient, authorize_url(lenient, unused, "http://127.0.0.1:40127/cb", server_url, challenge),
                           cookie)
    assert status == 400 and "not registered" in body
    status, _, _ = page(lenient, authorize_url(lenient, used, "http://127.0.0.1:40127/cb", server_url, challenge), cookie)
    assert status == 200
