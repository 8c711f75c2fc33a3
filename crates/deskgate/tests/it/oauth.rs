//! OAuth end to end over real sockets: connect through the sandbox's consent page, call tools,
//! let the access token expire and see one refresh for many concurrent calls, revoke the grant
//! and see `needs_reauth` with a clear tool error, reconnect, and calls work again.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Console, Options, RawMcp, TestServer, browser, captured_logs};

const CLIENT_ID: &str = "606d8961c9809e208baf1835";
const CLIENT_SECRET: &str = "sandbox-client-secret";

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect from {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn binding_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("dg_oauth="))
        .and_then(|c| c.split(';').next())
        .expect("the flow sets its binding cookie")
        .to_owned()
}

async fn configure_app(s: &TestServer) {
    let (status, body) = s
        .api(
            Method::PUT,
            "/oauth-app/gorgias",
            Some(json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.to_string().contains(CLIENT_SECRET),
        "the client secret came back"
    );
}

/// Runs the browser side of a connect flow; returns the callback response.
async fn connect(s: &TestServer, decision: &str, account_id: Option<&str>) -> reqwest::Response {
    let browser = browser();
    let mut begin = format!(
        "{}/connect/gorgias?subdomain=acme&api_base_url={}",
        s.base,
        urlencode(&s.sandbox.base_url())
    );
    if let Some(id) = account_id {
        begin.push_str(&format!("&account_id={id}"));
    }
    let started = browser
        .get(&begin)
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    assert!(started.status().is_redirection(), "{}", started.status());
    let authorize = location(&started);
    let cookie = binding_cookie(&started);
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", s.sandbox.base_url())),
        "{authorize}"
    );
    let params = query_of(&authorize);
    assert_eq!(params["client_id"], CLIENT_ID);
    assert!(
        params["scope"].contains("offline"),
        "no refresh token would be issued: {}",
        params["scope"]
    );
    // Gorgias documents no PKCE, and the definition says so: nothing it might reject is sent.
    assert!(!params.contains_key("code_challenge"));
    assert_eq!(params["state"].len(), 43, "the state is 256 random bits");

    // The consent page renders, then the user decides.
    let page = browser.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut form: Vec<(String, String)> = params.into_iter().collect();
    form.push(("decision".into(), decision.into()));
    let decided = browser
        .post(format!("{}/oauth/authorize", s.sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(decided.status().is_redirection(), "{}", decided.status());
    let callback = location(&decided);
    assert!(
        callback.starts_with(&format!("{}/connect/gorgias/callback?", s.base)),
        "{callback}"
    );
    browser
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn token_requests(s: &TestServer) -> u64 {
    s.sandbox.state().oauth_token_requests()
}

#[tokio::test]
async fn oauth_accounts_connect_refresh_once_and_recover_from_revocation() {
    let s = TestServer::start_with(Options::default()).await.unwrap();
    configure_app(&s).await;

    let landed = connect(&s, "approve", None).await;
    assert!(landed.status().is_redirection(), "{}", landed.status());
    let page = location(&landed);
    let account_id = page
        .strip_prefix("/ui/accounts/")
        .expect("lands on the account page")
        .to_owned();
    let (_, account) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account_id}"),
            None,
        )
        .await;
    assert_eq!(account["auth_type"], "oauth2");
    assert_eq!(account["status"], "active");

    let (_, url) = s.mint(&account_id, json!({"name": "oauth"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 2})).await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    assert_eq!(
        reply.headers["ratelimit-limit"], "80",
        "OAuth apps get the larger bucket"
    );

    // The access token expires: 50 concurrent calls cause exactly one refresh.
    let before = token_requests(&s).await;
    s.sandbox.state().expire_access_tokens();
    let calls = (0..50).map(|_| {
        let mcp = RawMcp::new(&url);
        async move { mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await }
    });
    let replies = futures::future::join_all(calls).await;
    let ok = replies
        .iter()
        .filter(|r| r.body["result"]["isError"] == false)
        .count();
    let refreshes = token_requests(&s).await - before;
    assert_eq!(refreshes, 1, "expected one refresh for 50 concurrent calls");
    // Calls beyond the sandbox's burst may be rate limited, never refused for auth.
    for reply in &replies {
        let text = reply.body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(!text.contains("reconnect"), "{text}");
    }
    assert!(ok > 0);

    // The grant is revoked: the account needs a person, and tools say so.
    s.sandbox.state().revoke_all_tokens();
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("reconnected"), "{text}");
    let (_, account) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account_id}"),
            None,
        )
        .await;
    assert_eq!(account["status"], "needs_reauth");
    // And stays refused without calling Gorgias again.
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    assert_eq!(reply.body["result"]["isError"], true);

    // Reconnecting the same account makes the same URL work again.
    let landed = connect(&s, "approve", Some(&account_id)).await;
    assert_eq!(location(&landed), format!("/ui/accounts/{account_id}"));
    let (_, account) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account_id}"),
            None,
        )
        .await;
    assert_eq!(account["status"], "active");
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);

    let logs = captured_logs();
    assert!(
        !logs.contains(CLIENT_SECRET),
        "the client secret reached a log line"
    );
    for token in s.sandbox.state().issued_tokens() {
        assert!(!logs.contains(&token), "an OAuth token reached a log line");
    }
    s.stop().await;
}

