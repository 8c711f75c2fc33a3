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
async fn discovery_keeps_reads_apart_from_writes_and_ranks_task_tools() {
    let (s, _, url) = server_with_url(json!({"tool_exposure": "discovery"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let tools = mcp.list_tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "search_tools",
            "get_tool_schema",
            "call_tool",
            "call_write_tool"
        ]
    );
    // ChatGPT confirms every tool not marked read-only: reads must not need that.
    assert_eq!(tools[2]["annotations"]["readOnlyHint"], true);
    assert_eq!(tools[3]["annotations"]["readOnlyHint"], false);
    assert_eq!(tools[3]["annotations"]["destructiveHint"], true);

    let reply = mcp
        .call(
            "search_tools",
            json!({"query": "show me the unassigned open tickets", "limit": 3}),
        )
        .await;
    let found = &reply.body["result"]["structuredContent"]["tools"];
    assert_eq!(found[0]["name"], "search_gorgias_tickets", "{found}");

    // A write through the read-only door is refused before anything is sent.
    let reply = mcp
        .call(
            "call_tool",
            json!({"name": "update_a_gorgias_ticket_by_id", "arguments": {"id": 1, "status": "closed"}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], true, "{}", reply.body);
    assert!(
        reply.body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("call_write_tool")
    );
    let reply = mcp
        .call(
            "call_write_tool",
            json!({"name": "create_a_gorgias_tag", "arguments": {"name": "from_discovery"}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    s.stop().await;
}

/// Issue 16 (item 2) and issue 18's audit decision: a write's record is committed before the
/// request goes upstream, so a client that hangs up mid-call (its handler cancelled while the
/// upstream is still answering) cannot leave a write unrecorded. Over the fast path (2025-era
/// JSON POST) and with a slow upstream, so the hang-up lands while the write is in flight.
#[tokio::test]
async fn a_write_is_recorded_before_it_is_sent_even_if_the_client_hangs_up() {
    let (s, account, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    inject(
        &s,
        json!({"delay_ms": 1500, "method": "POST", "path_prefix": "/api/tags"}),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let hung_up = impatient
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                      "params": {"name": "create_a_gorgias_tag", "arguments": {"name": "hung_up"}}}))
        .send()
        .await;
    assert!(hung_up.is_err(), "the client was meant to give up first");

    let (status, page) = s
        .api(
            reqwest::Method::GET,
            &format!(
                "/integrated-account/{account}/mcp/{}/logs?tool=create_a_gorgias_tag",
                mcp_id(&s, &account).await
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let records = page["result"].as_array().unwrap();
    assert_eq!(records.len(), 1, "the write has no record: {page}");
    let record = &records[0];
    assert_eq!(record["upstream_method"], "POST");
    assert_eq!(record["upstream_path"], "/api/tags");
    // Recorded before it was sent; completed if the call got that far before it was cancelled.
    assert!(
        record["outcome"] == "pending" || record["outcome"] == "ok",
        "{record}"
    );
    s.stop().await;
}

/// Issue 18: admission control. With one slot per server, a second call arriving while the
/// first waits on a slow upstream is answered at once-after-the-wait with a "busy" tool error
/// (like a 429: when to retry, nothing sent), never a dropped connection; another server's
/// calls still run.
#[tokio::test]
async fn a_server_with_every_slot_taken_answers_busy_and_others_still_run() {
    let s = TestServer::start_with(crate::support::Options {
        configure: Box::new(|config| {
            config.max_calls_per_server = 1;
            config.call_admission_wait = std::time::Duration::from_millis(100);
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let account = s.connect_sandbox().await;
    let (_, busy_url) = s.mint(&account, json!({"name": "busy"})).await;
    let (_, other_url) = s.mint(&account, json!({"name": "other"})).await;
    let busy = RawMcp::new(&busy_url);
    busy.initialize().await;
    inject(
        &s,
        json!({"delay_ms": 1000, "method": "GET", "path_prefix": "/api/tags"}),
    )
    .await;
    let slow = {
        let url = busy_url.clone();
        tokio::spawn(async move {
            RawMcp::new(&url)
                .call("list_all_gorgias_tags", json!({"limit": 1}))
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let refused = busy.call("list_all_gorgias_teams", json!({})).await;
    assert_eq!(refused.status, StatusCode::OK);
    let result = &refused.body["result"];
    assert_eq!(result["isError"], true, "{}", refused.body);
    assert_eq!(result["structuredContent"]["error"]["kind"], "busy");
    assert!(
        result["structuredContent"]["error"]["retry_after"]
            .as_u64()
            .unwrap()
            >= 1
    );

    let other = RawMcp::new(&other_url);
    other.initialize().await;
    let served = other.call("list_all_gorgias_teams", json!({})).await;
    assert_eq!(served.body["result"]["isError"], false, "{}", served.body);

    let slow = slow.await.unwrap();
    assert_eq!(slow.body["result"]["isError"], false, "{}", slow.body);
    // The slot is free again.
    let again = busy.call("list_all_gorgias_teams", json!({})).await;
    assert_eq!(again.body["result"]["isError"], false, "{}", again.body);
    s.stop().await;
}

async fn mcp_id(s: &TestServer, account: &str) -> String {
    let (_, page) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp"),
            None,
        )
        .await;
    page["result"][0]["id"].as_str().unwrap().to_owned()
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

/// Plain `tools/call` POSTs of both protocol eras are answered on a fast path beside rmcp
/// (`mcp/fast_path`); the same call sent in a shape only rmcp takes (a progress token in its
/// `_meta`) must get the same reply, whatever the outcome and whatever `Accept` the client
/// sent: the same HTTP status and content type, the same rate-limit headers, and a JSON-equal
/// body (compared as parsed JSON values, so member order does not count; only the bucket's
/// `ratelimit-remaining`/`-reset`, which drain between the two calls, are left out).
#[tokio::test]
async fn the_fast_path_answers_exactly_as_rmcp_does() {
    // Enough room in the rate-limit bucket for every call below to reach Gorgias.
    let defaults = crate::support::Options::default();
    let s = TestServer::start_with(crate::support::Options {
        sandbox: gorgias_sandbox::SandboxConfig {
            api_key_bucket: gorgias_sandbox::BucketConfig {
                capacity: 1000,
                window: std::time::Duration::from_secs(20),
            },
            ..defaults.sandbox
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "parity", "config": {"methods": ["read"]}}),
        )
        .await;
    let ticket = first_ticket_id(&s).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    // (tool, arguments, a 429 injected before each of the two calls)
    let calls = [
        // Success: a JSON object from Gorgias, verbatim.
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": ticket}),
            false,
        ),
        // A page, the cursor untouched.
        ("list_all_gorgias_tickets", json!({"limit": 3}), false),
        // Invalid params: refused by deskgate before anything is sent (a tool error).
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": "not a number"}),
            false,
        ),
        // A tool error: Gorgias answers 404.
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": 999_999_999}),
            false,
        ),
        // A 429 from Gorgias: a tool error with the limits.
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": ticket}),
            true,
        ),
        // Refused by the server's filter (read-only): a JSON-RPC error, as for an unknown tool.
        (
            "update_a_gorgias_ticket_by_id",
            json!({"id": ticket, "status": "closed"}),
            false,
        ),
        // Not a tool of this server: a JSON-RPC error.
        ("no_such_tool", json!({}), false),
    ];
    let modern_meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                             "io.modelcontextprotocol/clientCapabilities": {},
                             "io.modelcontextprotocol/clientInfo": {"name": "parity", "version": "1"}});
    for era in ["2025-11-25", "2026-07-28"] {
        for (accept, content_type) in ACCEPT_FORMS {
            for (id, (tool, arguments, rate_limited)) in calls.iter().enumerate() {
                let mut params = json!({"name": tool, "arguments": arguments});
                let mut headers = accept_headers(accept, &[("mcp-protocol-version", era)]);
                if era == "2026-07-28" {
                    params["_meta"] = modern_meta.clone();
                    headers.extend([("mcp-method", "tools/call"), ("mcp-name", *tool)]);
                }
                let mut with_token = params.clone();
                with_token["_meta"]["progressToken"] = json!("p");
                let mut replies = Vec::new();
                for params in [params, with_token] {
                    if *rate_limited {
                        inject(&s, json!({"status": 429, "retry_after": 7})).await;
                    }
                    let message = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
                    replies.push(mcp.send(message.to_string(), &headers).await);
                }
                let [fast, rmcp] = <[_; 2]>::try_from(replies).ok().unwrap();
                let what = format!("{era}: {tool} {arguments} with Accept {accept:?}");
                assert_eq!(fast.status, StatusCode::OK, "{what}: {}", fast.text);
                assert_eq!(fast.status, rmcp.status, "{what}");
                assert_eq!(fast.headers["content-type"], content_type, "{what}");
                assert_eq!(
                    fast.headers.get("content-type"),
                    rmcp.headers.get("content-type"),
                    "{what}"
                );
                assert_eq!(fast.headers["mcp-protocol-version"], era, "{what}");
                assert!(fast.body["jsonrpc"] == "2.0", "{what}: {}", fast.text);
                if *rate_limited {
                    assert_eq!(
                        fast.body["result"]["isError"], true,
                        "{what}: {}",
                        fast.text
                    );
                    assert!(fast.text.contains("429"), "{what}: {}", fast.text);
                }
                assert_eq!(settled(fast.body), settled(rmcp.body), "{what}");
                for header in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
                    assert_eq!(
                        fast.headers.get(header).is_some(),
                        rmcp.headers.get(header).is_some(),
                        "{what}: {header}"
                    );
                }
            }
        }
    }
    // Nothing the filter refused reached Gorgias.
    let ticket = s.sandbox.state().ticket(ticket).unwrap();
    assert_eq!(ticket["status"], "open");
    s.stop().await;
}

/// `ping` and `tools/list` on the fast path answer as rmcp does, in both eras, whatever form
/// of `Accept` the client sends: the same status, content type, protocol-version header and
/// JSON. rmcp's answer is forced with a progress token in `_meta`, which the fast path leaves
/// to rmcp.
#[tokio::test]
async fn the_fast_path_answers_a_ping_and_a_list_exactly_as_rmcp_does() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    for config in [json!({}), json!({"tool_exposure": "discovery"})] {
        let (_, url) = s
            .mint(&account, json!({"name": "ping", "config": config}))
            .await;
        let mcp = RawMcp::new(&url);
        for era in ["2025-11-25", "2026-07-28"] {
            for (accept, content_type) in ACCEPT_FORMS {
                for method in ["ping", "tools/list"] {
                    let (fast, rmcp) = both_ways(&mcp, era, method, accept).await;
                    let what = format!("{config} {era}: {method} with Accept {accept:?}");
                    // rmcp refuses a ping in the 2026-07-28 era; the fast path leaves it so.
                    let refused = era == "2026-07-28" && method == "ping";
                    assert_eq!(fast.status.is_success(), !refused, "{what}: {}", fast.text);
                    assert_eq!(fast.status, rmcp.status, "{what}");
                    assert_eq!(
                        fast.headers.get("content-type"),
                        rmcp.headers.get("content-type"),
                        "{what}"
                    );
                    assert_eq!(fast.text, rmcp.text, "{what}");
                    if refused {
                        continue;
                    }
                    assert_eq!(fast.headers["content-type"], content_type, "{what}");
                    assert_eq!(fast.headers["mcp-protocol-version"], era, "{what}");
                    assert_eq!(fast.body, rmcp.body, "{what}: {}", fast.text);
                }
            }
        }
        // An empty params object is as plain as none, in the older era.
        let headers = [("mcp-protocol-version", "2025-11-25")];
        let reply = mcp
            .send(
                json!({"jsonrpc": "2.0", "id": "p", "method": "ping", "params": {}}).to_string(),
                &headers,
            )
            .await;
        assert_eq!(
            reply.body,
            json!({"jsonrpc": "2.0", "id": "p", "result": {}}),
            "{}",
            reply.text
        );
    }
    s.stop().await;
}

/// `tools/list` in either era, plainly (the fast path, from the pre-serialized list) or with a
/// progress token in its `_meta` (rmcp): returns the two replies.
async fn list_both_ways(
    mcp: &RawMcp,
    era: &str,
) -> (crate::support::RawReply, crate::support::RawReply) {
    both_ways(
        mcp,
        era,
        "tools/list",
        Some("application/json, text/event-stream"),
    )
    .await
}

/// `method` (without params of its own) in either era with `accept`, plainly (the fast path)
/// or with a progress token in its `_meta` (rmcp): returns the two replies.
async fn both_ways(
    mcp: &RawMcp,
    era: &str,
    method: &str,
    accept: Option<&str>,
) -> (crate::support::RawReply, crate::support::RawReply) {
    let mut headers = accept_headers(accept, &[("mcp-protocol-version", era)]);
    let mut plain = json!({"jsonrpc": "2.0", "id": 7, "method": method});
    let mut with_token = json!({"jsonrpc": "2.0", "id": 7, "method": method,
                                "params": {"_meta": {"progressToken": 1}}});
    if era == "2026-07-28" {
        headers.push(("mcp-method", method));
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}});
        plain["params"] = json!({"_meta": meta});
        with_token["params"]["_meta"] = meta;
        with_token["params"]["_meta"]["progressToken"] = json!(1);
    }
    let fast = mcp.send(plain.to_string(), &headers).await;
    let rmcp = mcp.send(with_token.to_string(), &headers).await;
    (fast, rmcp)
}

fn tool_names(reply: &crate::support::RawReply) -> Vec<String> {
    reply.body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {}", reply.text))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The pre-serialized `tools/list` (`mcp/tool_list`) answers exactly as rmcp does (JSON-equal,
/// same status and content type), in both eras, for every kind of server: all tools, filtered,
/// narrowed by a policy, holding calls for approval (the status tool), discovery mode.
#[tokio::test]
async fn the_cached_tool_list_answers_exactly_as_rmcp_does() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    for config in [
        json!({}),
        json!({"methods": ["read"], "tags": ["tickets"]}),
        json!({"policies": [{"tool": "list_all_gorgias_tickets", "mode": "allow", "max_limit": 5}]}),
        json!({"policies": [{"tool": "reply_to_gorgias_customer", "mode": "approve"}]}),
        json!({"tool_exposure": "discovery"}),
    ] {
        let (_, url) = s
            .mint(&account, json!({"name": "list", "config": config}))
            .await;
        let mcp = RawMcp::new(&url);
        for era in ["2025-11-25", "2026-07-28"] {
            // Twice: the first fills the cache, the second is served from it.
            for _ in 0..2 {
                let (fast, rmcp) = list_both_ways(&mcp, era).await;
                let what = format!("{config} in {era}");
                assert_eq!(fast.status, StatusCode::OK, "{what}: {}", fast.text);
                assert_eq!(fast.status, rmcp.status, "{what}");
                assert_eq!(fast.headers["content-type"], "application/json", "{what}");
                assert_eq!(fast.headers["mcp-protocol-version"], era, "{what}");
                assert!(!tool_names(&fast).is_empty(), "{what}");
                assert_eq!(fast.body, rmcp.body, "{what}");
            }
        }
    }
    s.stop().await;
}

/// The cached list never outlives what it was made from: an edit of the server's filters or
/// policies, and a change of the account's custom fields, are in the next `tools/list`.
#[tokio::test]
async fn the_cached_tool_list_follows_edits_and_custom_fields() {
    let s = TestServer::start_with(crate::support::Options {
        configure: Box::new(|c| c.custom_fields_ttl = std::time::Duration::from_millis(200)),
        ..Default::default()
    })
    .await
    .unwrap();
    let account = s.connect_sandbox().await;
    let (id, url) = s
        .mint(
            &account,
            json!({"name": "edited", "config": {"methods": ["read"], "tags": ["tickets"]}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    for era in ["2025-11-25", "2026-07-28"] {
        let (fast, _) = list_both_ways(&mcp, era).await;
        assert!(
            !tool_names(&fast).contains(&"update_a_gorgias_ticket_by_id".to_owned()),
            "{era}"
        );
    }
    // An edit: writes allowed now, and a policy narrowing the list's limit.
    let (status, body) = s
        .api(
            reqwest::Method::PATCH,
            &format!("/integrated-account/{account}/mcp/{id}"),
            Some(json!({"config": {"methods": ["read", "write"], "tags": ["tickets"],
                "policies": [{"tool": "list_all_gorgias_tickets", "mode": "allow", "max_limit": 7}]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for era in ["2025-11-25", "2026-07-28"] {
        let (fast, rmcp) = list_both_ways(&mcp, era).await;
        assert!(
            tool_names(&fast).contains(&"update_a_gorgias_ticket_by_id".to_owned()),
            "{era}: the edit is not in the list"
        );
        assert!(
            fast.text.contains(r#""maximum":7"#),
            "{era}: the policy is not in the list"
        );
        assert_eq!(fast.body, rmcp.body, "{era}");
    }
    // A new custom field on the account: in the schemas once the fields are refreshed.
    let (_, before) = list_both_ways(&mcp, "2025-11-25").await;
    assert!(!before.text.contains("Preferred colour"));
    let c = s.sandbox.config();
    let created = s
        .http
        .post(format!("{}/api/custom-fields", s.sandbox.base_url()))
        .basic_auth(&c.email, Some(&c.api_key))
        .json(
            &json!({"object_type": "Ticket", "label": "Preferred colour",
            "definition": {"data_type": "text", "input_settings": {"input_type": "input"}}}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for era in ["2025-11-25", "2026-07-28"] {
        let (fast, rmcp) = list_both_ways(&mcp, era).await;
        assert!(
            fast.text.contains("Preferred colour"),
            "{era}: the new field is not in the list"
        );
        assert_eq!(fast.body, rmcp.body, "{era}");
    }
    s.stop().await;
}

// --- what real clients send, replayed exactly ---

/// `Accept` values real clients send, each with the content type its reply must have. Sources:
/// claude.ai's backend sends `*/*` (anthropics/claude-ai-mcp#76); Anthropic's proxy has been
/// seen sending `text/event-stream` alone (modelcontextprotocol/python-sdk#2349); Claude Code
/// 2.1.96 sent `application/json` alone (anthropics/claude-code#45368); some HTTP stacks send
/// none; `application/*` and a charset are what generic clients send.
const ACCEPT_FORMS: [(Option<&str>, &str); 8] = [
    (
        Some("application/json, text/event-stream"),
        "application/json",
    ),
    (Some("*/*"), "application/json"),
    (Some("application/*"), "application/json"),
    (Some("application/json"), "application/json"),
    (Some("application/json; charset=utf-8"), "application/json"),
    (None, "application/json"),
    (Some("text/event-stream"), "text/event-stream"),
    (
        Some("text/event-stream, application/json;q=0"),
        "text/event-stream",
    ),
];

fn accept_headers<'a>(
    accept: Option<&'a str>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
    headers.extend_from_slice(extra);
    headers
}

/// The members of a reply that may differ between two identical calls (the rate-limit bucket
/// drains between them).
fn settled(mut body: Value) -> Value {
    if let Some(content) = body["result"]["structuredContent"].as_object_mut() {
        content.remove("ratelimit-remaining");
        content.remove("ratelimit-reset");
    }
    // A 429's text names the bucket's figures too.
    if let Some(text) = body["result"]["content"][0]["text"].as_str() {
        let settled = without_digits_after(text, "ratelimit-remaining ");
        body["result"]["content"][0]["text"] = Value::String(settled);
    }
    body
}

/// `text` with the number after each `label` replaced by `N`.
fn without_digits_after(text: &str, label: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(label) {
        let (head, tail) = rest.split_at(at + label.len());
        out.push_str(head);
        out.push('N');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_accept_a_client_sends_gets_the_usual_reply_in_both_eras() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    // (message, headers beside Accept): the `initialize` era, then the stateless 2026-07-28 one.
    let exchanges: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "Anthropic", "version": "1.0.0"}}}),
            vec![],
        ),
        (
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            vec![("mcp-protocol-version", "2025-11-25")],
        ),
        (
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                   "params": {"name": "get_single_gorgias_account", "arguments": {}}}),
            vec![("mcp-protocol-version", "2025-11-25")],
        ),
        (
            json!({"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {"_meta": meta}}),
            vec![
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "server/discover"),
            ],
        ),
        (
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": meta}}),
            vec![
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
        ),
        (
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
                "name": "get_single_gorgias_account", "arguments": {}, "_meta": meta}}),
            vec![
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "get_single_gorgias_account"),
            ],
        ),
    ];
    for (message, extra) in &exchanges {
        let mut usual: Option<Value> = None;
        for (accept, content_type) in ACCEPT_FORMS {
            let reply = mcp
                .send(message.to_string(), &accept_headers(accept, extra))
                .await;
            let what = format!("{} with Accept {accept:?}", message["method"]);
            assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text);
            assert_eq!(reply.headers["content-type"], content_type, "{what}");
            if content_type == "text/event-stream" {
                // One event, then the stream ends.
                assert!(
                    reply.text.starts_with("event: message\ndata: "),
                    "{what}: {}",
                    reply.text
                );
                assert_eq!(reply.text.matches("event:").count(), 1, "{what}");
                assert!(reply.text.ends_with("\n\n"), "{what}");
            }
            assert!(reply.body["result"].is_object(), "{what}: {}", reply.text);
            // The version in effect, for clients (browser scripts too) that read it there: the
            // one `initialize` agreed on, or the one the request named.
            let version = extra
                .iter()
                .find(|(name, _)| *name == "mcp-protocol-version")
                .map_or("2025-11-25", |(_, v)| *v);
            assert_eq!(reply.headers["mcp-protocol-version"], version, "{what}");
            let body = settled(reply.body);
            match &usual {
                None => usual = Some(body),
                Some(usual) => assert_eq!(&body, usual, "{what}"),
            }
        }
    }
    // An Accept that allows neither gets a clear 406, in the JSON-RPC error shape.
    for accept in [
        "text/html",
        "application/json;q=0, text/event-stream;q=0",
        "*/*;q=0",
    ] {
        let reply = mcp
            .send(exchanges[1].0.to_string(), &[("accept", accept)])
            .await;
        assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(reply.body["error"]["code"], -32600, "{accept}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("application/json or text/event-stream"),
            "{message}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn json_rpc_errors_have_json_rpc_forms() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mcp = RawMcp::new(&url);
    let both = [("accept", "application/json, text/event-stream")];
    // Malformed JSON: -32700 with HTTP 400 (rmcp alone answers 415 with plain text).
    let reply = mcp
        .send(r#"{"jsonrpc": "2.0", "id": 1, "method": "#, &both)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body["error"]["code"], -32700, "{}", reply.text);
    assert_eq!(reply.body["id"], Value::Null);
    // JSON that is not a JSON-RPC message: -32600, with the id where it can be read.
    for (body, id) in [
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
            json!(1),
        ),
        (r#"{"jsonrpc":"2.0","id":"x","method":7}"#, json!("x")),
        (r#""tools/list""#, Value::Null),
    ] {
        let reply = mcp.send(body, &both).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            reply.body["error"]["code"], -32600,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["id"], id, "{body}");
    }
    // `arguments` that are not an object: -32602 naming the problem (rmcp alone: -32601), and
    // nothing reaches Gorgias.
    let before = s.sandbox.state().request_count();
    for arguments in [json!([1]), json!("limit=1"), json!(3)] {
        let reply = mcp
            .post(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                         "params": {"name": "list_all_gorgias_tags", "arguments": arguments}}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["id"], 9);
        assert_eq!(reply.body["error"]["code"], -32602, "{}", reply.text);
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`arguments` must be an object"),
            "{message}"
        );
    }
    assert_eq!(s.sandbox.state().request_count(), before);
    // A chunked body over the limit: 413 with a JSON-RPC error (was a 500 and an ERROR line).
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_all_gorgias_tags","arguments":{{"padding":"{}"}}}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let chunks: Vec<Result<String, std::io::Error>> = huge
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let reply = mcp
        .send(
            reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
            &both,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["code"], -32600, "{}", reply.text);
    // A body that is not JSON by its content type: 415, also as a JSON-RPC error.
    let response = s
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .header("accept", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600);
    s.stop().await;
}

/// MCP 2025-03-26 requires servers to take JSON-RPC batches; later versions removed them.
/// deskgate offers 2025-03-26, so it serves batches where that version may be in effect.
#[tokio::test]
async fn batches_are_served_where_2025_03_26_has_them() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let mut mcp = RawMcp::new(&url);
    mcp.protocol_version = "2025-03-26".to_owned();
    let reply = mcp
        .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "batcher", "version": "1"}}}))
        .await;
    assert_eq!(reply.body["result"]["protocolVersion"], "2025-03-26");
    let batch = json!([
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "tags", "method": "tools/call",
         "params": {"name": "list_all_gorgias_tags", "arguments": {"limit": 2}}},
        {"jsonrpc": "2.0", "id": "list", "method": "tools/list"},
        {"jsonrpc": "2.0", "id": "bad", "method": "tools/call",
         "params": {"name": "list_all_gorgias_tags", "arguments": [2]}},
        {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}},
        7,
    ]);
    for version in [Some("2025-03-26"), None] {
        let headers = accept_headers(
            Some("application/json, text/event-stream"),
            &version
                .map(|v| ("mcp-protocol-version", v))
                .into_iter()
                .collect::<Vec<_>>(),
        );
        let reply = mcp.send(batch.to_string(), &headers).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let replies = reply.body.as_array().expect("an array of replies");
        let by_id = |id: Value| replies.iter().find(|r| r["id"] == id).cloned().unwrap();
        assert_eq!(replies.len(), 5, "{}", reply.text);
        assert_eq!(
            by_id(json!("tags"))["result"]["structuredContent"]["data"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(
            by_id(json!("list"))["result"]["tools"]
                .as_array()
                .unwrap()
                .len()
                > 70,
            "the whole list (an unfiltered server: every tool but the admin ones)"
        );
        assert_eq!(by_id(json!("bad"))["error"]["code"], -32602);
        assert_eq!(by_id(json!("init"))["error"]["code"], -32600);
        assert_eq!(by_id(Value::Null)["error"]["code"], -32600);
        assert!(reply.headers.get("ratelimit-remaining").is_some());
    }
    // Only notifications: nothing to answer.
    let reply = mcp
        .send(
            json!([{"jsonrpc": "2.0", "method": "notifications/initialized"}]).to_string(),
            &[("mcp-protocol-version", "2025-03-26")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    // An empty batch, and a batch in a version without batches: -32600.
    for (body, version) in [
        ("[]", "2025-03-26"),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            "2025-06-18",
        ),
    ] {
        let reply = mcp.send(body, &[("mcp-protocol-version", version)]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body} {version}");
        assert_eq!(reply.body["error"]["code"], -32600, "{}", reply.text);
    }
    s.stop().await;
}

async fn server_with_config(
    configure: impl FnOnce(&mut deskgate::config::Config) + Send + 'static,
) -> (TestServer, String) {
    let s = TestServer::start_with(crate::support::Options {
        configure: Box::new(configure),
        ..Default::default()
    })
    .await
    .unwrap();
    let account = s.connect_sandbox().await;
    let (_, url) = s.mint(&account, json!({"name": "browser"})).await;
    // The URL is handed out under the public URL; the test reaches the same path on loopback.
    let path = url.split("/mcp/").nth(1).unwrap().to_owned();
    let url = format!("{}/mcp/{path}", s.base);
    (s, url)
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"Anthropic","version":"1.0.0"}}}"#;

