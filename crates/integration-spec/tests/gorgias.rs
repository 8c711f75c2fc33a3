//! The real Gorgias definition (`integrations/gorgias`): what it generates, and how its tools
//! plan requests.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use integration_spec::{
    Catalog, CustomFields, Definition, MethodKind, PlannedRequest, Tool, ToolFilter,
};
use serde_json::{Map, Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations/gorgias")
}

fn definition() -> &'static Definition {
    static D: OnceLock<Definition> = OnceLock::new();
    D.get_or_init(|| Definition::load_dir(&dir()).unwrap_or_else(|e| panic!("{e}")))
}

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::build(definition()).unwrap_or_else(|e| panic!("{e}")))
}

fn tool(name: &str) -> &'static Tool {
    catalog()
        .tool(name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn plan(name: &str, v: Value) -> PlannedRequest {
    tool(name)
        .plan(&args(v))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn refuse(name: &str, v: Value) -> (String, String) {
    let e = tool(name)
        .plan(&args(v))
        .expect_err("the arguments should be refused");
    (e.field().to_owned(), e.to_string())
}

#[test]
fn the_required_tool_names_exist() {
    for name in [
        "list_all_gorgias_tickets",
        "get_single_gorgias_ticket_by_id",
        "create_a_gorgias_message",
        "update_a_gorgias_ticket_by_id",
        "get_single_gorgias_customer_by_id",
        "create_a_gorgias_macro",
    ] {
        assert!(catalog().tool(name).is_some(), "{name}");
    }
}

/// Section 6.1 of the API reference, verb and path of every endpoint.
const ENDPOINTS: &[&str] = &[
    "GET /api/account",
    "GET /api/account/settings",
    "POST /api/account/settings",
    "PUT /api/account/settings/{id}",
    "GET /api/custom-fields",
    "POST /api/custom-fields",
    "PUT /api/custom-fields",
    "GET /api/custom-fields/{id}",
    "PUT /api/custom-fields/{id}",
    "GET /api/customers",
    "POST /api/customers",
    "DELETE /api/customers",
    "GET /api/customers/{id}",
    "PUT /api/customers/{id}",
    "DELETE /api/customers/{id}",
    "PUT /api/customers/merge",
    "PUT /api/customers/{customer_id}/data",
    "GET /api/customers/{customer_id}/custom-fields",
    "PUT /api/customers/{customer_id}/custom-fields",
    "PUT /api/customers/{customer_id}/custom-fields/{id}",
    "DELETE /api/customers/{customer_id}/custom-fields/{id}",
    "GET /api/events",
    "GET /api/events/{id}",
    "POST /api/upload",
    "GET /api/{file_type}/download/{domain_hash}/{resource_name}",
    "GET /api/integrations",
    "POST /api/integrations",
    "GET /api/integrations/{id}",
    "PUT /api/integrations/{id}",
    "DELETE /api/integrations/{id}",
    "GET /api/jobs",
    "POST /api/jobs",
    "GET /api/jobs/{id}",
    "PUT /api/jobs/{id}",
    "DELETE /api/jobs/{id}",
    "GET /api/macros",
    "POST /api/macros",
    "PUT /api/macros/archive",
    "PUT /api/macros/unarchive",
    "GET /api/macros/{id}",
    "PUT /api/macros/{id}",
    "DELETE /api/macros/{id}",
    "GET /api/messages",
    "GET /api/tickets/{ticket_id}/messages",
    "POST /api/tickets/{ticket_id}/messages",
    "GET /api/tickets/{ticket_id}/messages/{id}",
    "PUT /api/tickets/{ticket_id}/messages/{id}",
    "DELETE /api/tickets/{ticket_id}/messages/{id}",
    "GET /api/phone/voice-calls",
    "GET /api/phone/voice-calls/{id}",
    "GET /api/phone/voice-call-events",
    "GET /api/phone/voice-call-events/{id}",
    "GET /api/phone/voice-call-recordings",
    "GET /api/phone/voice-call-recordings/{id}",
    "DELETE /api/phone/voice-call-recordings/{id}",
    "POST /api/reporting/stats",
    "GET /api/rules",
    "POST /api/rules",
    "POST /api/rules/priorities",
    "GET /api/rules/{id}",
    "PUT /api/rules/{id}",
    "DELETE /api/rules/{id}",
    "GET /api/satisfaction-surveys",
    "POST /api/satisfaction-surveys",
    "GET /api/satisfaction-surveys/{id}",
    "PUT /api/satisfaction-surveys/{id}",
    "POST /api/search",
    "GET /api/tags",
    "POST /api/tags",
    "DELETE /api/tags",
    "GET /api/tags/{id}",
    "PUT /api/tags/{id}",
    "DELETE /api/tags/{id}",
    "PUT /api/tags/{id}/merge",
    "GET /api/teams",
    "POST /api/teams",
    "GET /api/teams/{id}",
    "PUT /api/teams/{id}",
    "DELETE /api/teams/{id}",
    "GET /api/tickets",
    "POST /api/tickets",
    "GET /api/tickets/{id}",
    "PUT /api/tickets/{id}",
    "DELETE /api/tickets/{id}",
    "GET /api/tickets/{ticket_id}/custom-fields",
    "PUT /api/tickets/{ticket_id}/custom-fields",
    "PUT /api/tickets/{ticket_id}/custom-fields/{id}",
    "DELETE /api/tickets/{ticket_id}/custom-fields/{id}",
    "GET /api/tickets/{ticket_id}/tags",
    "POST /api/tickets/{ticket_id}/tags",
    "PUT /api/tickets/{ticket_id}/tags",
    "DELETE /api/tickets/{ticket_id}/tags",
    "GET /api/users",
    "POST /api/users",
    "GET /api/users/{id}",
    "PUT /api/users/{id}",
    "DELETE /api/users/{id}",
    "GET /api/views",
    "POST /api/views",
    "GET /api/views/{id}",
    "PUT /api/views/{id}",
    "DELETE /api/views/{id}",
    "GET /api/views/{view_id}/items",
    "PUT /api/views/{view_id}/items",
    "GET /api/widgets",
    "POST /api/widgets",
    "GET /api/widgets/{id}",
    "PUT /api/widgets/{id}",
    "DELETE /api/widgets/{id}",
];

#[test]
fn every_endpoint_of_the_reference_is_a_documented_tool() {
    assert_eq!(ENDPOINTS.len(), 109);
    let tools: BTreeSet<String> = catalog()
        .tools()
        .iter()
        .filter(|t| t.task().is_none())
        .map(|t| {
            let (verb, path) = t.endpoint();
            format!("{verb} {path}")
        })
        .collect();
    let reference: BTreeSet<String> = ENDPOINTS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(tools, reference);
    let api_tools = catalog().tools().iter().filter(|t| t.task().is_none());
    assert_eq!(api_tools.count(), 109);
    assert!(definition().undocumented().is_empty());
}

#[test]
fn names_are_short_plain_and_unique() {
    let mut seen = BTreeSet::new();
    for t in catalog().tools() {
        assert!(t.name.len() <= 64, "{}", t.name);
        assert!(
            t.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            t.name
        );
        assert!(seen.insert(t.name.clone()), "{}", t.name);
        assert!(
            !t.title.is_empty() && !t.description.is_empty(),
            "{}",
            t.name
        );
        let expected_prefix = match t.kind {
            MethodKind::List => "list_all_gorgias_".into(),
            MethodKind::Get => "get_single_gorgias_".into(),
            MethodKind::Create => "create_a_gorgias_".into(),
            MethodKind::Update => "update_a_gorgias_".into(),
            MethodKind::Delete => "delete_a_gorgias_".into(),
            MethodKind::Custom => format!("{}_gorgias_", t.method),
            // Tasks name themselves; ChatGPT's two are named as it requires.
            MethodKind::Task if t.offered_with.is_some() => String::new(),
            MethodKind::Task => String::new(),
        };
        if t.kind == MethodKind::Task && t.offered_with.is_none() {
            assert!(t.name.contains("_gorgias_"), "{}", t.name);
        }
        assert!(t.name.starts_with(&expected_prefix), "{}", t.name);
        if matches!(
            t.kind,
            MethodKind::Get | MethodKind::Update | MethodKind::Delete
        ) && t.name != "get_single_gorgias_account"
        {
            assert!(t.name.ends_with("_by_id"), "{}", t.name);
        }
    }
}

/// Every property of every schema has a description in the data, recursively;
/// `response_format` is the one exception, explained once in the server's instructions.
fn check_descriptions(tool: &str, path: &str, schema: &Value) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props
            .iter()
            .filter(|(k, _)| !path.is_empty() || *k != "response_format")
        {
            let p = format!("{path}.{k}");
            assert!(
                v.get("description").is_some(),
                "{tool}: {p} has no description"
            );
            check_descriptions(tool, &p, v);
        }
    }
    if let Some(items) = schema.get("items") {
        check_descriptions(tool, &format!("{path}[]"), items);
    }
}

