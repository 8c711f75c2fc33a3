//! Integration definitions as data, and the MCP tools derived from them.
//!
//! An integration is described in YAML under `integrations/<name>/` (the format is specified in
//! `integrations/README.md`). This crate loads it strictly and derives everything the gateway
//! serves. It is pure: no network, no async; the only I/O is [`Definition::load_dir`].
//!
//! Map:
//! - [`format`]: the YAML types (private; `deny_unknown_fields` everywhere).
//! - [`definition`]: loading and validation, errors with file:line ([`Definition`], [`LoadError`]).
//! - [`schema`]: the JSON Schema subset, conversion and walking.
//! - [`naming`]: tool names and titles.
//! - [`rules`]: cross-field rules and defaults, declared as data.
//! - [`catalog`]: tools with schemas, annotations, tags and compiled validators ([`Catalog`], [`Tool`]).
//! - [`plan`]: arguments -> upstream request ([`PlannedRequest`], [`ArgumentError`]).
//! - [`custom_fields`]: account-specific schema completion ([`CustomFields`]).
//! - [`names`]: names instead of ids (teams, users, tags), resolved against account directories.
//! - [`filter_expr`]: the view filter expression language (parsed here, checked by the planner).
//! - [`filter`]: which tools an MCP server offers ([`ToolFilter`]).
//! - [`connection`]: base URL, rate limits, pagination, OAuth2 ([`Connection`]).
//! - [`examples`]: example arguments for tests and diagnostics.
//! - [`openapi`]: OpenAPI 3.1 export.
//! - [`tasks`]: task-shaped tools, compositions of API tools declared as data ([`TaskRun`]).
//! - [`views`]: concise results: views declared as data, write confirmations.
//! - [`tokens`]: token counts with a real tokenizer (o200k_base).

mod catalog;
mod connection;
mod custom_fields;
mod definition;
pub mod discovery;
mod examples;
mod filter;
pub mod filter_expr;
mod format;
mod names;
mod naming;
mod openapi;
mod plan;
mod prune;
mod rules;
mod schema;
mod tasks;
pub mod tokens;
mod views;

pub use catalog::{Annotations, BuildError, Catalog, ResponseFormat, Summary, Tool};
pub use connection::{
    Connection, CustomFieldSource, OAuth2Settings, Pagination, RateLimit, RateLimitHeaders,
    VerifyRequest,
};
pub use custom_fields::CustomFields;
pub use definition::{Definition, LoadError};
pub use filter::{FilterError, ToolFilter};
pub use names::{Directory, DirectorySource};
pub use naming::{MAX_TOOL_NAME, MethodKind};
pub use plan::{ArgumentError, BodyEncoding, PlannedRequest};
pub use tasks::{NextCall, Task, TaskRun};
pub use views::{ResultShape, ShapeContext, Views, WriteKind, compact};