#[tokio::test]
async fn hosted_client_origins_pass_on_a_public_deployment_only() {
    // A deployment behind https://deskgate.example.com: the hosted clients' origins pass.
    let (s, url) = server_with_config(|c| {
        c.public_url = Some("https://deskgate.example.com".parse().unwrap());
    })
    .await;
    let mcp = RawMcp::new(&url);
    for origin in deskgate::mcp::HOSTED_CLIENT_ORIGINS {
        let reply = mcp
            .send(INITIALIZE, &[("accept", "*/*"), ("origin", origin)])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{origin}: {}", reply.text);
        assert_eq!(reply.headers["access-control-allow-origin"], *origin);
    }
    // Others still get 403, with no CORS headers; a foreign Host still gets 403.
    let reply = mcp
        .send(INITIALIZE, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply
            .headers
            .keys()
            .all(|h| !h.as_str().starts_with("access-control-"))
    );
    let reply = mcp
        .send(
            INITIALIZE,
            &[("origin", "https://claude.ai"), ("host", "evil.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    s.stop().await;

    // The same deployment with the defaults turned off.
    let (s, url) = server_with_config(|c| {
        c.public_url = Some("https://deskgate.example.com".parse().unwrap());
        c.hosted_client_origins = false;
    })
    .await;
    let reply = RawMcp::new(&url)
        .send(INITIALIZE, &[("origin", "https://claude.ai")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    s.stop().await;

    // A loopback deployment keeps strict DNS-rebinding protection.
    let (s, url) = server_with_config(|_| {}).await;
    let reply = RawMcp::new(&url)
        .send(INITIALIZE, &[("origin", "https://claude.ai")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn browsers_on_allowed_origins_get_cors() {
    const PAGE: &str = "http://127.0.0.1:5173";
    let (s, url) = server_with_config(|c| c.allowed_origins = vec![PAGE.to_owned()]).await;
    let preflight = |origin: &'static str, target: String| {
        let http = s.http.clone();
        async move {
            http.request(reqwest::Method::OPTIONS, target)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,accept,authorization,mcp-protocol-version,mcp-session-id,mcp-method,mcp-name,last-event-id",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let response = preflight(PAGE, url.clone()).await;
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], PAGE);
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for header in [
        "content-type",
        "accept",
        "authorization",
        "mcp-protocol-version",
        "mcp-session-id",
        "mcp-method",
        "mcp-name",
        "last-event-id",
    ] {
        assert!(allowed.contains(header), "{header} not in {allowed}");
    }
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    // The preflight of a page on another origin is refused, without CORS headers.
    let response = preflight("http://127.0.0.1:6666", url.clone()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .headers()
            .keys()
            .all(|h| !h.as_str().starts_with("access-control-"))
    );

    // The real requests: the reply headers clients read are exposed to the page's script.
    let mcp = RawMcp::new(&url);
    let reply = mcp
        .send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                   "params": {"name": "list_all_gorgias_tags", "arguments": {"limit": 1}}})
            .to_string(),
            &[("origin", PAGE), ("mcp-protocol-version", "2025-11-25")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers["access-control-allow-origin"], PAGE);
    let exposed = reply.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for header in [
        "mcp-protocol-version",
        "mcp-session-id",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "www-authenticate",
    ] {
        assert!(exposed.contains(header), "{header} not in {exposed}");
    }
    assert!(reply.headers.get("ratelimit-remaining").is_some());
    // Refusals past the origin check can be read by the page too (an unknown URL's 404).
    let unknown = RawMcp::new(&format!(
        "{}/mcp/dgm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        s.base
    ));
    let reply = unknown.send(INITIALIZE, &[("origin", PAGE)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.headers["access-control-allow-origin"], PAGE);
    s.stop().await;
}

/// claude.ai probes OAuth discovery after `initialize`, building paths from the MCP URL
/// (anthropics/claude-ai-mcp#76): `/.well-known/oauth-protected-resource/mcp/<token>`. They
/// are answered 404, so it goes on without auth, and the token in them never reaches a log.
#[tokio::test]
async fn oauth_discovery_probes_are_404_and_keep_the_token_out_of_logs() {
    let (s, _, url) = server_with_url(Value::Null).await;
    let path = url.strip_prefix(&s.base).unwrap().to_owned();
    for probe in [
        format!("/.well-known/oauth-protected-resource{path}"),
        "/.well-known/oauth-protected-resource".to_owned(),
        "/.well-known/oauth-authorization-server".to_owned(),
        "/.well-known/openid-configuration".to_owned(),
    ] {
        let response = s
            .http
            .get(format!("{}{probe}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{probe}");
    }
    let response = s
        .http
        .post(format!("{}/register", s.base))
        .json(&json!({"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let secret = url.rsplit('/').next().unwrap();
    assert!(
        !captured_logs().contains(secret),
        "an MCP token reached a log line"
    );
    s.stop().await;
}
