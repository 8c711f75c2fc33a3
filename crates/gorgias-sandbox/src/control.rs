//! The control plane under `/_sandbox` (no auth, never under `/api`): fault injection, raw
//! state inspection, request stats, token expiry and reseeding. See the crate docs for the list.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::app::{App, JsonBody};
use crate::faults::Fault;
use crate::state::SandboxState;

fn control_error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({"error": msg}))).into_response()
}

async fn post_fault(State(app): State<App>, JsonBody(body): JsonBody) -> Response {
    let fault: Fault = match serde_json::from_value(body) {
        Ok(f) => f,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match SandboxState::new(app.clone()).inject_fault(fault) {
        Ok(()) => {
            let active = app.faults().active_count();
            let sends = app.store().forced_send_failures.len();
            (
                StatusCode::CREATED,
                axum::Json(json!({"active_faults": active, "pending_send_failures": sends})),
            )
                .into_response()
        }
        Err(e) => control_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn clear_faults(State(app): State<App>) -> StatusCode {
    SandboxState::new(app).clear_faults();
    StatusCode::NO_CONTENT
}

async fn ticket_state(State(app): State<App>, Path(id): Path<i64>) -> Response {
    match SandboxState::new(app).ticket(id) {
        Some(v) => axum::Json(v).into_response(),
        None => control_error(StatusCode::NOT_FOUND, "no such ticket"),
    }
}

async fn customer_state(State(app): State<App>, Path(id): Path<i64>) -> Response {
    match SandboxState::new(app).customer(id) {
        Some(v) => axum::Json(v).into_response(),
        None => control_error(StatusCode::NOT_FOUND, "no such customer"),
    }
}

async fn stats(State(app): State<App>) -> Response {
    let stats = app.stats();
    axum::Json(json!({"api_requests": stats.api_requests, "by_route": stats.by_route}))
        .into_response()
}

async fn expire_access_tokens(State(app): State<App>) -> StatusCode {
    app.oauth().expire_access_tokens();
    StatusCode::NO_CONTENT
}

async fn revoke_all_tokens(State(app): State<App>) -> StatusCode {
    app.oauth().revoke_all();
    StatusCode::NO_CONTENT
}

async fn reset(State(app): State<App>) -> StatusCode {
    app.reset();
    StatusCode::NO_CONTENT
}

async fn info(State(app): State<App>) -> Response {
    let c = app.config();
    axum::Json(json!({
        "subdomain": c.subdomain,
        "email": c.email,
        "api_key": c.api_key,
        "oauth_clients": c.oauth_clients.iter().map(|o| json!({"client_id": o.client_id, "client_secret": o.client_secret, "redirect_uris": o.redirect_uris})).collect::<Vec<_>>(),
        "rate_limits": {
            "api_key": {"capacity": c.api_key_bucket.capacity, "window_secs": c.api_key_bucket.window.as_secs_f64()},
            "oauth": {"capacity": c.oauth_bucket.capacity, "window_secs": c.oauth_bucket.window.as_secs_f64()},
        },
        "seed": c.seed,
    }))
    .into_response()
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/_sandbox", get(info))
        .route("/_sandbox/faults", post(post_fault).delete(clear_faults))
        .route("/_sandbox/state/tickets/{id}", get(ticket_state))
        .route("/_sandbox/state/customers/{id}", get(customer_state))
        .route("/_sandbox/stats", get(stats))
        .route(
            "/_sandbox/oauth/expire-access-tokens",
            post(expire_access_tokens),
        )
        .route("/_sandbox/oauth/revoke-all", post(revoke_all_tokens))
        .route("/_sandbox/reset", post(reset))
}
