//! The MCP endpoint at the protocol level, over real sockets against the sandbox: what a client
//! sees on the wire (status codes, headers, JSON-RPC errors vs tool errors). Real third-party
//! clients are exercised in `tests/e2e`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{RawMcp, SseStream, TestServer, captured_logs};

async fn server_with_url(config: Value) -> (TestServer, String, String) {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let mut body = json!({"name": "test"});
    if !config.is_null() {
        body["config"] = config;
    }
    let (_, url) = s.mint(&account, body).await;
    (s, account, url)
}

async fn inject(s: &TestServer, fault: Value) {
    let response = s
        .http
        .post(format!("{}/_sandbox/faults", s.sandbox.base_url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "fault injection refused: {}",
        response.status()
    );
}

#[tokio::test]
async fn initialize_answers_with_scope_and_instructions() {
    let (s, _, url) = server_with_url(json!({"methods": ["read"], "tags": ["tickets"]})).await;
    let reply = RawMcp::new(&url).initialize().await;
    assert_eq!(reply.status, StatusCode::OK);
    let result = &reply.body["result"];
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert_eq!(result["serverInfo"]["name"], "deskgate");
    assert!(result["capabilities"]["tools"].is_object());
    let instructions = result["instructions"].as_str().unwrap();
    let head: String = instructions.chars().take(512).collect();
    assert!(head.contains("read-only"), "{head}");
    assert!(head.contains("internal-note"), "{head}");
    assert!(instructions.contains("next_cursor"), "{instructions}");
    assert!(instructions.contains("ratelimit-reset"), "{instructions}");
    s.stop().await;
}

#[tokio::test]
async fn unknown_protocol_versions_are_negotiated_down() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    let reply = mcp
        .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "1999-01-01", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let negotiated = reply.body["result"]["protocolVersion"].as_str().unwrap();
    assert!(
        ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"].contains(&negotiated),
        "{negotiated}"
    );
    // A header naming a version the server does not know is a 400.
    let reply = mcp
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("mcp-protocol-version", "1999-01-01")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test]
async fn tools_list_is_filtered_and_filtered_tools_cannot_be_called() {
    let (s, account, url) =
        server_with_url(json!({"methods": ["read"], "tags": ["tickets"]})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let tools = mcp.list_tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"list_all_gorgias_tickets"), "{names:?}");
    assert!(
        !names.contains(&"update_a_gorgias_ticket_by_id"),
        "{names:?}"
    );
    assert!(!names.contains(&"list_all_gorgias_customers"), "{names:?}");
    for tool in &tools {
        assert_eq!(tool["annotations"]["readOnlyHint"], true);
        assert_eq!(tool["inputSchema"]["type"], "object");
    }
    // A filtered-out tool is refused by name, like an unknown one: a JSON-RPC error.
    let ticket_id = first_ticket_id(&s).await;
    let reply = mcp
        .call(
            "update_a_gorgias_ticket_by_id",
            json!({"id": ticket_id, "status": "closed"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body["error"].is_object(), "{}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown tool")
    );
    let ticket = s.sandbox.state().ticket(ticket_id).unwrap();
    assert_eq!(
        ticket["status"], "open",
        "a filtered tool changed the ticket"
    );
    let reply = mcp.call("no_such_tool", json!({})).await;
    assert!(reply.body["error"].is_object());
    // Both refusals are in the audit log.
    let (_, servers) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp"),
            None,
        )
        .await;
    let id = servers["result"][0]["id"].as_str().unwrap();
    let (_, logs) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp/{id}/logs?outcome=refused"),
            None,
        )
        .await;
    assert_eq!(logs["result"].as_array().unwrap().len(), 2, "{logs}");
    s.stop().await;
}

async fn first_ticket_id(s: &TestServer) -> i64 {
    let tickets = s.sandbox.state().tickets();
    tickets
        .iter()
        .find(|t| t["status"] == "open")
        .and_then(|t| t["id"].as_i64())
        .expect("the sandbox has open tickets")
}