#[tokio::test]
async fn failed_flows_end_on_a_clear_page_and_leave_nothing() {
    let s = TestServer::start().await;
    // Not configured yet.
    let browser = browser();
    let response = browser
        .get(format!("{}/connect/gorgias?subdomain=acme", s.base))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("not configured"));
    configure_app(&s).await;

    // Signed out: no flow starts.
    let response = browser
        .get(format!("{}/connect/gorgias?subdomain=acme", s.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert!(location(&response).starts_with("/ui/sign-in"));

    // Denied consent.
    let denied = connect(&s, "deny", None).await;
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    assert!(denied.text().await.unwrap().contains("declined"));

    // A callback with an unknown state, or without the browser's cookie, or replayed.
    let bad = browser
        .get(format!(
            "{}/connect/gorgias/callback?code=x&state=forged",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("not valid"));

    let (_, list) = s.api(Method::GET, "/integrated-account", None).await;
    assert_eq!(
        list["result"],
        Value::Array(vec![]),
        "a failed flow left an account behind"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_callback_cannot_be_replayed_or_used_from_another_browser() {
    let s = TestServer::start().await;
    configure_app(&s).await;
    let browser = browser();
    let started = browser
        .get(format!(
            "{}/connect/gorgias?subdomain=acme&api_base_url={}",
            s.base,
            urlencode(&s.sandbox.base_url())
        ))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    let authorize = location(&started);
    let cookie = binding_cookie(&started);
    let mut form: Vec<(String, String)> = query_of(&authorize).into_iter().collect();
    form.push(("decision".into(), "approve".into()));
    let decided = browser
        .post(format!("{}/oauth/authorize", s.sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = location(&decided);
    // Another browser (no binding cookie) is refused, and that consumes the state.
    let stranger = browser.get(&callback).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    let replay = browser
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let (_, list) = s.api(Method::GET, "/integrated-account", None).await;
    assert_eq!(list["result"].as_array().unwrap().len(), 0);
    s.stop().await;
}

/// A signed-in console on the "Connect Gorgias" page, which offers read-only.
async fn console_session(s: &TestServer) -> Console<'_> {
    let console = s.console("/ui/accounts/new").await;
    let (_, page) = console.get("/ui/accounts/new").await;
    assert!(
        page.contains("id=\"access-read_only\""),
        "the OAuth form offers read-only"
    );
    console
}

/// The console's "Connect with OAuth" form, posted without following the redirect.
async fn post_oauth_form(console: &Console<'_>, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &console.csrf));
    console
        .request(Method::POST, "/ui/accounts/oauth")
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Consents at the sandbox and follows its redirect back to deskgate's callback; returns the
/// connected account's id.
async fn consent_and_land(s: &TestServer, started: &reqwest::Response) -> String {
    let authorize = location(started);
    let cookie = binding_cookie(started);
    let mut form: Vec<(String, String)> = query_of(&authorize).into_iter().collect();
    form.push(("decision".into(), "approve".into()));
    let decided = browser()
        .post(format!("{}/oauth/authorize", s.sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let landed = browser()
        .get(location(&decided))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    location(&landed)
        .strip_prefix("/ui/accounts/")
        .expect("lands on the account page")
        .to_owned()
}

fn tool_names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_read_only_oauth_connection_asks_for_read_scopes_and_its_servers_only_read() {
    read_only_connection_on(TestServer::start().await).await;
}

/// The same on PostgreSQL (the flow's asked scopes, migration 0150), when a test database is
/// set.
#[tokio::test]
async fn a_read_only_oauth_connection_on_postgres() {
    if let Some(s) = TestServer::start_on(crate::support::Backend::Postgres).await {
        read_only_connection_on(s).await;
    }
}

async fn read_only_connection_on(s: TestServer) {
    configure_app(&s).await;
    let console = console_session(&s).await;
    let sandbox = s.sandbox.base_url();

    // The console's form, read-only: straight to Gorgias's consent page, asking for no write
    // scope, and the form's CSRF token goes no further than the POST.
    let started = post_oauth_form(
        &console,
        &[
            ("subdomain", "acme"),
            ("api_base_url", &sandbox),
            ("access", "read_only"),
        ],
    )
    .await;
    assert!(started.status().is_redirection(), "{}", started.status());
    let authorize = location(&started);
    assert!(
        authorize.starts_with(&format!("{sandbox}/oauth/authorize?")),
        "{authorize}"
    );
    assert!(
        !authorize.contains(&console.csrf),
        "the CSRF token left the form: {authorize}"
    );
    let asked = query_of(&authorize)["scope"].clone();
    assert!(
        asked.contains("tickets:read") && asked.contains("offline"),
        "{asked}"
    );
    assert!(!asked.contains(":write"), "{asked}");
    let account_id = consent_and_land(&s, &started).await;

    // The account records what was granted: read scopes only.
    let (_, account) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account_id}"),
            None,
        )
        .await;
    let granted = account["context"]["scope"].as_str().unwrap();
    assert!(
        granted.contains("tickets:read") && !granted.contains(":write"),
        "{granted}"
    );

    // The Overview says so.
    let (_, overview) = console.get(&format!("/ui/accounts/{account_id}")).await;
    assert!(
        overview.contains("id=\"read-only-access\""),
        "the Overview does not say read-only"
    );

    // A server minted with every method offers only the reads, in the preview and to a client.
    let (_, preview) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account_id}/tools"),
            None,
        )
        .await;
    let (_, url) = s.mint(&account_id, json!({"name": "everything"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let listed = tool_names(&mcp.list_tools().await);
    assert_eq!(listed, tool_names(preview["tools"].as_array().unwrap()));
    assert!(
        listed.contains(&"list_all_gorgias_tags".to_owned()),
        "{listed:?}"
    );
    for write in [
        "create_a_gorgias_tag",
        "create_a_gorgias_message",
        "triage_gorgias_ticket",
    ] {
        assert!(!listed.contains(&write.to_owned()), "{write} is offered");
    }
    // The console's create form previews the same: "All methods" leaves the reads.
    let (_, form) = console
        .get(&format!(
            "/ui/accounts/{account_id}/servers/new?method_scope=all"
        ))
        .await;
    let count = format!("id=\"preview-count\" data-count=\"{}\"", listed.len());
    assert!(
        form.contains(&count),
        "the console's preview is not {count}"
    );
    let read = mcp.call("list_all_gorgias_tags", json!({"limit": 2})).await;
    assert_eq!(read.body["result"]["isError"], false, "{}", read.body);
    let write = mcp
        .call("create_a_gorgias_tag", json!({"name": "vip"}))
        .await;
    assert_eq!(
        write.body["error"]["message"], "unknown tool: create_a_gorgias_tag",
        "{}",
        write.body
    );

    // An `oauth` server of the account: its consent page counts no write either.
    let (_, oauth_server) = s
        .api(
            Method::POST,
            &format!("/integrated-account/{account_id}/mcp"),
            Some(json!({"name": "agents", "auth": "oauth"})),
        )
        .await;
    let registered: Value = s
        .http
        .post(format!("{}/oauth/register", s.base))
        .json(&json!({"client_name": "Test client",
                      "redirect_uris": ["http://127.0.0.1:9/callback"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let consent = console
        .request(Method::GET, "/oauth/authorize")
        .query(&[
            ("response_type", "code"),
            ("client_id", registered["client_id"].as_str().unwrap()),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("state", "xyz"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("resource", oauth_server["url"].as_str().unwrap()),
            ("scope", "mcp"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reads = format!("{} tools, read-only", listed.len());
    assert!(
        consent.contains(&reads),
        "the consent page does not say {reads}: {consent}"
    );

    // Reconnect (no choice on that button) keeps the account read-only.
    let again = post_oauth_form(
        &console,
        &[
            ("subdomain", "acme"),
            ("api_base_url", &sandbox),
            ("account_id", &account_id),
        ],
    )
    .await;
    let asked = query_of(&location(&again))["scope"].clone();
    assert!(!asked.contains(":write"), "{asked}");

    // Connecting with read and write asks for the write scopes, and its servers write.
    let full = post_oauth_form(
        &console,
        &[
            ("subdomain", "acme"),
            ("api_base_url", &sandbox),
            ("access", "full"),
            ("account_id", &account_id),
        ],
    )
    .await;
    assert!(query_of(&location(&full))["scope"].contains("tags:write"));
    assert_eq!(consent_and_land(&s, &full).await, account_id);
    // Re-authorizing reaches the server's cached tenant at once on this replica.
    let listed = tool_names(&mcp.list_tools().await);
    assert!(
        listed.contains(&"create_a_gorgias_tag".to_owned()),
        "{listed:?}"
    );
    let write = mcp
        .call("create_a_gorgias_tag", json!({"name": "read-only no more"}))
        .await;
    assert_eq!(write.body["result"]["isError"], false, "{}", write.body);
}

#[tokio::test]
async fn a_bad_subdomain_on_the_console_form_says_so_without_the_csrf_token_in_the_address_bar() {
    let s = TestServer::start_with(Options::default()).await.unwrap();
    configure_app(&s).await;
    let console = console_session(&s).await;
    let answer = post_oauth_form(&console, &[("subdomain", "not a subdomain!")]).await;
    // The answer is the page itself, at the form's own address: no redirect to a URL that
    // carries the token (before, the form redirected to /connect/gorgias?…&csrf=<token>).
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.headers().get("location").is_none());
    assert_eq!(answer.url().path(), "/ui/accounts/oauth");
    assert_eq!(answer.url().query(), None);
    let page = answer.text().await.unwrap();
    assert!(page.contains("Could not connect the account"), "{page}");
    assert!(page.to_lowercase().contains("subdomain"), "{page}");
    assert!(
        !page.contains(&console.csrf),
        "the page echoes the CSRF token"
    );
    // Without the CSRF token the form starts nothing.
    let refused = console
        .request(Method::POST, "/ui/accounts/oauth")
        .form(&[("subdomain", "acme")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
