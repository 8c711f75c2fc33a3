//! The MCP endpoint: `<base>/mcp/<token>` is a complete MCP server for one account, scoped by
//! its server's config. The MCP SDK (`rmcp`) stays behind this module.
//!
//! - `clients`: which client is behind a URL and User-Agent (for the audit log), bounded in bytes.
//! - `handler`: the protocol handler (initialize, tools/list, tools/call, discovery mode).
//! - `fast_path`: plain older-era stateless `tools/call` POSTs, answered without rmcp's
//!   per-request service and with the upstream's JSON unparsed; everything else goes to rmcp.
//! - `sse`: the deprecated HTTP+SSE transport, adapted onto the same handler (its sessions live
//!   in `App`, because on PostgreSQL replicas relay each other's replies).
//! - here: routing, and what happens before any JSON-RPC — Host/Origin checks, resolving the
//!   token to its tenant (404 for anything unknown, expired or deleted), the optional API-token
//!   requirement — and the `ratelimit-*` headers added to replies of calls that reached Gorgias.
//!
//! Streamable HTTP is served statelessly with JSON replies: any replica can answer any request,
//! and clients that lose or never echo `Mcp-Session-Id` (ChatGPT) cannot trip over sessions.

mod clients;
mod fast_path;
mod handler;
mod sse;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use integration_spec::RateLimit;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use crate::app::App;
use crate::error::ApiError;
use crate::tenants::Tenant;

pub use clients::ClientDirectory;
pub use sse::{Caps as SseCaps, RENEW_EVERY as SSE_RENEW_EVERY, Sessions as SseSessions};

type McpService = StreamableHttpService<handler::Gateway, NeverSessionManager>;

/// What the MCP routes share.
#[derive(Clone)]
pub struct McpState {
    app: Arc<App>,
    service: McpService,
    clients: Arc<ClientDirectory>,
}

/// Filled by the handler when a call reached the upstream, read back by [`tenant_layer`] to set
/// the `ratelimit-*` headers on the HTTP reply.
#[derive(Clone, Default)]
pub(crate) struct RateLimitSlot(Arc<Mutex<Option<RateLimit>>>);

impl RateLimitSlot {
    pub(crate) fn set(&self, limit: RateLimit) {
        *self.0.lock().expect("rate-limit slot poisoned") = Some(limit);
    }

    fn take(&self) -> Option<RateLimit> {
        self.0.lock().expect("rate-limit slot poisoned").take()
    }
}

pub fn router(app: &Arc<App>) -> Router<Arc<App>> {
    let clients = Arc::new(ClientDirectory::default());
    let factory_app = app.clone();
    let factory_clients = clients.clone();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(app.config.max_body_bytes)
        // Host and Origin are checked in `tenant_layer` for both transports, before the token
        // is even looked at; rmcp's own check would only repeat it.
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let service = StreamableHttpService::new(
        move || {
            Ok(handler::Gateway::new(
                factory_app.clone(),
                factory_clients.clone(),
            ))
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let state = McpState {
        app: app.clone(),
        service,
        clients,
    };
    Router::new()
        .route("/mcp/{token}", any(fast_path::streamable_http))
        .route("/mcp/{token}/sse", get(sse::open))
        .route("/mcp/{token}/message", post(sse::message))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tenant_layer,
        ))
        .with_state(state)
}

/// Refusals before any JSON-RPC. The 404 body is the same for unknown, expired and deleted.
fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32001, "message": message}}),
        ),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    response
}

