//! §8: message semantics (internal notes, sent vs recorded replies, email routing, failures,
//! side effects on the ticket) and §6.10 endpoints.

use std::time::Duration;

use gorgias_sandbox::{Fault, SandboxConfig};
use serde_json::{Value, json};

use crate::support::{Harness, find_ticket, is_gorgias_datetime, start, start_with};

fn open_email_ticket(h: &Harness) -> Value {
    find_ticket(h, |t| {
        t["status"] == "open"
            && t["channel"] == "email"
            && t["trashed_datetime"].is_null()
            && !t["spam"].as_bool().unwrap_or(true)
    })
}

async fn email_integration(h: &Harness) -> i64 {
    let r = h.get("/api/integrations?limit=100").await;
    r.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|i| i["type"] == "email")
        .and_then(|i| i["id"].as_i64())
        .expect("seeded email integration")
}

#[tokio::test]
async fn internal_note_is_never_sent_and_keeps_last_message_datetime() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let me = h.user_id();
    // Exactly what Pipedream sends (§8.2).
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "internal-note", "from_agent": true, "public": false, "sender": {"id": me}, "body_html": "<p>Checked the order: refund is OK.</p>"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["channel"], "internal-note");
    assert_eq!(r.body["public"], false);
    assert_eq!(r.body["via"], "api");
    assert_eq!(r.body["sender"]["id"], me);
    assert_eq!(r.body["sent_datetime"], Value::Null);
    let mid = r.body["id"].as_i64().expect("id");
    let after = h.sandbox.state().ticket(id).expect("ticket");
    assert_eq!(
        after["last_message_datetime"], t["last_message_datetime"],
        "notes do not move it"
    );
    assert!(after["updated_datetime"].as_str() > t["updated_datetime"].as_str());
    let stored = h.sandbox.state().message(mid).expect("message");
    assert_eq!(stored["sent_datetime"], Value::Null);
    assert_eq!(stored["failed_datetime"], Value::Null);
    let compact = h.get(&format!("/api/tickets?ticket_ids={id}")).await;
    assert_eq!(
        compact.body["data"][0]["messages_count"],
        t["messages"].as_array().map_or(0, Vec::len) + 1
    );
}

#[tokio::test]
async fn public_email_reply_is_queued_then_sent() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let integration = email_integration(&h).await;
    let customer = &t["customer"];
    // The body of §8.3 "Public email reply, sent by Gorgias".
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "via": "api", "from_agent": true, "public": true,
                "sender": {"id": h.user_id()}, "receiver": {"id": customer["id"]},
                "integration_id": integration,
                "source": {"type": "email", "from": {"address": "support@acme.example", "name": "Acme Support"},
                           "to": [{"address": customer["email"], "name": customer["name"]}]},
                "subject": "Re: your order", "body_text": "Hi, we've re-shipped your order.",
                "body_html": "<p>Hi, we've re-shipped your order.</p>"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["sent_datetime"],
        Value::Null,
        "queued in the response"
    );
    assert_eq!(r.body["failed_datetime"], Value::Null);
    assert_eq!(r.body["receiver"]["id"], customer["id"]);
    let mid = r.body["id"].as_i64().expect("id");
    let sent = h.get(&format!("/api/tickets/{id}/messages/{mid}")).await;
    assert!(
        is_gorgias_datetime(&sent.body["sent_datetime"]),
        "{}",
        sent.text
    );
    assert!(
        sent.body["message_id"]
            .as_str()
            .is_some_and(|m| m.starts_with('<') && m.ends_with('>'))
    );
    assert_eq!(sent.body["integration_id"], integration);
    assert_eq!(sent.body["source"]["extra"]["include_thread"], false);
    let ticket = h.get(&format!("/api/tickets/{id}")).await;
    assert_eq!(
        ticket.body["last_message_datetime"],
        r.body["created_datetime"]
    );
    assert_eq!(
        ticket.body["last_received_message_datetime"],
        t["last_received_message_datetime"]
    );
}

#[tokio::test]
async fn reply_with_integration_id_only_gets_the_integration_address() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let integration = email_integration(&h).await;
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "from_agent": true, "integration_id": integration, "body_text": "Hello again"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["source"]["from"]["address"], "support@acme.example");
    assert_eq!(r.body["source"]["to"][0]["address"], t["customer"]["email"]);
    assert_eq!(
        r.body["sender"]["id"],
        h.user_id(),
        "the sender defaults to the caller"
    );
    assert_eq!(
        r.body["receiver"]["id"], t["customer"]["id"],
        "the receiver defaults to the customer"
    );
    let m = h
        .sandbox
        .state()
        .message(r.body["id"].as_i64().expect("id"))
        .expect("message");
    assert!(m["sent_datetime"].is_string());
}

