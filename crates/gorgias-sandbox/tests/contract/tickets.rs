//! §6.18 and §7: tickets, ticket tags, ticket custom-field values, view items.

use gorgias_sandbox::SandboxConfig;
use serde_json::{Value, json};

use crate::support::{assert_keys, find_ticket, is_gorgias_datetime, start, start_with};

const FULL_KEYS: &[&str] = &[
    "id",
    "uri",
    "external_id",
    "status",
    "priority",
    "channel",
    "via",
    "from_agent",
    "spam",
    "language",
    "subject",
    "customer",
    "requester",
    "assignee_user",
    "assignee_user_id",
    "assignee_team",
    "assignee_team_id",
    "tags",
    "meta",
    "messages",
    "events",
    "satisfaction_survey",
    "reply_options",
    "is_unread",
    "created_datetime",
    "opened_datetime",
    "last_received_message_datetime",
    "last_message_datetime",
    "updated_datetime",
    "closed_datetime",
    "snooze_datetime",
    "trashed_datetime",
];
const COMPACT_KEYS: &[&str] = &[
    "id",
    "uri",
    "external_id",
    "language",
    "status",
    "priority",
    "channel",
    "via",
    "from_agent",
    "customer",
    "assignee_user",
    "assignee_team",
    "subject",
    "excerpt",
    "integrations",
    "meta",
    "tags",
    "messages_count",
    "is_unread",
    "spam",
    "created_datetime",
    "opened_datetime",
    "last_received_message_datetime",
    "last_message_datetime",
    "updated_datetime",
    "closed_datetime",
    "snooze_datetime",
    "trashed_datetime",
];

/// The minimal real-world body from §7.3.
fn form_ticket() -> Value {
    json!({ "channel": "email", "via": "api", "subject": "Order #1001 never arrived",
      "customer": {"email": "jane@example.com", "name": "Jane Doe"},
      "messages": [{
          "channel": "email", "via": "api", "from_agent": false, "public": true,
          "source": {"type": "email", "from": {"address": "jane@example.com", "name": "Jane Doe"},
                     "to": [{"address": "support@acme.com"}]},
          "body_text": "Hi, my order never arrived.", "body_html": "<p>Hi, my order never arrived.</p>" }],
      "tags": [{"name": "web-form"}], "priority": "normal", "status": "open" })
}

#[tokio::test]
async fn full_and_compact_shapes() {
    let h = start().await;
    let list = h.get("/api/tickets?limit=3").await;
    for t in list.body["data"].as_array().expect("data") {
        assert_keys(t, COMPACT_KEYS);
        for absent in [
            "messages",
            "requester",
            "reply_options",
            "satisfaction_survey",
            "assignee_user_id",
            "events",
        ] {
            assert!(t.get(absent).is_none(), "compact ticket has no {absent}");
        }
        let id = t["id"].as_i64().expect("id");
        assert!(id > 100_000_000, "ids look real");
        assert_eq!(t["uri"], format!("/api/tickets/{id}/"));
        assert!(t["customer"]["email"].is_string());
        assert!(is_gorgias_datetime(&t["created_datetime"]));
    }
    let id = list.body["data"][0]["id"].as_i64().expect("id");
    let full = h.get(&format!("/api/tickets/{id}")).await;
    assert_eq!(full.status, 200);
    assert_keys(&full.body, FULL_KEYS);
    assert_eq!(full.body["events"], json!([]));
    assert_eq!(full.body["requester"], full.body["customer"]);
    assert!(full.body["customer"]["channels"].is_array());
    assert!(
        full.body["reply_options"]["internal-note"]["answerable"]
            .as_bool()
            .expect("bool")
    );
    let msg = &full.body["messages"][0];
    assert_keys(
        msg,
        &[
            "id",
            "uri",
            "ticket_id",
            "message_id",
            "external_id",
            "public",
            "channel",
            "via",
            "source",
            "sender",
            "receiver",
            "integration_id",
            "from_agent",
            "subject",
            "body_text",
            "body_html",
            "stripped_text",
            "attachments",
            "intents",
            "rule_id",
            "macros",
            "actions",
            "meta",
            "created_datetime",
            "sent_datetime",
            "failed_datetime",
            "opened_datetime",
            "last_sending_error",
            "is_retriable",
        ],
    );
    assert_eq!(
        msg["uri"],
        format!("/api/tickets/{id}/messages/{}/", msg["id"])
    );
    let with_cf = h
        .get(&format!("/api/tickets/{id}?relationships=custom_fields"))
        .await;
    assert!(with_cf.body["custom_fields"].is_object());
}