#[test]
fn schemas_are_flat_objects_with_descriptions_everywhere() {
    for t in catalog().tools() {
        let s = &t.input_schema;
        assert_eq!(s["type"], "object", "{}", t.name);
        // Closed, but said only to the validator (see `for_model`).
        assert!(s.get("additionalProperties").is_none(), "{}", t.name);
        // The data describes everything; the model's view leaves out what only repeats a name.
        check_descriptions(&t.name, "", &Value::Object(t.full_input_schema().clone()));
        // Self-contained: clients that rewrite schemas drop `$ref`/`$defs`
        // (anthropics/claude-ai-mcp#591).
        let text = serde_json::to_string(&**s).unwrap();
        assert!(
            !text.contains("\"$ref\"") && !s.contains_key("$defs"),
            "{}",
            t.name
        );
    }
}

#[test]
fn the_full_tools_list_is_snapshotted() {
    insta::assert_json_snapshot!(
        "gorgias_tools_list",
        catalog().tools_list_json(&ToolFilter::all())
    );
}

#[test]
fn the_summary_is_snapshotted() {
    insta::assert_snapshot!("gorgias_summary", catalog().summary().to_string());
}

#[test]
fn annotations_follow_the_method() {
    for t in catalog().tools() {
        let a = t.annotations;
        match t.kind {
            MethodKind::List | MethodKind::Get => {
                assert!(a.read_only && !a.destructive, "{}", t.name)
            }
            MethodKind::Delete => {
                assert!(!a.read_only && a.destructive && a.idempotent, "{}", t.name)
            }
            // An update or create is destructive exactly when some argument replaces or deletes
            // what is not sent.
            MethodKind::Update => {
                let replaces = t.effects.iter().any(|e| e == "replaces" || e == "deletes");
                assert!(!a.read_only && a.idempotent, "{}", t.name);
                assert_eq!(a.destructive, replaces, "{}", t.name);
            }
            MethodKind::Create => {
                let replaces = t.effects.iter().any(|e| e == "replaces" || e == "deletes");
                assert!(!a.read_only && !a.idempotent, "{}", t.name);
                assert_eq!(a.destructive, replaces, "{}", t.name);
            }
            MethodKind::Custom | MethodKind::Task => {}
        }
    }
    // Reads behind POST/PUT are still read-only; merges delete their source.
    assert!(tool("search_gorgias_view_items").annotations.read_only);
    assert!(tool("search_gorgias_entities").annotations.read_only);
    assert!(tool("query_gorgias_statistics").annotations.read_only);
    assert!(tool("merge_gorgias_customers").annotations.destructive);
    assert!(
        tool("create_a_gorgias_message").annotations.open_world,
        "it can email a customer"
    );
    assert!(!tool("list_all_gorgias_tickets").annotations.open_world);
    assert_eq!(
        tool("delete_a_gorgias_ticket_by_id").annotations.to_json(),
        json!({"destructiveHint": true, "idempotentHint": true, "openWorldHint": false})
    );
    // A read says it reads; the write hints mean nothing beside it.
    assert_eq!(
        tool("list_all_gorgias_tickets").annotations.to_json(),
        json!({"readOnlyHint": true, "openWorldHint": false})
    );
    assert_eq!(
        tool("create_a_gorgias_tag").annotations.to_json(),
        json!({"destructiveHint": false, "openWorldHint": false})
    );
}

