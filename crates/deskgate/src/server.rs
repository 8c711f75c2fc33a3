//! The HTTP server: the routes of every part, the middleware they share, TCP_NODELAY on accepted
//! sockets, background work, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(crate::api::router())
        .merge(crate::mcp::router(&app))
        .merge(crate::ui::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(RequestBodyLimitLayer::new(app.config.max_body_bytes))
        // Spans carry method, path and status only: MCP tokens live in paths, so the path is
        // logged with the token cut off (see `mcp::redacted_path`).
        .layer(TraceLayer::new_for_http().make_span_with(crate::mcp::request_span))
        .with_state(app)
}

async fn readyz(State(app): State<Arc<App>>) -> (StatusCode, &'static str) {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Serves until `shutdown` resolves. Also runs the background work: the expiry sweeper and
/// OAuth upkeep.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_forever(app.clone()));
    // Without TCP_NODELAY, small replies on keep-alive connections wait ~40 ms for Nagle and
    // delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // `into_make_service`: served as a plain `Router`, axum rebuilds the route table for every
    // accepted connection (about 25 KB and its CPU per connection); the router is already
    // complete, so each connection can share it.
    let result = axum::serve(listener, router(app).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    result
}

async fn sweep_forever(app: Arc<App>) {
    let mut tick = tokio::time::interval(app.config.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = app.sweep_expired().await {
            tracing::warn!(error = %e, "expiry sweep failed; will retry");
        }
        if let Err(e) = app.sweep_oauth_states().await {
            tracing::warn!(error = %e, "sweeping unfinished OAuth flows failed; will retry");
        }
        if let Err(e) = app.refresh_expiring_tokens().await {
            tracing::warn!(error = %e, "refreshing expiring OAuth tokens failed; will retry");
        }
    }
}