#[tokio::test]
async fn create_from_a_web_form() {
    let h = start().await;
    let r = h.post("/api/tickets", form_ticket()).await;
    // §12 #1: 200 by default for tickets.
    assert_eq!(r.status, 200, "{}", r.text);
    let t = &r.body;
    assert_keys(t, FULL_KEYS);
    assert_eq!(t["status"], "open");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["via"], "api");
    assert_eq!(t["from_agent"], false);
    assert_eq!(t["subject"], "Order #1001 never arrived");
    assert_eq!(t["customer"]["email"], "jane@example.com");
    assert_eq!(t["customer"]["name"], "Jane Doe");
    assert_eq!(t["requester"]["id"], t["customer"]["id"]);
    assert_eq!(t["tags"][0]["name"], "web-form");
    assert_eq!(t["events"], json!([]));
    let m = &t["messages"][0];
    assert!(m["id"].as_i64().is_some());
    assert_eq!(m["sender"]["email"], "jane@example.com");
    assert_eq!(m["from_agent"], false);
    // Obs: opened, last received and last message equal created.
    assert_eq!(t["opened_datetime"], t["created_datetime"]);
    assert_eq!(t["last_received_message_datetime"], t["created_datetime"]);
    assert_eq!(t["last_message_datetime"], t["created_datetime"]);
    // The customer and the tag really exist now.
    let cid = t["customer"]["id"].as_i64().expect("customer id");
    assert_eq!(h.get(&format!("/api/customers/{cid}")).await.status, 200);
    let tags = h.get("/api/tags?search=web-form").await;
    assert_eq!(tags.body["data"][0]["name"], "web-form");
    assert_eq!(tags.body["data"][0]["usage"], 1);
    // A second ticket for the same email reuses the customer.
    let again = h.post("/api/tickets", form_ticket()).await;
    assert_eq!(again.body["customer"]["id"], t["customer"]["id"]);
    let events = h
        .get(&format!(
            "/api/events?object_type=Ticket&object_id={}",
            t["id"]
        ))
        .await;
    assert!(
        events.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|e| e["type"] == "ticket-created")
    );
}