#[tokio::test]
async fn calls_reach_the_sandbox_and_return_structured_results() {
    let (s, account, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let reply = mcp
        .call("list_all_gorgias_tickets", json!({"limit": 5}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let result = &reply.body["result"];
    assert_eq!(result["isError"], false, "{result}");
    let page = &result["structuredContent"];
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    let cursor = page["meta"]["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    // The text is the same JSON.
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, page);
    // The cursor passes through unchanged and gives the next page.
    let reply = mcp
        .call(
            "list_all_gorgias_tickets",
            json!({"limit": 5, "next_cursor": cursor}),
        )
        .await;
    let next = &reply.body["result"]["structuredContent"];
    assert_eq!(next["data"].as_array().unwrap().len(), 5);
    assert_ne!(next["data"][0]["id"], page["data"][0]["id"]);
    // The reply of a call that reached Gorgias carries its normalized limits.
    for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(reply.headers.get(header).is_some(), "{header} missing");
    }
    assert_eq!(reply.headers["ratelimit-limit"], "40");

    // The audit log has the calls, with the client that initialized.
    let (_, servers) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp"),
            None,
        )
        .await;
    let id = servers["result"][0]["id"].as_str().unwrap();
    let (_, logs) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp/{id}/logs"),
            None,
        )
        .await;
    let records = logs["result"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{logs}");
    let record = &records[0];
    assert_eq!(record["tool"], "list_all_gorgias_tickets");
    assert_eq!(record["outcome"], "ok");
    assert_eq!(record["upstream_status"], 200);
    assert_eq!(record["upstream_method"], "GET");
    assert_eq!(record["upstream_path"], "/api/tickets");
    assert_eq!(record["client_name"], "deskgate-tests");
    s.stop().await;
}

#[tokio::test]
async fn invalid_arguments_are_tool_errors_naming_the_field() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let before = s.sandbox.state().request_count();
    let ticket_id = first_ticket_id(&s).await;
    let reply = mcp
        .call(
            "update_a_gorgias_ticket_by_id",
            json!({"id": ticket_id, "status": "pending"}),
        )
        .await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("status"), "{text}");
    assert!(text.contains("open") && text.contains("closed"), "{text}");
    // Keys the schema does not know never reach the upstream.
    let reply = mcp
        .call(
            "update_a_gorgias_ticket_by_id",
            json!({"id": ticket_id, "is_vip_override": true}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], true);
    assert_eq!(
        s.sandbox.state().request_count(),
        before,
        "an invalid call reached the sandbox"
    );
    s.stop().await;
}

#[tokio::test]
async fn upstream_failures_are_tool_errors() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    // Warm the catalog so the injected faults hit the tool calls.
    mcp.list_tools().await;

    let reply = mcp
        .call("get_single_gorgias_ticket_by_id", json!({"id": 1}))
        .await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["error"]["status"], 404);

    inject(&s, json!({"status": 503, "count": 1})).await;
    let reply = mcp.call("list_all_gorgias_tags", json!({})).await;
    assert_eq!(reply.body["result"]["isError"], true);
    assert_eq!(
        reply.body["result"]["structuredContent"]["error"]["status"],
        503
    );

    inject(&s, json!({"drop_connection": true, "count": 1})).await;
    let reply = mcp.call("list_all_gorgias_tags", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["result"]["isError"], true, "{}", reply.body);
    let text = reply.body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("may or may not have been applied"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn a_429_comes_back_at_once_with_its_limits() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    mcp.list_tools().await;
    let before = s.sandbox.state().request_count();
    inject(&s, json!({"status": 429, "count": 1})).await;
    let reply = mcp.call("list_all_gorgias_tags", json!({})).await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    let structured = &result["structuredContent"];
    for key in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(structured[key].is_u64(), "{key} missing from {structured}");
        assert!(reply.headers.get(key).is_some(), "{key} header missing");
    }
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("ratelimit-reset"), "{text}");
    // No retry: exactly one request reached the sandbox.
    assert_eq!(s.sandbox.state().request_count(), before + 1);
    s.stop().await;
}

#[tokio::test]
async fn require_api_token_auth_needs_the_header() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "guarded", "require_api_token_auth": true}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    let reply = mcp.initialize().await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.get("www-authenticate").is_some());
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let wrong = mcp
        .post_with(
            init.clone(),
            &[("authorization", "Bearer dga_not-a-real-token")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {}", s.admin_token);
    let right = mcp.post_with(init, &[("authorization", &bearer)]).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    s.stop().await;
}

#[tokio::test]
async fn unknown_tokens_and_bad_requests_are_refused() {
    let (s, _, url) = server_with_url(Value::Null).await;
    // Unknown tokens, well-formed or not, get the same 404.
    for bad in [
        "dgm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "nonsense",
    ] {
        let reply = RawMcp::new(&format!("{}/mcp/{bad}", s.base))
            .initialize()
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    let mcp = RawMcp::new(&url);
    // Malformed JSON-RPC.
    let response = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let reply = mcp
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}))
        .await;
    assert_eq!(reply.body["error"]["code"], -32601, "{}", reply.body);
    // Oversized bodies.
    let huge = "x".repeat(2 * 1024 * 1024);
    let reply = mcp
        .call("list_all_gorgias_tags", json!({"padding": huge}))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A browser Origin that is not allowed, and a foreign Host.
    let reply = mcp
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = mcp
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("host", "evil.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // GET and DELETE on the Streamable HTTP endpoint: stateless, so 405.
    let response = s
        .http
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let secret = url.rsplit('/').next().unwrap();
    assert!(
        !captured_logs().contains(secret),
        "an MCP token reached a log line"
    );
    s.stop().await;
}

