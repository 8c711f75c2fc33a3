//! The Tools tab: the account's catalog (with its custom fields in the schemas), searchable by
//! name, title, summary and tag. The list stays light; each tool's input schema is on its
//! own page, which `console.js` also loads into the list when a tool is expanded.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use integration_spec::Tool;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::page::{Tab, account_page};
use super::session::Operator;
use crate::app::App;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct ToolsQuery {
    q: Option<String>,
    tag: Option<String>,
}

/// What a search looks in: the name, title, summary and tags (the list shows exactly these, so
/// the page's instant search and this one agree).
fn search_text(tool: &Tool) -> String {
    format!(
        "{} {} {} {}",
        tool.name,
        tool.title,
        first_paragraph(&tool.description),
        tool.tags.join(" ")
    )
}

/// Whether a tool matches every word of a search.
fn matches(tool: &Tool, search: &str) -> bool {
    let haystack = search_text(tool).to_lowercase();
    search
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// The same words as the create form's picker and previews ("read", "writes", "deletes").
fn kind_badge(tool: &Tool) -> Markup {
    super::servers::access_badge(tool)
}

/// `GET /ui/accounts/{id}/tools`.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<ToolsQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let catalog = app
        .account_catalog(&stored.account, &stored.sealed_credentials)
        .await;
    let search = query.q.as_deref().map(str::trim).unwrap_or("");
    let tag = query.tag.as_deref().filter(|t| !t.is_empty());
    let all = catalog.catalog.tools();
    let shown: Vec<&Tool> = all
        .iter()
        .filter(|t| tag.is_none_or(|tag| t.tags.iter().any(|x| x == tag)))
        .filter(|t| matches(t, search))
        .collect();
    let base = format!("/ui/accounts/{id}/tools");
    Ok(account_page(
        "Tools",
        &operator,
        &stored.account,
        Tab::Tools,
        html! {
            h2 { "Tools" }
            p.muted {
                "Every tool this account offers. MCP servers expose the subset their methods and tags allow."
                @if catalog.custom_fields > 0 {
                    " Schemas include the account's " (catalog.custom_fields) " custom fields."
                }
            }
            form.filters method="get" action=(base) role="search" aria-label="Search the tools" {
                div.field.grow {
                    label for="tool-search" { "Search" }
                    input #tool-search type="search" name="q" value=(search)
                        placeholder="e.g. ticket tag" autocomplete="off" spellcheck="false"
                        data-filter-list="tool-catalog" data-filter-count="tool-count";
                }
                div.field {
                    label for="tool-tag" { "Tag" }
                    select #tool-tag name="tag" {
                        option value="" { "Any tag" }
                        @for t in catalog.catalog.tags() {
                            option value=(t) selected[tag == Some(t)] { (super::page::tag_label(t)) }
                        }
                    }
                }
                div.actions {
                    button.button.primary type="submit" { "Search" }
                }
            }
            p #tool-count role="status" aria-live="polite" {
                (shown.len()) " of " (all.len()) " tools"
            }
            ul.tool-catalog #tool-catalog {
                @for t in &shown {
                    li.tool data-search=(search_text(t)) data-group=[t.offered_with.as_deref()] data-admin[t.admin] {
                        div.tool-head {
                            h3 { code { (t.name) } }
                            (kind_badge(t))
                            @if let Some(group) = &t.offered_with {
                                " " span.badge title="Offered only to servers minted with this option" {
                                    "only with " code { (group) }
                                }
                            }
                            @if t.admin {
                                " " span.badge title="Changes the helpdesk's set-up: offered only to servers minted with admin tools, or that name it" {
                                    "only with " code { "admin_tools" }
                                }
                            }
                        }
                        p.tool-title { (t.title) }
                        p.tool-description { (super::page::rich_text(first_paragraph(&t.description))) }
                        p.tags {
                            span.visually-hidden { "Tags: " }
                            @for tag in &t.tags { span.tag title=(tag) { (super::page::tag_label(tag)) } " " }
                        }
                        details.schema data-src={ (base) "/" (t.name) "?fragment=1" } {
                            summary { "Details and input schema" }
                            div.schema-body {
                                a href={ (base) "/" (t.name) } { "Open " (t.name) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// A description's first paragraph: the list stays scannable, the full text is one click away.
fn first_paragraph(description: &str) -> &str {
    description
        .split("\n\n")
        .next()
        .unwrap_or(description)
        .trim()
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    fragment: Option<String>,
}

/// `GET /ui/accounts/{id}/tools/{name}`: one tool's description, endpoint and input schema; with
/// `?fragment=1`, only the part the list loads into an expanded tool.
pub async fn detail(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((id, name)): Path<(String, String)>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let catalog = app
        .account_catalog(&stored.account, &stored.sealed_credentials)
        .await;
    let tool = catalog
        .catalog
        .tool(&name)
        .ok_or(ApiError::NotFound("tool"))?;
    if query.fragment.is_some() {
        // The list already shows the first paragraph.
        return Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            tool_body(tool, after_first_paragraph(&tool.description)),
        )
            .into_response());
    }
    let body = tool_body(tool, &tool.description);
    // Where it can be tried: a read tool, on the servers of this account that offer it.
    let mut offering = Vec::new();
    if tool.annotations.read_only {
        let now = crate::timestamp::Timestamp::now();
        for server in app.store.list_mcp_servers(&id).await? {
            let offers = !server.is_expired(now)
                && server
                    .config
                    .server_filter(app.integration.catalog())
                    .is_ok_and(|f| f.matches(tool));
            if offers {
                offering.push(server);
            }
        }
    }
    Ok(account_page(
        &tool.name,
        &operator,
        &stored.account,
        Tab::Tools,
        html! {
            nav.breadcrumbs aria-label="Tool" {
                a href={ "/ui/accounts/" (id) "/tools" } { "All tools" } " / " span { (tool.name) }
            }
            article.card.tool-detail {
                div.tool-head {
                    h2 { code { (tool.name) } }
                    (kind_badge(tool))
                }
                p.tool-title { (tool.title) }
                (body)
            }
            @if tool.annotations.read_only {
                section.card #try-this-tool aria-labelledby="try-this-heading" {
                    h3 #try-this-heading { "Try this tool" }
                    @if offering.is_empty() {
                        p.muted { "No MCP server of this account offers it yet; a server that does can run it from its page." }
                    } @else {
                        p { "Run it through one of the servers that offer it (their filters, policies and budgets apply, and the call is logged):" }
                        ul #try-on-servers {
                            @for s in &offering {
                                li { a href={ "/ui/accounts/" (id) "/servers/" (s.id) "?tool=" (tool.name) "#try-tool" } { "Try it on " (s.name) } }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

/// What follows a description's first paragraph.
fn after_first_paragraph(description: &str) -> &str {
    description
        .split_once("\n\n")
        .map(|(_, rest)| rest.trim())
        .unwrap_or("")
}

fn tool_body(tool: &Tool, description: &str) -> Markup {
    let (method, path) = tool.endpoint();
    let schema =
        serde_json::to_string_pretty(&serde_json::Value::Object((*tool.input_schema).clone()))
            .expect("JSON serializes");
    let rows = parameters(&tool.input_schema);
    html! {
        div.tool-body {
            p.endpoint { "Calls " code { (method) " " (path) } }
            @if !description.is_empty() { div.description { (super::page::rich_text(description)) } }
            @if rows.is_empty() {
                p.muted { "No parameters." }
            } @else {
                div.table-scroll {
                    table.parameters {
                        caption { "Parameters of " code { (tool.name) } }
                        thead { tr {
                            th scope="col" { "Parameter" }
                            th scope="col" { "Type" }
                            th scope="col" { "What it is" }
                        } }
                        tbody {
                            @for r in &rows {
                                tr data-parameter=(r.path) {
                                    td data-label="Parameter" {
                                        code { (r.path) }
                                        @if r.required { " " span.badge.warn { "required" } }
                                    }
                                    td data-label="Type" { (r.kind) }
                                    td data-label="What it is" {
                                        @if let Some(d) = &r.description { (super::page::rich_text(d)) }
                                        @if !r.values.is_empty() {
                                            div.small { "One of: "
                                                @for (i, v) in r.values.iter().enumerate() {
                                                    @if i > 0 { ", " }
                                                    code { (v) }
                                                }
                                            }
                                        }
                                        @for note in &r.notes { div.small.muted { (note) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            details.raw-schema {
                summary { "Input schema (JSON Schema, as MCP clients receive it)" }
                pre.schema { code { (schema) } }
            }
        }
    }
}

/// One parameter row of a tool page: a property of the input schema, nested ones by path.
#[derive(Debug, PartialEq)]
struct Parameter {
    /// `source.to[].address`: `[]` for each item of an array.
    path: String,
    kind: String,
    required: bool,
    description: Option<String>,
    /// Enumerated or constant values, as JSON.
    values: Vec<String>,
    /// Range and default.
    notes: Vec<String>,
}

/// The input schema as rows an operator reads, depth first in the schema's order. Hand-written:
/// it is a walk over our own schemas (objects, arrays, enums, anyOf for custom fields), and no
/// JSON Schema documentation crate renders to maud.
fn parameters(schema: &serde_json::Map<String, serde_json::Value>) -> Vec<Parameter> {
    use serde_json::Value;
    fn kind_of(s: &Value) -> String {
        match s.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" or "),
            _ if s.get("anyOf").is_some() => "one of several shapes".to_owned(),
            _ if s.get("enum").is_some() => "string".to_owned(),
            _ => "any".to_owned(),
        }
    }
    fn walk(s: &Value, prefix: &str, out: &mut Vec<Parameter>, depth: usize) {
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return;
        };
        let required: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, p) in props {
            let path = format!("{prefix}{name}");
            let mut values: Vec<String> = p
                .get("enum")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            if let Some(c) = p.get("const") {
                values.push(c.to_string());
            }
            let mut notes = Vec::new();
            match (p.get("minimum"), p.get("maximum")) {
                (Some(lo), Some(hi)) => notes.push(format!("From {lo} to {hi}.")),
                (Some(lo), None) => notes.push(format!("At least {lo}.")),
                (None, Some(hi)) => notes.push(format!("At most {hi}.")),
                (None, None) => {}
            }
            if let Some(d) = p.get("default") {
                notes.push(format!("Default: {d}."));
            }
            let items = p.get("items");
            let kind = match items {
                Some(i) => format!("array of {}", kind_of(i)),
                None => kind_of(p),
            };
            out.push(Parameter {
                path: path.clone(),
                kind,
                required: required.contains(&name.as_str()),
                description: p
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                values,
                notes,
            });
            // Deep enough for a message's `source.to[].address`; deeper would not be read.
            if depth < 4 {
                walk(p, &format!("{path}."), out, depth + 1);
                if let Some(i) = items {
                    walk(i, &format!("{path}[]."), out, depth + 1);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::Value::Object(schema.clone()), "", &mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_needs_every_word_somewhere() {
        let integration =
            crate::integration::Integration::gorgias(std::time::Duration::from_secs(60)).unwrap();
        let catalog = integration.catalog();
        let tickets: Vec<&str> = catalog
            .tools()
            .iter()
            .filter(|t| matches(t, "TICKET list"))
            .map(|t| t.name.as_str())
            .collect();
        assert!(tickets.contains(&"list_all_gorgias_tickets"), "{tickets:?}");
        assert!(
            !tickets.contains(&"get_single_gorgias_ticket_by_id"),
            "{tickets:?}"
        );
        assert!(catalog.tools().iter().all(|t| matches(t, "")));
        assert!(
            !catalog
                .tools()
                .iter()
                .any(|t| matches(t, "no-such-word-anywhere"))
        );
    }

    #[test]
    fn parameters_are_rows_with_paths_types_and_values() {
        let integration =
            crate::integration::Integration::gorgias(std::time::Duration::from_secs(60)).unwrap();
        let tool = integration
            .catalog()
            .tool("create_a_gorgias_message")
            .unwrap();
        let rows = parameters(&tool.input_schema);
        let row = |path: &str| {
            rows.iter()
                .find(|r| r.path == path)
                .unwrap_or_else(|| panic!("no row {path}: {rows:?}"))
        };
        assert!(row("ticket_id").required);
        let channel = row("channel");
        assert!(channel.required);
        assert!(channel.values.contains(&"\"internal-note\"".to_owned()));
        assert!(
            channel
                .description
                .as_deref()
                .unwrap()
                .contains("INTERNAL NOTE")
        );
        assert_eq!(row("source.to").kind, "array of object");
        assert!(row("source.to[].address").required);
        assert!(!row("body_text").required);
        // What the model is not shown is not listed either.
        assert!(rows.iter().all(|r| r.path != "via"));
        let list = integration
            .catalog()
            .tool("list_all_gorgias_tickets")
            .unwrap();
        let rows = parameters(&list.input_schema);
        let limit = rows.iter().find(|r| r.path == "limit").unwrap();
        assert_eq!(limit.notes, vec!["From 1 to 100.".to_owned()]);
    }
}