#[tokio::test]
async fn email_reply_from_an_unknown_address_fails_to_send() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "via": "api", "from_agent": true, "public": true,
                "source": {"type": "email", "from": {"address": "me@gmail.example"}, "to": [{"address": t["customer"]["email"]}]},
                "body_text": "Hi"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let mid = r.body["id"].as_i64().expect("id");
    let m = h
        .get(&format!("/api/tickets/{id}/messages/{mid}"))
        .await
        .body;
    assert!(is_gorgias_datetime(&m["failed_datetime"]));
    assert_eq!(m["sent_datetime"], Value::Null);
    assert!(
        m["last_sending_error"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(m["is_retriable"], true);
    let list = h.get(&format!("/api/tickets?ticket_ids={id}")).await;
    assert_eq!(
        list.body["data"][0]["last_sent_message_not_delivered"],
        true
    );
    let events = h
        .get(&format!(
            "/api/events?types=ticket-message-failed&object_id={mid}"
        ))
        .await;
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn recorded_reply_with_sent_datetime_is_not_sent_again() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "from_agent": true, "sent_datetime": "2024-01-02T03:04:05Z",
                "source": {"type": "email", "from": {"address": "old-system@elsewhere.example"}, "to": [{"address": "x@example.com"}]},
                "body_text": "Imported reply"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["sent_datetime"], "2024-01-02T03:04:05.000000+00:00");
    let m = h
        .sandbox
        .state()
        .message(r.body["id"].as_i64().expect("id"))
        .expect("message");
    assert_eq!(m["failed_datetime"], Value::Null);
}

#[tokio::test]
async fn customer_message_reopens_and_moves_last_received() {
    let h = start().await;
    let t = find_ticket(&h, |t| {
        t["status"] == "closed" && t["trashed_datetime"].is_null() && t["channel"] == "email"
    });
    let id = t["id"].as_i64().expect("id");
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "via": "email", "from_agent": false, "body_text": "Actually it broke again."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["sender"]["id"], t["customer"]["id"],
        "sender derived from the ticket's customer"
    );
    let after = h.get(&format!("/api/tickets/{id}")).await.body;
    assert_eq!(after["status"], "open");
    assert_eq!(after["closed_datetime"], Value::Null);
    assert_eq!(
        after["last_received_message_datetime"],
        r.body["created_datetime"]
    );
    assert_eq!(after["last_message_datetime"], r.body["created_datetime"]);
    // An unknown sender email creates a customer (legacy docs).
    let r = h
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"channel": "email", "from_agent": false, "sender": {"email": "cc-person@example.org", "name": "CC Person"}, "body_text": "Me too"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let new_customer = r.body["sender"]["id"].as_i64().expect("id");
    assert_eq!(
        h.get(&format!("/api/customers/{new_customer}")).await.body["email"],
        "cc-person@example.org"
    );
}

