//! deskgate as the OAuth 2.1 authorization server of its own `oauth`-mode MCP servers (MCP
//! authorization, 2025-11-25). The MCP server at `<base>/mcp/<server id>` is the protected
//! resource; the issuer is `<base>/oauth`.
//!
//! Why the issuer has a path: a URL-token server must behave exactly as before, and clients
//! such as claude.ai probe the origin's `/.well-known/oauth-authorization-server` even for a
//! server that never answered 401; were it there, they could start an OAuth flow that server
//! cannot finish. With the issuer at `<base>/oauth` its metadata lives at
//! `/.well-known/oauth-authorization-server/oauth` (RFC 8414 §3.1), which only clients sent
//! here by an `oauth` server's protected resource metadata look for, and the root stays 404.
//!
//! - `metadata`: RFC 9728 protected resource metadata (per server, at
//!   `/.well-known/oauth-protected-resource/mcp/<id>`) and RFC 8414 authorization server
//!   metadata (`/.well-known/oauth-authorization-server/oauth`).
//! - `register`: dynamic client registration (RFC 7591), public clients only, rate-limited per
//!   caller address; registrations never used are swept after [`UNUSED_CLIENT_SECS`].
//! - `client_metadata`: Client ID Metadata Documents (a `client_id` that is an https URL),
//!   fetched behind SSRF fences, rate-limited and cached.
//! - `authorize`: the authorization endpoint: a signed-in console operator sees the consent
//!   page and approves or denies (authorization code, PKCE S256 only, RFC 8707 `resource`).
//! - `token`: the token endpoint (code exchange, refresh with rotation) and revocation
//!   (RFC 7009).
//! - here: routes, the shared rules (redirect URIs, resources, PKCE), token issuing, and the
//!   check an MCP request's bearer token goes through.
//!
//! Tokens are opaque (`dgo_…` access, `dgr_…` refresh, `dgc_…` code), 256 random bits each,
//! stored as SHA-256 like MCP URL tokens (see `tokens`): there is nothing to verify offline
//! and every check is one indexed lookup, so revoking a grant stops its next request on every
//! replica. JWTs would add key management for no gain here, since only deskgate reads them.
//!
//! Protocol types come from the `oauth2` crate (error codes, the token response, the PKCE S256
//! transform). It is a client library: nothing maintained covers the server side (metadata
//! documents, registration, consent), so that glue is written here against the RFCs.

pub mod authorize;
pub mod client_metadata;
pub mod metadata;
pub mod register;
pub mod token;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oauth2::StandardErrorResponse;
use oauth2::basic::BasicErrorResponseType;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::mcp_servers::{AuthMode, McpServer};
use crate::store::StoreError;
use crate::store::oauth_grants::{NewToken, OAuthClient, TokenUse};
use crate::timestamp::Timestamp;
use crate::tokens::{TokenHash, TokenKind};

/// The one scope: the MCP server, as its config allows. Finer scopes would duplicate the
/// server's own filters and policies, which already say what a client may do.
pub const SCOPE: &str = "mcp";
/// Access tokens are short-lived; refresh tokens carry a session.
pub const ACCESS_TOKEN_SECS: i64 = 3600;
/// A refresh token lives this long from its issue; each rotation issues a new one.
pub const REFRESH_TOKEN_SECS: i64 = 30 * 24 * 3600;
/// An authorization code must be exchanged within this time.
pub const CODE_SECS: i64 = 120;
/// A registered client that never exchanged a code is forgotten after this long.
pub const UNUSED_CLIENT_SECS: i64 = 24 * 3600;
/// Registrations a caller address may make at once, and one more every this long.
const REGISTRATION_BURST: f64 = 20.0;
const REGISTRATION_REFILL: std::time::Duration = std::time::Duration::from_secs(30);

/// What the authorization server keeps in memory (per replica): the registration rate per
/// caller address and the metadata documents (cache and fetch rate).
pub struct AuthServerState {
    pub registrations: crate::auth_throttle::AuthThrottle,
    pub documents: client_metadata::ClientMetadataDocuments,
}

