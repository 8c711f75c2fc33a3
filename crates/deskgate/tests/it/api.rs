//! The management API over HTTP, on SQLite and on PostgreSQL: every endpoint, and the promises
//! around them (tokens shown once, filters checked, expiry enforced, secrets never echoed).

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, RawMcp, TestServer, captured_logs, in_secs};

async fn on(backend: Backend) -> Option<TestServer> {
    TestServer::start_on(backend).await
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(server) = super::on(super::Backend::Sqlite).await {
                    super::$name(&server).await;
                    server.stop().await;
                }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(server) = super::on(super::Backend::Postgres).await {
                    super::$name(&server).await;
                    server.stop().await;
                }
            })*
        }
    };
}

on_both_backends!(
    accounts_lifecycle,
    bad_credentials_store_nothing,
    mcp_servers_lifecycle,
    tokens_are_shown_once,
    filters_that_leave_no_tools_are_refused,
    expired_servers_are_refused_and_swept,
    revoked_api_tokens_stop_at_once,
    bad_inputs_get_one_error_shape,
    tools_preview_follows_the_filters,
    admin_tools_are_offered_only_when_asked_for,
);

async fn accounts_lifecycle(s: &TestServer) {
    let (status, created) = s
        .api(
            Method::POST,
            "/integrated-account",
            Some(s.sandbox_account_body()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for key in [
        "id",
        "integration",
        "name",
        "status",
        "created_at",
        "updated_at",
    ] {
        assert!(created.get(key).is_some(), "{key} missing from {created}");
    }
    assert_eq!(created["integration"], "gorgias");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap();
    let api_key = s.sandbox.config().api_key.clone();
    assert!(
        !created.to_string().contains(&api_key),
        "the API key came back"
    );

    let (status, one) = s
        .api(Method::GET, &format!("/integrated-account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], created["id"]);
    assert!(!one.to_string().contains(&api_key));

    let (status, list) = s.api(Method::GET, "/integrated-account", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == created["id"])
    );

    let (status, renamed) = s
        .api(
            Method::PATCH,
            &format!("/integrated-account/{id}"),
            Some(json!({"name": "Support desk"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Support desk");

    // Re-keying with a wrong key is refused and changes nothing.
    let c = s.sandbox.config();
    let (status, refused) = s
        .api(
            Method::PATCH,
            &format!("/integrated-account/{id}"),
            Some(json!({"credentials": {"subdomain": c.subdomain, "email": c.email, "api_key": "wrong"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    // Deleting the account deletes its MCP servers: their URLs stop answering.
    let (_, url) = s.mint(id, json!({"name": "all"})).await;
    let mcp = RawMcp::new(&url);
    assert_eq!(mcp.initialize().await.status, StatusCode::OK);
    let (status, _) = s
        .api(Method::DELETE, &format!("/integrated-account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(mcp.initialize().await.status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .api(Method::GET, &format!("/integrated-account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .api(Method::GET, &format!("/integrated-account/{id}/mcp"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert!(
        !captured_logs().contains(&api_key),
        "the API key reached a log line"
    );
}

async fn bad_credentials_store_nothing(s: &TestServer) {
    let mut body = s.sandbox_account_body();
    body["credentials"]["api_key"] = json!("definitely-not-the-key");
    let (status, error) = s.api(Method::POST, "/integrated-account", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("refused these credentials"), "{message}");
    assert!(!error.to_string().contains("definitely-not-the-key"));
    let (_, list) = s.api(Method::GET, "/integrated-account", None).await;
    assert_eq!(
        list["result"].as_array().unwrap().len(),
        0,
        "a refused account was stored"
    );

    // A subdomain that could point elsewhere is refused before any request is made.
    let mut body = s.sandbox_account_body();
    body.as_object_mut().unwrap().remove("api_base_url");
    for bad in ["evil.com/x", "a b", "-acme", "acme.evil.com", "", "ACME@x"] {
        body["credentials"]["subdomain"] = json!(bad);
        let (status, error) = s
            .api(Method::POST, "/integrated-account", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {error}");
    }
    assert!(!captured_logs().contains("definitely-not-the-key"));
}

async fn mcp_servers_lifecycle(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let expires = in_secs(3600);
    let (status, created) = s
        .api(
            Method::POST,
            &format!("/integrated-account/{account}/mcp"),
            Some(
                json!({"name": "Triage", "config": {"methods": ["read"], "tags": ["tickets"]},
                        "require_api_token_auth": false, "expires_at": expires}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for key in [
        "id",
        "name",
        "config",
        "require_api_token_auth",
        "expires_at",
        "url",
        "integrated_account_id",
        "created_at",
    ] {
        assert!(created.get(key).is_some(), "{key} missing from {created}");
    }
    let url = created["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/mcp/", s.base)), "{url}");
    let id = created["id"].as_str().unwrap();
    let path = format!("/integrated-account/{account}/mcp/{id}");

    let (status, one) = s.api(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        one["config"],
        json!({"methods": ["read"], "tags": ["tickets"], "tool_exposure": "all"})
    );

    let (status, patched) = s
        .api(
            Method::PATCH,
            &path,
            Some(json!({"name": "Triage v2", "expires_at": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Triage v2");
    assert_eq!(patched["expires_at"], Value::Null);

    let (status, list) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/mcp"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["result"].as_array().unwrap().len(), 1);

    let (status, _) = s.api(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.api(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        RawMcp::new(url).initialize().await.status,
        StatusCode::NOT_FOUND
    );
}

async fn tokens_are_shown_once(s: &TestServer) {
    let (status, created) = s
        .api(Method::POST, "/api-token", Some(json!({"name": "ci"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let (status, list) = s.api(Method::GET, "/api-token", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains(&token), "a token was listed");
    assert!(
        list["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("token").is_none())
    );
    // The minted token works.
    let (status, _) = s
        .api_as(&token, Method::GET, "/integrated-account", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let account = s.connect_sandbox().await;
    let (id, url) = s.mint(&account, json!({"name": "once"})).await;
    let secret = url.rsplit('/').next().unwrap().to_owned();
    for path in [
        format!("/integrated-account/{account}/mcp/{id}"),
        format!("/integrated-account/{account}/mcp"),
    ] {
        let (_, body) = s.api(Method::GET, &path, None).await;
        assert!(
            !body.to_string().contains(&secret),
            "the MCP token came back from {path}"
        );
        assert!(!body.to_string().contains("/mcp/dgm_"));
    }
    assert!(
        !captured_logs().contains(&secret),
        "an MCP token reached a log line"
    );
    assert!(
        !captured_logs().contains(&token),
        "an API token reached a log line"
    );
}

async fn filters_that_leave_no_tools_are_refused(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let path = format!("/integrated-account/{account}/mcp");
    // Events are read-only in Gorgias: no tool both writes and is about events.
    let (status, error) = s
        .api(
            Method::POST,
            &path,
            Some(json!({"name": "x", "config": {"methods": ["write"], "tags": ["events"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no tools"),
        "{error}"
    );

    let (status, error) = s
        .api(
            Method::POST,
            &path,
            Some(json!({"name": "x", "config": {"tags": ["no-such-tag"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-tag"),
        "{error}"
    );

    let (status, error) = s
        .api(
            Method::POST,
            &path,
            Some(json!({"name": "x", "config": {"methods": ["reed"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

    // The same rule holds for PATCH, and a refused PATCH changes nothing.
    let (id, _) = s
        .mint(
            &account,
            json!({"name": "ok", "config": {"methods": ["read"]}}),
        )
        .await;
    let (status, _) = s
        .api(
            Method::PATCH,
            &format!("{path}/{id}"),
            Some(json!({"config": {"methods": ["write"], "tags": ["events"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, unchanged) = s.api(Method::GET, &format!("{path}/{id}"), None).await;
    assert_eq!(unchanged["config"]["methods"], json!(["read"]));
}

async fn expired_servers_are_refused_and_swept(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let path = format!("/integrated-account/{account}/mcp");
    let (status, error) = s
        .api(
            Method::POST,
            &path,
            Some(json!({"name": "x", "expires_at": in_secs(30)})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an expiry under 60 s was accepted: {error}"
    );

    let (id, url) = s
        .mint(
            &account,
            json!({"name": "short", "expires_at": in_secs(120)}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    assert_eq!(mcp.initialize().await.status, StatusCode::OK);
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (_, logs) = s.api(Method::GET, &format!("{path}/{id}/logs"), None).await;
    assert_eq!(logs["result"].as_array().unwrap().len(), 1, "{logs}");

    // Time passes: move the expiry into the past behind the API's back, as the clock would.
    let mut server = s
        .app
        .store
        .get_mcp_server(&account, &id)
        .await
        .unwrap()
        .unwrap();
    server.expires_at = Some(deskgate::timestamp::Timestamp::now().plus_secs(-1));
    assert!(s.app.store.update_mcp_server(&server).await.unwrap());
    // The store was changed behind the app's back, which real time never does: in real life
    // the cached copy carries the same expiry, so drop the stale copy to model that.
    s.app.tenants.invalidate_all();
    // The next request is refused at once, whatever is cached.
    assert_eq!(mcp.list_tools_status().await, StatusCode::NOT_FOUND);
    let (status, _) = s.api(Method::GET, &format!("{path}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The sweeper deletes the server and its access records.
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if s.app
            .store
            .get_mcp_server(&account, &id)
            .await
            .unwrap()
            .is_none()
        {
            gone = true;
            break;
        }
    }
    assert!(gone, "the sweeper did not delete the expired server");
    let records = s
        .app
        .store
        .list_tool_calls(
            &account,
            &deskgate::audit::ToolCallQuery {
                mcp_server_id: Some(id.clone()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The server and its URL are gone; its history is not (issue 16): still readable by
    // server id through the API.
    assert!(
        !records.is_empty(),
        "the expired server's records were erased"
    );
    let (status, page) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp/{id}/logs"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["result"].as_array().unwrap().len(), records.len());
}

async fn revoked_api_tokens_stop_at_once(s: &TestServer) {
    let (_, created) = s
        .api(Method::POST, "/api-token", Some(json!({"name": "temp"})))
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "guarded", "require_api_token_auth": true}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    let bearer = format!("Bearer {token}");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(
        mcp.post_with(init.clone(), &[("authorization", &bearer)])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        s.api_as(&token, Method::GET, "/integrated-account", None)
            .await
            .0,
        StatusCode::OK
    );

    let (status, _) = s
        .api(Method::DELETE, &format!("/api-token/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.api_as(&token, Method::GET, "/integrated-account", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        mcp.post_with(init, &[("authorization", &bearer)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn bad_inputs_get_one_error_shape(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let cases: Vec<(Method, String, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/integrated-account".into(),
            Some(
                json!({"integration": "zendesk", "credentials": {"subdomain": "a", "email": "a@b.c", "api_key": "k"}}),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/integrated-account".into(),
            Some(json!({"integration": "gorgias", "surprise": 1})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/integrated-account/{account}/mcp"),
            Some(json!({"name": "x", "unknown_field": true})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/integrated-account/{account}/mcp"),
            Some(json!({"name": ""})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/integrated-account/{account}/mcp"),
            Some(json!({"name": "x", "expires_at": "tomorrow"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/integrated-account/nope".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/integrated-account/{account}/mcp/nope"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/integrated-account?limit=1000".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, error) = s.api(method.clone(), &path, body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {error}");
        assert!(
            error["error"]["code"].is_string() && error["error"]["message"].is_string(),
            "{error}"
        );
    }
    // Without a token nothing works.
    let response = s
        .http
        .get(format!("{}/integrated-account", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Malformed JSON.
    let response = s
        .http
        .post(format!("{}/integrated-account", s.base))
        .bearer_auth(&s.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (_, list) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/mcp"),
            None,
        )
        .await;
    assert_eq!(
        list["result"].as_array().unwrap().len(),
        0,
        "a refused request left a server behind"
    );

    // The OpenAPI document describes these endpoints.
    let (status, doc) = s.api(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/integrated-account",
        "/integrated-account/{id}/mcp",
        "/integrated-account/{id}/tools",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
}

async fn tools_preview_follows_the_filters(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let (status, all) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/tools"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let (status, read_tickets) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/tools?methods=read&tags=tickets"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read_tickets}");
    let count = read_tickets["count"].as_u64().unwrap();
    assert!(count > 0 && count < all["count"].as_u64().unwrap());
    for tool in read_tickets["tools"].as_array().unwrap() {
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
    }
    let names: Vec<&str> = read_tickets["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"list_all_gorgias_tickets")
            && names.contains(&"get_single_gorgias_ticket_by_id"),
        "{names:?}"
    );
    assert!(!names.contains(&"update_a_gorgias_ticket_by_id"));
    assert!(read_tickets["tools_list_bytes"].as_u64().unwrap() > 0);
    assert!(read_tickets["tokens"].as_u64().unwrap() > 0);
}

/// Issue 14: the writes that change the helpdesk's set-up (here, macros) are offered only to a
/// server that asks for admin tools or names them; on every path a call can take, not only in
/// the list, and nothing reaches Gorgias when they are not offered.
async fn admin_tools_are_offered_only_when_asked_for(s: &TestServer) {
    let account = s.connect_sandbox().await;
    let path = format!("/integrated-account/{account}/mcp");
    let macro_args = json!({"name": "Refund policy", "actions": []});

    // A config whose only tools are admin tools says so, and how to ask for them.
    let (status, error) = s
        .api(
            Method::POST,
            &path,
            Some(json!({"name": "x", "config": {"methods": ["write"], "tags": ["macros"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("admin_tools: true") && message.contains("create_a_gorgias_macro"),
        "{message}"
    );

    let config = json!({"methods": ["read", "write"], "tags": ["macros"]});
    let (id, url) = s
        .mint(&account, json!({"name": "macros", "config": config}))
        .await;
    let (_, discovery_url) = s
        .mint(
            &account,
            json!({"name": "macros (discovery)",
                   "config": {"methods": ["read", "write"], "tags": ["macros"], "tool_exposure": "discovery"}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let names = |tools: Vec<Value>| -> Vec<String> {
        tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = names(mcp.list_tools().await);
    assert!(
        listed.contains(&"list_all_gorgias_macros".to_owned()),
        "{listed:?}"
    );
    assert!(
        !listed.contains(&"create_a_gorgias_macro".to_owned()),
        "{listed:?}"
    );

    let before = s.sandbox.state().request_count();
    let refused = mcp.call("create_a_gorgias_macro", macro_args.clone()).await;
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown tool")),
        "{}",
        refused.body
    );
    let discovery = RawMcp::new(&discovery_url);
    discovery.initialize().await;
    let refused = discovery
        .call(
            "call_write_tool",
            json!({"name": "create_a_gorgias_macro", "arguments": macro_args}),
        )
        .await;
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.body);
    assert_eq!(
        s.sandbox.state().request_count(),
        before,
        "a tool that is not offered reached Gorgias"
    );

    // Asked for, they are offered and work; the preview says the same.
    let (status, patched) = s
        .api(
            Method::PATCH,
            &format!("{path}/{id}"),
            Some(json!({"config": {"methods": ["read", "write"], "tags": ["macros"], "admin_tools": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["config"]["admin_tools"], true);
    let listed = names(mcp.list_tools().await);
    assert!(
        listed.contains(&"create_a_gorgias_macro".to_owned()),
        "{listed:?}"
    );
    let created = mcp.call("create_a_gorgias_macro", macro_args.clone()).await;
    assert_eq!(created.body["result"]["isError"], false, "{}", created.body);
    let (_, preview) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/tools?methods=read,write&tags=macros&admin_tools=true"),
            None,
        )
        .await;
    assert_eq!(preview["count"].as_u64().unwrap() as usize, listed.len());

    // Named in `tools`, an admin tool is offered without the flag.
    let (_, named_url) = s
        .mint(
            &account,
            json!({"name": "one macro tool", "config": {"tools": ["create_a_gorgias_macro", "list_all_gorgias_macros"]}}),
        )
        .await;
    let named = RawMcp::new(&named_url);
    named.initialize().await;
    let mut listed = names(named.list_tools().await);
    listed.sort();
    assert_eq!(
        listed,
        ["create_a_gorgias_macro", "list_all_gorgias_macros"]
    );
}

impl RawMcp {
    async fn list_tools_status(&self) -> StatusCode {
        self.post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .await
            .status
    }
}