#[test]
fn message_enums_are_exact() {
    let t = tool("create_a_gorgias_message");
    let s = &t.input_schema;
    let count = |v: &Value| v["enum"].as_array().unwrap().len();
    assert_eq!(count(&s["properties"]["channel"]), 21);
    assert_eq!(count(&s["properties"]["source"]["properties"]["type"]), 50);
    // `via` has one right value, which deskgate sends: the model is not shown it...
    assert!(s["properties"].get("via").is_none());
    assert!(
        tool("create_a_gorgias_ticket").input_schema["properties"]["messages"]["items"]
            ["properties"]
            .get("via")
            .is_none()
    );
    // ...but a client that sends it is held to the 29 values a request may use.
    let note = |via: &str| {
        json!({"ticket_id": 1, "channel": "internal-note", "via": via, "from_agent": true,
               "public": false, "body_text": "x"})
        .as_object()
        .unwrap()
        .clone()
    };
    assert!(t.plan(&note("email")).is_ok());
    for response_only in [
        "gorgias_chat",
        "offline_capture",
        "self_service",
        "invented",
    ] {
        assert!(t.plan(&note(response_only)).is_err(), "{response_only}");
    }
}

// ---- message routing rules -------------------------------------------------------------

#[test]
fn an_internal_note_is_accepted_and_gets_via_api() {
    let p = plan(
        "create_a_gorgias_message",
        json!({"ticket_id": 42, "channel": "internal-note", "from_agent": true, "public": false, "body_text": "Checked."}),
    );
    assert_eq!(p.method, "POST");
    assert_eq!(p.path, "/api/tickets/42/messages");
    assert!(p.query.is_empty());
    assert_eq!(
        p.body,
        Some(
            json!({"channel": "internal-note", "via": "api", "from_agent": true, "public": false, "body_text": "Checked."})
        )
    );
}

#[test]
fn an_internal_note_marked_public_is_refused_with_a_clear_message() {
    let (field, message) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 42, "channel": "internal-note", "from_agent": true, "public": true, "body_text": "x"}),
    );
    assert_eq!(field, "public");
    assert!(message.contains("argument `public`"), "{message}");
    assert!(
        message.contains("visible only to agents") && message.contains("must be false"),
        "{message}"
    );

    // Leaving `public` out is not enough either (Gorgias defaults it to true).
    let (field, _) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 42, "channel": "internal-note", "from_agent": true, "body_text": "x"}),
    );
    assert_eq!(field, "public");
}

#[test]
fn a_public_email_reply_needs_a_sending_address_and_a_recipient() {
    let reply = json!({"ticket_id": 7, "channel": "email", "from_agent": true, "public": true, "body_text": "Hi"});
    let (field, message) = refuse("create_a_gorgias_message", reply.clone());
    assert_eq!(field, "source.from.address");
    assert!(
        message.contains("will be EMAILED to the customer"),
        "{message}"
    );
    assert!(
        message.contains("internal-note"),
        "the message steers towards a note: {message}"
    );
    assert!(message.contains("integration_id"), "{message}");

    let mut with_sender = reply.clone();
    with_sender["integration_id"] = json!(116873);
    let (field, message) = refuse("create_a_gorgias_message", with_sender.clone());
    assert_eq!(field, "receiver");
    assert!(message.contains("source.to"), "{message}");

    with_sender["receiver"] = json!({"id": 400746613});
    let p = plan("create_a_gorgias_message", with_sender);
    assert_eq!(p.body.unwrap()["via"], "api");

    let full = json!({"ticket_id": 7, "channel": "email", "from_agent": true, "public": true,
        "sender": {"id": 1}, "receiver": {"id": 2},
        "source": {"type": "email", "from": {"address": "support@acme.com", "name": "Acme"}, "to": [{"address": "jane@example.com"}]},
        "subject": "Re: order", "body_text": "Re-shipped."});
    plan("create_a_gorgias_message", full);

    // Recording an email already sent elsewhere needs neither.
    let mut recorded = reply;
    recorded["sent_datetime"] = json!("2024-11-14T14:18:25.095107+00:00");
    plan("create_a_gorgias_message", recorded);
}

#[test]
fn other_routing_rules_hold() {
    let (field, m) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "email", "from_agent": true, "public": false, "body_text": "x"}),
    );
    assert_eq!(field, "channel", "{m}");
    let (field, m) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "chat", "from_agent": false, "body_text": "x"}),
    );
    assert_eq!(field, "sender", "{m}");
    let (field, _) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "internal-note", "from_agent": true, "public": false, "source": {"type": "email"}}),
    );
    assert_eq!(field, "source.type");
    let (field, _) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "email", "from_agent": true, "mention_ids": [3], "sent_datetime": "2024-01-01T00:00:00Z"}),
    );
    assert_eq!(field, "channel");
}

#[test]
fn message_rules_also_hold_inside_a_new_ticket() {
    let (field, message) = refuse(
        "create_a_gorgias_ticket",
        json!({"messages": [
            {"channel": "email", "from_agent": false, "sender": {"email": "jane@example.com"}, "body_text": "Help"},
            {"channel": "internal-note", "from_agent": true, "public": true, "body_text": "VIP"}
        ]}),
    );
    assert_eq!(field, "messages[1].public");
    assert!(
        message.starts_with("argument `messages[1].public`"),
        "{message}"
    );

    let p = plan(
        "create_a_gorgias_ticket",
        json!({"subject": "Help", "messages": [
            {"channel": "email", "from_agent": false, "sender": {"email": "jane@example.com"}, "body_text": "Help"}
        ]}),
    );
    let body = p.body.unwrap();
    assert_eq!(body["via"], "api", "ticket-level default");
    assert_eq!(body["messages"][0]["via"], "api", "message-level default");
}

// ---- validation messages ------------------------------------------------------------------

#[test]
fn enum_errors_name_the_field_and_the_allowed_values() {
    let (field, message) = refuse(
        "update_a_gorgias_ticket_by_id",
        json!({"id": 1, "status": "pending"}),
    );
    assert_eq!(field, "status");
    assert_eq!(
        message,
        r#"argument `status`: "pending" is not one of "open", "closed""#
    );
    let (field, message) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "internal_note", "from_agent": true}),
    );
    assert_eq!(field, "channel");
    assert!(
        message.contains(r#""internal_note" is not one of "aircall""#)
            && message.contains(r#""internal-note""#),
        "{message}"
    );
}

#[test]
fn unknown_keys_are_refused_and_never_reach_the_upstream() {
    let (field, message) = refuse(
        "get_single_gorgias_ticket_by_id",
        json!({"id": 1, "include": "messages"}),
    );
    assert_eq!(field, "include");
    assert_eq!(
        message,
        "argument `include`: is not an argument of this tool; accepted: id, relationships, response_format"
    );
    let (field, message) = refuse(
        "create_a_gorgias_message",
        json!({"ticket_id": 1, "channel": "internal-note", "from_agent": true, "public": false, "source": {"kind": "x"}}),
    );
    assert_eq!(field, "source.kind");
    assert!(
        message.contains("accepted: type, from, to, cc, bcc"),
        "{message}"
    );
}

#[test]
fn missing_and_mistyped_arguments_are_named() {
    let (field, message) = refuse("get_single_gorgias_ticket_by_id", json!({}));
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("id", "argument `id`: is required")
    );
    let (field, message) = refuse("get_single_gorgias_ticket_by_id", json!({"id": "12/../13"}));
    assert_eq!(field, "id");
    assert!(message.contains("is not of type \"integer\""), "{message}");
    let (field, _) = refuse(
        "list_all_gorgias_events",
        json!({"created_datetime": {"gte": "yesterday"}}),
    );
    assert_eq!(field, "created_datetime.gte");
}

