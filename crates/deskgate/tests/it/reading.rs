//! What the model reads (issue 14), through the MCP endpoint against the sandbox: `detailed`
//! answers are the upstream's body byte for byte, concise ones are small and mark customer
//! text, and teams and tags go by name with exact, case-insensitive matching.

use integration_spec::tokens;
use serde_json::{Value, json};

use crate::support::{RawMcp, TestServer};

async fn setup() -> (TestServer, RawMcp) {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (_, url) = s.mint(&account, json!({"name": "reading"})).await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    (s, mcp)
}

fn text(reply: &crate::support::RawReply) -> String {
    let result = &reply.body["result"];
    assert_eq!(result["isError"], false, "{}", reply.body);
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn detailed_answers_are_the_upstream_body_byte_for_byte() {
    let (s, mcp) = setup().await;
    let listed: Value = s.sandbox_json("/api/tickets?limit=3").await;
    let id = listed["data"][0]["id"].as_i64().unwrap();
    let customer = listed["data"][0]["customer"]["id"].as_i64().unwrap();
    for (tool, args, path) in [
        (
            "get_single_gorgias_ticket_by_id",
            json!({"id": id}),
            format!("/api/tickets/{id}"),
        ),
        (
            "get_single_gorgias_customer_by_id",
            json!({"id": customer}),
            format!("/api/customers/{customer}"),
        ),
        (
            "list_all_gorgias_tickets",
            json!({"limit": 3}),
            "/api/tickets?limit=3".to_owned(),
        ),
    ] {
        let mut detailed = args.clone();
        detailed["response_format"] = json!("detailed");
        let got = text(&mcp.call(tool, detailed).await);
        assert_eq!(got, s.sandbox_text(&path).await, "{tool}");
    }
    s.stop().await;
}

/// Issue 14's list item target (≤ 80 tokens, from ~375): the 30 newest tickets, as the model
/// reads them, names for the customer and assignees, nothing nested that only carries an id.
#[tokio::test]
async fn a_concise_list_item_is_small_and_names_people() {
    let (s, mcp) = setup().await;
    let page: Value = serde_json::from_str(&text(
        &mcp.call("list_all_gorgias_tickets", json!({"limit": 30}))
            .await,
    ))
    .unwrap();
    let items = page["data"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    let total: usize = items
        .iter()
        .map(|item| tokens::count(&item.to_string()))
        .sum();
    assert!(total <= 80 * items.len(), "{} tokens an item", total / 30);
    assert!(items.iter().all(|i| i["customer"].is_string()), "{page}");
    let assigned = items
        .iter()
        .find(|i| i.get("assignee_team").is_some())
        .expect("the seed assigns tickets to teams");
    assert!(assigned["assignee_team"].is_string(), "{assigned}");
    // The name the item shows is one every tool takes in place of the id.
    let reply = mcp
        .call(
            "update_a_gorgias_ticket_by_id",
            json!({"id": assigned["id"], "assignee_team": {"name": assigned["assignee_team"]}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    s.stop().await;
}

#[tokio::test]
async fn a_concise_ticket_is_small_and_marks_what_the_customer_wrote() {
    let (s, mcp) = setup().await;
    let listed: Value = s.sandbox_json("/api/tickets?limit=10").await;
    for ticket in listed["data"].as_array().unwrap() {
        let id = ticket["id"].as_i64().unwrap();
        let concise = text(
            &mcp.call("get_single_gorgias_ticket_by_id", json!({"id": id}))
                .await,
        );
        let n = tokens::count(&concise);
        assert!(n <= 300, "ticket {id}: {n} tokens\n{concise}");
        assert!(!concise.contains("body_html"), "{concise}");
        let detailed = s.sandbox_text(&format!("/api/tickets/{id}")).await;
        assert!(
            tokens::count(&detailed) > 2 * n,
            "ticket {id} was not made smaller"
        );
        if detailed.contains("\"from_agent\":false") {
            assert!(concise.contains("untrusted_customer_text"), "{concise}");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn teams_and_tags_go_by_name() {
    let (s, mcp) = setup().await;
    let listed: Value = s.sandbox_json("/api/tickets?limit=1").await;
    let id = listed["data"][0]["id"].as_i64().unwrap();

    // Case-insensitive exact names become what Gorgias takes.
    let done = mcp
        .call(
            "triage_gorgias_ticket",
            json!({"ticket_id": id, "assignee_team": {"name": "tier 1"}, "tags": ["LOGIN_ISSUE"]}),
        )
        .await;
    text(&done);
    let after: Value = s.sandbox_json(&format!("/api/tickets/{id}")).await;
    assert_eq!(after["assignee_team"]["name"], "Tier 1");
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "login_issue"),
        "{}",
        after["tags"]
    );

    // An unknown team is refused with the closest candidates; nothing is sent.
    let refused = mcp
        .call(
            "triage_gorgias_ticket",
            json!({"ticket_id": id, "assignee_team": {"name": "Tier 9"}}),
        )
        .await;
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.body);
    let message = refused.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(message.contains("Tier 1"), "{message}");

    // A tag written as words instead of its name is refused unless creating it is asked for.
    let refused = mcp
        .call(
            "triage_gorgias_ticket",
            json!({"ticket_id": id, "tags": ["Brand new worry"]}),
        )
        .await;
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.body);
    let message = refused.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(message.contains("create_missing_tags"), "{message}");
    let unchanged: Value = s.sandbox_json(&format!("/api/tickets/{id}")).await;
    assert_eq!(unchanged["tags"], after["tags"]);
    s.stop().await;
}

/// Issue 18: a concise answer is built from a tree of only what its view reads. It must be the
/// same answer as from the whole tree, for every read whose shape has a view (lists, gets,
/// nested views, texts, links), over the sandbox's real answers.
#[tokio::test]
async fn a_concise_answer_from_only_what_it_reads_is_the_same() {
    let (s, _mcp) = setup().await;
    let catalog = s.app.integration.catalog();
    let cx = integration_spec::ShapeContext {
        app_base: "https://acme.gorgias.com",
    };
    let tickets: Value = s.sandbox_json("/api/tickets?limit=30").await;
    let customers: Value = s.sandbox_json("/api/customers?limit=30").await;
    let mut reads: Vec<(&str, String)> = vec![
        ("list_all_gorgias_tickets", "/api/tickets?limit=30".into()),
        (
            "list_all_gorgias_customers",
            "/api/customers?limit=30".into(),
        ),
        ("list_all_gorgias_messages", "/api/messages?limit=30".into()),
        ("list_all_gorgias_users", "/api/users".into()),
        ("list_all_gorgias_teams", "/api/teams".into()),
        ("list_all_gorgias_tags", "/api/tags".into()),
        ("list_all_gorgias_views", "/api/views".into()),
        ("list_all_gorgias_macros", "/api/macros".into()),
        ("list_all_gorgias_events", "/api/events".into()),
        ("list_all_gorgias_integrations", "/api/integrations".into()),
        ("list_all_gorgias_rules", "/api/rules".into()),
        (
            "list_all_gorgias_satisfaction_surveys",
            "/api/satisfaction-surveys".into(),
        ),
        ("list_all_gorgias_widgets", "/api/widgets".into()),
        ("list_all_gorgias_jobs", "/api/jobs".into()),
        (
            "list_all_gorgias_custom_fields",
            "/api/custom-fields?object_type=Ticket".into(),
        ),
        ("get_single_gorgias_account", "/api/account".into()),
        (
            "list_all_gorgias_account_settings",
            "/api/account/settings".into(),
        ),
        (
            "list_all_gorgias_voice_calls",
            "/api/phone/voice-calls".into(),
        ),
    ];
    for ticket in tickets["data"].as_array().unwrap().iter().take(10) {
        let id = &ticket["id"];
        reads.push((
            "get_single_gorgias_ticket_by_id",
            format!("/api/tickets/{id}"),
        ));
        reads.push((
            "list_all_gorgias_ticket_messages",
            format!("/api/tickets/{id}/messages"),
        ));
    }
    for customer in customers["data"].as_array().unwrap().iter().take(5) {
        let id = &customer["id"];
        reads.push((
            "get_single_gorgias_customer_by_id",
            format!("/api/customers/{id}"),
        ));
    }
    let mut pruned_bytes = 0;
    let mut full_bytes = 0;
    for (name, path) in &reads {
        let tool = catalog
            .tool(name)
            .unwrap_or_else(|| panic!("no tool {name}"));
        let body = s.sandbox_text(path).await;
        let full: Value = serde_json::from_str(&body).unwrap();
        let pruned = tool.concise_answer(body.as_bytes()).expect("JSON");
        let args = serde_json::Map::new();
        assert_eq!(
            tool.concise(&args, Some(&pruned), &cx),
            tool.concise(&args, Some(&full), &cx),
            "{name} {path}"
        );
        pruned_bytes += pruned.to_string().len();
        full_bytes += full.to_string().len();
    }
    // It does leave things out (a ticket's requester, a message's HTML, …).
    assert!(
        pruned_bytes * 2 < full_bytes,
        "{pruned_bytes} of {full_bytes} bytes kept"
    );
    s.stop().await;
}
