//! §5 cursor pagination.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{roomy, start, urlencode};

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

fn times(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|t| t[key].as_str().expect("datetime").to_owned())
        .collect()
}

#[tokio::test]
async fn walks_all_200_tickets_both_orders_without_dupes_or_gaps() {
    let h = roomy().await;
    let expected: BTreeSet<i64> = h.sandbox.state().ticket_ids().into_iter().collect();
    assert_eq!(expected.len(), 200);
    for (path, desc) in [
        ("/api/tickets", true),
        ("/api/tickets?limit=100", true),
        ("/api/tickets?limit=7&order_by=created_datetime:asc", false),
        ("/api/tickets?limit=13&order_by=updated_datetime:desc", true),
    ] {
        let all = h.walk(path).await;
        let got = ids(&all);
        let unique: BTreeSet<i64> = got.iter().copied().collect();
        assert_eq!(got.len(), 200, "{path}: no duplicates");
        assert_eq!(unique, expected, "{path}: no gaps");
        let key = if path.contains("updated") {
            "updated_datetime"
        } else {
            "created_datetime"
        };
        let ts = times(&all, key);
        let mut sorted = ts.clone();
        sorted.sort();
        if desc {
            sorted.reverse();
        }
        assert_eq!(ts, sorted, "{path}: ordered by {key}");
    }
}

#[tokio::test]
async fn prev_cursor_walks_back() {
    let h = start().await;
    let mut pages = Vec::new();
    let mut url = "/api/tickets?limit=40".to_owned();
    let mut last;
    loop {
        let r = h.get(&url).await;
        assert_eq!(r.status, 200);
        pages.push(ids(r.body["data"].as_array().expect("data")));
        last = Some(r.body.clone());
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => url = format!("/api/tickets?limit=40&cursor={}", urlencode(c)),
            None => break,
        }
    }
    assert_eq!(pages.len(), 5);
    let mut back = vec![pages.last().cloned().expect("last page")];
    let mut prev = last.expect("last")["meta"]["prev_cursor"]
        .as_str()
        .map(str::to_owned);
    while let Some(c) = prev {
        let r = h
            .get(&format!("/api/tickets?limit=40&cursor={}", urlencode(&c)))
            .await;
        assert_eq!(r.status, 200);
        back.push(ids(r.body["data"].as_array().expect("data")));
        prev = r.body["meta"]["prev_cursor"].as_str().map(str::to_owned);
    }
    back.reverse();
    assert_eq!(back, pages);
}

#[tokio::test]
async fn envelope_shape_and_defaults() {
    let h = start().await;
    let r = h.get("/api/tickets?limit=5").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["object"], "list");
    assert_eq!(r.body["uri"], "/api/tickets?limit=5");
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(5));
    assert_eq!(r.body["meta"]["prev_cursor"], Value::Null);
    assert!(r.body["meta"]["next_cursor"].is_string());
    let default = h.get("/api/tickets").await;
    assert_eq!(default.body["data"].as_array().map(Vec::len), Some(30));
    let max = h.get("/api/tickets?limit=100").await;
    assert_eq!(max.body["data"].as_array().map(Vec::len), Some(100));
    // The last page has next_cursor null.
    let tags = h.get("/api/tags?limit=100").await;
    assert_eq!(tags.body["meta"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn limit_order_by_and_cursor_validation() {
    let h = start().await;
    for q in ["limit=0", "limit=101", "limit=abc"] {
        let r = h.get(&format!("/api/tickets?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert!(r.error_data()["limit"].is_array(), "{q}: {}", r.text);
    }
    assert_eq!(
        h.get("/api/tickets?limit=0").await.error_data()["limit"],
        json!(["Must be greater than or equal to 1 and less than or equal to 100."])
    );
    let bad_order = h.get("/api/tickets?order_by=subject:asc").await;
    assert_eq!(bad_order.status, 400);
    let msg = bad_order.error_data()["order_by"][0]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(msg.starts_with("Must be one of: "), "{msg}");
    assert!(msg.contains("created_datetime:desc"));
    // A bare field name is accepted (deprecated).
    assert_eq!(
        h.get("/api/events?order_by=created_datetime&limit=1")
            .await
            .status,
        200
    );
    let bad_cursor = h.get("/api/tickets?cursor=definitely-not-a-cursor").await;
    assert_eq!(bad_cursor.status, 400);
    assert!(bad_cursor.body["error"]["msg"].is_string());
    // A cursor is bound to its order_by and filters.
    let first = h.get("/api/tickets?limit=2").await;
    let c = first.body["meta"]["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let mismatched = h
        .get(&format!(
            "/api/tickets?limit=2&order_by=created_datetime:asc&cursor={}",
            urlencode(&c)
        ))
        .await;
    assert_eq!(mismatched.status, 400);
    let other_filter = h
        .get(&format!(
            "/api/tickets?limit=2&trashed=false&cursor={}",
            urlencode(&c)
        ))
        .await;
    assert_eq!(other_filter.status, 400);
    // Same cursor with another limit is fine.
    assert_eq!(
        h.get(&format!("/api/tickets?limit=9&cursor={}", urlencode(&c)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn every_list_endpoint_uses_the_envelope() {
    let h = start().await;
    for path in [
        "/api/customers",
        "/api/custom-fields?object_type=Ticket",
        "/api/events",
        "/api/integrations",
        "/api/jobs",
        "/api/macros",
        "/api/messages",
        "/api/phone/voice-calls",
        "/api/phone/voice-call-events",
        "/api/phone/voice-call-recordings",
        "/api/rules",
        "/api/satisfaction-surveys",
        "/api/tags",
        "/api/teams",
        "/api/tickets",
        "/api/users",
        "/api/views",
        "/api/widgets",
    ] {
        let r = h
            .get(&format!(
                "{path}{}limit=2",
                if path.contains('?') { '&' } else { '?' }
            ))
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["object"], "list", "{path}");
        assert!(
            r.body["uri"]
                .as_str()
                .is_some_and(|u| u.starts_with(path.split('?').next().unwrap_or(path)))
        );
        assert!(r.body["data"].is_array(), "{path}");
        assert!(r.body["meta"].get("next_cursor").is_some(), "{path}");
        assert!(r.body["meta"].get("prev_cursor").is_some(), "{path}");
        assert!(
            r.body["data"]
                .as_array()
                .is_some_and(|d| !d.is_empty() && d.len() <= 2),
            "{path} is seeded"
        );
    }
}

#[tokio::test]
async fn unpaginated_lists_are_data_objects() {
    let h = start().await;
    let id = h.sandbox.state().ticket_ids()[0];
    for path in [
        "/api/account/settings".to_owned(),
        format!("/api/tickets/{id}/tags"),
        format!("/api/tickets/{id}/custom-fields"),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body["data"].is_array(), "{path}");
        assert!(r.body.get("meta").is_none(), "{path}");
    }
}

#[tokio::test]
async fn trashed_tickets_are_included_by_default() {
    let h = start().await;
    let trashed = h
        .sandbox
        .state()
        .tickets()
        .iter()
        .filter(|t| !t["trashed_datetime"].is_null())
        .count();
    assert!(trashed > 0, "the seed has trashed tickets");
    assert_eq!(h.walk("/api/tickets?limit=100").await.len(), 200);
    assert_eq!(
        h.walk("/api/tickets?limit=100&trashed=false").await.len(),
        200 - trashed
    );
}
