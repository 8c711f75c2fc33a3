//! Fault injection and the control plane (`/_sandbox`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::start;

#[tokio::test]
async fn status_faults_count_down() {
    let h = start().await;
    let r = h
        .send(
            h.http
                .post(h.url("/_sandbox/faults"))
                .json(&json!({"status": 429, "count": 2, "retry_after": 3})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for _ in 0..2 {
        let limited = h.get("/api/tickets?limit=1").await;
        assert_eq!(limited.status, 429);
        assert_eq!(limited.header("retry-after"), Some("3"));
        assert_eq!(
            limited.body,
            json!({"error": {"msg": "Too many requests."}})
        );
        assert!(limited.header("x-gorgias-account-api-call-limit").is_some());
    }
    assert_eq!(h.get("/api/tickets?limit=1").await.status, 200);
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"status": 500})),
    )
    .await;
    let e500 = h.get("/api/account").await;
    assert_eq!(e500.status, 500);
    assert!(e500.body["error"]["msg"].is_string());
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"status": 503, "count": 1})),
    )
    .await;
    let e503 = h.get("/api/account").await;
    assert_eq!(e503.status, 503);
    assert_eq!(
        e503.body,
        json!({"error": {"msg": "An external service had an issue."}})
    );
    assert_eq!(h.get("/api/account").await.status, 200);
}

#[tokio::test]
async fn fractions_methods_prefixes_and_clearing() {
    let h = start().await;
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"fraction": 1.0, "status": 500, "method": "POST"})),
    )
    .await;
    assert_eq!(
        h.get("/api/account").await.status,
        200,
        "GETs are not affected"
    );
    assert_eq!(h.post("/api/tags", json!({"name": "x"})).await.status, 500);
    assert_eq!(
        h.post("/api/tags", json!({"name": "x"})).await.status,
        500,
        "a fraction lasts until cleared"
    );
    let cleared = h.send(h.http.delete(h.url("/_sandbox/faults"))).await;
    assert_eq!(cleared.status, 204);
    assert_eq!(h.post("/api/tags", json!({"name": "x"})).await.status, 201);
    // Half of the requests, deterministically.
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"fraction": 0.5, "status": 503})),
    )
    .await;
    let mut failures = 0;
    for _ in 0..40 {
        if h.get("/api/account").await.status == 503 {
            failures += 1;
        }
    }
    assert!((8..=32).contains(&failures), "{failures}");
    h.send(h.http.delete(h.url("/_sandbox/faults"))).await;
    let bad = h
        .send(
            h.http
                .post(h.url("/_sandbox/faults"))
                .json(&json!({"count": 2})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let typo = h
        .send(
            h.http
                .post(h.url("/_sandbox/faults"))
                .json(&json!({"stauts": 500})),
        )
        .await;
    assert_eq!(typo.status, 400);
}

#[tokio::test]
async fn slow_responses() {
    let h = start().await;
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"delay_ms": 400, "count": 1})),
    )
    .await;
    let started = Instant::now();
    let r = h.get("/api/account").await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    h.get("/api/account").await;
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let h = start().await;
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"drop_connection": true, "count": 1})),
    )
    .await;
    let err = h
        .http
        .get(h.url("/api/account"))
        .basic_auth("agent@acme.example", Some("sandbox-api-key"))
        .send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        h.get("/api/account").await.status,
        200,
        "the next request is fine"
    );
}

#[tokio::test]
async fn oauth_token_endpoint_faults() {
    let h = start().await;
    h.send(
        h.http
            .post(h.url("/_sandbox/faults"))
            .json(&json!({"status": 503, "path_prefix": "/oauth/token"})),
    )
    .await;
    let r = h
        .send(
            h.http
                .post(h.url("/oauth/token"))
                .form(&[("grant_type", "refresh_token")]),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(
        h.get("/api/account").await.status,
        200,
        "/api is not affected"
    );
}

#[tokio::test]
async fn state_stats_and_reset() {
    let h = start().await;
    let id = h.sandbox.state().ticket_ids()[0];
    let before = h.sandbox.state().request_count();
    h.get(&format!("/api/tickets/{id}")).await;
    h.get(&format!("/api/tickets/{id}/")).await;
    h.send(h.http.get(h.url("/api/tickets"))).await; // 401 still reached /api
    assert_eq!(h.sandbox.state().request_count(), before + 3);
    let stats = h.send(h.http.get(h.url("/_sandbox/stats"))).await;
    assert_eq!(stats.body["by_route"]["GET /api/tickets/{id}"], 2);
    assert_eq!(stats.body["by_route"]["GET /api/tickets"], 1);
    let raw = h
        .send(h.http.get(h.url(&format!("/_sandbox/state/tickets/{id}"))))
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body["id"], id);
    assert!(raw.body["messages"].is_array());
    let customer = raw.body["customer"]["id"].as_i64().expect("customer");
    let c = h
        .send(
            h.http
                .get(h.url(&format!("/_sandbox/state/customers/{customer}"))),
        )
        .await;
    assert_eq!(c.body["id"], customer);
    assert_eq!(
        h.send(h.http.get(h.url("/_sandbox/state/tickets/1")))
            .await
            .status,
        404
    );
    // Writes are visible in state; reset reseeds.
    h.put(&format!("/api/tickets/{id}"), json!({"subject": "changed"}))
        .await;
    assert_eq!(
        h.sandbox.state().ticket(id).expect("t")["subject"],
        "changed"
    );
    assert_eq!(
        h.send(h.http.post(h.url("/_sandbox/reset"))).await.status,
        204
    );
    assert_ne!(
        h.sandbox.state().ticket(id).expect("t")["subject"],
        "changed"
    );
    assert_eq!(h.sandbox.state().request_count(), 0);
    let info = h.send(h.http.get(h.url("/_sandbox"))).await;
    assert_eq!(info.body["email"], "agent@acme.example");
    assert_eq!(info.body["api_key"], "sandbox-api-key");
}
