//! OAuth end to end over real sockets: connect through the sandbox's consent page, call tools,
//! let the access token expire and see one refresh for many concurrent calls, revoke the grant
//! and see `needs_reauth` with a clear tool error, reconnect, and calls work again.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Options, RawMcp, TestServer, captured_logs};

const CLIENT_ID: &str = "606d8961c9809e208baf1835";
const CLIENT_SECRET: &str = "sandbox-client-secret";

/// A client that does not follow redirects, so each hop can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

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
