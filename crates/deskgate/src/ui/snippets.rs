//! The client snippets on the "server created" page beside ChatGPT, Claude Desktop and Cursor:
//! Claude Code, VS Code, `mcp-remote`, the legacy SSE URL and the official Python SDK. Each is
//! plain text made from the server's URL (pure, tested below) and shown in a `<pre>` with a copy
//! button, so what is copied is exactly what is shown.

use maud::{Markup, html};
use serde_json::json;

use super::servers::copy_button;

/// What a client sends when the server requires an API token.
const TOKEN_HEADER: &str = "Authorization: Bearer <YOUR_API_TOKEN>";

/// The snippets for one server URL. `key` is the name clients give the server (`gorgias`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Snippets {
    pub claude_code: String,
    pub vscode: String,
    pub mcp_remote: String,
    pub sse_url: String,
    /// `None` for an OAuth server: the SDK's OAuth provider needs a redirect handler of the
    /// program's own, more than a snippet can hold.
    pub python: Option<String>,
}

pub(super) fn snippets(key: &str, url: &str, token_auth: bool, oauth: bool) -> Snippets {
    let header_flag = if token_auth {
        format!(" --header \"{TOKEN_HEADER}\"")
    } else {
        String::new()
    };
    let mut vscode_entry = json!({"type": "http", "url": url});
    if token_auth {
        vscode_entry["headers"] = json!({"Authorization": "Bearer <YOUR_API_TOKEN>"});
    }
    let vscode = json!({"servers": {key: vscode_entry}});
    Snippets {
        claude_code: format!("claude mcp add --transport http {key} {url}{header_flag}"),
        vscode: serde_json::to_string_pretty(&vscode).expect("JSON serializes"),
        mcp_remote: format!("npx mcp-remote {url}{header_flag}"),
        sse_url: format!("{url}/sse"),
        python: (!oauth).then(|| python(url, token_auth)),
    }
}

/// A complete program with the official `mcp` SDK (version 2) over Streamable HTTP: it
/// connects, lists the tools and prints how many there are.
fn python(url: &str, token_auth: bool) -> String {
    let (import, client, http_client) = if token_auth {
        (
            "import httpx2\n",
            "    headers = {\"Authorization\": \"Bearer <YOUR_API_TOKEN>\"}\n    \
             async with httpx2.AsyncClient(headers=headers) as http:\n        \
             async with streamable_http_client(URL, http_client=http) as (read, write):\n",
            "    ",
        )
    } else {
        (
            "",
            "    async with streamable_http_client(URL) as (read, write):\n",
            "",
        )
    };
    format!(
        "import asyncio\n\n{import}from mcp import ClientSession\n\
         from mcp.client.streamable_http import streamable_http_client\n\n\
         URL = \"{url}\"\n\n\n\
         async def main():\n\
         {client}\
         {http_client}        async with ClientSession(read, write) as session:\n\
         {http_client}            await session.initialize()\n\
         {http_client}            tools = (await session.list_tools()).tools\n\
         {http_client}            print(len(tools), \"tools, such as\", tools[0].name)\n\n\n\
         asyncio.run(main())\n"
    )
}

/// The cards, for the "Connect a client" grid.
pub(super) fn cards(s: &Snippets, oauth: bool) -> Markup {
    html! {
        section.card aria-labelledby="claude-code-heading" {
            h4 #claude-code-heading { "Claude Code" }
            p {
                "Run in a terminal."
                @if oauth { " Then type " code { "/mcp" } " in Claude Code and choose Authenticate." }
            }
            pre.config #claude-code-snippet { code { (s.claude_code) } }
            (copy_button("claude-code-snippet", "Copy command"))
        }
        section.card aria-labelledby="vscode-heading" {
            h4 #vscode-heading { "VS Code" }
            p {
                "Add to " code { ".vscode/mcp.json" } " in your workspace."
                @if oauth { " VS Code starts the OAuth sign-in when the server first asks for it." }
            }
            pre.config #vscode-config { code { (s.vscode) } }
            (copy_button("vscode-config", "Copy JSON"))
        }
        section.card aria-labelledby="mcp-remote-heading" {
            h4 #mcp-remote-heading { "Other desktop clients (mcp-remote)" }
            p {
                "For a client that only starts local programs: use this command as the server's command "
                "(Node.js needed). It bridges the client's stdio to the URL."
            }
            pre.config #mcp-remote-snippet { code { (s.mcp_remote) } }
            (copy_button("mcp-remote-snippet", "Copy command"))
        }
        section.card aria-labelledby="sse-heading" {
            h4 #sse-heading { "Older clients (SSE)" }
            p { "Clients that only speak the older HTTP+SSE transport take this URL instead." }
            pre.config #sse-url { code { (s.sse_url) } }
            (copy_button("sse-url", "Copy URL"))
        }
        section.card aria-labelledby="python-heading" {
            h4 #python-heading { "Python" }
            @if let Some(python) = &s.python {
                p { "With the official MCP SDK (" code { "pip install mcp" } ", version 2 or newer): lists the server's tools." }
                pre.config #python-snippet { code { (python) } }
                (copy_button("python-snippet", "Copy code"))
            } @else {
                p { "With the official MCP SDK: give " code { "streamable_http_client" } " an " code { "httpx2" } " client whose " code { "auth" } " is an " code { "OAuthClientProvider" } " for this URL; deskgate's consent page approves it." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8080/mcp/dgm_abc";

    #[test]
    fn each_snippet_holds_the_url_and_no_markdown() {
        let s = snippets("gorgias", URL, false, false);
        assert_eq!(
            s.claude_code,
            "claude mcp add --transport http gorgias http://127.0.0.1:8080/mcp/dgm_abc"
        );
        assert_eq!(s.mcp_remote, format!("npx mcp-remote {URL}"));
        assert_eq!(s.sse_url, format!("{URL}/sse"));
        let vscode: serde_json::Value = serde_json::from_str(&s.vscode).unwrap();
        assert_eq!(
            vscode,
            json!({"servers": {"gorgias": {"type": "http", "url": URL}}})
        );
        let python = s.python.unwrap();
        assert!(python.contains(&format!("URL = \"{URL}\"")), "{python}");
        assert!(python.contains("streamable_http_client(URL)"), "{python}");
        for text in [&s.claude_code, &s.vscode, &s.mcp_remote, &python] {
            assert!(!text.contains('`'), "{text}");
        }
    }

    #[test]
    fn a_server_that_requires_a_token_gets_the_header_everywhere() {
        let s = snippets("gorgias", URL, true, false);
        assert!(
            s.claude_code
                .ends_with(&format!(" --header \"{TOKEN_HEADER}\""))
        );
        assert!(
            s.mcp_remote
                .ends_with(&format!(" --header \"{TOKEN_HEADER}\""))
        );
        let vscode: serde_json::Value = serde_json::from_str(&s.vscode).unwrap();
        assert_eq!(
            vscode["servers"]["gorgias"]["headers"]["Authorization"],
            "Bearer <YOUR_API_TOKEN>"
        );
        let python = s.python.unwrap();
        assert!(
            python.contains("httpx2.AsyncClient(headers=headers)"),
            "{python}"
        );
        // The nested block is indented one level deeper, so the program still parses.
        assert!(
            python.contains("\n            async with ClientSession(read, write) as session:\n")
        );
    }

    #[test]
    fn an_oauth_server_gets_no_python_program() {
        assert_eq!(snippets("gorgias", URL, false, true).python, None);
    }
}
