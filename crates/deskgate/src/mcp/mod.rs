//! The MCP endpoint: `<base>/mcp/<token>` is a complete MCP server for one account, scoped by
//! its server's config. The MCP SDK (`rmcp`) stays behind this module.
//!
//! - `guard`: Host and Origin checks (DNS-rebinding protection, 403) and CORS for the browser
//!   origins that are allowed; the outermost layers of every MCP route.
//! - `streamable`: the Streamable HTTP endpoint: `Accept` and reply framing, body limits, the
//!   JSON-RPC checks (-32700/-32600/-32602), batches; then the fast path or rmcp.
//! - `clients`: which client is behind a URL and User-Agent (for the audit log), bounded in bytes.
//! - `handler`: the protocol handler (initialize, tools/list, tools/call, discovery mode).
//! - `fast_path`: plain stateless `tools/call`, `tools/list` and `ping` POSTs of both protocol eras,
//!   answered without rmcp's per-request service, with the upstream's JSON unparsed and the
//!   tool list pre-serialized (`tool_list`); everything else goes to rmcp.
//! - `tool_list`: each server's serialized tool list, valid while its config and its account's
//!   catalog are the ones it was made from.
//! - `sse`: the deprecated HTTP+SSE transport, adapted onto the same path (its sessions live
//!   in `App`, because on PostgreSQL replicas relay each other's replies).
//! - here: routing, and what happens before any JSON-RPC once `guard` let a request through —
//!   resolving the token to its tenant (404 for anything unknown, expired or deleted), the
//!   optional API-token requirement — and the `ratelimit-*` headers added to replies of calls
//!   that reached Gorgias.
//!
//! Streamable HTTP is served statelessly with JSON replies: any replica can answer any request,
//! and clients that lose or never echo `Mcp-Session-Id` (ChatGPT) cannot trip over sessions.

mod clients;
mod fast_path;
mod guard;
mod handler;
mod sse;
mod streamable;
mod tool_list;

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
use crate::tokens::TokenKind;

pub use clients::ClientDirectory;
pub use guard::HOSTED_CLIENT_ORIGINS;
pub use sse::{Caps as SseCaps, RENEW_EVERY as SSE_RENEW_EVERY, Sessions as SseSessions};

type McpService = StreamableHttpService<handler::Gateway, NeverSessionManager>;

/// What the MCP routes share.
#[derive(Clone)]
pub struct McpState {
    app: Arc<App>,
    /// Behind an `Arc`: the state is cloned for each layer of every request, and the service
    /// itself (its config, session manager and factory) is needed only off the fast path.
    service: Arc<McpService>,
    clients: Arc<ClientDirectory>,
    gate: Arc<guard::Gate>,
    tool_lists: Arc<tool_list::ToolLists>,
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
        // Host and Origin are checked in `guard` for both transports, before the token is even
        // looked at; rmcp's own check would only repeat it.
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
    let gate = Arc::new(guard::Gate::new(&app.config, &app.public_url));
    let state = McpState {
        app: app.clone(),
        service: Arc::new(service),
        clients,
        gate: gate.clone(),
        tool_lists: Arc::default(),
    };
    // Outermost first: Host/Origin (403 without CORS headers), then CORS (answers preflights,
    // decorates every reply, 404s and 401s included), then the tenant.
    Router::new()
        .route("/mcp/{token}", any(streamable::endpoint))
        .route("/mcp/{token}/sse", get(sse::open))
        .route("/mcp/{token}/message", post(sse::message))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tenant_layer,
        ))
        .layer(guard::cors(gate))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
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
    // An `oauth` server's URL holds its id, and its requests an access token.
    if crate::auth_server::is_server_id(&token) {
        let bearer = crate::api::bearer_token(request.headers()).map(str::to_owned);
        return match oauth_tenant(&state, bearer.as_deref(), &token, client).await {
            Ok((tenant, caller)) => {
                request.extensions_mut().insert(caller);
                serve_tenant(tenant, request, next).await
            }
            Err(refusal) => refusal,
        };
    }
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
    serve_tenant(tenant, request, next).await
}

