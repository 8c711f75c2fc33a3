//! Connecting, re-keying and removing integrated accounts. Credentials are checked against
//! Gorgias before anything is stored, so a bad key leaves nothing behind.

use secrecy::SecretString;
use serde::Deserialize;

use crate::accounts::{
    AccountContext, AccountStatus, AuthType, Credentials, IntegratedAccount, StoredAccount,
};
use crate::app::App;
use crate::error::ApiError;
use crate::store::CredentialsUpdate;
use crate::timestamp::Timestamp;
use crate::upstream::{self, Target};

/// API-key credentials as a user sends them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCredentials {
    /// The account's subdomain: `acme` for `https://acme.gorgias.com`.
    #[schema(min_length = 1, max_length = 63)]
    pub subdomain: String,
    /// The Gorgias user the key belongs to.
    #[schema(min_length = 3, max_length = 320, pattern = "@")]
    pub email: String,
    /// From Gorgias: Settings → REST API.
    #[schema(value_type = String, format = Password)]
    #[schema(min_length = 1, max_length = 512)]
    pub api_key: SecretString,
}

impl std::fmt::Debug for ApiKeyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCredentials")
            .field("subdomain", &self.subdomain)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct ConnectApiKey {
    pub integration: String,
    pub name: Option<String>,
    pub credentials: ApiKeyCredentials,
    pub api_base_url: Option<String>,
}

/// Why a set of credentials could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unknown integration {0:?}; the available integration is \"gorgias\"")]
    UnknownIntegration(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("api_base_url is only accepted when deskgate runs with --allow-custom-upstream")]
    CustomUpstreamNotAllowed,
    #[error(
        "Gorgias refused these credentials ({status}{detail}); check the email and the API key under Settings → REST API"
    )]
    Rejected { status: u16, detail: String },
    #[error("no Gorgias account answers at {0}; check the subdomain")]
    NoSuchAccount(String),
    #[error("Gorgias answered the credential check with HTTP {0}; try again later")]
    UnexpectedStatus(u16),
    #[error("{0}")]
    Unreachable(#[from] upstream::UpstreamError),
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Unreachable(_) | ConnectError::UnexpectedStatus(_) => {
                ApiError::UpstreamUnavailable(e.to_string())
            }
            _ => ApiError::BadRequest(e.to_string()),
        }
    }
}

fn clean_name(name: Option<String>, fallback: &str) -> Result<String, ConnectError> {
    let name = name
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| fallback.to_owned());
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ConnectError::InvalidInput(
            "name must be 1 to 100 characters".into(),
        ));
    }
    Ok(name)
}

impl App {
    pub async fn account(&self, id: &str) -> Result<StoredAccount, ApiError> {
        self.store
            .get_account(id)
            .await?
            .ok_or(ApiError::NotFound("integrated account"))
    }

    /// Checks API-key credentials against Gorgias and stores the account.
    pub async fn connect_with_api_key(
        &self,
        request: ConnectApiKey,
    ) -> Result<IntegratedAccount, ApiError> {
        if request.integration != self.integration.name() {
            return Err(ConnectError::UnknownIntegration(request.integration).into());
        }
        let api_base_url = match request.api_base_url {
            None => None,
            Some(_) if !self.config.allow_custom_upstream => {
                return Err(ConnectError::CustomUpstreamNotAllowed.into());
            }
            Some(url) => Some(validate_base_url(&url)?),
        };
        let (context, credentials) = self
            .checked_api_key(request.credentials, api_base_url)
            .await?;
        let now = Timestamp::now();
        let account = IntegratedAccount {
            id: uuid::Uuid::now_v7().to_string(),
            integration: self.integration.name().to_owned(),
            name: clean_name(request.name, &context.subdomain)?,
            status: AccountStatus::Active,
            auth_type: AuthType::ApiKey,
            context,
            credentials_version: 0,
            access_token_expires_at: None,
            rate_limit_reserve: None,
            created_at: now,
            updated_at: now,
        };
        let sealed = self.seal_credentials(&account.id, &credentials);
        self.store
            .insert_account(&StoredAccount {
                account: account.clone(),
                sealed_credentials: sealed,
            })
            .await?;
        tracing::info!(integrated_account.id = %account.id, subdomain = %account.context.subdomain, "account connected");
        Ok(account)
    }

