//! deskgate: a self-hostable gateway that turns a connected Gorgias account into scoped MCP
//! servers.
//!
//! Map of the crate:
//! - `cli`, `commands`, `config`: the `deskgate` command line and what each command does.
//! - `app`, `server`: the shared state built once, and the HTTP server with its background work
//!   (`server::connections`: sockets served within timeouts and a connection cap).
//! - `accounts`, `connect`, `mcp_servers`, `audit`: the domain — integrated accounts (connected
//!   with checked credentials), the MCP servers minted for them, the tool-call log.
//! - `integration`: the built-in Gorgias definition and per-account catalogs (custom fields).
//! - `health`: is an account's helpdesk answering? ("Test connection" and its latest calls.)
//! - `people`: console users (email and argon2id password) and their roles, admin or agent.
//! - `auth_server`: deskgate as the OAuth authorization server of its `oauth`-mode MCP
//!   servers (metadata, registration, consent, tokens, revocation).
//! - `tenants`: resolving an MCP URL to its tenant. `calls`: one tool call, stage by stage.
//! - `policy`: a server's policies (allow/deny per tool or class, argument rules), pure.
//! - `api`: the management REST API. `mcp`: the MCP endpoint (the SDK stays in there).
//! - `upstream`: the one HTTP client that talks to Gorgias.
//! - `store`: persistence, one interface over SQLite and PostgreSQL.
//! - `vault`, `tokens`, `timestamp`: sealed credentials, hashed and scoped tokens, stored
//!   instants. `auth_throttle`: failed authentication counted per client address.
//! - `vault_check`: at start-up, refuse (or mark) credentials no vault key opens.
//! - `approvals`, `webhooks`: writes held for a person's approval, and the signed notice a
//!   server's webhook gets when one waits.
//! - `demo`, `bridge`: `serve --demo` and the `connect` stdio bridge.
//! - `telemetry`: Prometheus metrics (`GET /metrics`) and the functions that record them.
//!   `traces`: the optional OTLP export of each call's spans (`--otlp-endpoint`).

pub mod accounts;
pub mod api;
pub mod app;
pub mod approvals;
pub mod audit;
pub mod auth_server;
pub mod auth_throttle;
pub mod bridge;
pub mod calls;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod demo;
pub mod error;
pub mod health;
pub mod integration;
pub mod mcp;
pub mod mcp_servers;
pub mod oauth;
pub mod people;
pub mod policy;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod timestamp;
pub mod tokens;
pub mod traces;
pub mod ui;
pub mod upstream;
pub mod vault;
pub mod vault_check;
pub mod webhooks;
