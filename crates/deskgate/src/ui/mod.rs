//! The web console, served by `deskgate serve` itself: server-rendered pages (no front-end build
//! step), a session cookie opened with an API token, CSRF tokens on every state change.
//!
//! - `session`: sign-in, the `Operator` extractor, CSRF checks.
//! - `connect`: the OAuth connect flow's browser endpoints.
//! - `page`: the shared page frame.

pub mod connect;
pub mod page;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::app::App;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/connect/{integration}", get(connect::begin))
        .route("/connect/{integration}/callback", get(connect::callback))
}
