//! The console's server pages as an operator uses them (issue 17), over HTTP with a real
//! session and CSRF token: editing a server's filters changes what its MCP clients list on
//! their next request; a refused edit changes nothing; "Try this tool" runs a read tool through
//! the call pipeline (audited, filters applied) and refuses writes; "Test connection" says what
//! Gorgias answered and the account list shows it.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, RawMcp, TestServer};

fn names(tools: &[serde_json::Value]) -> Vec<String> {
    let mut n: Vec<String> = tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn editing_filters_changes_what_clients_list_and_try_runs_reads_through_the_pipeline() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (server, url) = s
        .mint(
            &account,
            json!({"name": "edit me", "config": {"methods": ["read"], "tags": ["tickets"]}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let before = names(&mcp.list_tools().await);
    assert!(before.contains(&"list_all_gorgias_tickets".to_owned()));
    let console = s.console(&format!("/ui/accounts/{account}")).await;
    let edit = format!("/ui/accounts/{account}/servers/{server}/edit");

    // The edit form shows the server's filters and the picker.
    let (status, page) = console.get(&edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"tool-picker\""), "no picker");
    assert!(
        page.contains("value=\"tickets\" id=\"tag-tickets\" checked"),
        "the tag is not ticked"
    );

    // Two tools picked by name, read methods: the same client lists exactly those next.
    let (status, page) = console
        .post(
            &edit,
            &[
                ("name", "edited"),
                ("method_scope", "chosen"),
                ("methods", "read"),
                ("tools", "list_all_gorgias_tags"),
                ("tools", "list_all_gorgias_teams"),
                ("tool_exposure", "all"),
                ("expiry", "keep"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The MCP server was updated."), "{page}");
    assert_eq!(
        names(&mcp.list_tools().await),
        vec!["list_all_gorgias_tags", "list_all_gorgias_teams"]
    );
    let (_, stored) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp/{server}"),
            None,
        )
        .await;
    assert_eq!(stored["name"], "edited");
    assert_eq!(
        stored["config"]["tools"],
        json!(["list_all_gorgias_tags", "list_all_gorgias_teams"])
    );

    // A config that exposes nothing is refused like on create, and nothing changes.
    let (status, page) = console
        .post(
            &edit,
            &[
                ("name", "broken"),
                ("method_scope", "chosen"),
                ("methods", "write"),
                ("tools", "list_all_gorgias_tags"),
                ("expiry", "keep"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("exposes no tools"), "{page}");
    assert!(
        page.contains("value=\"list_all_gorgias_tags\" id=\"tool-list_all_gorgias_tags\" checked"),
        "the refused form keeps its picks"
    );
    let (status, _) = console
        .post(&edit, &[("name", "x"), ("method_scope", "chosen")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no method ticked");
    assert_eq!(
        names(&mcp.list_tools().await),
        vec!["list_all_gorgias_tags", "list_all_gorgias_teams"]
    );

    // Try this tool: a read runs through the pipeline and is in the audit log as the console.
    let page_path = format!("/ui/accounts/{account}/servers/{server}");
    let (status, page) = console
        .post(
            &format!("{page_path}/try"),
            &[
                ("tool", "list_all_gorgias_tags"),
                ("arguments", "{\"limit\": 2}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"try-output\""), "{page}");
    assert!(
        page.contains("&quot;data&quot;") || page.contains("\"data\""),
        "{page}"
    );
    let (_, logs) = s
        .api(
            reqwest::Method::GET,
            &format!("/integrated-account/{account}/mcp/{server}/logs"),
            None,
        )
        .await;
    let records = logs["result"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{logs}");
    assert_eq!(records[0]["tool"], "list_all_gorgias_tags");
    assert_eq!(records[0]["outcome"], "ok");
    assert_eq!(
        records[0]["client_name"],
        deskgate::ui::server_page::CONSOLE_CLIENT
    );

    // Filtered out, a write, bad JSON: refused before anything runs, nothing recorded.
    for (tool, arguments, why) in [
        (
            "list_all_gorgias_tickets",
            "{}",
            "is not a tool this server offers",
        ),
        (
            "create_a_gorgias_tag",
            "{\"name\": \"x\"}",
            "is not a tool this server offers",
        ),
        ("list_all_gorgias_tags", "[1]", "must be a JSON object"),
        ("list_all_gorgias_tags", "{nope", "not valid JSON"),
    ] {
        let (status, page) = console
            .post(
                &format!("{page_path}/try"),
                &[("tool", tool), ("arguments", arguments)],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{tool}");
        assert!(page.contains(why), "{tool}: {page}");
    }
    // A write the server offers is still not run from the console.
    let (writes, _) = s
        .mint(
            &account,
            json!({"name": "writes", "config": {"methods": ["write"], "tags": ["tags"]}}),
        )
        .await;
    let (status, page) = console
        .post(
            &format!("/ui/accounts/{account}/servers/{writes}/try"),
            &[
                ("tool", "create_a_gorgias_tag"),
                ("arguments", "{\"name\": \"x\"}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("only read tools can be tried"), "{page}");
    for (id, expected) in [(&server, 1), (&writes, 0)] {
        let (_, logs) = s
            .api(
                reqwest::Method::GET,
                &format!("/integrated-account/{account}/mcp/{id}/logs"),
                None,
            )
            .await;
        assert_eq!(
            logs["result"].as_array().unwrap().len(),
            expected,
            "refusals run nothing: {logs}"
        );
    }

    // The server's page: settings, usage from the log, the recent call linking to the logs.
    let (status, page) = console.get(&page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"usage-chart\""));
    assert!(page.contains("id=\"usage-calls\">1<"), "{page}");
    assert!(page.contains(&format!(
        "logs?server={server}&amp;tool=list_all_gorgias_tags"
    )));
    s.stop().await;
}

#[tokio::test]
async fn test_connection_says_what_gorgias_answered_and_the_list_shows_it() {
    test_connection_on(TestServer::start().await).await;
}

/// The same on PostgreSQL (the health table and the latest-call query), when a test database
/// is set.
#[tokio::test]
async fn test_connection_on_postgres() {
    if let Some(s) = TestServer::start_on(Backend::Postgres).await {
        test_connection_on(s).await;
    }
}

async fn test_connection_on(s: TestServer) {
    let account = s.connect_sandbox().await;
    let console = s.console(&format!("/ui/accounts/{account}")).await;
    let overview = format!("/ui/accounts/{account}");
    let test = format!("{overview}/test");

    // Just connected, no server yet: the Overview says what to do next.
    let (_, page) = console.get(&overview).await;
    assert!(page.contains("id=\"next-step\""), "{page}");
    let (status, page) = console.post(&test, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Gorgias accepted the stored credentials; ")
            && page.contains("calls are left in its rate-limit bucket"),
        "{page}"
    );

    // The key revoked (Gorgias answers 401): said in plain words, and the list says it too.
    let fault = |body: serde_json::Value| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(format!("{}/_sandbox/faults", s.sandbox.base_url()))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    };
    fault(json!({"status": 401})).await;
    let (_, page) = console.post(&test, &[]).await;
    assert!(page.contains("revoked or is wrong"), "{page}");
    // The same test through the management API, for automation: a refusal is a finding.
    fault(json!({"status": 401})).await;
    let (status, found) = s
        .api(
            reqwest::Method::POST,
            &format!("/integrated-account/{account}/test-connection"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["state"], "rejected", "{found}");
    assert!(
        found["detail"]
            .as_str()
            .unwrap()
            .contains("revoked or is wrong"),
        "{found}"
    );
    let (status, _) = s
        .api(
            reqwest::Method::POST,
            "/integrated-account/no-such-account/test-connection",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = console.get("/ui").await;
    assert!(list.contains("data-health=\"rejected\""), "{list}");
    assert!(list.contains("Credentials refused"), "{list}");

    // Rate limited, with when it lifts.
    fault(json!({"status": 429, "retry_after": 17})).await;
    let (_, page) = console.post(&test, &[]).await;
    assert!(page.contains("again in 17 s"), "{page}");

    // A broken connection reads as unreachable.
    fault(json!({"drop_connection": true})).await;
    let (_, page) = console.post(&test, &[]).await;
    assert!(page.contains("data-health=\"unreachable\""), "{page}");

    // A later successful call is newer than the failed test: the account is healthy again.
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "reads", "config": {"methods": ["read"]}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    s.app.audit_log.flush().await;
    let (_, list) = console.get("/ui").await;
    assert!(list.contains("data-health=\"ok\""), "{list}");
    let (_, page) = console.get(&overview).await;
    assert!(!page.contains("id=\"next-step\""), "a server exists now");
    s.stop().await;
}
