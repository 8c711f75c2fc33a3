//! The page frame every console page shares, and HTML escaping. Pages are rendered on the
//! server with `maud`, so there is no front-end build step.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A complete page with the console's frame.
pub fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · deskgate" }
                link rel="stylesheet" href="/ui/assets/console.css";
            }
            body {
                header.top { a.brand href="/ui" { "deskgate" } }
                main { (body) }
            }
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
                p { (message) }
                p { a href="/ui" { "Back to the console" } }
            }
        },
    )
}

/// Text that may safely sit inside a `<script type="application/json">` block.
pub fn json_island(value: &serde_json::Value) -> PreEscaped<String> {
    PreEscaped(
        value
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    )
}