/// Runs a request whose tenant is known, and adds the rate-limit headers to its reply.
async fn serve_tenant(tenant: Arc<Tenant>, mut request: Request, next: Next) -> Response {
    let slot = RateLimitSlot::default();
    request.extensions_mut().insert::<Arc<Tenant>>(tenant);
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(limit) = slot.take() {
        set_rate_limit_headers(response.headers_mut(), limit);
    }
    response
}

/// The tenant of an `oauth` server and the OAuth client calling it, or the refusal: 404 for an
/// id that names no live `oauth` server (as for an unknown URL token), 401 with the RFC 9728
/// challenge (`resource_metadata`, and `error="invalid_token"` when a token was presented)
/// for a missing, unknown, expired, revoked or other server's token.
async fn oauth_tenant(
    state: &McpState,
    bearer: Option<&str>,
    server_id: &str,
    client: std::net::IpAddr,
) -> Result<(Arc<Tenant>, crate::auth_server::OAuthCaller), Response> {
    use crate::auth_server::BearerRefusal;
    let app = &state.app;
    let throttle = &app.auth_throttle;
    let unavailable = |e: crate::store::StoreError| {
        tracing::error!(error = %e, "could not resolve an OAuth MCP request");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable: try again",
        )
    };
    let Some(tenant) = app
        .resolve_oauth_tenant(server_id)
        .await
        .map_err(unavailable)?
    else {
        if let Some(retry_after_secs) = throttle.blocked(client) {
            return Err(too_many_failures(retry_after_secs));
        }
        throttle.failed(client);
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Not Found: no MCP server at this URL",
        ));
    };
    if bearer.is_some()
        && let Some(retry_after_secs) = throttle.blocked(client)
    {
        return Err(too_many_failures(retry_after_secs));
    }
    match app
        .authenticate_oauth_bearer(server_id, bearer)
        .await
        .map_err(unavailable)?
    {
        Ok(caller) => Ok((tenant, caller)),
        Err(why) => {
            let metadata = app.resource_metadata_url(server_id);
            let (challenge, message) = match why {
                BearerRefusal::Missing => (
                    format!(
                        r#"Bearer resource_metadata="{metadata}", scope="{}""#,
                        crate::auth_server::SCOPE
                    ),
                    "Unauthorized: this MCP server needs an OAuth access token; connect with an OAuth-capable client",
                ),
                BearerRefusal::Invalid => {
                    throttle.failed(client);
                    (
                        format!(
                            r#"Bearer resource_metadata="{metadata}", scope="{}", error="invalid_token", error_description="the access token is not valid for this server""#,
                            crate::auth_server::SCOPE
                        ),
                        "Unauthorized: the access token is not valid for this MCP server (expired, revoked or issued for another)",
                    )
                }
            };
            let mut response = refuse(StatusCode::UNAUTHORIZED, message);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(axum::http::header::WWW_AUTHENTICATE, value);
            }
            Err(response)
        }
    }
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

/// A request span that never holds an MCP token: the path is cut after `/mcp/`.
pub fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %redacted_path(request.uri().path()),
    )
}

/// The path with its MCP token replaced by `<token>`: the segment after a leading `/mcp/`
/// (whatever it holds), and any segment that starts like an MCP token elsewhere, as in the
/// paths clients build from an MCP URL (claude.ai probes
/// `/.well-known/oauth-protected-resource/mcp/<token>`).
pub fn redacted_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let is_token =
            (i == 2 && path.starts_with("/mcp/")) || segment.starts_with(TokenKind::Mcp.prefix());
        out.push_str(if is_token { "<token>" } else { segment });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_their_token() {
        assert_eq!(redacted_path("/mcp/dgm_secret"), "/mcp/<token>");
        assert_eq!(redacted_path("/mcp/dgm_secret/sse"), "/mcp/<token>/sse");
        assert_eq!(redacted_path("/integrated-account"), "/integrated-account");
        assert_eq!(
            redacted_path("/.well-known/oauth-protected-resource/mcp/dgm_secret"),
            "/.well-known/oauth-protected-resource/mcp/<token>"
        );
        assert_eq!(redacted_path("/mcp/nonsense/sse"), "/mcp/<token>/sse");
        assert_eq!(
            redacted_path("/integrated-account/a1/mcp/s1/logs"),
            "/integrated-account/a1/mcp/s1/logs"
        );
    }
}
