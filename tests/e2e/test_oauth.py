"""MCP authorization (issue 19) over real sockets against `deskgate serve --demo`: a server minted
with `auth: "oauth"`, the official Python MCP SDK's OAuth client provider doing the whole dance
(discovery, dynamic registration, PKCE, consent, code exchange, refresh), the consent step driven
by HTTP requests carrying a console session cookie, and the bad inputs the issue names, each
refused with the error the specification names and nothing granted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import re
import secrets
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT = "http://127.0.0.1:33418/callback"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http(method: str, url: str, data: bytes | dict | None = None, headers: dict | None = None):
    """One request, redirects not followed; returns (status, headers, body text)."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if isinstance(data, dict):
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def mcp_post(url: str, token: str | None = None):
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http("POST", url, json.dumps(INIT).encode(), headers)


def console_cookie(dg) -> str:
    """Signs in to the console with the admin token, as a person would; returns the Cookie header."""
    status, headers, page = http("GET", dg.base + "/ui/sign-in")
    assert status == 200
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    signin = re.search(r"dg_signin=([^;]+)", headers["Set-Cookie"]).group(1)
    status, headers, _ = http("POST", dg.base + "/ui/sign-in", {"api_token": dg.admin_token, "nonce": nonce},
                              {"Cookie": f"dg_signin={signin}"})
    assert status == 303, status
    session = next(re.search(r"dg_session=([^;]+)", c).group(1)
                   for c in headers.get_all("Set-Cookie") if c.startswith("dg_session="))
    return f"dg_session={session}"


def hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def consent(dg, authorize_url: str, cookie: str, decision: str = "approve") -> str:
    """Opens the consent page as the signed-in operator and answers it; returns the redirect."""
    status, _, page = http("GET", authorize_url, headers={"Cookie": cookie})
    assert status == 200, page
    fields = {**hidden_fields(page), "decision": decision}
    status, headers, body = http("POST", dg.base + "/oauth/authorize", fields, {"Cookie": cookie})
    assert status == 303, body
    return headers["Location"]


def mint_oauth(dg, name: str, config: dict | None = None) -> tuple[str, str]:
    body = {"name": name, "auth": "oauth", **({"config": config} if config else {})}
    status, created = dg.api("POST", f"/integrated-account/{dg.account_id}/mcp", body)
    assert status == 201, created
    return created["id"], created["url"]


@pytest.fixture(scope="module")
def oauth_server(deskgate):
    return mint_oauth(deskgate, "oauth e2e")


@pytest.fixture(scope="module")
def cookie(deskgate):
    return console_cookie(deskgate)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class Flow:
    """The authorization code flow by hand, for the bad-input tests."""

    def __init__(self, dg, cookie: str, server_url: str, redirect: str = REDIRECT):
        self.dg, self.cookie, self.server_url, self.redirect = dg, cookie, server_url, redirect
        status, _, body = http("POST", dg.base + "/oauth/register",
                               json.dumps({"client_name": "bad input client", "redirect_uris": [redirect]}).encode(),
                               {"Content-Type": "application/json"})
        assert status == 201, body
        self.client_id = json.loads(body)["client_id"]

    def authorize_url(self, challenge: str, **override) -> str:
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect,
                  "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256",
                  "resource": self.server_url, "scope": "mcp", **override}
        params = {k: v for k, v in params.items() if v is not None}
        return self.dg.base + "/oauth/authorize?" + urllib.parse.urlencode(params)

    def code(self) -> tuple[str, str]:
        verifier, challenge = pkce()
        location = consent(self.dg, self.authorize_url(challenge), self.cookie)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        assert query["state"] == ["st-1"], location
        return query["code"][0], verifier

    def exchange(self, code: str, verifier: str, **override):
        fields = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                  "client_id": self.client_id, "redirect_uri": self.redirect, "resource": self.server_url, **override}
        status, _, body = http("POST", self.dg.base + "/oauth/token", {k: v for k, v in fields.items() if v})
        return status, json.loads(body)

    def tokens(self) -> dict:
        code, verifier = self.code()
        status, tokens = self.exchange(code, verifier)
        assert status == 200, tokens
        return tokens

    def refresh(self, refresh_token: str):
        status, _, body = http("POST", self.dg.base + "/oauth/token",
                               {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                "client_id": self.client_id, "resource": self.server_url})
        return status, json.loads(body)


def assert_invalid_token(status, headers):
    assert status == 401
    challenge = headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge, challenge


