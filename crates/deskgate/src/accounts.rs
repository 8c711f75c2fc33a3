//! Integrated accounts: a connected Gorgias account, its non-secret connection details and its
//! sealed credentials.

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Credentials work (as of the last call).
    Active,
    /// The OAuth grant is gone for good: the account must be reconnected.
    NeedsReauth,
    /// The stored credentials cannot be opened with this server's vault keys (the key that
    /// sealed them was lost or changed): they must be entered again.
    NeedsCredentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    ApiKey,
    Oauth2,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::NeedsReauth => "needs_reauth",
            AccountStatus::NeedsCredentials => "needs_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "needs_reauth" => Some(Self::NeedsReauth),
            "needs_credentials" => Some(Self::NeedsCredentials),
            _ => None,
        }
    }
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::ApiKey => "api_key",
            AuthType::Oauth2 => "oauth2",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api_key" => Some(Self::ApiKey),
            "oauth2" => Some(Self::Oauth2),
            _ => None,
        }
    }
}

/// What may be shown about a connection: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountContext {
    pub subdomain: String,
    /// The login the API key belongs to (API-key accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Replaces `https://<subdomain>.gorgias.com` (sandbox and tests; needs
    /// `--allow-custom-upstream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// Scopes granted to an OAuth connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl AccountContext {
    /// Whether the connection was granted no write scope (an OAuth account connected
    /// read-only): its servers then offer only tools that read. API-key accounts, and OAuth
    /// grants with any `…:write` scope or the old `write:all`, can write.
    pub fn is_read_only(&self) -> bool {
        self.scope.as_deref().is_some_and(|scope| {
            !scope
                .split_whitespace()
                .any(|s| s == "write:all" || s.ends_with(":write"))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegratedAccount {
    pub id: String,
    pub integration: String,
    pub name: String,
    pub status: AccountStatus,
    pub auth_type: AuthType,
    pub context: AccountContext,
    /// Bumped on every credential write; OAuth refresh uses it for compare-and-swap.
    pub credentials_version: i64,
    pub access_token_expires_at: Option<Timestamp>,
    /// How much of the helpdesk's rate-limit bucket agents must leave to people and other
    /// integrations: a call that would go below it is refused (issue 15). `None`: no reserve.
    pub rate_limit_reserve: Option<u32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An account row with its sealed credentials, as the store holds it.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    pub account: IntegratedAccount,
    pub sealed_credentials: Vec<u8>,
}

/// Decrypted credentials. Only ever held in memory for the duration of a call; `Debug` redacts.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    ApiKey {
        email: String,
        api_key: String,
    },
    Oauth2 {
        access_token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey { email, .. } => f
                .debug_struct("ApiKey")
                .field("email", email)
                .field("api_key", &"<redacted>")
                .finish(),
            Credentials::Oauth2 { .. } => f.write_str("Oauth2 { <redacted> }"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_means_a_grant_without_any_write_scope() {
        let context = |scope: Option<&str>| AccountContext {
            subdomain: "acme".into(),
            email: None,
            api_base_url: None,
            scope: scope.map(str::to_owned),
        };
        assert!(!context(None).is_read_only(), "API keys can write");
        assert!(context(Some("openid offline tickets:read tags:read")).is_read_only());
        assert!(context(Some("")).is_read_only());
        assert!(!context(Some("offline tickets:read tickets:write")).is_read_only());
        assert!(!context(Some("openid write:all")).is_read_only());
        // A scope that merely mentions "write" elsewhere is not a write scope.
        assert!(context(Some("tickets:read writer:read")).is_read_only());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::ApiKey {
            email: "a@b.c".into(),
            api_key: "very-secret".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
        let o = Credentials::Oauth2 {
            access_token: "tok-secret".into(),
            refresh_token: Some("ref-secret".into()),
        };
        assert!(!format!("{o:?}").contains("secret"));
    }
}