// ---- argument splitting ---------------------------------------------------------------------

#[test]
fn arguments_split_into_path_query_and_body() {
    let p = plan(
        "list_all_gorgias_tickets",
        json!({"ticket_ids": [1, 2], "trashed": false, "order_by": "updated_datetime:desc", "limit": 10, "next_cursor": "WyJuZXh0Il0="}),
    );
    assert_eq!(
        (p.method.as_str(), p.path.as_str(), &p.body),
        ("GET", "/api/tickets", &None)
    );
    let q: Vec<(&str, &str)> = p
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        q,
        [
            ("ticket_ids", "1"),
            ("ticket_ids", "2"),
            ("trashed", "false"),
            ("order_by", "updated_datetime:desc"),
            ("limit", "10"),
            ("cursor", "WyJuZXh0Il0=")
        ]
    );

    let p = plan(
        "list_all_gorgias_events",
        json!({"created_datetime": {"gte": "2021-03-03T06:00:00Z"}, "types": ["ticket-created", "ticket-updated"]}),
    );
    assert_eq!(
        p.query,
        [
            ("types".to_owned(), "ticket-created".to_owned()),
            ("types".into(), "ticket-updated".into()),
            (
                "created_datetime[gte]".into(),
                "2021-03-03T06:00:00Z".into()
            )
        ]
    );

    let p = plan(
        "merge_gorgias_customers",
        json!({"source_id": 5, "target_id": 6, "name": "Jane"}),
    );
    assert_eq!(p.path, "/api/customers/merge");
    assert_eq!(
        p.query,
        [
            ("source_id".to_owned(), "5".to_owned()),
            ("target_id".into(), "6".into())
        ]
    );
    assert_eq!(p.body, Some(json!({"name": "Jane"})));

    let p = plan(
        "update_a_gorgias_message_by_id",
        json!({"ticket_id": 3, "id": 9, "action": "retry",
        "channel": "internal-note", "from_agent": true, "public": false}),
    );
    assert_eq!(
        (p.method.as_str(), p.path.as_str()),
        ("PUT", "/api/tickets/3/messages/9")
    );
    assert_eq!(p.query, [("action".to_owned(), "retry".to_owned())]);
    assert!(p.body.unwrap().get("action").is_none());

    let p = plan(
        "search_gorgias_view_items",
        json!({"view_id": 0, "view": {"type": "ticket-list", "filters": "eq(ticket.status, 'open')"}, "limit": 5}),
    );
    assert_eq!(
        (p.method.as_str(), p.path.as_str()),
        ("PUT", "/api/views/0/items")
    );
    assert_eq!(p.query, [("limit".to_owned(), "5".to_owned())]);

    let p = plan(
        "query_gorgias_statistics",
        json!({"query": {"scope": "tickets-created"}, "limit": 10000}),
    );
    assert_eq!(p.query, [("limit".to_owned(), "10000".to_owned())]);
}

#[test]
fn bare_array_and_raw_value_bodies_are_wrapped_and_unwrapped() {
    let t = tool("bulk_update_gorgias_ticket_field_values");
    assert_eq!(t.input_schema["properties"]["body"]["type"], "array");
    let values = json!([{"id": 12, "value": "Shipping"}, {"id": 13, "value": null}]);
    let p = plan(
        "bulk_update_gorgias_ticket_field_values",
        json!({"ticket_id": 8, "body": values}),
    );
    assert_eq!(p.path, "/api/tickets/8/custom-fields");
    assert_eq!(p.body, Some(values));

    let p = plan(
        "update_a_gorgias_ticket_field_value_by_id",
        json!({"ticket_id": 8, "id": 12, "value": "Shipping"}),
    );
    assert_eq!(p.path, "/api/tickets/8/custom-fields/12");
    assert_eq!(p.body, Some(json!("Shipping")));

    let p = plan(
        "bulk_update_gorgias_custom_fields",
        json!({"body": [{"id": 1, "priority": 3}]}),
    );
    assert_eq!(p.body, Some(json!([{"id": 1, "priority": 3}])));
}

#[test]
fn every_tool_plans_its_own_example_arguments() {
    let ids = |name: &str| {
        Some(json!(match name {
            "ticket" | "ticket_id" => 170_000_001,
            "customer" | "customer_id" => 490_000_001,
            "view_id" => 0,
            "file_type" => return Some(json!("attachments")),
            "domain_hash" => return Some(json!("ab12")),
            "resource_name" => return Some(json!("report.pdf")),
            _ => 100_000_001,
        }))
    };
    for t in catalog().tools() {
        let example = t.example_arguments(&ids);
        let planned = t
            .plan(&example)
            .unwrap_or_else(|e| panic!("{}: {e}\n{example:?}", t.name));
        assert!(!planned.path.contains('{'), "{}: {}", t.name, planned.path);
    }
    let example = tool("get_single_gorgias_ticket_by_id").example_arguments(&ids);
    assert_eq!(Value::Object(example), json!({"id": 170_000_001}));
    let example = tool("create_a_gorgias_message").example_arguments(&ids);
    assert_eq!(example["ticket_id"], 170_000_001);
    assert_eq!(example["channel"], "internal-note");
    let example = tool("create_a_gorgias_satisfaction_survey").example_arguments(&ids);
    assert_eq!(
        Value::Object(example),
        json!({"customer_id": 490_000_001, "ticket_id": 170_000_001})
    );
}

// ---- filters -------------------------------------------------------------------------------------