impl AuthServerState {
    pub fn new(allow_private_documents: bool) -> Self {
        Self {
            registrations: crate::auth_throttle::AuthThrottle::new(
                REGISTRATION_BURST,
                REGISTRATION_REFILL,
            ),
            documents: client_metadata::ClientMetadataDocuments::new(allow_private_documents),
        }
    }
}

/// A 429 with `Retry-After`, in the OAuth error shape.
pub fn too_many(wait_secs: u64, what: &str) -> Response {
    let mut response = no_store(
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": format!("too many {what} from this address; try again in {wait_secs} s"),
            })),
        )
            .into_response(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    response
}

pub fn router() -> Router<Arc<App>> {
    // Metadata, registration, token and revocation take no cookie, so any origin may call them
    // from a browser (the MCP Inspector does); the authorization endpoint is a page, not CORS.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            axum::http::HeaderName::from_static("mcp-protocol-version"),
        ]);
    let open = Router::new()
        .route(
            "/.well-known/oauth-protected-resource/mcp/{server_id}",
            get(metadata::protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server/oauth",
            get(metadata::authorization_server),
        )
        .route("/oauth/register", post(register::register))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .layer(cors);
    let pages = Router::new()
        .route(
            "/oauth/authorize",
            get(authorize::page).post(authorize::decide),
        )
        .layer(axum::middleware::map_response(
            crate::ui::page::security_headers,
        ));
    open.merge(pages)
}

/// Whether a path segment is an MCP server id (what an `oauth` server's URL holds in place of
/// a token): a hyphenated UUID.
pub fn is_server_id(segment: &str) -> bool {
    segment.len() == 36 && uuid::Uuid::try_parse(segment).is_ok()
}

/// An OAuth error response (RFC 6749 §5.2 and the extensions' codes), never cached.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    body: StandardErrorResponse<BasicErrorResponseType>,
}

impl OAuthError {
    pub fn new(kind: BasicErrorResponseType, description: impl Into<String>) -> Self {
        let status = match kind {
            BasicErrorResponseType::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            body: StandardErrorResponse::new(kind, Some(description.into()), None),
        }
    }

    pub fn request(description: impl Into<String>) -> Self {
        Self::new(BasicErrorResponseType::InvalidRequest, description)
    }

    pub fn grant(description: impl Into<String>) -> Self {
        Self::new(BasicErrorResponseType::InvalidGrant, description)
    }

    pub fn extension(code: &str, description: impl Into<String>) -> Self {
        Self::new(
            BasicErrorResponseType::Extension(code.to_owned()),
            description,
        )
    }

    pub fn code(&self) -> &str {
        self.body.error().as_ref()
    }

    pub fn internal(e: StoreError) -> Self {
        tracing::error!(error = %e, "OAuth endpoint failed");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: StandardErrorResponse::new(
                BasicErrorResponseType::Extension("temporarily_unavailable".into()),
                Some("try again".into()),
                None,
            ),
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::internal(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        no_store((self.status, Json(self.body)).into_response())
    }
}

/// RFC 6749 §5.1: token responses (and errors) must not be cached.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Schemes a redirect URI may never have: they run code or read local data in the browser (or
/// are not places an app listens at), so no client needs one and a hostile one could use it.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "file",
    "blob",
    "about",
    "vbscript",
    "filesystem",
    "view-source",
    "ws",
    "wss",
    "ftp",
    "mailto",
    "tel",
    "sms",
];

/// A redirect URI a client may register: `https` with a host; `http` on a loopback address
/// (RFC 8252 §7.3, native apps, any port at run time); or a native app's private-use scheme
/// (RFC 8252 §7.1: `cursor://…`, `vscode://…`, `com.example.app:/cb`). Never a fragment
/// (RFC 6749 §3.1.2), credentials, or a scheme from [`FORBIDDEN_SCHEMES`].
pub fn check_redirect_uri(uri: &str) -> Result<url::Url, String> {
    if uri.len() > 2000 {
        return Err("a redirect URI is longer than 2000 characters".into());
    }
    let url = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{uri:?} carries credentials"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{uri:?} is plain http on a host that is not loopback; use https"
        )),
        "https" => Err(format!("{uri:?} has no host")),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!(
            "{uri:?}: the {scheme}: scheme is never a redirect URI"
        )),
        // `scheme:opaque` (no `/` after the colon) is how javascript:-like URIs look; a native
        // app's callback has a path (RFC 8252 §7.1).
        _ if url.cannot_be_a_base() => Err(format!(
            "{uri:?} must be https, http on a loopback address, or an app's own scheme with a path"
        )),
        _ => Ok(url),
    }
}

