//! Client ID Metadata Documents (MCP authorization 2025-11-25;
//! draft-ietf-oauth-client-id-metadata-document): a client whose `client_id` is an https URL
//! needs no registration; deskgate fetches the JSON document at that URL when the client sends a
//! person to the authorization endpoint, and the document says the client's name and redirect
//! URIs.
//!
//! The fetch is a request deskgate makes to an address a stranger chose, so it is fenced:
//! - the URL: https, a path, no fragment, credentials or dot segments (the draft's rules);
//! - the address: every address the name resolves to must be public (no loopback, private,
//!   link-local, shared, documentation or multicast ranges), checked in the resolver reqwest
//!   connects with, so a name cannot resolve once to a public address and again to an inside one;
//!   a literal IP host is checked the same way; no proxy from the environment is used (a proxy
//!   would resolve the name itself). `--oauth-client-metadata-allow-private` lifts
//!   this and allows plain http, for tests only;
//! - the response: no redirects, 5 s in all, at most [`MAX_DOCUMENT_BYTES`], status 200, JSON;
//! - the rate: fetches (not cache hits) are counted per caller address like failed sign-ins
//!   (`AuthThrottle`), 429 with `Retry-After` past the burst;
//! - the cache: a good document is kept [`CACHE_TTL`], at most [`CACHE_ENTRIES`] of them.
//!
//! The document must name itself (`client_id` equal to the URL), list its redirect URIs (each
//! passing the same rules as a registration's), and be a public client
//! (`token_endpoint_auth_method` absent or `none`: deskgate keeps no client secrets).
//!
//! Hand-written: no maintained crate implements the draft (the `oauth2` crate is a client).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::check_redirect_uri;
use crate::auth_throttle::AuthThrottle;
use crate::store::oauth_grants::OAuthClient;
use crate::timestamp::Timestamp;

/// Largest document accepted (the draft suggests 5 KB).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// The whole fetch, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fetched document is trusted before it is fetched again.
pub const CACHE_TTL: Duration = Duration::from_secs(600);
/// Documents kept at most; past this, expired ones go first, then the oldest.
pub const CACHE_ENTRIES: usize = 1000;
/// Fetches a caller address may cause at once, and one more every this long.
const FETCH_BURST: f64 = 10.0;
const FETCH_REFILL: Duration = Duration::from_secs(30);
const MAX_NAME_CHARS: usize = 100;
const MAX_REDIRECT_URIS: usize = 10;

/// Why a metadata document client cannot be used. The texts are shown to the person on the
/// authorization page (never redirected to the client: its redirect URIs are not known good).
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("too many client metadata documents fetched from this address; try again in {0} s")]
    Throttled(u64),
    #[error("the client_id is not a usable metadata document URL: {0}")]
    BadUrl(String),
    #[error("the client metadata document could not be fetched: {0}")]
    Unreachable(String),
    #[error("the client metadata document is not valid: {0}")]
    Invalid(String),
}

/// Whether a `client_id` names a metadata document rather than a registration (`dgcl_…`).
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The draft's rules for the URL itself (§3); plain http only when `allow_private` (tests).
pub fn check_document_url(client_id: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(client_id).map_err(|e| format!("not a URL: {e}"))?;
    let loopback_http = allow_private && url.scheme() == "http";
    if url.scheme() != "https" && !loopback_http {
        return Err("it must be an https URL".into());
    }
    if url.fragment().is_some() {
        return Err("it has a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it carries credentials".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("it has no path".into());
    }
    // `url` removes dot segments while parsing; the draft forbids them outright, so compare.
    let raw_path = client_id
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let raw_path = raw_path.split(['?', '#']).next().unwrap_or("");
    if raw_path.split('/').any(|s| {
        s == "." || s == ".." || s.eq_ignore_ascii_case("%2e") || s.eq_ignore_ascii_case("%2e%2e")
    }) {
        return Err("it has dot segments".into());
    }
    if url.as_str() != client_id {
        return Err("it is not in its normal form (as a URL parser writes it back)".into());
    }
    Ok(url)
}

/// What deskgate reads from a document; other members are ignored.
#[derive(Debug, Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

/// Parses and checks a fetched document for `client_id` (pure).
pub fn parse_document(client_id: &str, body: &[u8]) -> Result<OAuthClient, String> {
    let doc: Document =
        serde_json::from_slice(body).map_err(|e| format!("not client metadata as JSON: {e}"))?;
    if doc.client_id != client_id {
        return Err(format!(
            "its client_id ({:?}) is not the URL it was fetched from",
            doc.client_id
        ));
    }
    if doc.redirect_uris.is_empty() || doc.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(format!(
            "redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs"
        ));
    }
    for uri in &doc.redirect_uris {
        check_redirect_uri(uri)?;
    }
    match doc.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(format!(
                "token_endpoint_auth_method {other:?} is not supported: only public clients (none)"
            ));
        }
    }
    if let Some(grants) = &doc.grant_types
        && !grants.iter().any(|g| g == "authorization_code")
    {
        return Err("grant_types does not include authorization_code".into());
    }
    if let Some(types) = &doc.response_types
        && !types.iter().any(|t| t == "code")
    {
        return Err("response_types does not include code".into());
    }
    let name = doc
        .client_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME_CHARS)
                .collect()
        })
        // Unnamed: the URL's host is the best name there is.
        .unwrap_or_else(|| {
            url::Url::parse(client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "Unnamed client".into())
        });
    Ok(OAuthClient {
        id: client_id.to_owned(),
        name,
        redirect_uris: doc.redirect_uris,
        created_at: Timestamp::now(),
    })
}

