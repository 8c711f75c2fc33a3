//! The HTTP server: the routes of every part, the middleware they share, background work (once
//! across replicas), listening to other replicas, and graceful shutdown. `connections` accepts
//! and serves the sockets within bounds (timeouts, a connection cap).

pub mod connections;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::store::postgres::Notices;
use crate::store::{Change, Job, Notice};
use crate::timestamp::Timestamp;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(crate::api::router())
        .merge(crate::mcp::router(&app))
        .merge(crate::auth_server::router())
        .merge(crate::ui::router())
        .merge(crate::telemetry::router())
        // A person who opens the bare address is looking for the console.
        .route("/", get(|| async { axum::response::Redirect::to("/ui") }))
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
/// OAuth upkeep (once across replicas), and on PostgreSQL listening to the other replicas and
/// keeping this replica's SSE sessions registered.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut background = vec![tokio::spawn(sweep_forever(app.clone()))];
    if app.store.shared().is_some() {
        // Listening before serving: nothing is cached or held yet, so nothing can be missed.
        let notices = match app.store.notices(&app.replica_id).await {
            Ok(notices) => notices,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen to other replicas yet; retrying in the background");
                None
            }
        };
        background.push(tokio::spawn(listen_to_replicas(app.clone(), notices)));
        background.push(tokio::spawn(renew_sse_sessions(app.clone())));
    }
    // Open SSE streams never end by themselves, and the graceful shutdown waits for every
    // response to end: close them once shutdown starts.
    let sse = app.sse.clone();
    let shutdown = async move {
        shutdown.await;
        if let Err(e) = sse.close_all().await {
            tracing::warn!(error = %e, "could not unregister this replica's SSE sessions; they lapse by themselves");
        }
    };
    let limits = connections::Limits {
        max_connections: app.config.max_connections,
        header_read_timeout: app.config.header_read_timeout,
        body_read_timeout: app.config.body_read_timeout,
        idle_timeout: app.config.idle_timeout,
    };
    // The router is built once and shared by every connection (cloning it is an `Arc` clone).
    let audit = app.clone();
    let result = connections::serve(listener, router(app), limits, shutdown).await;
    for task in background {
        task.abort();
    }
    // Every answered call's record is written before the process goes.
    audit.audit_log.flush().await;
    result
}

/// Runs each background job once per period across all replicas: every replica ticks, the
/// store lets one of them run it (see `Store::run_exclusive`).
async fn sweep_forever(app: Arc<App>) {
    let period = app.config.sweep_interval;
    // A run started less than half a period ago (by any replica) is this period's run: timers
    // of different replicas never line up, and this keeps runs between half and one period
    // apart, never concurrent.
    let min_gap = period / 2;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = app
            .store
            .run_exclusive(Job::Sweep, min_gap, sweep(&app))
            .await
        {
            tracing::warn!(error = %e, "could not claim the sweep; will retry");
        }
        let refresh = async {
            if let Err(e) = app.refresh_expiring_tokens().await {
                tracing::warn!(error = %e, "refreshing expiring OAuth tokens failed; will retry");
            }
        };
        if let Err(e) = app
            .store
            .run_exclusive(Job::OAuthRefresh, min_gap, refresh)
            .await
        {
            tracing::warn!(error = %e, "could not claim the OAuth refresh; will retry");
        }
    }
}

/// Deletes what expired. Each part is independent: one failing does not stop the others.
async fn sweep(app: &App) {
    if let Err(e) = app.sweep_expired().await {
        tracing::warn!(error = %e, "expiry sweep failed; will retry");
    }
    if let Err(e) = app.sweep_oauth_states().await {
        tracing::warn!(error = %e, "sweeping unfinished OAuth flows failed; will retry");
    }
    if let Err(e) = app.sweep_oauth_grants().await {
        tracing::warn!(error = %e, "sweeping expired OAuth tokens and grants failed; will retry");
    }
    if let Err(e) = app
        .store
        .delete_expired_console_sessions(Timestamp::now())
        .await
    {
        tracing::warn!(error = %e, "sweeping expired console sessions failed; will retry");
    }
    if let Some(shared) = app.store.shared()
        && let Err(e) = shared.delete_lapsed_sse_sessions().await
    {
        tracing::warn!(error = %e, "sweeping lapsed SSE sessions failed; will retry");
    }
    match app.store.expire_pending_actions(Timestamp::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(actions = n, "held actions expired undecided"),
        Err(e) => tracing::warn!(error = %e, "expiring held actions failed; will retry"),
    }
    let two_days_ago = Timestamp::now().millis().div_euclid(1000) - 2 * 86_400;
    if let Err(e) = app.store.delete_budget_windows_before(two_days_ago).await {
        tracing::warn!(error = %e, "sweeping old budget windows failed; will retry");
    }
    if let Some(retention) = app.config.audit_retention {
        let before =
            Timestamp::now().plus_secs(-i64::try_from(retention.as_secs()).unwrap_or(i64::MAX));
        match app.store.delete_tool_calls_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "audit records past their retention removed"),
            Err(e) => tracing::warn!(error = %e, "audit retention sweep failed; will retry"),
        }
    }
}

/// Acts on what the database announces: changes made on any replica (drop cached tenants) and
/// replies queued for SSE streams held here (deliver them).
async fn listen_to_replicas(app: Arc<App>, notices: Option<Notices>) {
    let mut notices = match notices {
        Some(notices) => notices,
        None => loop {
            tokio::time::sleep(LISTEN_RETRY).await;
            match app.store.notices(&app.replica_id).await {
                Ok(Some(notices)) => break notices,
                Ok(None) => return,
                // Until this works, cached tenants still age out after their TTL.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to other replicas yet; retrying")
                }
            }
        },
    };
    tracing::info!(replica.id = %app.replica_id, "listening to other replicas");
    // Anything announced before the LISTEN took effect was missed (when it came late).
    let mut next = Ok(Notice::Missed);
    loop {
        match next {
            Ok(Notice::Changed(Change::McpServers)) => {
                app.tenants.invalidate_all();
                app.end_orphaned_sse_streams().await;
            }
            Ok(Notice::Changed(Change::Account(id))) => {
                app.after_credentials_change(&id);
                app.end_orphaned_sse_streams().await;
            }
            Ok(Notice::SseMessages(session)) => {
                if let Err(e) = app.sse.deliver(&session).await {
                    tracing::warn!(error = %e, "could not deliver relayed SSE messages");
                }
            }
            Ok(Notice::Missed) => {
                app.tenants.invalidate_all();
                app.end_orphaned_sse_streams().await;
                if let Err(e) = app.sse.deliver_all().await {
                    tracing::warn!(error = %e, "could not deliver relayed SSE messages");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "lost the connection other replicas are heard on; reconnecting");
                tokio::time::sleep(LISTEN_RETRY).await;
            }
        }
        next = notices.next().await;
    }
}

const LISTEN_RETRY: Duration = Duration::from_secs(1);

async fn renew_sse_sessions(app: Arc<App>) {
    let mut tick = tokio::time::interval(crate::mcp::SSE_RENEW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = app.sse.renew().await {
            tracing::warn!(error = %e, "could not renew this replica's SSE sessions; will retry");
        }
    }
}