# --- discovery -------------------------------------------------------------------------------------


def test_an_oauth_server_has_no_secret_in_its_url_and_challenges_with_its_metadata(deskgate, oauth_server):
    server_id, url = oauth_server
    assert url == f"{deskgate.base}/mcp/{server_id}" and "dgm_" not in url
    status, headers, body = mcp_post(url)
    assert status == 401, body
    metadata_url = f"{deskgate.base}/.well-known/oauth-protected-resource/mcp/{server_id}"
    assert headers["WWW-Authenticate"] == f'Bearer resource_metadata="{metadata_url}", scope="mcp"'

    # The legacy SSE transport of the same server is behind the same challenge.
    status, headers, _ = http("GET", url + "/sse", headers={"Accept": "text/event-stream"})
    assert status == 401 and f'resource_metadata="{metadata_url}"' in headers["WWW-Authenticate"]

    status, _, body = http("GET", metadata_url)
    prm = json.loads(body)
    assert status == 200 and prm["resource"] == url and prm["authorization_servers"] == [deskgate.base + "/oauth"]
    status, _, body = http("GET", deskgate.base + "/.well-known/oauth-authorization-server/oauth")
    asm = json.loads(body)
    assert asm["issuer"] == deskgate.base + "/oauth"
    # The origin's own metadata stays absent, so URL-token servers look authless as before.
    assert http("GET", deskgate.base + "/.well-known/oauth-authorization-server")[0] == 404
    assert asm["code_challenge_methods_supported"] == ["S256"]
    assert asm["token_endpoint_auth_methods_supported"] == ["none"]
    for endpoint in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint"):
        assert asm[endpoint].startswith(deskgate.base + "/oauth/")

    # A URL-token server's id is neither an MCP URL nor a protected resource.
    status, servers = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp")
    url_token_server = next(s for s in servers["result"] if s["auth"] == "url_token")
    assert mcp_post(f"{deskgate.base}/mcp/{url_token_server['id']}")[0] == 404
    assert http("GET", f"{deskgate.base}/.well-known/oauth-protected-resource/mcp/{url_token_server['id']}")[0] == 404


# --- the official Python SDK ---------------------------------------------------------------------


class MemoryStorage:
    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


def test_python_sdk_oauth_provider_does_the_whole_dance(deskgate, oauth_server, cookie):
    server_id, url = oauth_server
    storage = MemoryStorage()
    seen: dict[str, str] = {}

    async def redirect_handler(authorize_url: str) -> None:
        seen["authorize"] = authorize_url
        status, _, page = http("GET", authorize_url, headers={"Cookie": cookie})
        assert status == 200, page
        seen["page"] = page
        seen["location"] = consent(deskgate, authorize_url, cookie)

    async def callback_handler() -> AuthorizationCodeResult:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(seen["location"]).query)
        # The SDK checks `iss` (RFC 9207) against the issuer since deskgate advertises it.
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query["iss"][0])

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="deskgate e2e client",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def session_calls():
        async with httpx2.AsyncClient(auth=provider, timeout=30) as http_client:
            async with streamable_http_client(url, http_client=http_client) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    tools = await session.list_tools()
                    ticket = await session.call_tool("list_all_gorgias_tickets", {"limit": 2})
                    return tools, ticket

    tools, ticket = asyncio.run(session_calls())
    assert len(tools.tools) == deskgate.tools_preview()["count"]
    assert not ticket.is_error, ticket
    query = urllib.parse.parse_qs(urllib.parse.urlparse(seen["authorize"]).query)
    assert query["resource"] == [url] and query["code_challenge_method"] == ["S256"]
    # The consent page said who asks for what.
    page = seen["page"]
    assert "deskgate e2e client" in page and "127.0.0.1:33418" in page and "oauth e2e" in page
    assert re.search(r"\d+ tools, <strong>\d+ of them can write", page), page

    # The grant is listed for the server, and the audit log names the OAuth client.
    status, grants = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{server_id}/grants")
    assert status == 200 and [g["client_name"] for g in grants["result"]] == ["deskgate e2e client"]
    status, logs = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{server_id}/logs")
    assert logs["result"][0]["client_name"].startswith("[oauth: deskgate e2e client]"), logs["result"][0]

    # The access token "expires": the SDK refreshes (rotation), and the next call works.
    first = storage.tokens
    provider.context.token_expiry_time = time.time() - 1
    tools_again, _ = asyncio.run(session_calls())
    assert len(tools_again.tools) == len(tools.tools)
    assert storage.tokens.refresh_token != first.refresh_token
    assert storage.tokens.access_token != first.access_token

    # The rotated-out refresh token replayed: refused, and the whole family revoked.
    client_id = storage.client.client_id
    status, _, body = http("POST", deskgate.base + "/oauth/token",
                           {"grant_type": "refresh_token", "refresh_token": first.refresh_token, "client_id": client_id})
    assert status == 400 and json.loads(body)["error"] == "invalid_grant", body
    assert_invalid_token(*mcp_post(url, storage.tokens.access_token)[:2])
    status, _, body = http("POST", deskgate.base + "/oauth/token",
                           {"grant_type": "refresh_token", "refresh_token": storage.tokens.refresh_token,
                            "client_id": client_id})
    assert status == 400 and json.loads(body)["error"] == "invalid_grant"
    status, grants = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{server_id}/grants")
    assert grants["result"] == []