async fn tenant_layer(State(state): State<McpState>, mut request: Request, next: Next) -> Response {
    if !host_allowed(request.headers(), &state.app) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Forbidden: Host header is not allowed",
        );
    }
    if !origin_allowed(request.headers(), &state.app) {
        return refuse(StatusCode::FORBIDDEN, "Forbidden: Origin is not allowed");
    }
    let token = request
        .uri()
        .path()
        .strip_prefix("/mcp/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let client = state
        .app
        .client_address(request.headers(), request.extensions());
    let tenant = match state.app.resolve_tenant(&token).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            // A known URL is served whatever its address did before (see `auth_throttle`); an
            // unknown one counts against it, and past its budget gets a 429 instead of a 404.
            let throttle = &state.app.auth_throttle;
            if let Some(retry_after_secs) = throttle.blocked(client) {
                return too_many_failures(retry_after_secs);
            }
            throttle.failed(client);
            return refuse(
                StatusCode::NOT_FOUND,
                "Not Found: no MCP server at this URL",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "could not resolve an MCP token");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable: try again",
            );
        }
    };
    if tenant.server.require_api_token_auth {
        let presented = crate::api::bearer_token(request.headers());
        match state.app.authenticate_api_token(presented, client).await {
            Ok(api_token) if api_token.covers_mcp_server(&tenant.server) => {}
            Ok(_) => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "Forbidden: this API token is limited to other MCP servers",
                );
            }
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                return too_many_failures(retry_after_secs);
            }
            Err(ApiError::Unauthorized) => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized: this MCP server also requires `Authorization: Bearer <deskgate API token>` (an `admin` token, or an `mcp` token that covers it)",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "could not check an API token");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable: try again",
                );
            }
        }
    }
    let slot = RateLimitSlot::default();
    request.extensions_mut().insert::<Arc<Tenant>>(tenant);
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(limit) = slot.take() {
        set_rate_limit_headers(response.headers_mut(), limit);
    }
    response
}

fn too_many_failures(retry_after_secs: u64) -> Response {
    let mut response = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too Many Requests: too many failed authentications from this address; retry in {retry_after_secs} s"
        ),
    );
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs),
    );
    response
}

/// The IETF draft's `RateLimit-*` trio, normalized from the upstream's own headers.
fn set_rate_limit_headers(headers: &mut HeaderMap, limit: RateLimit) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(limit.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(limit.reset));
}

/// DNS-rebinding protection: the Host must be loopback, the public URL's host, or configured.
fn host_allowed(headers: &HeaderMap, app: &App) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        // HTTP/1.0 without Host; nothing to rebind.
        return true;
    };
    let name = host_name(host);
    let allowed = &app.config.allowed_hosts;
    if allowed.iter().any(|h| h == "*") {
        return true;
    }
    matches!(name, "localhost" | "127.0.0.1" | "::1" | "[::1]")
        || public_host(app).is_some_and(|p| p.eq_ignore_ascii_case(name))
        || allowed
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(host))
}

fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| &authority[..h.len() + 1]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn public_host(app: &App) -> Option<String> {
    url::Url::parse(&app.public_url)
        .ok()?
        .host_str()
        .map(str::to_owned)
}

/// A present Origin must be the public URL's origin or configured; no Origin (server-to-server
/// clients such as ChatGPT's) passes.
fn origin_allowed(headers: &HeaderMap, app: &App) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    let own = url::Url::parse(&app.public_url)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    own.as_deref() == Some(origin)
        || app
            .config
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// A request span that never holds an MCP token: the path is cut after `/mcp/`.
pub fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %redacted_path(request.uri().path()),
    )
}

pub fn redacted_path(path: &str) -> String {
    match path.strip_prefix("/mcp/") {
        Some(rest) => match rest.split_once('/') {
            Some((_, tail)) => format!("/mcp/<token>/{tail}"),
            None => "/mcp/<token>".to_owned(),
        },
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_their_token() {
        assert_eq!(redacted_path("/mcp/dgm_secret"), "/mcp/<token>");
        assert_eq!(redacted_path("/mcp/dgm_secret/sse"), "/mcp/<token>/sse");
        assert_eq!(redacted_path("/integrated-account"), "/integrated-account");
    }

    #[test]
    fn host_names_drop_their_port() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("example.com"), "example.com");
    }
}
