//! Bearer tokens: API tokens for the management API and MCP tokens embedded in MCP URLs.
//!
//! A token is 32 random bytes, base64url, behind a short prefix that says what it is (so secret
//! scanners and humans can tell them apart). Only its SHA-256 is stored: a token has 256 bits of
//! entropy, so a fast hash is enough (no password hashing needed) and a lookup costs one hash.
//!
//! API tokens have a scope: `admin` (the management API and the console) or `mcp` (only MCP
//! requests, for servers minted with `require_api_token_auth`, optionally only some servers or
//! accounts). The one token whose value an operator chooses, `DESKGATE_ADMIN_TOKEN`, must carry
//! at least [`MIN_ADMIN_TOKEN_BITS`] (see [`admin_token_strength`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Mcp,
    /// OAuth, for MCP servers minted in `oauth` mode (see `auth_server`): an authorization
    /// code, an access token, a refresh token.
    OAuthCode,
    OAuthAccess,
    OAuthRefresh,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Api => "dga_",
            TokenKind::Mcp => "dgm_",
            TokenKind::OAuthCode => "dgc_",
            TokenKind::OAuthAccess => "dgo_",
            TokenKind::OAuthRefresh => "dgr_",
        }
    }
}

/// A freshly minted token: the secret to show once, and the hash to store.
pub struct MintedToken {
    pub secret: SecretString,
    pub hash: TokenHash,
}

/// The stored form of a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(hex(&Sha256::digest(token.as_bytes())))
    }
}

pub fn mint(kind: TokenKind) -> MintedToken {
    let bytes: [u8; 32] = rand::rng().random();
    let secret = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let hash = TokenHash::of(&secret);
    MintedToken {
        secret: SecretString::from(secret),
        hash,
    }
}

/// Whether `candidate` has the shape of a token of `kind`; checked before any lookup so garbage
/// never reaches the store.
pub fn looks_like(kind: TokenKind, candidate: &str) -> bool {
    candidate.strip_prefix(kind.prefix()).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What an API token may be used for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// The management API and the console (and MCP requests to any server).
    Admin,
    /// Only MCP requests to servers minted with `require_api_token_auth`.
    Mcp,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Admin => "admin",
            TokenScope::Mcp => "mcp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "mcp" => Some(Self::Mcp),
            _ => None,
        }
    }
}

impl crate::store::ApiToken {
    /// Whether this token authenticates an MCP request to `server` (a server minted with
    /// `require_api_token_auth`).
    pub fn covers_mcp_server(&self, server: &crate::mcp_servers::McpServer) -> bool {
        match self.scope {
            TokenScope::Admin => true,
            TokenScope::Mcp => match (&self.mcp_server_ids, &self.integrated_account_ids) {
                (None, None) => true,
                (servers, accounts) => {
                    servers.as_ref().is_some_and(|ids| ids.contains(&server.id))
                        || accounts
                            .as_ref()
                            .is_some_and(|ids| ids.contains(&server.integrated_account_id))
                }
            },
        }
    }
}

/// The least an operator-chosen admin token must carry.
pub const MIN_ADMIN_TOKEN_BITS: f64 = 128.0;

/// Refuses a `DESKGATE_ADMIN_TOKEN` too weak to be an admin credential; the error says why
/// without repeating the value.
///
/// The value's strength is estimated from its length and the smallest common alphabet that
/// holds all of its characters (digits, hex, lowercase, alphanumeric, base64, printable ASCII):
/// `openssl rand -hex 16` (32 hex digits) is exactly 128 bits, `openssl rand -base64 24` is
/// 192. A value of few distinct characters (`aaaa…`) is refused whatever its length.
pub fn admin_token_strength(value: &str) -> Result<f64, String> {
    let len = value.chars().count();
    let has = |f: fn(char) -> bool| value.chars().any(f);
    let only = |f: fn(char) -> bool| value.chars().all(f);
    let alphabet: f64 = if only(|c| c.is_ascii_digit()) {
        10.0
    } else if only(|c| c.is_ascii_hexdigit())
        && !(has(|c| c.is_ascii_lowercase()) && has(|c| c.is_ascii_uppercase()))
    {
        16.0
    } else if only(|c| c.is_ascii_lowercase()) || only(|c| c.is_ascii_uppercase()) {
        26.0
    } else if only(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        || only(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        36.0
    } else if only(|c| c.is_ascii_alphanumeric()) {
        62.0
    } else if only(|c| c.is_ascii_alphanumeric() || "+/=-_".contains(c)) {
        64.0
    } else {
        95.0
    };
    let bits = len as f64 * alphabet.log2();
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if bits < MIN_ADMIN_TOKEN_BITS || distinct.len() < 8 {
        return Err(format!(
            "DESKGATE_ADMIN_TOKEN is too weak to be an admin credential: {len} characters carry about              {bits:.0} bits, and at least {MIN_ADMIN_TOKEN_BITS:.0} are required. Generate one with              `openssl rand -hex 32`, or unset the variable and mint tokens with `deskgate token create`"
        ));
    }
    Ok(bits)
}

/// A random URL-safe string for non-token nonces (CSRF tokens, OAuth state, session ids).
pub fn random_urlsafe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Exposes a minted secret for the one response that shows it.
pub fn reveal(token: &SecretString) -> &str {
    token.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_have_their_shape_and_hash() {
        let t = mint(TokenKind::Mcp);
        assert!(looks_like(TokenKind::Mcp, reveal(&t.secret)));
        assert!(!looks_like(TokenKind::Api, reveal(&t.secret)));
        assert_eq!(TokenHash::of(reveal(&t.secret)), t.hash);
        assert_eq!(t.hash.0.len(), 64);
        assert_ne!(reveal(&mint(TokenKind::Mcp).secret), reveal(&t.secret));
    }

    #[test]
    fn weak_admin_tokens_are_refused_and_generated_ones_pass() {
        for weak in [
            "a",
            "changeme",
            &"a".repeat(100),
            "0123456789abcdef0123456789abcde", // 31 hex digits: 124 bits
            "P@ssw0rd!2024",
        ] {
            let refused = admin_token_strength(weak).unwrap_err();
            assert!(refused.contains("at least 128"), "{refused}");
            assert!(
                !refused.contains(weak) || weak.len() < 2,
                "the value was echoed"
            );
        }
        for strong in [
            "0123456789abcdef0123456789abcdef",     // openssl rand -hex 16
            "Q2hlY2sgdGhpcyBvdXQ6IDI0IGJ5dGVzIQ==", // base64 of 24+ bytes
            &format!("admin-{}", random_urlsafe(24)),
            &hex(&rand::random::<[u8; 32]>()),
        ] {
            assert!(admin_token_strength(strong).unwrap() >= 128.0, "{strong}");
        }
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(!looks_like(TokenKind::Mcp, "dgm_short"));
        assert!(!looks_like(
            TokenKind::Mcp,
            &format!("dgm_{}", "a".repeat(42) + "/")
        ));
    }
}