fn filtered(methods: &[&str], tags: &[&str]) -> Vec<String> {
    let m: Vec<String> = methods.iter().map(|s| (*s).to_owned()).collect();
    let t: Vec<String> = tags.iter().map(|s| (*s).to_owned()).collect();
    let filter = ToolFilter::parse(&m, &t, catalog()).unwrap();
    catalog()
        .tools()
        .iter()
        .filter(|t| filter.matches(t))
        .map(|t| t.name.clone())
        .collect()
}

/// Admin tools: the writes of the resources whose data says `admin: true` (the helpdesk's
/// set-up and bulk jobs), and nothing else; offered only with `with_admin` or by name.
#[test]
fn admin_tools_are_the_set_up_writes_and_pass_only_when_asked_for_or_named() {
    let admin: Vec<&Tool> = catalog().tools().iter().filter(|t| t.admin).collect();
    let resources: BTreeSet<&str> = admin.iter().map(|t| t.resource.as_str()).collect();
    assert_eq!(
        resources.into_iter().collect::<Vec<_>>(),
        [
            "account_setting",
            "custom_field",
            "integration",
            "job",
            "macro",
            "rule",
            "satisfaction_survey",
            "team",
            "user",
            "view",
            "widget"
        ]
    );
    assert!(
        admin.iter().all(|t| !t.annotations.read_only),
        "reads are never admin tools"
    );
    for name in [
        "create_a_gorgias_job",
        "bulk_update_gorgias_custom_fields",
        "archive_gorgias_macros",
    ] {
        assert!(admin.iter().any(|t| t.name == name), "{name}");
    }
    // The reads of the same resources, and an agent's writes, are not.
    for name in [
        "list_all_gorgias_macros",
        "search_gorgias_view_items",
        "list_all_gorgias_teams",
        "update_a_gorgias_ticket_by_id",
        "bulk_update_gorgias_customer_field_values",
        "create_a_gorgias_tag",
        "triage_gorgias_ticket",
    ] {
        let tool = catalog().tool(name).unwrap();
        assert!(!tool.admin, "{name}");
    }

    let write = filtered(&["write"], &[]);
    assert!(
        !write.iter().any(|n| catalog().tool(n).unwrap().admin),
        "{write:?}"
    );
    assert!(write.contains(&"create_a_gorgias_ticket".to_owned()));
    assert!(filtered(&[], &[]).contains(&"list_all_gorgias_macros".to_owned()));
    assert!(!filtered(&[], &[]).contains(&"create_a_gorgias_macro".to_owned()));

    let m = vec!["write".to_owned()];
    let asked = ToolFilter::parse(&m, &[], catalog())
        .unwrap()
        .with_admin(true);
    let with_admin: Vec<&str> = catalog()
        .tools()
        .iter()
        .filter(|t| asked.matches(t))
        .map(|t| t.name.as_str())
        .collect();
    // What the flag adds is admin tools that pass the method filter, and only those.
    let added: Vec<&str> = with_admin
        .iter()
        .copied()
        .filter(|n| !write.iter().any(|w| w == n))
        .collect();
    assert_eq!(write.len() + added.len(), with_admin.len());
    assert!(
        added.iter().all(|n| catalog().tool(n).unwrap().admin),
        "{added:?}"
    );
    assert!(added.contains(&"create_a_gorgias_macro") && added.contains(&"create_a_gorgias_job"));
    // A custom method (archive) is not a `write` selector's, admin or not.
    assert!(!added.contains(&"archive_gorgias_macros"));

    // Named in tools, an admin tool passes without the flag (with the method filter).
    let named = ToolFilter::parse(&m, &[], catalog())
        .unwrap()
        .with_tools(&["create_a_gorgias_macro".to_owned()], catalog())
        .unwrap();
    let macro_tool = catalog().tool("create_a_gorgias_macro").unwrap();
    assert!(named.matches(macro_tool));
    assert!(!named.matches(catalog().tool("create_a_gorgias_rule").unwrap()));
    // What a config left with nothing is told.
    let only_macros = ToolFilter::parse(&m, &["macros".to_owned()], catalog()).unwrap();
    assert!(only_macros.leaves_out_as_admin(macro_tool));
    assert!(
        !only_macros
            .clone()
            .with_admin(true)
            .leaves_out_as_admin(macro_tool)
    );
    assert!(!only_macros.leaves_out_as_admin(catalog().tool("list_all_gorgias_macros").unwrap()));
}

#[test]
fn reads_only_leaves_exactly_the_read_tools_whatever_the_selectors() {
    let read = filtered(&["read"], &[]);
    for methods in [&[][..], &["read", "write"][..], &["write"][..]] {
        let m: Vec<String> = methods.iter().map(|s| (*s).to_owned()).collect();
        let filter = ToolFilter::parse(&m, &[], catalog()).unwrap().reads_only();
        let names: Vec<String> = catalog()
            .tools()
            .iter()
            .filter(|t| filter.matches(t))
            .map(|t| t.name.clone())
            .collect();
        let expected: Vec<String> = if methods == ["write"] {
            Vec::new()
        } else {
            read.clone()
        };
        assert_eq!(names, expected, "methods {methods:?}");
    }
    // Tasks that write are out too, not only the plain write methods.
    let filter = ToolFilter::all().reads_only();
    let tool = |n: &str| catalog().tool(n).unwrap();
    assert!(filter.matches(tool("list_all_gorgias_tickets")));
    assert!(!filter.matches(tool("create_a_gorgias_tag")));
    assert!(!filter.matches(tool("triage_gorgias_ticket")));
}

