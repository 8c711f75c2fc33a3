//! A faithful local emulator of the Gorgias REST API, for demos and tests.
//!
//! It follows the team's reference (`shared/gorgias-api.md`); where the reference is unsure, the
//! choice made is noted in a comment next to the code that makes it.
//!
//! # Use
//! * In-process with a socket: [`Sandbox::start`] binds `127.0.0.1:0`; [`Sandbox::base_url`] is
//!   `http://127.0.0.1:PORT` and the API lives at `{base_url}/api/...`.
//! * In-process without a socket: [`router`] gives the axum `Router` and a [`SandboxState`].
//! * Standalone: `deskgate sandbox [--listen ADDR] [--email E] [--api-key K]` ([`cli`]).
//!
//! # Endpoints
//! * `/api/...`: every endpoint of the reference's §6.1, behind HTTP Basic (`email:api_key`) or
//!   an OAuth2 bearer token, a leaky-bucket rate limit per credential kind
//!   (`X-Gorgias-Account-Api-Call-Limit` on every authenticated response, errors included;
//!   not on 401s, which name no bucket; 429 + `Retry-After` when full), cursor pagination, and
//!   Gorgias's error envelope.
//! * `/oauth/authorize` (GET consent page, POST decision), `/oauth/token`
//!   (`authorization_code`, `refresh_token`), `/oauth/revoke`.
//! * Control plane, no auth, not under `/api`:
//!   - `GET /_sandbox`: credentials and limits of this sandbox;
//!   - `POST /_sandbox/faults` with `{"status":429|500|503,"count":N}`,
//!     `{"fraction":0.5,"status":500}`, `{"delay_ms":2000,"count":1}` (optionally with a
//!     `status`), `{"drop_connection":true,"count":1}` (closes the TCP connection without a
//!     response), or `{"message_send_failure":true,"count":1,"error":"..."}` (the next outgoing
//!     replies fail to send); optional `path_prefix` (default `/api/`) and `method` narrow a fault;
//!     Request faults hit authenticated `/api` calls after the rate limit (so an injected 429
//!     still carries the limit header) and, with a `/oauth/` prefix, the OAuth endpoints;
//!   - `DELETE /_sandbox/faults`;
//!   - `GET /_sandbox/state/tickets/{id}`, `GET /_sandbox/state/customers/{id}`: raw state;
//!   - `GET /_sandbox/stats`: request counts by method and path template;
//!   - `POST /_sandbox/oauth/expire-access-tokens`, `POST /_sandbox/oauth/revoke-all`;
//!   - `POST /_sandbox/reset`: reseed and forget tokens, buckets, faults and stats.
//!
//! # Choices where the reference is open (§12), each noted at its code too
//! * #1 create status: 200 for tickets, customers, users (configurable), 201 for the rest.
//! * #2 `via` is optional on messages and tickets and defaults to `api`.
//! * #3 the bulk custom-field PUT replaces all values; #4 the single PUT takes the raw value
//!   or `{id, value}`.
//! * #5 the 429 body is `{"error":{"msg":"Too many requests."}}`; #12 `Retry-After` only on 429.
//! * #6 `expires_in` is the real TTL (24 h); refresh tokens never expire; rotation is opt-in.
//! * #7 well-formed `resource:read|write` scopes beyond the documented table are accepted;
//!   scopes are enforced only for the resources the docs map to a scope.
//! * #8 view items carry `prev_cursor`/`next_cursor` plus the legacy `current_cursor`,
//!   `next_items`, `prev_items`; #9 search answers `{"data": [...]}`.
//! * #13 marshmallow texts (`Missing data for required field.`, `Must be one of: ...`,
//!   `Unknown field.` for undeclared body keys); #14 message DELETE is 204.
//!
//! # Modules
//! * [`config`]: [`SandboxConfig`] and friends.
//! * `app`: shared state, extractors, the router and the `/api` gate (auth, limits, faults).
//! * `auth`, `rate_limit`, `oauth`, `faults`, `control`: the cross-cutting parts.
//! * `pagination`, `validation`, `errors`, `clock`: the API's conventions (cursors, marshmallow
//!   messages, the error envelope, datetimes).
//! * `store`: the in-memory account and its JSON renderings; `seed`: the deterministic demo data.
//! * `resources::*`: one module per API resource.
//! * `server`: the socket server ([`Sandbox`]); `state`: [`SandboxState`].

mod app;
mod auth;
pub mod cli;
mod clock;
pub mod config;
mod control;
mod errors;
pub mod faults;
mod oauth;
mod pagination;
mod rate_limit;
mod resources;
mod seed;
mod server;
mod state;
mod store;
mod validation;

pub use config::{BucketConfig, OAuthClient, SandboxConfig};
pub use faults::{Fault, FaultError};
pub use server::Sandbox;
pub use state::{DocumentKind, SandboxState};

/// The sandbox as an axum `Router` (no socket), with a handle on its state. Injected
/// "drop connection" faults answer 502 with an empty body here.
pub fn router(config: SandboxConfig) -> (axum::Router, SandboxState) {
    let app = app::App::new(config);
    let state = SandboxState::new(app.clone());
    (app::build_router(app), state)
}