#[tokio::test]
async fn discovery_mode_shows_three_tools_over_the_same_catalog() {
    let (s, _, url) =
        server_with_url(json!({"methods": ["read"], "tool_exposure": "discovery"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let tools = mcp.list_tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["search_tools", "get_tool_schema", "call_tool"]);
    let reply = mcp.call("search_tools", json!({"query": "tickets"})).await;
    let found = reply.body["result"]["structuredContent"]["tools"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        found
            .iter()
            .any(|t| t["name"] == "list_all_gorgias_tickets"),
        "{found:?}"
    );
    assert!(found.iter().all(|t| t["read_only"] == true));
    let reply = mcp
        .call(
            "get_tool_schema",
            json!({"name": "list_all_gorgias_tickets"}),
        )
        .await;
    assert_eq!(
        reply.body["result"]["structuredContent"]["inputSchema"]["type"],
        "object"
    );
    let reply = mcp
        .call(
            "call_tool",
            json!({"name": "list_all_gorgias_tickets", "arguments": {"limit": 2}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    assert_eq!(
        reply.body["result"]["structuredContent"]["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The filter holds behind call_tool too.
    let reply = mcp
        .call(
            "call_tool",
            json!({"name": "update_a_gorgias_ticket_by_id", "arguments": {"id": 1}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], true, "{}", reply.body);
    s.stop().await;
}

#[tokio::test]
async fn custom_fields_of_the_account_appear_in_schemas() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let tools = mcp.list_tools().await;
    let update = tools
        .iter()
        .find(|t| t["name"] == "update_a_gorgias_ticket_by_id")
        .expect("update tool");
    let schema = update["inputSchema"].to_string();
    assert!(
        schema.contains("Contact reason"),
        "the account's custom field is not in the schema"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_legacy_sse_transport_serves_the_same_handler() {
    let (s, _, url) = server_with_url(json!({"methods": ["read"]})).await;
    let mut stream = SseStream::open(&s.http, &url).await;
    let endpoint = stream.endpoint.clone();
    let post = |body: Value| {
        let http = s.http.clone();
        let target = format!("{}{endpoint}", s.base);
        async move { http.post(target).json(&body).send().await.unwrap() }
    };
    let accepted = post(json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "sse-test", "version": "1"}}}))
    .await;
    let status = accepted.status();
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        accepted.text().await.unwrap()
    );
    let reply = stream.next_message().await.unwrap();
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["result"]["protocolVersion"], "2024-11-05");
    post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    let accepted = post(json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "list_all_gorgias_tags", "arguments": {"limit": 3}}}))
    .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert!(accepted.headers().get("ratelimit-remaining").is_some());
    let reply = stream.next_message().await.unwrap();
    assert_eq!(reply["id"], 8);
    assert_eq!(
        reply["result"]["structuredContent"]["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A session id from nowhere is refused.
    let bogus = s
        .http
        .post(format!("{url}/message?sessionId=nope"))
        .json(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

/// Plain older-era `tools/call` POSTs are answered on a fast path beside rmcp (`mcp/fast_path`);
/// the same call sent in a shape only rmcp takes (a `_meta` in its params) must get the same
/// reply, member for member, whatever the outcome.
#[tokio::test]
async fn the_fast_path_answers_exactly_as_rmcp_does() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let ticket = first_ticket_id(&s).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let calls = [
        // A JSON object from Gorgias, verbatim.
        ("get_single_gorgias_ticket_by_id", json!({"id": ticket})),
        // A page, the cursor untouched.
        ("list_all_gorgias_tickets", json!({"limit": 3})),
        // Refused by deskgate before anything is sent.
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": "not a number"}),
        ),
        // Gorgias answers 404.
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": 999_999_999}),
        ),
        // Not a tool of this server: a JSON-RPC error.
        ("no_such_tool", json!({})),
    ];
    for (id, (tool, arguments)) in calls.into_iter().enumerate() {
        let params = json!({"name": tool, "arguments": arguments});
        let mut with_meta = params.clone();
        with_meta["_meta"] = json!({"progressToken": "p"});
        let fast = mcp
            .post(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}))
            .await;
        let rmcp = mcp
            .post(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": with_meta}))
            .await;
        assert_eq!(fast.status, rmcp.status, "{tool}");
        // The bucket drains between the two calls: only its figures may differ.
        let settled = |mut body: Value| {
            if let Some(content) = body["result"]["structuredContent"].as_object_mut() {
                content.remove("ratelimit-remaining");
                content.remove("ratelimit-reset");
            }
            body
        };
        assert_eq!(settled(fast.body), settled(rmcp.body), "{tool} {arguments}");
        assert_eq!(
            fast.headers.get("content-type"),
            rmcp.headers.get("content-type")
        );
        for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
            assert_eq!(
                fast.headers.get(header).is_some(),
                rmcp.headers.get(header).is_some(),
                "{tool}: {header}"
            );
        }
    }
    s.stop().await;
}
