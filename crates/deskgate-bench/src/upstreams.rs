//! The two upstreams deskgate is measured against, both served from this process on loopback:
//!
//! - the Gorgias sandbox, with its rate limit raised out of the way (the real bucket holds 40
//!   requests per 20 s; a benchmark would measure nothing but 429s);
//! - a fixed-response upstream that answers with bytes captured once from the sandbox (the same
//!   ticket, the same custom fields, the same rate-limit header), so deskgate does exactly the
//!   same work while the upstream's own cost all but disappears.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use base64::Engine;
use bytes::Bytes;
use gorgias_sandbox::{BucketConfig, Sandbox, SandboxConfig};
use tokio::net::TcpListener;

/// The header Gorgias reports its rate limit in; deskgate reads it on every call.
const CALL_LIMIT_HEADER: &str = "x-gorgias-account-api-call-limit";

/// A bucket that never fills during a run: a billion requests per second.
fn unlimited() -> BucketConfig {
    BucketConfig {
        capacity: 1_000_000_000,
        window: Duration::from_secs(1),
    }
}

pub async fn start_sandbox() -> anyhow::Result<Sandbox> {
    let config = SandboxConfig {
        api_key_bucket: unlimited(),
        oauth_bucket: unlimited(),
        ..SandboxConfig::default()
    };
    Sandbox::start(config)
        .await
        .context("cannot start the Gorgias sandbox")
}

/// How to call an upstream directly, as deskgate would: its base URL and `Authorization`.
#[derive(Debug, Clone)]
pub struct Direct {
    pub base_url: String,
    pub subdomain: String,
    pub email: String,
    pub api_key: String,
}

impl Direct {
    pub fn of_sandbox(sandbox: &Sandbox) -> Self {
        let c = sandbox.config();
        Direct {
            base_url: sandbox.base_url(),
            subdomain: c.subdomain.clone(),
            email: c.email.clone(),
            api_key: c.api_key.clone(),
        }
    }

    /// The headers deskgate's own upstream client sends.
    pub fn headers(&self) -> reqwest::header::HeaderMap {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.email, self.api_key));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Basic {basic}").parse().expect("valid header"),
        );
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        headers
    }
}

/// What the fixed-response upstream answers, captured from the sandbox.
#[derive(Clone)]
struct Canned {
    ticket: Bytes,
    call_limit: HeaderValue,
    /// `/api/custom-fields` pages by `object_type`.
    custom_fields: HashMap<String, Bytes>,
}

pub struct FixedUpstream {
    pub direct: Direct,
    _task: tokio::task::JoinHandle<()>,
}

impl FixedUpstream {
    /// Captures the ticket `ticket_id` and the custom fields from the sandbox, then serves them.
    pub async fn start(
        client: &reqwest::Client,
        sandbox: &Direct,
        ticket_id: u64,
    ) -> anyhow::Result<Self> {
        let fetch = |path: String| {
            client
                .get(format!("{}{path}", sandbox.base_url))
                .headers(sandbox.headers())
                .send()
        };
        let ticket = fetch(format!("/api/tickets/{ticket_id}"))
            .await?
            .error_for_status()?;
        let call_limit = ticket
            .headers()
            .get(CALL_LIMIT_HEADER)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("1/1000000000"));
        let ticket = ticket.bytes().await?;
        let mut custom_fields = HashMap::new();
        for object_type in ["Ticket", "Customer"] {
            let page = fetch(format!(
                "/api/custom-fields?object_type={object_type}&limit=100"
            ))
            .await?
            .error_for_status()?
            .bytes()
            .await?;
            custom_fields.insert(object_type.to_owned(), page);
        }
        let canned = Canned {
            ticket,
            call_limit,
            custom_fields,
        };
        let router = Router::new()
            .route("/api/account", get(account))
            .route("/api/custom-fields", get(custom_fields_page))
            .route("/api/tickets/{id}", get(ticket_reply))
            .with_state(canned);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FixedUpstream {
            direct: Direct {
                base_url: format!("http://{addr}"),
                ..sandbox.clone()
            },
            _task: task,
        })
    }
}

fn json_reply(body: Bytes, call_limit: &HeaderValue) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(CALL_LIMIT_HEADER, call_limit.clone());
    (StatusCode::OK, headers, body).into_response()
}

async fn account(State(c): State<Canned>) -> Response {
    json_reply(
        Bytes::from_static(br#"{"domain":"acme","name":"Fixed upstream"}"#),
        &c.call_limit,
    )
}

async fn custom_fields_page(
    State(c): State<Canned>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page = query
        .get("object_type")
        .and_then(|t| c.custom_fields.get(t))
        .cloned()
        .unwrap_or_else(|| Bytes::from_static(br#"{"data":[],"meta":{"next_cursor":null}}"#));
    json_reply(page, &c.call_limit)
}

async fn ticket_reply(State(c): State<Canned>) -> Response {
    json_reply(c.ticket.clone(), &c.call_limit)
}
