//! What a request to the MCP routes must pass before its token is even looked at, and what
//! browsers are told about it:
//!
//! - `Host` (DNS-rebinding protection): a loopback name, the public URL's host, or
//!   `--allowed-hosts`.
//! - `Origin`: absent (server-to-server clients), the public URL's own origin,
//!   `--allowed-origins`, or, when the public URL is not loopback, the origins of the hosted
//!   clients ([`HOSTED_CLIENT_ORIGINS`]). Anything else gets 403, with no CORS headers.
//! - CORS, for the origins that pass: preflights are answered here (tower-http's layer, so the
//!   MCP handler never sees them), the MCP request headers are allowed, and the reply headers
//!   clients read are exposed to scripts.
//!
//! Why the hosted origins may pass by default on a public deployment: the Origin check is the
//! spec's defence against DNS rebinding, where a page on the attacker's origin reaches a server
//! on the victim's network through the victim's browser. That page's Origin is the attacker's,
//! never claude.ai's, and the `Host` check (kept strict) refuses the rebound name anyway. The
//! credential is the token in the URL, not an ambient cookie, so a page that does not know the
//! URL cannot use it. A loopback deployment keeps the strict list: it is exactly the local
//! server the rebinding rules are about, and no hosted client can reach it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::{McpState, refuse};
use crate::config::Config;

/// The web origins of the hosted clients that call MCP servers from their own back ends, let
/// through by default when deskgate has a non-loopback public URL (`--no-hosted-client-origins`
/// turns this off).
///
/// Neither vendor documents the `Origin` its connector sends, so this is a choice, written down:
/// - `https://claude.ai`: claude.ai's and Claude Desktop's connectors have been reported sending
///   it (koala73/worldmonitor#2416, SocketDev/socket-mcp#214).
/// - `https://claude.com`: Anthropic's other web origin, allowed for the same clients by other
///   servers (actionhero/keryx#499); unverified.
/// - `https://chatgpt.com`: ChatGPT's web origin; unverified whether its connector sends it.
///
/// `https://chat.openai.com` is left out: it only redirects to chatgpt.com, so no page runs there.
pub const HOSTED_CLIENT_ORIGINS: &[&str] = &[
    "https://claude.ai",
    "https://claude.com",
    "https://chatgpt.com",
];

/// Request headers MCP clients send (both protocol eras, SEP-2243 and resumption included).
const MCP_REQUEST_HEADERS: [HeaderName; 8] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::AUTHORIZATION,
    HeaderName::from_static("mcp-protocol-version"),
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("mcp-method"),
    HeaderName::from_static("mcp-name"),
    HeaderName::from_static("last-event-id"),
];

/// Reply headers a browser client needs to read: the negotiated version, a session id (in case
/// a client looks for one), the rate limits of calls that reached Gorgias, and the challenge
/// of a 401.
const EXPOSED_HEADERS: [HeaderName; 6] = [
    HeaderName::from_static("mcp-protocol-version"),
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("ratelimit-limit"),
    HeaderName::from_static("ratelimit-remaining"),
    HeaderName::from_static("ratelimit-reset"),
    header::WWW_AUTHENTICATE,
];

/// How long a browser may cache a preflight (Chromium caps it at 2 h anyway).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Which `Host` and `Origin` values the MCP routes answer for; built once from the config.
#[derive(Debug)]
pub struct Gate {
    /// The public URL's host, always an allowed `Host`.
    public_host: Option<String>,
    /// Extra `Host` names (`--allowed-hosts`); `*` allows any.
    hosts: Vec<String>,
    any_host: bool,
    /// Allowed origins, serialized as browsers send them (`scheme://host[:port]`), lower case.
    origins: Vec<String>,
    any_origin: bool,
}

impl Gate {
    pub fn new(config: &Config, public_url: &str) -> Self {
        let public = url::Url::parse(public_url).ok();
        let mut origins: Vec<String> = config
            .allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        if let Some(own) = &public {
            origins.push(own.origin().ascii_serialization().to_ascii_lowercase());
        }
        let hosted = config.hosted_client_origins
            && config
                .public_url
                .as_ref()
                .is_some_and(|url| !is_loopback(url));
        if hosted {
            origins.extend(HOSTED_CLIENT_ORIGINS.iter().map(|o| (*o).to_owned()));
        }
        Self {
            public_host: public.and_then(|u| u.host_str().map(str::to_owned)),
            any_host: config.allowed_hosts.iter().any(|h| h == "*"),
            hosts: config.allowed_hosts.clone(),
            any_origin: origins.iter().any(|o| o == "*"),
            origins,
        }
    }

