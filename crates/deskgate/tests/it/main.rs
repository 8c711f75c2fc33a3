//! deskgate's integration tests: one binary, a shared `support` module, real servers on
//! loopback ports (deskgate and the Gorgias sandbox), SQLite always and PostgreSQL when
//! `DESKGATE_TEST_POSTGRES_URL` is set.

mod support;

mod api;
mod approvals;
mod catalog;
mod cli;
mod console_logs;
mod console_servers;
mod hardening;
mod mcp;
mod mcp_oauth;
mod metrics;
mod oauth;
mod otlp;
mod people;
mod policies;
mod reading;
mod replicas;
mod store;