/// Where a redirect URI sends the person back, as the consent page shows it: the host (and
/// port) of an http(s) URI; for an app's own scheme, the scheme too, so `evil-app://claude.ai/cb`
/// never reads as "claude.ai".
pub fn redirect_shown(uri: &str) -> String {
    let Ok(url) = url::Url::parse(uri) else {
        return String::new();
    };
    let host = url.host_str().unwrap_or_default();
    let host = url
        .port()
        .map_or(host.to_owned(), |port| format!("{host}:{port}"));
    match url.scheme() {
        "http" | "https" => host,
        scheme if host.is_empty() => format!("{scheme}:{}", url.path()),
        scheme => format!("{scheme}://{host}"),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a redirect URI presented in a request is one registered: the same string, or for a
/// loopback http URI the same but for its port (RFC 8252 §7.3: native apps take a free port
/// at run time).
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    match (url::Url::parse(registered), url::Url::parse(presented)) {
        (Ok(mut r), Ok(mut p)) if r.scheme() == "http" && is_loopback(&r) && is_loopback(&p) => {
            let _ = r.set_port(None);
            let _ = p.set_port(None);
            r == p
        }
        _ => false,
    }
}

/// The PKCE S256 check (RFC 7636 §4.6): `code_challenge == BASE64URL(SHA256(verifier))`, in
/// constant time. A verifier outside the RFC's shape never matches.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !shaped {
        return false;
    }
    let computed = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
        &oauth2::PkceCodeVerifier::new(verifier.to_owned()),
    );
    bool::from(computed.as_str().as_bytes().ct_eq(challenge.as_bytes()))
}