    /// DNS-rebinding protection: the Host must be loopback, the public URL's host, or listed.
    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            // HTTP/1.0 without Host; nothing to rebind.
            return true;
        };
        let name = host_name(host);
        self.any_host
            || matches!(name, "localhost" | "127.0.0.1" | "::1" | "[::1]")
            || self
                .public_host
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(name))
            || self
                .hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(host))
    }

    /// A present Origin must be allowed; no Origin (a server-to-server client) passes.
    fn origin_allowed(&self, origin: Option<&HeaderValue>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim_end_matches('/');
        self.any_origin || self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// A URL whose host is a loopback name or address (or the unspecified address, which is no
/// public URL either).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback() || ip.is_unspecified(),
        None => true,
    }
}

fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| &authority[..h.len() + 1]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// The outermost layer of the MCP routes: a foreign Host or a disallowed Origin is refused
/// before CORS is considered, so the refusal carries no CORS headers.
pub(super) async fn check(State(state): State<McpState>, request: Request, next: Next) -> Response {
    let gate = &state.gate;
    if !gate.host_allowed(request.headers()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Forbidden: Host header is not allowed",
        );
    }
    if !gate.origin_allowed(request.headers().get(header::ORIGIN)) {
        return refuse(StatusCode::FORBIDDEN, "Forbidden: Origin is not allowed");
    }
    next.run(request).await
}

/// CORS for the origins [`check`] lets through. No credentials mode: the MCP routes use no
/// cookies, and `Authorization` is an ordinary request header here.
pub(super) fn cors(gate: Arc<Gate>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            gate.origin_allowed(Some(origin))
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(MCP_REQUEST_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(public_url: Option<&str>, origins: &[&str], hosted: bool) -> Gate {
        let mut config = Config::new("127.0.0.1:8080".parse().unwrap(), "sqlite::memory:");
        config.public_url = public_url.map(|u| u.parse().unwrap());
        config.allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        config.hosted_client_origins = hosted;
        Gate::new(&config, public_url.unwrap_or("http://127.0.0.1:8080"))
    }

    fn allows(gate: &Gate, origin: &'static str) -> bool {
        gate.origin_allowed(Some(&HeaderValue::from_static(origin)))
    }

    #[test]
    fn hosted_client_origins_pass_only_on_a_public_url() {
        let public = gate(Some("https://deskgate.example.com"), &[], true);
        for origin in HOSTED_CLIENT_ORIGINS {
            assert!(allows(&public, origin), "{origin}");
        }
        assert!(allows(&public, "https://deskgate.example.com"));
        assert!(!allows(&public, "https://evil.example"));
        assert!(
            !allows(&public, "http://claude.ai"),
            "only the https origin"
        );
        assert!(!allows(&public, "https://claude.ai.evil.example"));

        for loopback in [
            None,
            Some("http://127.0.0.1:8080"),
            Some("http://localhost:8080"),
            Some("http://[::1]:8080"),
            Some("http://0.0.0.0:8080"),
        ] {
            let local = gate(loopback, &[], true);
            assert!(!allows(&local, "https://claude.ai"), "{loopback:?}");
            assert!(!allows(&local, "https://chatgpt.com"), "{loopback:?}");
        }
    }

    #[test]
    fn the_defaults_can_be_turned_off_and_the_list_extended() {
        let off = gate(
            Some("https://deskgate.example.com"),
            &["http://127.0.0.1:5173/"],
            false,
        );
        assert!(!allows(&off, "https://claude.ai"));
        assert!(allows(&off, "http://127.0.0.1:5173"));
        assert!(allows(&off, "https://deskgate.example.com"));
        let any = gate(None, &["*"], false);
        assert!(allows(&any, "https://anything.example"));
    }

    #[test]
    fn requests_without_origin_pass_and_unreadable_ones_do_not() {
        let strict = gate(None, &[], true);
        assert!(strict.origin_allowed(None));
        assert!(!strict.origin_allowed(Some(&HeaderValue::from_bytes(b"\xff").unwrap())));
    }

    #[test]
    fn host_names_drop_their_port() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("example.com"), "example.com");
    }
}