#[tokio::test]
async fn create_status_is_configurable() {
    let h = start_with(SandboxConfig {
        create_status_200_for_tickets_customers_users: false,
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(h.post("/api/tickets", form_ticket()).await.status, 201);
}

#[tokio::test]
async fn create_validation() {
    let h = start().await;
    let r = h.post("/api/tickets", json!({"subject": "x"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_data()["messages"],
        json!(["Missing data for required field."])
    );
    let empty = h.post("/api/tickets", json!({"messages": []})).await;
    assert_eq!(empty.status, 400);
    assert!(empty.error_data()["messages"].is_array());
    // Nested message errors, marshmallow style.
    let nested = h
        .post("/api/tickets", json!({"messages": [{"body_text": "hi"}]}))
        .await;
    assert_eq!(nested.status, 400);
    assert_eq!(
        nested.error_data()["messages"]["0"]["channel"],
        json!(["Missing data for required field."])
    );
    assert_eq!(
        nested.error_data()["messages"]["0"]["from_agent"],
        json!(["Missing data for required field."])
    );
    let mut bad = form_ticket();
    bad["status"] = json!("pending");
    bad["priority"] = json!("urgent");
    let r = h.post("/api/tickets", bad).await;
    assert_eq!(
        r.error_data()["status"],
        json!(["Must be one of: open, closed."])
    );
    assert_eq!(
        r.error_data()["priority"],
        json!(["Must be one of: critical, high, normal, low."])
    );
    let mut unknown_customer = form_ticket();
    unknown_customer["customer"] = json!({"id": 5});
    assert_eq!(h.post("/api/tickets", unknown_customer).await.status, 400);
    // Nothing was created by the failed calls.
    assert_eq!(h.sandbox.state().ticket_ids().len(), 200);
}

#[tokio::test]
async fn partial_update_close_reopen_assign_and_tags() {
    let h = start().await;
    let t = find_ticket(&h, |t| {
        t["status"] == "open" && t["assignee_user"].is_null() && t["trashed_datetime"].is_null()
    });
    let id = t["id"].as_i64().expect("id");
    let path = format!("/api/tickets/{id}");
    let agent = h
        .sandbox
        .state()
        .user_id_for_email("sam@acme.example")
        .expect("sam");
    let r = h.put(&path, json!({"status": "closed", "assignee_user": {"id": agent}, "tags": [{"name": "login_issue"}, {"name": "brand-new"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "closed");
    assert!(is_gorgias_datetime(&r.body["closed_datetime"]));
    assert_eq!(r.body["assignee_user"]["id"], agent);
    assert_eq!(r.body["assignee_user_id"], agent);
    let names: Vec<&str> = r.body["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["login_issue", "brand-new"]);
    // Untouched fields stay.
    assert_eq!(r.body["subject"], t["subject"]);
    assert!(r.body["updated_datetime"].as_str() > t["updated_datetime"].as_str());
    let reopened = h
        .put(
            &path,
            json!({"status": "open", "assignee_user": {"id": null}}),
        )
        .await;
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(reopened.body["closed_datetime"], Value::Null);
    assert_eq!(reopened.body["assignee_user"], Value::Null);
    let unassign_team = h
        .put(&path, json!({"assignee_team": null, "priority": "high"}))
        .await;
    assert_eq!(unassign_team.body["assignee_team"], Value::Null);
    assert_eq!(unassign_team.body["priority"], "high");
    let invalid = h
        .put(&path, json!({"status": "archived", "messages": []}))
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.error_data()["status"],
        json!(["Must be one of: open, closed."])
    );
    assert!(invalid.error_data()["messages"].is_array());
    let trash = h
        .put(
            &path,
            json!({"trashed_datetime": "2030-01-01T00:00:00Z", "spam": true}),
        )
        .await;
    assert_eq!(
        trash.body["trashed_datetime"],
        "2030-01-01T00:00:00.000000+00:00"
    );
    assert_eq!(trash.body["spam"], true);
    assert_eq!(
        h.put("/api/tickets/1", json!({"status": "open"}))
            .await
            .status,
        404
    );
    let state = h.sandbox.state().ticket(id).expect("ticket");
    assert_eq!(state["spam"], true);
}

#[tokio::test]
async fn delete_is_permanent() {
    let h = start().await;
    let id = h.sandbox.state().ticket_ids()[5];
    let r = h.delete(&format!("/api/tickets/{id}")).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert_eq!(h.get(&format!("/api/tickets/{id}")).await.status, 404);
    let msgs = h.get(&format!("/api/messages?ticket_id={id}")).await;
    assert_eq!(msgs.body["data"], json!([]));
    assert_eq!(h.delete(&format!("/api/tickets/{id}")).await.status, 404);
}

#[tokio::test]
async fn ticket_tags_endpoints() {
    let h = start().await;
    let t = find_ticket(&h, |t| t["tags"].as_array().is_some_and(Vec::is_empty));
    let id = t["id"].as_i64().expect("id");
    let path = format!("/api/tickets/{id}/tags");
    let vip = h.get("/api/tags?search=vip").await.body["data"][0]["id"]
        .as_i64()
        .expect("vip");
    let add = h
        .post(&path, json!({"ids": [vip], "names": ["needs-followup"]}))
        .await;
    assert_eq!(add.status, 201);
    assert!(add.text.is_empty());
    let list = h.get(&path).await;
    let names: Vec<&str> = list.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["vip", "needs-followup"]);
    let remove = h.delete_with(&path, json!({"names": ["vip"]})).await;
    assert_eq!(remove.status, 204);
    assert_eq!(
        h.get(&path).await.body["data"].as_array().map(Vec::len),
        Some(1)
    );
    let set = h.put(&path, json!({"names": ["urgent", "finance"]})).await;
    assert_eq!(set.status, 202);
    assert!(set.text.is_empty());
    let names: Vec<String> = h.get(&path).await.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["urgent", "finance"]);
    assert_eq!(h.put(&path, json!({})).await.status, 202);
    assert_eq!(h.get(&path).await.body["data"], json!([]));
    let neither = h.post(&path, json!({})).await;
    assert_eq!(neither.status, 400);
    assert_eq!(h.post(&path, json!({"ids": [1]})).await.status, 400);
}

async fn field_id(h: &crate::support::Harness, object_type: &str, label: &str) -> i64 {
    let r = h
        .get(&format!(
            "/api/custom-fields?object_type={object_type}&limit=100"
        ))
        .await;
    r.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|f| f["label"] == label)
        .and_then(|f| f["id"].as_i64())
        .expect("seeded field")
}

#[tokio::test]
async fn ticket_custom_field_values() {
    let h = start().await;
    let reason = field_id(&h, "Ticket", "Contact reason").await;
    let order = field_id(&h, "Ticket", "Order number").await;
    let amount = field_id(&h, "Ticket", "Refund amount").await;
    let escalated = field_id(&h, "Ticket", "Escalated").await;
    let id = h.sandbox.state().ticket_ids()[10];
    let path = format!("/api/tickets/{id}/custom-fields");
    let bulk = h
        .put(&path, json!([{"id": reason, "value": "Refund"}, {"id": order, "value": "#1234"}, {"id": amount, "value": 49.5}]))
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    let list = h.get(&path).await;
    let values: Vec<(i64, Value)> = list.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| {
            (
                v["field"]["id"].as_i64().expect("field id"),
                v["value"].clone(),
            )
        })
        .collect();
    assert_eq!(values.len(), 3);
    assert!(values.contains(&(amount, json!(49.5))));
    assert!(list.body["data"][0]["field"]["definition"]["data_type"].is_string());
    // §12 #3: the bulk PUT replaces all values.
    h.put(&path, json!([{"id": reason, "value": "Shipping"}]))
        .await;
    assert_eq!(
        h.get(&path).await.body["data"].as_array().map(Vec::len),
        Some(1)
    );
    // §12 #4: single PUT accepts the raw value and {id, value}.
    assert_eq!(
        h.put(&format!("{path}/{escalated}"), json!(true))
            .await
            .status,
        200
    );
    assert_eq!(
        h.put(
            &format!("{path}/{order}"),
            json!({"id": order, "value": "#999"})
        )
        .await
        .status,
        200
    );
    let ticket = h
        .get(&format!("/api/tickets/{id}?relationships=custom_fields"))
        .await;
    assert_eq!(
        ticket.body["custom_fields"][escalated.to_string()]["value"],
        true
    );
    assert_eq!(
        ticket.body["custom_fields"][order.to_string()]["value"],
        "#999"
    );
    // Dropdown choices and number bounds are enforced.
    let bad_choice = h.put(&format!("{path}/{reason}"), json!("Weather")).await;
    assert_eq!(bad_choice.status, 400);
    assert!(
        bad_choice.error_data()["value"][0]
            .as_str()
            .expect("msg")
            .starts_with("Must be one of: Account access")
    );
    let too_much = h.put(&format!("{path}/{amount}"), json!(10_000)).await;
    assert_eq!(too_much.status, 400);
    assert_eq!(
        too_much.error_data()["value"],
        json!(["Must be greater than or equal to 0 and less than or equal to 5000."])
    );
    let not_bool = h.put(&format!("{path}/{escalated}"), json!("yes")).await;
    assert_eq!(not_bool.status, 400);
    let bulk_bad = h
        .put(
            &path,
            json!([{"id": reason, "value": "Nope"}, {"id": 1, "value": "x"}]),
        )
        .await;
    assert_eq!(bulk_bad.status, 400);
    assert!(bulk_bad.error_data()["0"]["value"].is_array());
    assert!(bulk_bad.error_data()["1"]["id"].is_array());
    let del = h.delete(&format!("{path}/{escalated}")).await;
    assert_eq!(del.status, 204);
    let ticket = h
        .get(&format!("/api/tickets/{id}?relationships=custom_fields"))
        .await;
    assert!(
        ticket.body["custom_fields"]
            .get(escalated.to_string())
            .is_none()
    );
    // A customer field is not a ticket field.
    let tier = field_id(&h, "Customer", "Customer tier").await;
    assert_eq!(
        h.put(&format!("{path}/{tier}"), json!("Gold")).await.status,
        404
    );
    // Values can be set on create too.
    let mut body = form_ticket();
    body["custom_fields"] = json!([{"id": reason, "value": "Order status"}]);
    let created = h.post("/api/tickets", body).await;
    assert_eq!(
        created.body["custom_fields"][reason.to_string()]["value"],
        "Order status"
    );
}

#[tokio::test]
async fn triage_view_items_and_search() {
    let h = start().await;
    let r = h
        .put(
            "/api/views/0/items?limit=100",
            json!({"view": {"type": "ticket-list", "filters": "eq(ticket.status, 'open') && isEmpty(ticket.assignee_user.id) && isEmpty(ticket.assignee_team.id)",
                "order_by": "created_datetime", "order_dir": "desc"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["data"].as_array().expect("data");
    assert!(items.len() >= 14, "triage queue: {}", items.len());
    assert!(
        items
            .iter()
            .all(|t| t["status"] == "open" && t["assignee_user"].is_null())
    );
    assert!(
        items.iter().all(|t| t.get("excerpt").is_some()),
        "compact tickets"
    );
    assert!(r.body["meta"].get("next_cursor").is_some());
    let created: Vec<&str> = items
        .iter()
        .filter_map(|t| t["created_datetime"].as_str())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(created, sorted);
    let search = h
        .put(
            "/api/views/0/items",
            json!({"view": {"search": "reset my password"}}),
        )
        .await;
    assert_eq!(search.status, 200);
    assert!(!search.body["data"].as_array().expect("data").is_empty());
    let refunds = h
        .put(
            "/api/views/0/items",
            json!({"view": {"search": "refund for order"}}),
        )
        .await;
    assert!(
        refunds.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|t| t["excerpt"].is_string())
    );
    let bad = h
        .put(
            "/api/views/0/items",
            json!({"view": {"filters": "eq(ticket.status"}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.error_data()["view"]["filters"].is_array());
    // A stored view: "Unassigned".
    let views = h.get("/api/views?category=system&limit=100").await;
    let unassigned = views.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|v| v["name"] == "Unassigned")
        .and_then(|v| v["id"].as_i64())
        .expect("Unassigned view");
    let items = h
        .walk(&format!("/api/views/{unassigned}/items?limit=25"))
        .await;
    assert!(
        items
            .iter()
            .all(|t| t["assignee_user"].is_null() && t["status"] == "open")
    );
    let via_list = h
        .walk(&format!("/api/tickets?view_id={unassigned}&limit=50"))
        .await;
    assert_eq!(via_list.len(), items.len());
}