# --- consent -----------------------------------------------------------------------------------------


def test_consent_needs_a_signed_in_operator_and_a_csrf_token(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    _, challenge = pkce()
    authorize = flow.authorize_url(challenge)
    status, headers, _ = http("GET", authorize)
    assert status == 303 and headers["Location"].startswith("/ui/sign-in?next=%2Foauth%2Fauthorize%3F")
    # Signing in from there comes back to the consent page.
    status, headers, page = http("GET", deskgate.base + headers["Location"])
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    next_field = html.unescape(re.search(r'name="next" value="([^"]+)"', page).group(1))
    signin = re.search(r"dg_signin=([^;]+)", headers["Set-Cookie"]).group(1)
    status, headers, _ = http("POST", deskgate.base + "/ui/sign-in",
                              {"api_token": deskgate.admin_token, "nonce": nonce, "next": next_field},
                              {"Cookie": f"dg_signin={signin}"})
    assert status == 303 and headers["Location"] == authorize.removeprefix(deskgate.base)
    # An open redirect through `next` is not possible.
    status, headers, _ = http("GET", deskgate.base + "/ui/sign-in?next=https://evil.example/", headers={"Cookie": cookie})
    assert status == 303 and headers["Location"] == "/ui"

    status, _, page = http("GET", authorize, headers={"Cookie": cookie})
    fields = {**hidden_fields(page), "decision": "approve"}
    del fields["csrf"]
    status, headers, _ = http("POST", deskgate.base + "/oauth/authorize", fields, {"Cookie": cookie})
    assert status == 403 and "Location" not in headers

    location = consent(deskgate, authorize, cookie, decision="deny")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert location.startswith(REDIRECT) and query["error"] == ["access_denied"] and query["state"] == ["st-1"]
    assert "code" not in query


# --- bad input ------------------------------------------------------------------------------------------


def test_a_wrong_pkce_verifier_is_refused_and_burns_the_code(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    code, verifier = flow.code()
    status, error = flow.exchange(code, pkce()[0])
    assert status == 400 and error["error"] == "invalid_grant", error
    status, error = flow.exchange(code, verifier)
    assert status == 400 and error["error"] == "invalid_grant", "the code must not work after a failed exchange"


def test_a_reused_code_is_refused_and_revokes_what_it_issued(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    code, verifier = flow.code()
    status, tokens = flow.exchange(code, verifier)
    assert status == 200 and tokens["token_type"].lower() == "bearer" and tokens["expires_in"] == 3600
    assert mcp_post(url, tokens["access_token"])[0] == 200
    status, error = flow.exchange(code, verifier)
    assert status == 400 and error["error"] == "invalid_grant"
    assert_invalid_token(*mcp_post(url, tokens["access_token"])[:2])
    assert flow.refresh(tokens["refresh_token"])[1]["error"] == "invalid_grant"


def test_a_mismatched_redirect_uri_is_refused(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    # At the authorization endpoint: shown, never redirected to.
    _, challenge = pkce()
    status, headers, page = http("GET", flow.authorize_url(challenge, redirect_uri="https://evil.example/cb"),
                                 headers={"Cookie": cookie})
    assert status == 400 and "Location" not in headers and "redirect URI" in page
    # At the token endpoint.
    code, verifier = flow.code()
    status, error = flow.exchange(code, verifier, redirect_uri="http://127.0.0.1:33418/other")
    assert status == 400 and error["error"] == "invalid_grant"
    assert flow.exchange(code, verifier)[1]["error"] == "invalid_grant"
    # At registration: plain http off loopback, a fragment.
    for bad in ("http://evil.example/cb", "https://ok.example/cb#x"):
        status, _, body = http("POST", deskgate.base + "/oauth/register",
                               json.dumps({"client_name": "x", "redirect_uris": [bad]}).encode(),
                               {"Content-Type": "application/json"})
        assert status == 400 and json.loads(body)["error"] == "invalid_redirect_uri", body


def test_authorization_requests_without_s256_or_a_known_resource_are_refused(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    _, challenge = pkce()
    for override, error in [({"code_challenge_method": "plain"}, "invalid_request"),
                            ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
                            ({"resource": None}, "invalid_request"),
                            ({"resource": deskgate.mcp_url}, "invalid_target"),
                            ({"response_type": "token"}, "unsupported_response_type")]:
        status, headers, _ = http("GET", flow.authorize_url(challenge, **override), headers={"Cookie": cookie})
        query = urllib.parse.parse_qs(urllib.parse.urlparse(headers["Location"]).query)
        assert status == 303 and query["error"] == [error] and "code" not in query, (override, headers["Location"])


def test_a_token_for_another_server_is_refused(deskgate, oauth_server, cookie):
    _, url = oauth_server
    other_id, other_url = mint_oauth(deskgate, "other oauth server")
    tokens = Flow(deskgate, cookie, url).tokens()
    assert mcp_post(url, tokens["access_token"])[0] == 200
    assert_invalid_token(*mcp_post(other_url, tokens["access_token"])[:2])
    # Nor can the refresh token be turned into a token for the other server.
    flow = Flow(deskgate, cookie, url)
    tokens = flow.tokens()
    status, _, body = http("POST", deskgate.base + "/oauth/token",
                           {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                            "client_id": flow.client_id, "resource": other_url})
    assert status == 400 and json.loads(body)["error"] == "invalid_target"
    assert_invalid_token(*mcp_post(other_url, tokens["access_token"])[:2])


def database(dg) -> Path:
    return Path(f"/proc/{dg.process.pid}/cwd").resolve() / "deskgate.db"


def test_an_expired_or_revoked_token_is_refused(deskgate, oauth_server, cookie):
    server_id, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    tokens = flow.tokens()
    assert mcp_post(url, tokens["access_token"])[0] == 200
    digest = hashlib.sha256(tokens["access_token"].encode()).hexdigest()
    with sqlite3.connect(database(deskgate)) as db:
        db.execute("UPDATE oauth_tokens SET expires_at = 0 WHERE token_hash = ?", (digest,))
    assert_invalid_token(*mcp_post(url, tokens["access_token"])[:2])

    # Revoked by an operator through the API: the next request fails.
    tokens = flow.tokens()
    assert mcp_post(url, tokens["access_token"])[0] == 200
    _, grants = deskgate.api("GET", f"/integrated-account/{deskgate.account_id}/mcp/{server_id}/grants")
    grant = next(g for g in grants["result"] if g["client_id"] == flow.client_id)
    status, _ = deskgate.api("DELETE", f"/integrated-account/{deskgate.account_id}/mcp/{server_id}/grants/{grant['id']}")
    assert status == 204
    assert_invalid_token(*mcp_post(url, tokens["access_token"])[:2])
    assert flow.refresh(tokens["refresh_token"])[1]["error"] == "invalid_grant"

    # Revoked by the client (RFC 7009) with its refresh token: the access token goes too.
    tokens = flow.tokens()
    status, _, _ = http("POST", deskgate.base + "/oauth/revoke",
                        {"token": tokens["refresh_token"], "client_id": flow.client_id})
    assert status == 200
    assert_invalid_token(*mcp_post(url, tokens["access_token"])[:2])
    # An unknown token is answered 200, as RFC 7009 requires.
    assert http("POST", deskgate.base + "/oauth/revoke", {"token": "dgr_nothing", "client_id": flow.client_id})[0] == 200


def test_no_oauth_secret_reaches_the_log(deskgate, oauth_server, cookie):
    _, url = oauth_server
    flow = Flow(deskgate, cookie, url)
    code, verifier = flow.code()
    status, tokens = flow.exchange(code, verifier)
    assert status == 200
    mcp_post(url, tokens["access_token"])
    time.sleep(0.2)
    for secret in (code, tokens["access_token"], tokens["refresh_token"], verifier):
        assert secret not in deskgate.log_text
