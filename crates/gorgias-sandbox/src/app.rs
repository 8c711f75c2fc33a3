//! The axum application: shared state, request context extractors, and the router with its
//! gate (account, auth, rate limit, faults) in front of `/api`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::{self, Principal};
use crate::config::SandboxConfig;
use crate::errors::ApiError;
use crate::faults::{self, FaultAction, Faults};
use crate::oauth::OAuthState;
use crate::pagination::QueryParams;
use crate::rate_limit::{Decision, RateLimiter};
use crate::store::Store;

/// Shared state of one running sandbox; cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

pub struct Inner {
    pub config: SandboxConfig,
    pub store: Mutex<Store>,
    pub limiter: Mutex<RateLimiter>,
    pub faults: Mutex<Faults>,
    pub oauth: Mutex<OAuthState>,
    pub stats: Mutex<Stats>,
    /// Key of the sandbox's HS256 token signatures (real Gorgias tokens are RS256).
    pub jwt_secret: Vec<u8>,
}

/// Request counts for `/_sandbox/stats` and `SandboxState::request_count`.
#[derive(Debug, Default)]
pub struct Stats {
    pub api_requests: u64,
    pub by_route: BTreeMap<String, u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not wedge the sandbox for the rest of a test run.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl App {
    pub fn new(config: SandboxConfig) -> Self {
        let store = crate::seed::build(&config);
        let jwt_secret =
            format!("gorgias-sandbox:{}:{}", config.subdomain, config.seed).into_bytes();
        App(Arc::new(Inner {
            limiter: Mutex::new(RateLimiter::new(config.api_key_bucket, config.oauth_bucket)),
            faults: Mutex::new(Faults::new(config.seed)),
            oauth: Mutex::new(OAuthState::default()),
            stats: Mutex::new(Stats::default()),
            store: Mutex::new(store),
            jwt_secret,
            config,
        }))
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.0.config
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.0.store)
    }

    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.0.limiter)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.0.faults)
    }

    pub fn oauth(&self) -> MutexGuard<'_, OAuthState> {
        lock(&self.0.oauth)
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.0.stats)
    }

    pub fn jwt_secret(&self) -> &[u8] {
        &self.0.jwt_secret
    }

    /// The status of a successful create: §12 #1 (200 for tickets, customers, users when
    /// configured so; 201 otherwise).
    pub fn create_status(&self, resource: &str) -> StatusCode {
        let observed_200 = matches!(resource, "ticket" | "customer" | "user");
        if observed_200 && self.config().create_status_200_for_tickets_customers_users {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        }
    }

    /// Reseeds the account and forgets tokens, buckets and faults.
    pub fn reset(&self) {
        let fresh = crate::seed::build(self.config());
        *self.store() = fresh;
        self.limiter().reset();
        self.faults().clear();
        *self.oauth() = OAuthState::default();
        *self.stats() = Stats::default();
    }
}

/// The full request path and query as the client sent them (before nesting stripped `/api`).
#[derive(Debug, Clone)]
pub struct FullUri(pub String);

/// Per-request context for `/api` handlers.
pub struct Ctx {
    pub principal: Principal,
    /// Path and query as sent, for the list envelope's `uri`.
    pub uri: String,
    pub query: QueryParams,
    /// `scheme://host` the client used, for absolute URLs (uploads).
    pub origin: String,
}

impl FromRequestParts<App> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(ApiError::Unauthorized)?;
        let uri = parts
            .extensions
            .get::<FullUri>()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| parts.uri.to_string());
        let query = QueryParams::parse(parts.uri.query());
        let origin = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| format!("https://{}.gorgias.com", app.config().subdomain));
        Ok(Ctx {
            principal,
            uri,
            query,
            origin,
        })
    }
}

/// A JSON body. Unparseable JSON is a 400 in Gorgias's envelope; an empty body reads as `null`
/// so the schema reports what is missing.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("Failed to decode JSON object: {e}")))
    }
}

/// Integer path parameters. Like Flask's `<int:id>` routes, a non-integer segment is a 404.
pub struct Ids(pub Vec<i64>);

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        params
            .iter()
            .map(|(_, v)| v.parse::<i64>().map_err(|_| ApiError::NotFound))
            .collect::<Result<Vec<_>, _>>()
            .map(Ids)
    }
}

impl Ids {
    pub fn one(&self) -> i64 {
        self.0.first().copied().unwrap_or_default()
    }

