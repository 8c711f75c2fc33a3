//! The page frame every console page shares: the signed-out frame, the signed-in frame with the
//! top navigation, the account page's tabs, error pages, and the small renderers pages share
//! (instants, notices, badges). Pages are rendered on the server with `maud`, so there is no
//! front-end build step; maud escapes every value it interpolates.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::Operator;
use crate::accounts::{AccountStatus, AuthType, IntegratedAccount};
use crate::timestamp::Timestamp;

/// A complete page with the console's frame and no navigation (sign-in, error pages).
pub fn frame(title: &str, body: Markup) -> Markup {
    document(title, html! {}, body)
}

/// A complete page for a signed-in operator: the top bar has the navigation (what their role
/// opens) and sign-out.
pub fn console(title: &str, operator: &Operator, body: Markup) -> Markup {
    let top = html! {
        nav.top-nav aria-label="Console" {
            @if operator.is_admin() {
                a href="/ui" { "Accounts" }
                a href="/ui/tokens" { "Tokens" }
                a href="/ui/people" { "People" }
            } @else {
                a href="/ui/me" { "My servers" }
            }
            @if let Some(person) = &operator.person {
                span.muted #signed-in-as { (person.email) }
            }
            form.sign-out method="post" action="/ui/sign-out" {
                (csrf_field(operator))
                button.link-button type="submit" { "Sign out" }
            }
        }
    };
    document(title, top, body)
}

fn document(title: &str, nav: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) " · deskgate" }
                link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
                link rel="stylesheet" href=(assets::url("console.css"));
                script src=(assets::url("console.js")) defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui" { span.brand-mark aria-hidden="true" { "◆" } " deskgate" }
                    (nav)
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// The hidden field that carries the session's CSRF token in every console form.
pub fn csrf_field(operator: &Operator) -> Markup {
    html! {
        @if let Some(token) = &operator.csrf_token {
            input type="hidden" name="csrf" value=(token);
        }
    }
}

/// Text that may quote code Markdown-style (`deskgate token create`, a rule's tool name in an
/// API error, a tool description): the quoted parts become `code` elements, so the console
/// never shows a literal backtick. Text with an odd number of backticks is shown as it is.
pub fn rich_text(text: &str) -> Markup {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return html! { (text) };
    }
    html! {
        @for (i, part) in parts.iter().enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A page that explains a failure and offers the way back.
pub fn error_page(title: &str, message: &str) -> Markup {
    frame(
        title,
        html! {
            section.card role="alert" {
                h1 { (title) }
                p { (rich_text(message)) }
                p { a href="/ui" { "Back to the console" } }
            }
        },
    )
}

/// The account page's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Servers,
    Logs,
    Tools,
    Approvals,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Overview,
        Tab::Servers,
        Tab::Approvals,
        Tab::Logs,
        Tab::Tools,
    ];

    fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Servers => "MCP Servers",
            Tab::Logs => "Logs",
            Tab::Tools => "Tools",
            Tab::Approvals => "Approvals",
        }
    }

    fn href(self, account_id: &str) -> String {
        match self {
            Tab::Overview => format!("/ui/accounts/{account_id}"),
            Tab::Servers => format!("/ui/accounts/{account_id}/servers"),
            Tab::Logs => format!("/ui/accounts/{account_id}/logs"),
            Tab::Tools => format!("/ui/accounts/{account_id}/tools"),
            Tab::Approvals => format!("/ui/accounts/{account_id}/approvals"),
        }
    }
}

/// An account page: the account's heading, its tabs (links: each tab is its own page, so
/// the back button and deep links work), and the tab's content.
pub fn account_page(
    title: &str,
    operator: &Operator,
    account: &IntegratedAccount,
    tab: Tab,
    body: Markup,
) -> Markup {
    console(
        &format!("{title} · {}", account.name),
        operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" {
                a href="/ui" { "Accounts" } " / " span { (account.name) }
            }
            div.account-head {
                h1 { (account.name) }
                // "Active" is not said here: whether the helpdesk answers is the Overview's
                // health (a dead upstream must not read "Active"); states that need a person are.
                @if account.status != AccountStatus::Active { (status_badge(account.status)) }
            }
            nav.tabs aria-label="Account sections" {
                ul {
                    @for t in Tab::ALL {
                        li {
                            @if t == tab {
                                a.active href=(t.href(&account.id)) aria-current="page" { (t.label()) }
                            } @else {
                                a href=(t.href(&account.id)) { (t.label()) }
                            }
                        }
                    }
                }
            }
            (body)
        },
    )
}

