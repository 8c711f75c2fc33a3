//! `router()`: the sandbox without a socket, for `oneshot` tests.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gorgias_sandbox::{Fault, SandboxConfig, router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn basic() -> String {
    format!(
        "Basic {}",
        STANDARD.encode("agent@acme.example:sandbox-api-key")
    )
}

async fn body_json(resp: axum::response::Response) -> Value {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[tokio::test]
async fn router_serves_the_api_in_process() {
    let (app, state) = router(SandboxConfig::default());
    let id = state.ticket_ids()[0];
    let resp = app
        .clone()
        .oneshot(
            Request::get(format!("/api/tickets/{id}/"))
                .header(header::AUTHORIZATION, basic())
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("x-gorgias-account-api-call-limit")
            .and_then(|v| v.to_str().ok()),
        Some("1/40")
    );
    assert_eq!(body_json(resp).await["id"], id);
    let resp = app
        .clone()
        .oneshot(
            Request::put(format!("/api/tickets/{id}"))
                .header(header::AUTHORIZATION, basic())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"status": "closed"}).to_string()))
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(state.ticket(id).expect("ticket")["status"], "closed");
    assert_eq!(state.request_count(), 2);
    // A dropped connection cannot happen without a socket: 502 with an empty body.
    let fault: Fault = serde_json::from_value(json!({"drop_connection": true})).expect("fault");
    state.inject_fault(fault).expect("valid");
    let resp = app
        .oneshot(
            Request::get("/api/account")
                .header(header::AUTHORIZATION, basic())
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
}
