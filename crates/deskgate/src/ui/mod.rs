//! The web console, served by `deskgate serve` itself: server-rendered pages (no front-end build
//! step, no framework), a session cookie opened with an API token, and a CSRF token checked on
//! every state change. A small vendored script (`assets/console.js`) adds the live tool preview,
//! copy buttons and instant search; every page also works without it.
//!
//! - `session`: sessions, the `Operator` extractor, CSRF checks. `sign_in`: the pages around it.
//! - `form`: posted forms (`CheckedForm` checks the CSRF token before a handler runs).
//! - `accounts`: the account list, connecting Gorgias, the Overview tab, deleting an account.
//! - `servers`: the MCP Servers tab (create with a live preview, the URL shown once, edit
//!   access with the same filters and preview, delete). `server_page`: one server's page
//!   (settings, tools, usage chart from `usage`, recent calls, "Try this tool").
//!   `logs`: the Logs tab. `tools`: the Tools tab.
//! - `approvals`: the Approvals tab (calls held for a person's approval: review, edit,
//!   approve or reject). `webhook`: a server's webhook (set, rotate its secret, remove).
//! - `tokens`: the Tokens page (API tokens: list, create with `admin` or `mcp` scope, revoke).
//! - `people`: the People pages (admins: add, reset, delete, share servers, revoke grants) and
//!   `/ui/me`, the one page of an agent (their servers and grants).
//! - `snippets`: how each client (Claude Code, VS Code, mcp-remote, SSE, Python) takes a new
//!   server's URL, beside the ChatGPT, Claude Desktop and Cursor cards in `servers`.
//! - `connect`: the OAuth connect flow's browser endpoints.
//! - `page`: the shared frame, tabs and renderers. `assets`: the stylesheet and script.
//! - `error`: how a console page fails.

pub mod accounts;
pub mod approvals;
pub mod assets;
pub mod connect;
pub mod error;
pub mod form;
pub mod logs;
pub mod page;
pub mod people;
pub mod server_page;
pub mod servers;
pub mod session;
pub mod sign_in;
mod snippets;
pub mod tokens;
pub mod tools;
pub mod usage;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::app::App;

pub fn router() -> Router<Arc<App>> {
    let pages = Router::new()
        .route("/ui", get(accounts::list))
        .route("/ui/", get(|| async { Redirect::permanent("/ui") }))
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .route("/ui/accounts", post(accounts::connect))
        .route("/ui/accounts/new", get(accounts::connect_form))
        .route("/ui/accounts/oauth", post(accounts::start_oauth))
        .route("/ui/accounts/{id}", get(accounts::overview))
        .route("/ui/accounts/{id}/test", post(accounts::test_connection))
        .route(
            "/ui/accounts/{id}/credentials",
            post(accounts::update_credentials),
        )
        .route(
            "/ui/accounts/{id}/delete",
            get(accounts::confirm_delete).post(accounts::delete),
        )
        .route(
            "/ui/accounts/{id}/servers",
            get(servers::list).post(servers::create),
        )
        .route("/ui/accounts/{id}/servers/new", get(servers::new_form))
        .route("/ui/accounts/{id}/servers/preview", get(servers::preview))
        .route(
            "/ui/accounts/{id}/servers/{server_id}/created",
            get(servers::created),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}",
            get(server_page::page),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/try",
            post(server_page::try_tool),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/edit",
            get(servers::edit_form).post(servers::edit),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/delete",
            get(servers::confirm_delete).post(servers::delete),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/webhook",
            get(webhook::page).post(webhook::submit),
        )
        .route("/ui/accounts/{id}/approvals", get(approvals::page))
        .route(
            "/ui/accounts/{id}/approvals/{action_id}/approve",
            post(approvals::approve),
        )
        .route(
            "/ui/accounts/{id}/approvals/{action_id}/reject",
            post(approvals::reject),
        )
        .route("/ui/accounts/{id}/logs", get(logs::page))
        .route("/ui/accounts/{id}/logs/export", get(logs::export))
        .route("/ui/accounts/{id}/tools", get(tools::list))
        .route("/ui/accounts/{id}/tools/{name}", get(tools::detail))
        .route("/ui/tokens", get(tokens::list).post(tokens::create))
        .route("/ui/people", get(people::list).post(people::create))
        .route("/ui/people/{id}", get(people::detail))
        .route("/ui/people/{id}/password", post(people::reset_password))
        .route("/ui/people/{id}/delete", post(people::delete))
        .route("/ui/people/{id}/shares", post(people::set_share))
        .route(
            "/ui/people/{id}/grants/{grant_id}/revoke",
            post(people::revoke_grant),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/access",
            get(people::server_access).post(people::share_from_server),
        )
        .route(
            "/ui/accounts/{id}/servers/{server_id}/grants/{grant_id}/revoke",
            post(people::revoke_server_grant),
        )
        .route("/ui/me", get(people::me))
        .route(
            "/ui/me/grants/{grant_id}/revoke",
            post(people::revoke_my_grant),
        )
        .route(
            "/ui/tokens/{id}/revoke",
            get(tokens::confirm_revoke).post(tokens::revoke),
        )
        .layer(axum::middleware::map_response(page::security_headers));
    Router::new()
        .merge(pages)
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/connect/{integration}", get(connect::begin))
        .route("/connect/{integration}/callback", get(connect::callback))
}
