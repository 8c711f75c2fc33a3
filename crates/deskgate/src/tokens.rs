//! Bearer tokens: API tokens for the management API and MCP tokens embedded in MCP URLs.
//!
//! A token is 32 random bytes, base64url, behind a short prefix that says what it is (so secret
//! scanners and humans can tell them apart). Only its SHA-256 is stored: a token has 256 bits of
//! entropy, so a fast hash is enough (no password hashing needed) and a lookup costs one hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Mcp,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Api => "dga_",
            TokenKind::Mcp => "dgm_",
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
    fn garbage_is_not_a_token() {
        assert!(!looks_like(TokenKind::Mcp, "dgm_short"));
        assert!(!looks_like(
            TokenKind::Mcp,
            &format!("dgm_{}", "a".repeat(42) + "/")
        ));
    }
}