#[tokio::test]
async fn message_validation() {
    let h = start().await;
    let id = open_email_ticket(&h)["id"].as_i64().expect("id");
    let path = format!("/api/tickets/{id}/messages");
    let missing = h.post(&path, json!({"body_text": "x"})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.error_data()["channel"],
        json!(["Missing data for required field."])
    );
    assert_eq!(
        missing.error_data()["from_agent"],
        json!(["Missing data for required field."])
    );
    let bad = h
        .post(
            &path,
            json!({"channel": "carrier-pigeon", "via": "telepathy", "from_agent": true, "body_text": "x", "source": {"type": "smoke"}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let channel_msg = bad.error_data()["channel"][0].as_str().expect("msg");
    assert!(
        channel_msg.starts_with("Must be one of: aircall, api, chat, contact_form, email"),
        "{channel_msg}"
    );
    assert!(
        bad.error_data()["via"][0]
            .as_str()
            .expect("msg")
            .starts_with("Must be one of:")
    );
    assert!(
        bad.error_data()["source"]["type"][0]
            .as_str()
            .expect("msg")
            .starts_with("Must be one of:")
    );
    let no_sender = h
        .post(
            "/api/tickets",
            json!({"messages": [{"channel": "email", "from_agent": false, "body_text": "who am I?"}]}),
        )
        .await;
    assert_eq!(no_sender.status, 400);
    assert_eq!(
        no_sender.error_data()["messages"]["0"]["sender"],
        json!(["Missing data for required field."])
    );
    assert_eq!(
        h.post(
            "/api/tickets/1/messages",
            json!({"channel": "email", "from_agent": false})
        )
        .await
        .status,
        404
    );
    let bad_action = h
        .post(
            &format!("{path}?action=explode"),
            json!({"channel": "api", "from_agent": false, "body_text": "x"}),
        )
        .await;
    assert_eq!(bad_action.status, 400);
}

#[tokio::test]
async fn forced_send_failure_then_retry() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let integration = email_integration(&h).await;
    let fault: Fault = serde_json::from_value(
        json!({"message_send_failure": true, "count": 1, "error": "Mailbox full"}),
    )
    .expect("fault");
    h.sandbox.state().inject_fault(fault).expect("valid fault");
    let r = h
        .post(&format!("/api/tickets/{id}/messages"), json!({"channel": "email", "from_agent": true, "integration_id": integration, "body_text": "Hi"}))
        .await;
    let mid = r.body["id"].as_i64().expect("id");
    let path = format!("/api/tickets/{id}/messages/{mid}");
    let failed = h.get(&path).await.body;
    assert_eq!(
        failed["last_sending_error"],
        json!({"error": "Mailbox full"})
    );
    let retry = h
        .put(
            &format!("{path}?action=retry"),
            json!({"channel": "email", "from_agent": true}),
        )
        .await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    let ok = h.get(&path).await.body;
    assert!(ok["sent_datetime"].is_string());
    assert_eq!(ok["failed_datetime"], Value::Null);
    assert_eq!(ok["last_sending_error"], Value::Null);
    // PUT needs channel and from_agent.
    let partial = h.put(&path, json!({"body_text": "edited"})).await;
    assert_eq!(partial.status, 400);
    assert_eq!(
        partial.error_data()["channel"],
        json!(["Missing data for required field."])
    );
    let edited = h
        .put(
            &path,
            json!({"channel": "email", "from_agent": true, "body_text": "edited"}),
        )
        .await;
    assert_eq!(edited.body["body_text"], "edited");
    // The stripped body follows the new body; the old text does not linger.
    assert_eq!(edited.body["stripped_text"], "edited");
    // cancel deletes the message.
    assert_eq!(
        h.put(
            &format!("{path}?action=cancel"),
            json!({"channel": "email", "from_agent": true})
        )
        .await
        .status,
        204
    );
    assert_eq!(h.get(&path).await.status, 404);
}

#[tokio::test]
async fn send_delay_is_honoured() {
    let h = start_with(SandboxConfig {
        send_delay: Duration::from_millis(1000),
        ..SandboxConfig::default()
    })
    .await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let integration = email_integration(&h).await;
    let r = h
        .post(&format!("/api/tickets/{id}/messages"), json!({"channel": "email", "from_agent": true, "integration_id": integration, "body_text": "Hi"}))
        .await;
    let mid = r.body["id"].as_i64().expect("id");
    assert_eq!(
        h.sandbox.state().message(mid).expect("m")["sent_datetime"],
        Value::Null
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(h.sandbox.state().message(mid).expect("m")["sent_datetime"].is_string());
}

#[tokio::test]
async fn message_lists_get_and_delete() {
    let h = start().await;
    let t = open_email_ticket(&h);
    let id = t["id"].as_i64().expect("id");
    let n = t["messages"].as_array().map_or(0, Vec::len);
    let per_ticket = h.get(&format!("/api/messages?ticket_id={id}")).await;
    assert_eq!(per_ticket.body["data"].as_array().map(Vec::len), Some(n));
    let deprecated = h.get(&format!("/api/tickets/{id}/messages")).await;
    assert_eq!(deprecated.status, 200);
    assert_eq!(deprecated.body["data"].as_array().map(Vec::len), Some(n));
    let all = h.get("/api/messages?limit=50").await;
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(50));
    let mid = per_ticket.body["data"][0]["id"].as_i64().expect("id");
    let other_ticket = h
        .sandbox
        .state()
        .ticket_ids()
        .into_iter()
        .find(|t| *t != id)
        .expect("another");
    assert_eq!(
        h.get(&format!("/api/tickets/{other_ticket}/messages/{mid}"))
            .await
            .status,
        404
    );
    let del = h.delete(&format!("/api/tickets/{id}/messages/{mid}")).await;
    assert_eq!(del.status, 204);
    assert_eq!(
        h.get(&format!("/api/tickets/{id}/messages/{mid}"))
            .await
            .status,
        404
    );
    let events = h
        .get(&format!(
            "/api/events?object_type=TicketMessage&object_id={mid}"
        ))
        .await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"ticket-message-created"));
}

#[tokio::test]
async fn reply_by_an_agent_assigns_per_the_account_settings() {
    let h = start().await;
    let t = find_ticket(&h, |t| {
        t["status"] == "open" && t["assignee_user"].is_null() && t["channel"] == "email"
    });
    let id = t["id"].as_i64().expect("id");
    let integration = email_integration(&h).await;
    let sam = h
        .sandbox
        .state()
        .user_id_for_email("sam@acme.example")
        .expect("sam");
    h.post(
        &format!("/api/tickets/{id}/messages"),
        json!({"channel": "email", "from_agent": true, "sender": {"id": sam}, "integration_id": integration, "body_text": "On it"}),
    )
    .await;
    // The seeded `ticket-assignment` setting has auto_assign_ticket_to_responding_agent on.
    assert_eq!(
        h.get(&format!("/api/tickets/{id}")).await.body["assignee_user"]["id"],
        sam
    );
}