    pub fn two(&self) -> (i64, i64) {
        (
            self.0.first().copied().unwrap_or_default(),
            self.0.get(1).copied().unwrap_or_default(),
        )
    }
}

pub fn json_response(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

pub fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, value)
}

pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Gorgias answers unknown accounts and non-API paths with an HTML page, not JSON (§1).
async fn html_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on the server.</p></body></html>"),
    )
        .into_response()
}

/// `/api/tickets/123/messages/9` -> `/api/tickets/{id}/messages/{id}`, for request stats.
pub fn path_template(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// True when the `Host` names another Gorgias account (`other.gorgias.com`).
fn is_foreign_account(app: &App, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let host = host.split(':').next().unwrap_or(host);
    match host.strip_suffix(".gorgias.com") {
        Some(sub) => sub != app.config().subdomain,
        None => false,
    }
}

/// The gate in front of every `/api` route: account, auth, permissions, rate limit, faults.
async fn api_gate(State(app): State<App>, mut req: Request, next: Next) -> Response {
    // The nested router sees the path without `/api` (and without a trailing slash).
    let full_path = format!("/api{}", req.uri().path());
    {
        let mut stats = app.stats();
        stats.api_requests += 1;
        *stats
            .by_route
            .entry(format!("{} {}", req.method(), path_template(&full_path)))
            .or_default() += 1;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if is_foreign_account(&app, host) {
        return html_not_found().await;
    }
    // 401s carry no rate-limit header: an unauthenticated call names no bucket to drain.
    let principal = match auth::authenticate(&app, req.headers()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let decision = app.limiter().acquire(principal.kind, Instant::now());
    let limit_header = HeaderValue::from_str(&decision.header_value()).ok();
    let mut response = if let Decision::Limited {
        retry_after_secs, ..
    } = decision
    {
        ApiError::TooManyRequests { retry_after_secs }.into_response()
    } else if let Err(e) = auth::authorize(&app, &principal, req.method(), &full_path) {
        e.into_response()
    } else {
        req.extensions_mut().insert(principal);
        match faults::before_request(&app, req.method(), &full_path).await {
            FaultAction::Proceed => next.run(req).await,
            FaultAction::Respond(r) => r,
        }
    };
    if let Some(v) = limit_header {
        response
            .headers_mut()
            .insert("X-Gorgias-Account-Api-Call-Limit", v);
    }
    response
}

/// Faults for the OAuth endpoints (no auth, no rate limit there).
async fn oauth_gate(State(app): State<App>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    match faults::before_request(&app, req.method(), &path).await {
        FaultAction::Proceed => next.run(req).await,
        FaultAction::Respond(r) => r,
    }
}

fn api_routes(app: &App) -> Router<App> {
    use crate::resources::*;
    Router::new()
        .merge(account::routes())
        .merge(customers::routes())
        .merge(custom_fields::routes())
        .merge(events::routes())
        .merge(files::routes())
        .merge(integrations::routes())
        .merge(jobs::routes())
        .merge(macros::routes())
        .merge(messages::routes())
        .merge(phone::routes())
        .merge(reporting::routes())
        .merge(rules::routes())
        .merge(satisfaction_surveys::routes())
        .merge(search::routes())
        .merge(tags::routes())
        .merge(teams::routes())
        .merge(tickets::routes())
        .merge(users::routes())
        .merge(views::routes())
        .merge(widgets::routes())
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), api_gate))
}

/// Both `/api/tickets/1` and `/api/tickets/1/` are accepted (§1); routes are declared without
/// the slash. The original path and query are kept for the list envelope's `uri`.
fn normalize(mut req: Request<Body>) -> Request<Body> {
    let original = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req.extensions_mut().insert(FullUri(original));
    req
}

/// The whole sandbox as one router: `/api`, `/oauth`, `/_sandbox`.
pub fn build_router(app: App) -> Router {
    let oauth =
        crate::oauth::routes().layer(middleware::from_fn_with_state(app.clone(), oauth_gate));
    let inner: Router = Router::new()
        .nest("/api", api_routes(&app))
        .merge(oauth)
        .merge(crate::control::routes())
        .fallback(html_not_found)
        .with_state(app);
    Router::new().fallback_service(inner.map_request(normalize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_replace_numeric_segments() {
        assert_eq!(
            path_template("/api/tickets/170000001/messages/5"),
            "/api/tickets/{id}/messages/{id}"
        );
        assert_eq!(path_template("/api/views/0/items"), "/api/views/{id}/items");
    }
}