/// A code challenge as RFC 7636 §4.2 shapes an S256 one: 43 base64url characters.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a client could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum ClientLookupError {
    #[error(transparent)]
    Document(#[from] client_metadata::DocumentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The client behind an OAuth MCP request, for the audit log.
#[derive(Debug, Clone)]
pub struct OAuthCaller {
    pub client_id: String,
    pub client_name: String,
    pub grant_id: String,
    /// The person who approved the client (id, email), when a person did.
    pub person: Option<(String, String)>,
}

/// Why an `oauth` server refused a request's bearer token.
#[derive(Debug, PartialEq, Eq)]
pub enum BearerRefusal {
    /// No `Authorization: Bearer` at all.
    Missing,
    /// Unknown, expired, revoked, or issued for another server (RFC 6750 `invalid_token`).
    Invalid,
}

impl App {
    /// The issuer, `<base>/oauth` (see the module's note on why it has a path); the
    /// authorization server's endpoints live under it.
    pub fn issuer(&self) -> String {
        format!("{}/oauth", self.public_url)
    }

    /// An `oauth` server's MCP URL, which is also its resource identifier (RFC 8707).
    pub fn oauth_server_url(&self, server_id: &str) -> String {
        format!("{}/mcp/{server_id}", self.public_url)
    }

    /// Where a server's protected resource metadata is (RFC 9728 §3.1: the well-known prefix
    /// inserted before the resource's path).
    pub fn resource_metadata_url(&self, server_id: &str) -> String {
        let base = url::Url::parse(&self.public_url).ok();
        match base {
            Some(base) => {
                let origin = base.origin().ascii_serialization();
                let path = base.path().trim_end_matches('/');
                format!("{origin}/.well-known/oauth-protected-resource{path}/mcp/{server_id}")
            }
            None => format!(
                "{}/.well-known/oauth-protected-resource/mcp/{server_id}",
                self.public_url
            ),
        }
    }

    /// The `oauth` server a `resource` parameter names (RFC 8707): this deskgate's
    /// `<base>/mcp/<id>`, compared after URL normalization (case of scheme and host, default
    /// port), a trailing slash allowed.
    pub async fn resource_server(&self, resource: &str) -> Result<Option<McpServer>, StoreError> {
        let Some(id) = self.resource_server_id_of(resource) else {
            return Ok(None);
        };
        Ok(self
            .store
            .find_mcp_server(&id)
            .await?
            .filter(|s| s.auth == AuthMode::Oauth && !s.is_expired(Timestamp::now())))
    }

    /// The server id a `resource` names, if it has the shape of one of ours.
    pub fn resource_server_id_of(&self, resource: &str) -> Option<String> {
        let presented = url::Url::parse(resource).ok()?;
        if presented.fragment().is_some() || presented.query().is_some() {
            return None;
        }
        let base = url::Url::parse(&self.public_url).ok()?;
        if presented.origin() != base.origin() {
            return None;
        }
        let prefix = format!("{}/mcp/", base.path().trim_end_matches('/'));
        let id = presented
            .path()
            .strip_prefix(&prefix)?
            .trim_end_matches('/');
        is_server_id(id).then(|| id.to_owned())
    }

    /// Checks the bearer token of a request to the `oauth` server `server_id`.
    pub async fn authenticate_oauth_bearer(
        &self,
        server_id: &str,
        bearer: Option<&str>,
    ) -> Result<Result<OAuthCaller, BearerRefusal>, StoreError> {
        let Some(token) = bearer else {
            return Ok(Err(BearerRefusal::Missing));
        };
        if !crate::tokens::looks_like(TokenKind::OAuthAccess, token) {
            return Ok(Err(BearerRefusal::Invalid));
        }
        let found = self
            .store
            .find_oauth_access(&TokenHash::of(token).0, Timestamp::now())
            .await?;
        Ok(match found {
            // RFC 8707 audience: a token is good for the one server it was issued for.
            Some(grant) if grant.mcp_server_id == server_id => Ok(OAuthCaller {
                client_id: grant.client_id,
                client_name: grant.client_name,
                grant_id: grant.grant_id,
                person: grant.person,
            }),
            _ => Err(BearerRefusal::Invalid),
        })
    }

    /// Issues an access token and a refresh token under a grant; returns them (shown once).
    async fn issue_tokens(&self, grant_id: &str) -> Result<(String, String), StoreError> {
        let now = Timestamp::now();
        let access = crate::tokens::mint(TokenKind::OAuthAccess);
        let refresh = crate::tokens::mint(TokenKind::OAuthRefresh);
        self.store
            .insert_oauth_tokens(
                grant_id,
                &[
                    NewToken {
                        hash: &access.hash.0,
                        kind: TokenUse::Access,
                        expires_at: now.plus_secs(ACCESS_TOKEN_SECS),
                    },
                    NewToken {
                        hash: &refresh.hash.0,
                        kind: TokenUse::Refresh,
                        expires_at: now.plus_secs(REFRESH_TOKEN_SECS),
                    },
                ],
                now,
            )
            .await?;
        Ok((
            crate::tokens::reveal(&access.secret).to_owned(),
            crate::tokens::reveal(&refresh.secret).to_owned(),
        ))
    }

    /// Revokes a grant and everything issued under it (a replayed code or refresh token, an
    /// operator's DELETE, a revoked refresh token).
    pub async fn revoke_grant(&self, grant_id: &str, why: &str) -> Result<bool, StoreError> {
        let gone = self.store.delete_oauth_grant(grant_id).await?;
        if gone {
            tracing::info!(oauth.grant_id = %grant_id, reason = why, "OAuth grant revoked");
        }
        Ok(gone)
    }

    /// Revokes grant `grant_id` if `theirs` says the caller may (a grant of their server, or one
    /// they approved); any other grant is not found, so its existence is not told.
    pub async fn revoke_grant_of(
        &self,
        grant_id: &str,
        theirs: impl FnOnce(&crate::store::oauth_grants::OAuthGrant) -> bool,
        why: &str,
    ) -> Result<(), crate::error::ApiError> {
        let grant = self
            .store
            .get_oauth_grant(grant_id)
            .await?
            .filter(theirs)
            .ok_or(crate::error::ApiError::NotFound("OAuth grant"))?;
        self.revoke_grant(&grant.id, why).await?;
        Ok(())
    }

    /// Expired tokens, codes never exchanged and grants left with nothing go (the sweep), then
    /// registrations never used within [`UNUSED_CLIENT_SECS`]; the in-memory limits and
    /// document cache drop what has recovered or expired.
    pub async fn sweep_oauth_grants(&self) -> Result<u64, StoreError> {
        let now = Timestamp::now();
        let grants = self.store.sweep_oauth_grants(now).await?;
        let clients = self
            .store
            .sweep_unused_oauth_clients(now.plus_secs(-UNUSED_CLIENT_SECS))
            .await?;
        if clients > 0 {
            tracing::info!(
                oauth.clients = clients,
                "OAuth clients registered and never used were forgotten"
            );
        }
        self.auth_server.registrations.forget_recovered();
        self.auth_server.documents.forget_stale();
        Ok(grants)
    }

    /// The client a `client_id` names: a metadata document's (fetched for `caller`, then kept in
    /// the clients table so grants can point at it) or a registration's.
    pub async fn oauth_client(
        &self,
        client_id: &str,
        caller: std::net::IpAddr,
    ) -> Result<Option<OAuthClient>, ClientLookupError> {
        if !client_metadata::is_document_url(client_id) {
            return Ok(self.store.get_oauth_client(client_id).await?);
        }
        let client = self.auth_server.documents.client(client_id, caller).await?;
        self.store.upsert_oauth_client(&client).await?;
        Ok(Some(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost:6274/oauth/callback",
            "http://[::1]:8080/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        // Native apps' own schemes (RFC 8252 §7.1), as Cursor and VS Code register them.
        for ok in [
            "cursor://anysphere.cursor-retrieval/oauth/user-deskgate/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "com.example.app:/oauth2redirect/example-provider",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "https://example.com/cb#frag",
            "javascript:alert(1)",
            "javascript://example.com/%0aalert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "blob:https://example.com/uuid",
            "cursor://anysphere/cb#frag",
            "myapp:opaque",
            "https://user:pw@example.com/cb",
            "/relative",
            "http://127.0.0.1.evil.example/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_consent_page_shows_an_apps_scheme() {
        assert_eq!(
            redirect_shown("https://claude.ai/api/mcp/auth_callback"),
            "claude.ai"
        );
        assert_eq!(
            redirect_shown("http://127.0.0.1:33418/cb"),
            "127.0.0.1:33418"
        );
        assert_eq!(
            redirect_shown("cursor://anysphere.cursor-retrieval/oauth/cb"),
            "cursor://anysphere.cursor-retrieval"
        );
        assert_eq!(
            redirect_shown("evil-app://claude.ai/cb"),
            "evil-app://claude.ai"
        );
        assert_eq!(
            redirect_shown("com.example.app:/oauth2redirect"),
            "com.example.app:/oauth2redirect"
        );
    }

    #[test]
    fn loopback_redirects_may_change_port_only() {
        assert!(redirect_matches(
            "http://127.0.0.1:1000/cb",
            "http://127.0.0.1:2000/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1000/cb",
            "http://127.0.0.1:2000/other"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example:8443/cb"
        ));
        assert!(redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb"
        ));
        // localhost and IPv6 loopback too; never from loopback to elsewhere or across schemes.
        assert!(redirect_matches(
            "http://localhost:1000/cb",
            "http://localhost:2000/cb"
        ));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:40000/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1:1000/cb",
            "http://evil.example:1000/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1000/cb",
            "https://127.0.0.1:1000/cb"
        ));
        // A custom scheme matches exactly.
        assert!(redirect_matches("cursor://a.b/cb", "cursor://a.b/cb"));
        assert!(!redirect_matches("cursor://a.b/cb", "cursor://a.b/cb2"));
    }

    #[test]
    fn pkce_s256_round_trip() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn server_ids_are_uuids() {
        assert!(is_server_id("0192f0c4-7d1e-7c3a-9b7e-1d2c3b4a5f60"));
        assert!(!is_server_id("dgm_abc"));
        assert!(!is_server_id("not-a-uuid-at-all-but-36-characters!"));
    }
}
