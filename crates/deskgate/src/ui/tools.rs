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
                            option value=(t) selected[tag == Some(t)] { (t) }
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
                    li.tool data-search=(search_text(t)) data-group=[t.offered_with.as_deref()] {
                        div.tool-head {
                            h3 { code { (t.name) } }
                            (kind_badge(t))
                            @if let Some(group) = &t.offered_with {
                                " " span.badge title="Offered only to servers minted with this option" {
                                    "only with " code { (group) }
                                }
                            }
                        }
                        p.tool-title { (t.title) }
                        p.tool-description { (super::page::rich_text(first_paragraph(&t.description))) }
                        p.tags {
                            span.visually-hidden { "Tags: " }
                            @for tag in &t.tags { span.tag { (tag) } " " }
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
    html! {
        div.tool-body {
            p.endpoint { "Calls " code { (method) " " (path) } }
            @if !description.is_empty() { div.description { (super::page::rich_text(description)) } }
            h4 { "Input schema" }
            pre.schema { code { (schema) } }
        }
    }
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
}