#[test]
fn filters_select_by_method_and_tag() {
    let offered = catalog()
        .tools()
        .iter()
        .filter(|t| t.offered_with.is_none() && !t.admin)
        .count();
    assert_eq!(filtered(&[], &[]).len(), offered);
    // `read` is every tool that only reads: lists, gets, searches behind a POST or PUT, and
    // read tasks; never one that writes.
    let read = filtered(&["read"], &[]);
    assert!(
        read.iter().all(|n| tool(n).annotations.read_only),
        "{read:?}"
    );
    assert!(read.contains(&"search_gorgias_view_items".to_owned()));
    assert!(read.contains(&"search_gorgias_tickets".to_owned()));
    assert!(read.contains(&"get_gorgias_ticket_context".to_owned()));
    assert_eq!(
        read.len(),
        catalog()
            .tools()
            .iter()
            .filter(|t| t.annotations.read_only && t.offered_with.is_none())
            .count()
    );
    let write = filtered(&["write"], &[]);
    assert!(
        write.iter().all(|n| n.starts_with("create_a_")
            || n.starts_with("update_a_")
            || n.starts_with("delete_a_")
            // It only creates a message.
            || n == "add_gorgias_internal_note"),
        "{write:?}"
    );
    // A task that writes also reads (the ticket first): it needs both.
    assert!(!write.contains(&"triage_gorgias_ticket".to_owned()));
    let read_write = filtered(&["read", "write"], &[]);
    for task in [
        "triage_gorgias_ticket",
        "add_gorgias_internal_note",
        "reply_to_gorgias_customer",
    ] {
        assert!(read_write.contains(&task.to_owned()), "{task}");
    }
    // Named by its method, a task is chosen explicitly.
    assert_eq!(filtered(&["note"], &[]), ["add_gorgias_internal_note"]);
    let custom = filtered(&["custom"], &[]);
    assert!(
        custom.contains(&"merge_gorgias_customers".to_owned())
            && !custom.contains(&"list_all_gorgias_tickets".to_owned())
    );

    // Methods AND tags; tags match when any intersects.
    assert_eq!(
        filtered(&["read"], &["messages"]),
        [
            "list_all_gorgias_messages",
            "get_single_gorgias_message_by_id",
            "list_all_gorgias_ticket_messages"
        ]
    );
    assert_eq!(
        filtered(&["merge"], &[]),
        ["merge_gorgias_customers", "merge_gorgias_tags"]
    );
    assert_eq!(
        filtered(&["merge", "add"], &["tags"]),
        ["merge_gorgias_tags", "add_gorgias_ticket_tags"]
    );
    let two_tags = filtered(&[], &["phone", "search"]);
    assert_eq!(two_tags.len(), 8);

    let e = ToolFilter::parse(&["reed".into(), "read".into()], &[], catalog())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reed") && e.contains("read, write, custom") && e.contains("merge"),
        "{e}"
    );
    let e = ToolFilter::parse(&[], &["ticket".into()], catalog())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown tag(s): ticket") && e.contains("tickets"),
        "{e}"
    );
    assert_eq!(
        catalog()
            .tools_list_json(
                &ToolFilter::parse(&["read".into()], &["tickets".into()], catalog()).unwrap()
            )
            .as_array()
            .unwrap()
            .len(),
        filtered(&["read"], &["tickets"]).len()
    );
}

// ---- custom fields -------------------------------------------------------------------------------

fn fields() -> CustomFields {
    let connection = definition().connection();
    let tickets = connection
        .custom_fields
        .iter()
        .find(|s| s.resource == "tickets")
        .unwrap();
    let customers = connection
        .custom_fields
        .iter()
        .find(|s| s.resource == "customers")
        .unwrap();
    let mut fields = CustomFields::empty();
    fields
        .add_page(tickets, &json!({"object": "list", "data": [
            {"id": 123, "label": "Contact reason", "deactivated_datetime": null,
             "definition": {"data_type": "text", "input_settings": {"input_type": "dropdown", "choices": ["Order", "Refund"]}}},
            {"id": 124, "label": "Order number", "definition": {"data_type": "text", "input_settings": {"input_type": "input"}}},
            {"id": 125, "label": "Old reason", "deactivated_datetime": "2024-01-01T00:00:00+00:00",
             "definition": {"data_type": "text", "input_settings": {"input_type": "input"}}},
        ], "meta": {"next_cursor": "x"}}))
        .unwrap();
    fields
        .add_page(tickets, &json!({"data": [
            {"id": 126, "label": "Score", "definition": {"data_type": "number", "input_settings": {"input_type": "input_number", "min": 1, "max": 10}}},
        ]}))
        .unwrap();
    fields
        .add_page(customers, &json!({"data": [
            {"id": 300, "label": "VIP", "definition": {"data_type": "boolean", "input_settings": {"input_type": "dropdown", "choices": [true, false]}}},
        ]}))
        .unwrap();
    fields
}

