//! deskgate: a self-hostable gateway that turns a connected Gorgias account into scoped MCP
//! servers.
//!
//! Map of the crate:
//! - `accounts`, `mcp_servers`, `audit`: the domain (integrated accounts, MCP servers, the
//!   tool-call log).
//! - `store`: persistence, one interface over SQLite and PostgreSQL.
//! - `vault`, `tokens`: secrets (credentials sealed at rest, tokens stored as hashes).
//! - `timestamp`: instants as stored and shown.

pub mod accounts;
pub mod audit;
pub mod mcp_servers;
pub mod store;
pub mod timestamp;
pub mod tokens;
pub mod vault;