pub fn status_badge(status: AccountStatus) -> Markup {
    match status {
        AccountStatus::Active => html! { span.badge.ok { "Active" } },
        AccountStatus::NeedsReauth => html! { span.badge.warn { "Needs reconnecting" } },
        AccountStatus::NeedsCredentials => html! { span.badge.warn { "Needs credentials" } },
    }
}

pub fn auth_label(auth: AuthType) -> &'static str {
    match auth {
        AuthType::ApiKey => "API key",
        AuthType::Oauth2 => "OAuth",
    }
}

/// An instant, in UTC, readable and machine-readable.
pub fn when(at: Timestamp) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (human_utc(at)) } }
}

/// `2026-01-05 14:03:07 UTC`: to the second, so that calls of the same minute can be told
/// apart in the logs.
/// A tag as an operator reads it: `custom_fields` → `Custom fields`, `satisfaction_surveys` →
/// `Satisfaction surveys` (the machine name stays in the markup's `title` and values).
pub fn tag_label(tag: &str) -> String {
    let words = tag.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub fn human_utc(at: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000) {
        Ok(t) => format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => at.to_rfc3339(),
    }
}

/// A success or information message after a redirect. Pages take a fixed code from the query
/// string rather than a text, so a crafted link cannot make the console say anything else.
pub fn notice(code: Option<&str>) -> Markup {
    let text = match code {
        Some("connected") => "The account is connected.",
        Some("account-deleted") => "The account was deleted with its MCP servers.",
        Some("server-updated") => "The MCP server was updated.",
        Some("server-deleted") => "The MCP server was deleted; its URL no longer works.",
        Some("signed-out") => "You are signed out.",
        Some("credentials-updated") => "The credentials were checked with Gorgias and saved.",
        Some("token-revoked") => "The API token was revoked; it no longer works.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

/// A form-level error message, announced to screen readers.
pub fn form_error(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            div.alert role="alert" #form-error {
                strong { "Could not save. " }
                (rich_text(message))
            }
        }
    }
}

/// Headers every console response carries: no framing, no sniffing, scripts and styles only
/// from the console itself, and no caching of pages (they hold CSRF tokens, and one of them a
/// freshly minted MCP URL).
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_as_words() {
        assert_eq!(super::tag_label("custom_fields"), "Custom fields");
        assert_eq!(
            super::tag_label("satisfaction_surveys"),
            "Satisfaction surveys"
        );
        assert_eq!(super::tag_label("tickets"), "Tickets");
        assert_eq!(super::tag_label(""), "");
    }

    #[test]
    fn quoted_code_becomes_code_elements_and_is_escaped() {
        assert_eq!(
            rich_text("Use `deskgate token create` or `x<y>`.").into_string(),
            "Use <code>deskgate token create</code> or <code>x&lt;y&gt;</code>."
        );
        assert_eq!(rich_text("no quotes").into_string(), "no quotes");
        // An unpaired backtick is text, not the start of code that never ends.
        assert_eq!(rich_text("a ` b").into_string(), "a ` b");
    }

    #[test]
    fn instants_read_as_utc_seconds() {
        // 2024-03-05T07:08:09Z
        assert_eq!(
            human_utc(Timestamp(1_709_622_489_000)),
            "2024-03-05 07:08:09 UTC"
        );
    }

    #[test]
    fn notices_only_say_fixed_texts() {
        assert!(notice(Some("<script>")).into_string().is_empty());
        assert!(
            notice(Some("connected"))
                .into_string()
                .contains("connected")
        );
    }
}