#[test]
fn custom_fields_complete_the_schema() {
    let fields = fields();
    assert_eq!(fields.len(), 4, "the archived field is left out");
    let completed = catalog().with_custom_fields(&fields);
    let create = completed.tool("create_a_gorgias_ticket").unwrap();
    let cf = &create.input_schema["properties"]["custom_fields"];
    let alternatives = cf["items"]["anyOf"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    assert_eq!(
        alternatives[0]["properties"]["id"],
        json!({"const": 123, "description": "Contact reason"})
    );
    assert_eq!(
        alternatives[0]["properties"]["value"]["enum"],
        json!(["Order", "Refund", null])
    );
    assert_eq!(
        alternatives[2]["properties"]["value"]["minimum"],
        json!(1.0)
    );
    // The alternatives say it all; the array's description does not repeat them.
    let description = cf["description"].as_str().unwrap();
    assert!(!description.contains("Contact reason"), "{description}");
    assert!(!cf.to_string().contains("Old reason"));

    let single = completed
        .tool("update_a_gorgias_ticket_field_value_by_id")
        .unwrap();
    assert_eq!(
        single.input_schema["properties"]["id"]["enum"],
        json!([123, 124, 126])
    );
    let customer = completed.tool("update_a_gorgias_customer_by_id").unwrap();
    assert_eq!(
        customer.input_schema["properties"]["custom_fields"]["items"]["anyOf"][0]["properties"]["value"]
            ["type"],
        json!(["boolean", "null"])
    );

    // Tools without custom-field arguments are shared, not copied.
    let base = catalog().tool("list_all_gorgias_tickets").unwrap();
    assert!(Arc::ptr_eq(
        &base.input_schema,
        &completed
            .tool("list_all_gorgias_tickets")
            .unwrap()
            .input_schema
    ));
    // The base catalog is unchanged.
    assert!(
        catalog()
            .tool("create_a_gorgias_ticket")
            .unwrap()
            .input_schema["properties"]["custom_fields"]["items"]
            .get("anyOf")
            .is_none()
    );
}

#[test]
fn example_arguments_fit_the_accounts_custom_fields() {
    let completed = catalog().with_custom_fields(&fields());
    let single = completed
        .tool("update_a_gorgias_ticket_field_value_by_id")
        .unwrap();
    // Each field gets a value of its own kind, which the account-aware planner accepts.
    for (field, value) in [
        (123, json!("Order")),
        (124, json!("example")),
        (126, json!(1)),
    ] {
        let ids = |name: &str| match name {
            "ticket_id" => Some(json!(8)),
            "ticket_field_value" => Some(json!(field)),
            _ => None,
        };
        let example = single.example_arguments(&ids);
        assert_eq!(example["value"], value, "field {field}");
        single.plan(&example).unwrap();
    }
    let customer = completed
        .tool("update_a_gorgias_customer_field_value_by_id")
        .unwrap();
    let example = customer.example_arguments(&|name| match name {
        "customer_id" => Some(json!(2)),
        "customer_field_value" => Some(json!(300)),
        _ => None,
    });
    assert_eq!(example["value"], true);
    customer.plan(&example).unwrap();
    // Array bindings take a field and a fitting value from the completed schema.
    let bulk = completed
        .tool("bulk_update_gorgias_ticket_field_values")
        .unwrap();
    let example = bulk.example_arguments(&|name| (name == "ticket_id").then(|| json!(8)));
    assert_eq!(example["body"], json!([{"id": 123, "value": "Order"}]));
    bulk.plan(&example).unwrap();
}

#[test]
fn example_arguments_ask_for_the_records_of_bulk_calls() {
    let ids = |name: &str| {
        Some(match name {
            "macro" => json!(250_001),
            "rule" => json!(180_001),
            "custom_field" => json!(4_001),
            "customer" => json!(490_000_001),
            "source_tags_ids" => json!(1_150_002),
            _ => return None,
        })
    };
    let example = tool("archive_gorgias_macros").example_arguments(&ids);
    assert_eq!(example["ids"], json!([250_001]));
    let example = tool("bulk_delete_gorgias_customers").example_arguments(&ids);
    assert_eq!(example["ids"], json!([490_000_001]));
    let example = tool("prioritize_gorgias_rules").example_arguments(&ids);
    assert_eq!(
        example["priorities"],
        json!([{"id": 180_001, "priority": 1}])
    );
    let example = tool("bulk_update_gorgias_custom_fields").example_arguments(&ids);
    assert_eq!(example["body"], json!([{"id": 4_001}]));
    let example = tool("merge_gorgias_tags").example_arguments(&ids);
    assert_eq!(example["source_tags_ids"], json!([1_150_002]));
}

#[test]
fn custom_field_values_are_validated_against_the_account() {
    let completed = catalog().with_custom_fields(&fields());
    let t = completed.tool("update_a_gorgias_ticket_by_id").unwrap();
    t.plan(&args(json!({"id": 1, "custom_fields": [{"id": 123, "value": "Refund"}, {"id": 126, "value": 7}]}))).unwrap();
    let e = t
        .plan(&args(
            json!({"id": 1, "custom_fields": [{"id": 123, "value": "Lost"}]}),
        ))
        .unwrap_err();
    assert_eq!(e.field(), "custom_fields[0].value");
    assert_eq!(
        e.to_string(),
        r#"argument `custom_fields[0].value`: "Lost" is not one of "Order", "Refund" (field 123 (Contact reason))"#
    );
    let e = t
        .plan(&args(
            json!({"id": 1, "custom_fields": [{"id": 126, "value": 11}]}),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("above the maximum 10"), "{e}");
    let e = t
        .plan(&args(
            json!({"id": 1, "custom_fields": [{"id": 125, "value": "x"}]}),
        ))
        .unwrap_err();
    assert_eq!(e.field(), "custom_fields[0].id");
    assert!(e.to_string().contains("not a custom field of this account; fields: 123 (Contact reason), 124 (Order number), 126 (Score)"), "{e}");

    let single = completed
        .tool("update_a_gorgias_ticket_field_value_by_id")
        .unwrap();
    assert_eq!(
        single
            .plan(&args(json!({"ticket_id": 2, "id": 123, "value": "Order"})))
            .unwrap()
            .body,
        Some(json!("Order"))
    );
    let e = single
        .plan(&args(json!({"ticket_id": 2, "id": 123, "value": "Nope"})))
        .unwrap_err();
    assert_eq!(e.field(), "value");
    let e = single
        .plan(&args(json!({"ticket_id": 2, "id": 999, "value": "x"})))
        .unwrap_err();
    assert_eq!(e.field(), "id");

    let bulk = completed
        .tool("bulk_update_gorgias_customer_field_values")
        .unwrap();
    let e = bulk
        .plan(&args(
            json!({"customer_id": 2, "body": [{"id": 300, "value": "yes"}]}),
        ))
        .unwrap_err();
    assert_eq!(e.field(), "body[0].value");

    // Without the account's fields, any id and value pass the schema.
    tool("update_a_gorgias_ticket_by_id")
        .plan(&args(
            json!({"id": 1, "custom_fields": [{"id": 999, "value": "x"}]}),
        ))
        .unwrap();
}

// ---- connection and OpenAPI ------------------------------------------------------------------------

#[test]
fn connection_facts_come_from_the_data() {
    let c = definition().connection();
    assert_eq!(c.base_url_for("acme"), "https://acme.gorgias.com");
    assert_eq!(
        (c.verify.method.as_str(), c.verify.path.as_str()),
        ("GET", "/api/account")
    );
    assert_eq!(c.pagination.next_cursor_pointer, "/meta/next_cursor");
    assert_eq!(c.rate_limit.window_seconds, 20);
    let oauth = c.oauth2.as_ref().unwrap();
    assert_eq!(
        oauth.authorize_url_for("https://acme.gorgias.com"),
        "https://acme.gorgias.com/oauth/authorize"
    );
    assert!(
        oauth.scopes.iter().any(|s| s == "offline")
            && oauth.scopes.iter().any(|s| s == "tickets:write")
    );
    assert!(!oauth.pkce);
    assert_eq!(c.custom_fields.len(), 2);
    assert_eq!(
        c.custom_fields[0].query,
        [("object_type".to_owned(), "Ticket".to_owned())]
    );
    assert_eq!(definition().name(), "gorgias");
    assert_eq!(definition().title(), "Gorgias");
}

#[test]
fn the_openapi_export_covers_every_tool_and_resolves_its_refs() {
    let doc = definition().openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            let t = tool(&id);
            assert_eq!(t.endpoint(), (verb.to_uppercase().as_str(), path.as_str()));
            operations.insert(id);
        }
    }
    assert_eq!(operations.len(), 109);
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{name}");
    }
    let list = &doc["paths"]["/api/tickets"]["get"]["parameters"];
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "cursor")
    );
    let macro_body = &doc["paths"]["/api/macros"]["post"]["requestBody"];
    assert_eq!(
        macro_body["content"]["application/json"]["schema"]["required"],
        json!(["name"])
    );
    let upload = &doc["paths"]["/api/upload"]["post"]["requestBody"]["content"];
    assert!(upload.get("multipart/form-data").is_some());
}