/// Whether deskgate may connect to `ip` on a stranger's say-so: a globally routable unicast
/// address. (`IpAddr::is_global` is not stable yet, hence the list.)
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 (could reach IPv4 inside)
        }
    }
}

/// The resolver the document fetcher connects with: only public addresses come out of it.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

struct Cached {
    client: OAuthClient,
    until: Instant,
}

/// Fetches, checks and caches metadata documents (one per process).
pub struct ClientMetadataDocuments {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
    fetches: AuthThrottle,
    allow_private: bool,
}

impl ClientMetadataDocuments {
    pub fn new(allow_private: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the host: through an HTTP(S)_PROXY from the environment, the proxy
            // would resolve the name and the address check below would be bypassed.
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(concat!("deskgate/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.https_only(true).dns_resolver(Arc::new(PublicOnly));
        }
        Self {
            http: builder.build().expect("the TLS backend initializes"),
            cache: Mutex::default(),
            fetches: AuthThrottle::new(FETCH_BURST, FETCH_REFILL),
            allow_private,
        }
    }

    /// The client a document URL describes: from the cache, or fetched for `caller`.
    pub async fn client(
        &self,
        client_id: &str,
        caller: IpAddr,
    ) -> Result<OAuthClient, DocumentError> {
        if let Some(hit) = self.cached(client_id) {
            return Ok(hit);
        }
        let url =
            check_document_url(client_id, self.allow_private).map_err(DocumentError::BadUrl)?;
        if !self.allow_private
            && let Some(host) = url.host()
        {
            let literal = match host {
                url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
                url::Host::Domain(_) => None,
            };
            if literal.is_some_and(|ip| !is_public(ip)) {
                return Err(DocumentError::BadUrl(
                    "its host is not a public address".into(),
                ));
            }
        }
        if let Some(wait) = self.fetches.blocked(caller) {
            return Err(DocumentError::Throttled(wait));
        }
        self.fetches.failed(caller);
        let body = self.fetch(url).await?;
        let client = parse_document(client_id, &body).map_err(DocumentError::Invalid)?;
        self.remember(&client);
        Ok(client)
    }

    async fn fetch(&self, url: url::Url) -> Result<Vec<u8>, DocumentError> {
        let unreachable = |e: reqwest::Error| {
            // Without the URL: the client chose it, and the page shows this text.
            let mut cause: &dyn std::error::Error = &e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            DocumentError::Unreachable(if e.is_timeout() {
                "it took too long".into()
            } else {
                cause.to_string()
            })
        };
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(DocumentError::Unreachable(format!(
                "it answered {}",
                response.status()
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(DocumentError::Invalid(format!(
                "it is larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(DocumentError::Invalid(format!(
                    "it is larger than {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn cached(&self, client_id: &str) -> Option<OAuthClient> {
        let cache = self.cache.lock().expect("document cache poisoned");
        cache
            .get(client_id)
            .filter(|c| c.until > Instant::now())
            .map(|c| c.client.clone())
    }

    fn remember(&self, client: &OAuthClient) {
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("document cache poisoned");
        if cache.len() >= CACHE_ENTRIES && !cache.contains_key(&client.id) {
            cache.retain(|_, c| c.until > now);
            while cache.len() >= CACHE_ENTRIES {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, c)| c.until)
                    .map(|(k, _)| k.clone())
                    .expect("the cache is not empty");
                cache.remove(&oldest);
            }
        }
        cache.insert(
            client.id.clone(),
            Cached {
                client: client.clone(),
                until: now + CACHE_TTL,
            },
        );
    }

    /// Background upkeep: expired documents and recovered fetch buckets go.
    pub fn forget_stale(&self) {
        let now = Instant::now();
        self.cache
            .lock()
            .expect("document cache poisoned")
            .retain(|_, c| c.until > now);
        self.fetches.forget_recovered();
    }

    #[cfg(test)]
    fn cache_len(&self) -> usize {
        self.cache.lock().expect("document cache poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://app.example/oauth/client.json";

    #[test]
    fn document_urls_follow_the_drafts_rules() {
        assert!(check_document_url(URL, false).is_ok());
        for bad in [
            "http://app.example/client.json",
            "https://app.example/",
            "https://app.example",
            "https://app.example/a/../client.json",
            "https://app.example/./client.json",
            "https://app.example/client.json#x",
            "https://u:p@app.example/client.json",
            "https://APP.example/client.json",
        ] {
            assert!(check_document_url(bad, false).is_err(), "{bad}");
        }
        // The test flag allows plain http (for a local document server).
        assert!(check_document_url("http://127.0.0.1:8080/client.json", true).is_ok());
    }

    #[test]
    fn a_document_must_name_itself_and_list_good_redirects() {
        let good = format!(
            r#"{{"client_id":"{URL}","client_name":"Example","redirect_uris":["https://app.example/cb","http://127.0.0.1/cb"],"extra":1}}"#
        );
        let client = parse_document(URL, good.as_bytes()).unwrap();
        assert_eq!(client.id, URL);
        assert_eq!(client.name, "Example");
        assert_eq!(client.redirect_uris.len(), 2);

        let other = r#"{"client_id":"https://evil.example/c.json","redirect_uris":["https://app.example/cb"]}"#;
        assert!(
            parse_document(URL, other.as_bytes())
                .unwrap_err()
                .contains("not the URL")
        );
        let no_redirects = format!(r#"{{"client_id":"{URL}"}}"#);
        assert!(parse_document(URL, no_redirects.as_bytes()).is_err());
        let js = format!(r#"{{"client_id":"{URL}","redirect_uris":["javascript:alert(1)"]}}"#);
        assert!(parse_document(URL, js.as_bytes()).is_err());
        let secret = format!(
            r#"{{"client_id":"{URL}","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}}"#
        );
        assert!(
            parse_document(URL, secret.as_bytes())
                .unwrap_err()
                .contains("public clients")
        );
        assert!(parse_document(URL, b"not json").is_err());
        // No name: the host stands in.
        let unnamed =
            format!(r#"{{"client_id":"{URL}","redirect_uris":["https://app.example/cb"]}}"#);
        assert_eq!(
            parse_document(URL, unnamed.as_bytes()).unwrap().name,
            "app.example"
        );
    }

    #[test]
    fn only_public_addresses_may_be_fetched() {
        for public in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
    }

    #[tokio::test]
    async fn literal_inside_addresses_are_refused_before_any_fetch() {
        let documents = ClientMetadataDocuments::new(false);
        for url in [
            "https://127.0.0.1/client.json",
            "https://[::1]/client.json",
            "https://169.254.169.254/latest/meta-data",
        ] {
            let refused = documents.client(url, IpAddr::from([203, 0, 113, 9])).await;
            assert!(
                matches!(refused, Err(DocumentError::BadUrl(_))),
                "{url}: {refused:?}"
            );
        }
        // A name that resolves only to loopback is refused by the resolver.
        let refused = documents
            .client(
                "https://localhost/client.json",
                IpAddr::from([203, 0, 113, 9]),
            )
            .await;
        assert!(
            matches!(refused, Err(DocumentError::Unreachable(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let documents = ClientMetadataDocuments::new(false);
        for i in 0..CACHE_ENTRIES + 5 {
            documents.remember(&OAuthClient {
                id: format!("https://app{i}.example/c.json"),
                name: "x".into(),
                redirect_uris: vec![],
                created_at: Timestamp::now(),
            });
        }
        assert_eq!(documents.cache_len(), CACHE_ENTRIES);
        assert!(documents.cached("https://app1004.example/c.json").is_some());
    }
}