    /// Renames an account and/or replaces its API key (checked first).
    pub async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        credentials: Option<ApiKeyCredentials>,
    ) -> Result<IntegratedAccount, ApiError> {
        let stored = self.account(id).await?;
        if let Some(credentials) = credentials {
            let (context, credentials) = self
                .checked_api_key(credentials, stored.account.context.api_base_url.clone())
                .await?;
            let sealed = self.seal_credentials(id, &credentials);
            let won = self
                .store
                .replace_credentials(&CredentialsUpdate {
                    account_id: id,
                    expected_version: stored.account.credentials_version,
                    sealed_credentials: &sealed,
                    auth_type: AuthType::ApiKey,
                    context: &context,
                    status: AccountStatus::Active,
                    access_token_expires_at: None,
                    now: Timestamp::now(),
                })
                .await?;
            if !won {
                return Err(ApiError::Conflict(
                    "the account's credentials changed while this request ran; try again".into(),
                ));
            }
        }
        if let Some(name) = name {
            let name = clean_name(Some(name), "")?;
            if !self
                .store
                .rename_account(id, &name, Timestamp::now())
                .await?
            {
                return Err(ApiError::NotFound("integrated account"));
            }
        }
        // The catalog cached for the account may lack its custom fields (fetched with the old
        // credentials): forget it with the tenants.
        self.after_credentials_change(id);
        Ok(self.account(id).await?.account)
    }

    pub async fn delete_account(&self, id: &str) -> Result<(), ApiError> {
        if !self.store.delete_account(id).await? {
            return Err(ApiError::NotFound("integrated account"));
        }
        self.after_credentials_change(id);
        self.end_orphaned_sse_streams().await;
        tracing::info!(integrated_account.id = %id, "account deleted with its MCP servers (their call logs are kept)");
        Ok(())
    }

    pub fn seal_credentials(&self, account_id: &str, credentials: &Credentials) -> Vec<u8> {
        let json = serde_json::to_vec(credentials).expect("credentials serialize");
        self.vault.seal(account_id, &json)
    }

    pub fn open_credentials(&self, stored: &StoredAccount) -> Result<Credentials, ApiError> {
        let plain = self
            .vault
            .open(&stored.account.id, &stored.sealed_credentials)
            .map_err(ApiError::internal)?;
        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&plain))
            .map_err(ApiError::internal)
    }

    /// The `Authorization` header value an account's upstream calls carry (an OAuth token is
    /// refreshed first when it is about to expire).
    pub async fn authorization(
        &self,
        account: &IntegratedAccount,
        sealed_credentials: &[u8],
    ) -> Result<SecretString, crate::calls::CallFailure> {
        if account.status == AccountStatus::NeedsCredentials {
            return Err(crate::calls::CallFailure::NeedsReauth(
                "its stored credentials cannot be opened with this server's vault key; an operator must enter them again".into(),
            ));
        }
        match account.auth_type {
            AuthType::Oauth2 => self.oauth_bearer(account, sealed_credentials).await,
            AuthType::ApiKey => match self.open_sealed(account, sealed_credentials)? {
                Credentials::ApiKey { email, api_key } => {
                    Ok(upstream::basic_authorization(&email, &api_key))
                }
                Credentials::Oauth2 { access_token, .. } => {
                    Ok(upstream::bearer_authorization(&access_token))
                }
            },
        }
    }

    /// Opens an account's sealed credentials.
    pub(crate) fn open_sealed(
        &self,
        account: &IntegratedAccount,
        sealed_credentials: &[u8],
    ) -> Result<Credentials, crate::calls::CallFailure> {
        let plain = self
            .vault
            .open(&account.id, sealed_credentials)
            .map_err(|e| crate::calls::CallFailure::Internal(e.to_string()))?;
        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&plain)).map_err(|e| {
            crate::calls::CallFailure::Internal(format!("stored credentials do not parse: {e}"))
        })
    }

    /// Validates API-key credentials and proves them against Gorgias.
    async fn checked_api_key(
        &self,
        credentials: ApiKeyCredentials,
        api_base_url: Option<String>,
    ) -> Result<(AccountContext, Credentials), ConnectError> {
        let subdomain = self
            .integration
            .validate_subdomain(&credentials.subdomain)
            .map_err(ConnectError::InvalidInput)?;
        let email = credentials.email.trim().to_owned();
        if email.len() > 320 || !email.contains('@') {
            return Err(ConnectError::InvalidInput(
                "credentials.email must be the email address of the Gorgias user the API key belongs to".into(),
            ));
        }
        let api_key = secrecy::ExposeSecret::expose_secret(&credentials.api_key)
            .trim()
            .to_owned();
        if api_key.is_empty() || api_key.len() > 512 {
            return Err(ConnectError::InvalidInput(
                "credentials.api_key must not be empty".into(),
            ));
        }
        let context = AccountContext {
            subdomain,
            email: Some(email.clone()),
            api_base_url,
            scope: None,
        };
        let base_url = self.integration.base_url(&context);
        let authorization = upstream::basic_authorization(&email, &api_key);
        let response = self
            .upstream
            .send(
                &Target {
                    base_url: &base_url,
                    authorization: &authorization,
                },
                &self.integration.verify_request(),
            )
            .await?;
        match response.status.as_u16() {
            200..=299 => Ok((context, Credentials::ApiKey { email, api_key })),
            status @ (401 | 403) => Err(ConnectError::Rejected {
                status,
                detail: self
                    .integration
                    .error_message(&response.body)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
            }),
            404 => Err(ConnectError::NoSuchAccount(base_url)),
            status => Err(ConnectError::UnexpectedStatus(status)),
        }
    }
}

/// A custom upstream base: an absolute http(s) URL with a host and nothing after it.
pub(crate) fn validate_base_url(raw: &str) -> Result<String, ConnectError> {
    let bad = || {
        ConnectError::InvalidInput(format!(
            "api_base_url {raw:?} must be an http(s) URL with a host and no path, such as http://127.0.0.1:8081"
        ))
    };
    let url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_upstreams_must_be_bare_http_urls() {
        assert_eq!(
            validate_base_url("http://127.0.0.1:8081").unwrap(),
            "http://127.0.0.1:8081"
        );
        assert_eq!(
            validate_base_url("https://x.example/").unwrap(),
            "https://x.example"
        );
        for bad in [
            "ftp://x",
            "http://u:p@x",
            "http://x/api",
            "http://x?q=1",
            "not a url",
            "file:///etc",
        ] {
            assert!(validate_base_url(bad).is_err(), "{bad}");
        }
    }
}