#[test]
fn embedded_files_load_like_the_directory() {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = format!(
                "integrations/gorgias/{}",
                p.file_name().unwrap().to_str().unwrap()
            );
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.reverse(); // the order files come in does not matter
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let embedded = Catalog::build(&Definition::from_files(&borrowed).unwrap()).unwrap();
    assert_eq!(
        embedded.tools_list_json(&ToolFilter::all()),
        catalog().tools_list_json(&ToolFilter::all())
    );

    // A broken file is reported by the name it was given.
    let broken = files[0].1.replace("description:", "descripton:");
    let mut with_broken = borrowed.clone();
    with_broken[0].1 = &broken;
    let e = Definition::from_files(&with_broken).unwrap_err();
    assert_eq!(e.file(), files[0].0);
    assert!(e.line() > 0);
}

#[test]
fn the_catalog_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Catalog>();
    shareable::<Tool>();
    shareable::<Definition>();
    shareable::<ToolFilter>();
    shareable::<CustomFields>();
}

#[test]
fn integers_must_fit_64_bits() {
    // JSON Schema counts 1e30 as an integer; written into the path it would read `1e30`.
    let (field, message) = refuse("get_single_gorgias_ticket_by_id", json!({"id": 1e30}));
    assert_eq!(field, "id");
    assert!(
        message.contains("not a whole number that fits 64 bits"),
        "{message}"
    );
    let (field, _) = refuse("list_all_gorgias_tickets", json!({"ticket_ids": [1, 2e20]}));
    assert_eq!(field, "ticket_ids[1]");
    plan(
        "get_single_gorgias_ticket_by_id",
        json!({"id": 9_007_199_254_740_993_u64}),
    );
}

/// The eleven tools whose annotations used to understate what they do, as the issue listed
/// them: each now admits it, because an argument of it is marked with the effect.
#[test]
fn annotations_tell_the_truth() {
    let destructive = [
        "create_a_gorgias_job",
        "replace_gorgias_ticket_tags",
        "bulk_update_gorgias_ticket_field_values",
        "bulk_update_gorgias_customer_field_values",
        "set_gorgias_customer_data",
        "update_a_gorgias_account_setting_by_id",
        "update_a_gorgias_team_by_id",
        "update_a_gorgias_ticket_by_id",
    ];
    for name in destructive {
        let t = tool(name);
        assert!(t.annotations.destructive, "{name}");
        assert!(
            t.effects.iter().any(|e| e == "replaces" || e == "deletes"),
            "{name}: {:?}",
            t.effects
        );
    }
    for name in [
        "create_a_gorgias_job",
        "create_a_gorgias_user",
        "create_a_gorgias_rule",
        "update_a_gorgias_rule_by_id",
    ] {
        let t = tool(name);
        assert!(t.annotations.open_world, "{name}");
        assert!(
            t.effects.iter().any(|e| e == "sends"),
            "{name}: {:?}",
            t.effects
        );
    }
    // A note only agents see does not reach the outside; a reply does.
    assert!(!tool("add_gorgias_internal_note").annotations.open_world);
    assert!(tool("reply_to_gorgias_customer").annotations.open_world);
    // Triage adds tags to the ticket's own: nothing is lost.
    assert!(!tool("triage_gorgias_ticket").annotations.destructive);
}

/// What descriptions say and what the effect markers say agree: a tool whose description
/// speaks of replacing, clearing or deleting is destructive, and one that says it emails or
/// invites reaches the outside.
#[test]
fn descriptions_and_effects_agree() {
    for t in catalog().tools() {
        let text = t.description.to_lowercase();
        let replaces = ["replace", "cleared", "replaced whole"]
            .iter()
            .any(|w| text.contains(w))
            && !text.contains("(replaces the list)")
            && t.kind != MethodKind::Task;
        if replaces && !text.contains("use add_gorgias") && !text.starts_with("update a ticket") {
            assert!(t.annotations.destructive, "{}: {}", t.name, t.description);
        }
        if t.kind == MethodKind::Delete {
            assert!(t.annotations.destructive, "{}", t.name);
        }
        if text.contains("may email") || text.contains("invite") {
            assert!(t.annotations.open_world, "{}: {}", t.name, t.description);
        }
    }
}

#[test]
fn view_filters_are_checked_against_the_declared_language() {
    let search = "search_gorgias_view_items";
    let schema = serde_json::to_string(&*tool(search).input_schema).unwrap();
    // The grammar is in the schema, generated from the declaration.
    for needle in [
        "containsAny(attribute, list)",
        "ticket.assignee_user.id",
        "ticket.tags.name",
    ] {
        assert!(schema.contains(needle), "{needle} missing from the schema");
    }
    let ok = plan(
        search,
        json!({"view_id": 0, "view": {"filters":
            "eq(ticket.status, 'open') && (isEmpty(ticket.assignee_user) || containsAny(ticket.tags.name, ['vip']))"}}),
    );
    assert_eq!(ok.method, "PUT");

    let (field, message) = refuse(
        search,
        json!({"view_id": 0, "view": {"filters": "eq(ticket.assignee, null)"}}),
    );
    assert_eq!(field, "view.filters");
    assert!(
        message.contains("unknown attribute `ticket.assignee`"),
        "{message}"
    );
    assert!(message.contains("ticket.assignee_user"), "{message}");

    let (_, message) = refuse(
        search,
        json!({"view_id": 0, "view": {"filters": "like(ticket.subject, 'refund')"}}),
    );
    assert!(message.contains("unknown operator `like`"), "{message}");
    assert!(message.contains("contains"), "{message}");

    let (_, message) = refuse(
        search,
        json!({"view_id": 0, "view": {"filters": "eq(ticket.status, 'open'"}}),
    );
    assert!(message.contains("unexpected end"), "{message}");
    // Views keep the same check where they are created.
    let (field, _) = refuse(
        "create_a_gorgias_view",
        json!({"type": "ticket-list", "name": "x", "filters": "eq(ticket.stats, 'open')"}),
    );
    assert_eq!(field, "filters");
}
