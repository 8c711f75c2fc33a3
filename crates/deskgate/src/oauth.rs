//! OAuth2: connecting an account through the integration's authorization-code flow, and keeping
//! its tokens alive.
//!
//! - The app (client id, sealed secret, redirect URL) lives in the store, set from the config
//!   at start-up or through the API.
//! - A connect flow stores a single-use, short-lived `state` bound to the browser that started
//!   it (a cookie), with a PKCE verifier; the callback consumes the state before anything else,
//!   so a replay finds nothing.
//! - Refreshing is single-flight per account: one task per process (a mutex) and one process
//!   across replicas (a lease row in the store), because a refresh token used twice is the
//!   classic way to lose a grant when the provider rotates them. A refresh that fails for good
//!   marks the account `needs_reauth`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::accounts::{
    AccountContext, AccountStatus, AuthType, Credentials, IntegratedAccount, StoredAccount,
};
use crate::app::App;
use crate::calls::CallFailure;
use crate::store::{CredentialsUpdate, OAuthAppRow, OAuthStateRow, StoreError};
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;
use crate::upstream;

/// How long a connect flow may take from redirect to callback.
const STATE_LIFETIME_SECS: i64 = 600;
/// Tokens this close to expiry are refreshed before use.
const REFRESH_AHEAD_SECS: i64 = 60;
/// How long one refresh may hold the lease before another process may take over, at least:
/// the lease also outlasts the upstream timeout (see [`App::refresh_lease_secs`]), so a slow
/// token endpoint cannot make two replicas spend the same refresh token.
const LEASE_SECS: i64 = 30;
/// When the provider gives no usable lifetime (Gorgias's own example says `expires_in: 0`).
const DEFAULT_ACCESS_TOKEN_SECS: i64 = 24 * 3600;

/// The OAuth app deskgate is registered as.
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("OAuth is not configured: set the app's client id and secret first")]
    NotConfigured,
    #[error("this integration does not support OAuth")]
    Unsupported,
    #[error("{0}")]
    InvalidInput(String),
    #[error("api_base_url is only accepted when deskgate runs with --allow-custom-upstream")]
    CustomUpstreamNotAllowed,
    #[error("the authorization was declined ({0}); nothing was connected")]
    Denied(String),
    #[error(
        "this sign-in link is not valid: it was already used, has expired, or was started in another browser"
    )]
    BadState,
    #[error("{0} refused the authorization code: {1}")]
    ExchangeRefused(String, String),
    #[error("{0} could not be reached to finish the connection: {1}")]
    Unreachable(String, String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::Internal(e.to_string())
    }
}

/// The start of a connect flow.
pub struct BeginOAuth {
    pub subdomain: String,
    pub api_base_url: Option<String>,
    /// Re-authorize this account instead of connecting a new one.
    pub account_id: Option<String>,
    /// Ask only for the read scopes (and the sign-in ones): the account's servers then offer
    /// only tools that read. `None`: as the re-authorized account was, else everything.
    pub read_only: Option<bool>,
}

/// Where to send the browser, and the cookie that binds the flow to it.
pub struct Authorization {
    pub authorize_url: String,
    pub binding: String,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Default)]
pub struct RefreshLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl RefreshLocks {
    fn for_account(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .expect("refresh locks poisoned")
            .entry(id.to_owned())
            .or_default()
            .clone()
    }
}

/// The scopes a connect flow asks for: all the definition's, or for a read-only connection
/// those that do not write (`…:write`, `write:all`), keeping sign-in and `offline`.
fn requested_scopes(scopes: &[String], read_only: bool) -> String {
    scopes
        .iter()
        .filter(|s| !read_only || !(s.ends_with(":write") || *s == "write:all"))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Fills `{base_url}` and `{subdomain}` in a definition's URL template.
fn fill(template: &str, base_url: &str, subdomain: &str) -> String {
    template
        .replace("{base_url}", base_url)
        .replace("{subdomain}", subdomain)
}

/// The access token's lifetime: `expires_in` when it is positive, else the JWT's `exp`, else
/// the documented default.
fn access_expiry(response: &TokenResponse, now: Timestamp) -> Timestamp {
    if let Some(secs) = response.expires_in.filter(|s| *s > 0) {
        return now.plus_secs(secs);
    }
    let exp = response
        .access_token
        .split('.')
        .nth(1)
        .and_then(|claims| URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_i64));
    match exp {
        Some(exp) => Timestamp(exp * 1000),
        None => now.plus_secs(DEFAULT_ACCESS_TOKEN_SECS),
    }
}

impl App {
    fn oauth_settings(&self) -> Result<&integration_spec::OAuth2Settings, OAuthError> {
        self.integration
            .connection()
            .oauth2
            .as_ref()
            .ok_or(OAuthError::Unsupported)
    }

    /// Stores the OAuth app (its secret sealed). `redirect_url` defaults to this server's
    /// callback.
    pub async fn set_oauth_app(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        redirect_url: Option<&str>,
    ) -> Result<(), OAuthError> {
        self.oauth_settings()?;
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 200 {
            return Err(OAuthError::InvalidInput(
                "client_id must be 1 to 200 characters".into(),
            ));
        }
        if client_secret.expose_secret().trim().is_empty() {
            return Err(OAuthError::InvalidInput(
                "client_secret must not be empty".into(),
            ));
        }
        if let Some(url) = redirect_url {
            let parsed = url::Url::parse(url).map_err(|_| {
                OAuthError::InvalidInput(format!("redirect_url {url:?} is not an absolute URL"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(OAuthError::InvalidInput(
                    "redirect_url must be http(s)".into(),
                ));
            }
        }
        let name = self.integration.name().to_owned();
        self.store
            .upsert_oauth_app(&OAuthAppRow {
                client_secret: self.vault.seal_secret(&name, client_secret),
                integration: name,
                client_id: client_id.to_owned(),
                redirect_url: redirect_url.map(str::to_owned),
                updated_at: Timestamp::now().millis(),
            })
            .await?;
        Ok(())
    }

    pub async fn oauth_app(&self) -> Result<Option<OAuthApp>, OAuthError> {
        let name = self.integration.name();
        let Some(row) = self.store.get_oauth_app(name).await? else {
            return Ok(None);
        };
        let client_secret = self
            .vault
            .open(name, &row.client_secret)
            .map_err(|e| OAuthError::Internal(e.to_string()))?;
        Ok(Some(OAuthApp {
            client_id: row.client_id,
            client_secret,
            redirect_url: row
                .redirect_url
                .unwrap_or_else(|| format!("{}/connect/{name}/callback", self.public_url)),
        }))
    }

    /// Starts a connect flow: stores its state and returns where to send the browser.
    pub async fn begin_oauth(&self, begin: BeginOAuth) -> Result<Authorization, OAuthError> {
        let settings = self.oauth_settings()?;
        let app = self.oauth_app().await?.ok_or(OAuthError::NotConfigured)?;
        let subdomain = self
            .integration
            .validate_subdomain(&begin.subdomain)
            .map_err(OAuthError::InvalidInput)?;
        let api_base_url = match begin.api_base_url {
            None => None,
            Some(_) if !self.config.allow_custom_upstream => {
                return Err(OAuthError::CustomUpstreamNotAllowed);
            }
            Some(url) => Some(
                crate::connect::validate_base_url(&url)
                    .map_err(|e| OAuthError::InvalidInput(e.to_string()))?,
            ),
        };
        let reauthorized =
            match &begin.account_id {
                None => None,
                Some(id) => Some(self.store.get_account(id).await?.ok_or_else(|| {
                    OAuthError::InvalidInput(format!("no integrated account {id}"))
                })?),
            };
        let read_only = begin.read_only.unwrap_or_else(|| {
            reauthorized
                .as_ref()
                .is_some_and(|a| a.account.context.is_read_only())
        });
        let scope = requested_scopes(&settings.scopes, read_only);
        let context = AccountContext {
            subdomain: subdomain.clone(),
            email: None,
            api_base_url: api_base_url.clone(),
            scope: None,
        };
        let base_url = self.integration.base_url(&context);
        let state = crate::tokens::random_urlsafe(32);
        let binding = crate::tokens::random_urlsafe(32);
        let verifier = crate::tokens::random_urlsafe(48);
        let name = self.integration.name().to_owned();
        self.store
            .insert_oauth_state(&OAuthStateRow {
                state_hash: TokenHash::of(&state).0,
                binding_hash: TokenHash::of(&binding).0,
                integration: name,
                subdomain: subdomain.clone(),
                api_base_url,
                code_verifier: self
                    .vault
                    .seal(&TokenHash::of(&state).0, verifier.as_bytes()),
                account_id: begin.account_id,
                expires_at: Timestamp::now().plus_secs(STATE_LIFETIME_SECS).millis(),
                scope: Some(scope.clone()),
            })
            .await?;
        let mut url = url::Url::parse(&fill(&settings.authorize_url, &base_url, &subdomain))
            .map_err(|e| {
                OAuthError::Internal(format!("the authorize URL template is not a URL: {e}"))
            })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", &app.redirect_url)
                .append_pair("scope", &scope)
                .append_pair("state", &state);
            if settings.pkce {
                query
                    .append_pair("code_challenge", &pkce_challenge(&verifier))
                    .append_pair("code_challenge_method", "S256");
            }
        }
        Ok(Authorization {
            authorize_url: url.into(),
            binding,
        })
    }

    /// Finishes a connect flow from its callback. The state is consumed first, whatever
    /// happens next, so a callback can never be replayed.
    pub async fn finish_oauth(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        binding: Option<&str>,
    ) -> Result<IntegratedAccount, OAuthError> {
        let settings = self.oauth_settings()?;
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or(OAuthError::BadState)?;
        let state_hash = TokenHash::of(state).0;
        let row = self
            .store
            .take_oauth_state(&state_hash)
            .await?
            .ok_or(OAuthError::BadState)?;
        let bound = binding.is_some_and(|b| TokenHash::of(b).0 == row.binding_hash);
        if !bound
            || row.expires_at <= Timestamp::now().millis()
            || row.integration != self.integration.name()
        {
            return Err(OAuthError::BadState);
        }
        if let Some(error) = error {
            return Err(OAuthError::Denied(error.chars().take(100).collect()));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::Denied("no code was returned".into()))?;
        let app = self.oauth_app().await?.ok_or(OAuthError::NotConfigured)?;
        let verifier = self
            .vault
            .open(&state_hash, &row.code_verifier)
            .map_err(|e| OAuthError::Internal(e.to_string()))?;
        let context = AccountContext {
            subdomain: row.subdomain.clone(),
            email: None,
            api_base_url: row.api_base_url.clone(),
            scope: None,
        };
        let base_url = self.integration.base_url(&context);
        let token_url = fill(&settings.token_url, &base_url, &row.subdomain);
        let title = self.integration.title().to_owned();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", app.redirect_url.as_str()),
        ];
        if settings.pkce {
            form.push(("code_verifier", verifier.expose_secret()));
        }
        let response = self
            .upstream
            .post_form(
                &token_url,
                Some((&app.client_id, &app.client_secret)),
                &form,
            )
            .await
            .map_err(|e| OAuthError::Unreachable(title.clone(), e.to_string()))?;
        if !response.status.is_success() {
            let reason = oauth_error_text(&response.body)
                .unwrap_or_else(|| format!("HTTP {}", response.status.as_u16()));
            return Err(OAuthError::ExchangeRefused(title, reason));
        }
        let tokens: TokenResponse = serde_json::from_slice(&response.body).map_err(|_| {
            OAuthError::ExchangeRefused(title.clone(), "the token response is not valid".into())
        })?;
        let now = Timestamp::now();
        let expires_at = access_expiry(&tokens, now);
        let context = AccountContext {
            // What was granted when the answer says, else what was asked for.
            scope: tokens
                .scope
                .clone()
                .or(row.scope)
                .or_else(|| Some(settings.scopes.join(" "))),
            ..context
        };
        let credentials = Credentials::Oauth2 {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        };
        // Which account: the one being re-authorized, or an OAuth account of the same
        // helpdesk (an app reinstalled), or a new one.
        let existing = match &row.account_id {
            Some(id) => self.store.get_account(id).await?,
            None => self
                .store
                .list_accounts(None, 1000)
                .await?
                .into_iter()
                .find(|a| {
                    a.account.auth_type == AuthType::Oauth2
                        && a.account.context.subdomain == context.subdomain
                        && a.account.context.api_base_url == context.api_base_url
                }),
        };
        let account = match existing {
            Some(stored) => {
                let id = stored.account.id.clone();
                let sealed = self.seal_credentials(&id, &credentials);
                let won = self
                    .store
                    .replace_credentials(&CredentialsUpdate {
                        account_id: &id,
                        expected_version: stored.account.credentials_version,
                        sealed_credentials: &sealed,
                        auth_type: AuthType::Oauth2,
                        context: &context,
                        status: AccountStatus::Active,
                        access_token_expires_at: Some(expires_at),
                        now,
                    })
                    .await?;
                if !won {
                    return Err(OAuthError::Internal(
                        "the account changed during re-authorization".into(),
                    ));
                }
                self.after_credentials_change(&id);
                tracing::info!(integrated_account.id = %id, "account re-authorized through OAuth");
                self.store
                    .get_account(&id)
                    .await?
                    .ok_or(OAuthError::BadState)?
                    .account
            }
            None => {
                let account = IntegratedAccount {
                    id: uuid::Uuid::now_v7().to_string(),
                    integration: self.integration.name().to_owned(),
                    name: context.subdomain.clone(),
                    status: AccountStatus::Active,
                    auth_type: AuthType::Oauth2,
                    context,
                    credentials_version: 0,
                    access_token_expires_at: Some(expires_at),
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
                tracing::info!(integrated_account.id = %account.id, "account connected through OAuth");
                account
            }
        };
        Ok(account)
    }

    /// Forgets what was cached about an account whose credentials or status changed.
    pub fn after_credentials_change(&self, account_id: &str) {
        self.tenants.invalidate_all();
        self.integration.forget_account(account_id);
    }

    /// Refreshes an account's access token unless someone already did since `seen_version`;
    /// returns the account as it now stands. Single-flight per account, here and across
    /// replicas.
    pub async fn refresh_oauth(
        &self,
        account_id: &str,
        seen_version: i64,
    ) -> Result<StoredAccount, CallFailure> {
        let lock = self.refresh_locks.for_account(account_id);
        let _one_at_a_time_here = lock.lock().await;
        let lease_secs = self.refresh_lease_secs();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(lease_secs.unsigned_abs());
        loop {
            let stored = self.current_account(account_id).await?;
            if stored.account.credentials_version != seen_version {
                return Ok(stored);
            }
            if stored.account.status == AccountStatus::NeedsReauth {
                return Err(CallFailure::NeedsReauth(
                    "its authorization was revoked or expired for good".into(),
                ));
            }
            let now = Timestamp::now();
            let until = now.plus_secs(lease_secs);
            let leased = self
                .store
                .acquire_refresh_lease(account_id, now, until)
                .await
                .map_err(|e| CallFailure::Internal(e.to_string()))?;
            if leased {
                let result = self.refresh_with_lease(account_id, seen_version).await;
                if let Err(e) = self.store.release_refresh_lease(account_id, until).await {
                    tracing::warn!(error = %e, integrated_account.id = %account_id, "could not release the refresh lease; it expires by itself");
                }
                return result;
            }
            // Another replica is refreshing: wait for its result.
            if tokio::time::Instant::now() >= deadline {
                return Err(CallFailure::Internal(
                    "timed out waiting for another replica's token refresh".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The refresh lease's term: longer than a refresh can take (one token request, bounded
    /// by the upstream timeout, plus a few store round trips).
    fn refresh_lease_secs(&self) -> i64 {
        let upstream = i64::try_from(self.config.upstream_timeout.as_secs()).unwrap_or(i64::MAX);
        LEASE_SECS.max(upstream.saturating_add(15))
    }

    async fn current_account(&self, account_id: &str) -> Result<StoredAccount, CallFailure> {
        self.store
            .get_account(account_id)
            .await
            .map_err(|e| CallFailure::Internal(e.to_string()))?
            .ok_or_else(|| {
                CallFailure::NeedsReauth("the integrated account no longer exists".into())
            })
    }

    async fn refresh_with_lease(
        &self,
        account_id: &str,
        seen_version: i64,
    ) -> Result<StoredAccount, CallFailure> {
        // Someone may have finished between our read and taking the lease.
        let stored = self.current_account(account_id).await?;
        if stored.account.credentials_version != seen_version {
            return Ok(stored);
        }
        let settings = self
            .integration
            .connection()
            .oauth2
            .as_ref()
            .ok_or_else(|| CallFailure::Internal("the integration has no OAuth settings".into()))?;
        let refresh_token = match self
            .open_credentials(&stored)
            .map_err(|e| CallFailure::Internal(e.to_string()))?
        {
            Credentials::Oauth2 {
                refresh_token: Some(token),
                ..
            } => token,
            _ => return self.give_up(&stored, "it has no refresh token").await,
        };
        let app = self
            .oauth_app()
            .await
            .map_err(|e| CallFailure::Internal(e.to_string()))?
            .ok_or_else(|| CallFailure::Internal("OAuth is no longer configured".into()))?;
        let base_url = self.integration.base_url(&stored.account.context);
        let token_url = fill(
            &settings.token_url,
            &base_url,
            &stored.account.context.subdomain,
        );
        let response = self
            .upstream
            .post_form(
                &token_url,
                Some((&app.client_id, &app.client_secret)),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                ],
            )
            .await?;
        match response.status.as_u16() {
            200..=299 => {}
            // The grant is gone (revoked, uninstalled) or the app's secret changed: only a
            // person can fix that.
            400 | 401 | 403 => {
                let why = oauth_error_text(&response.body)
                    .unwrap_or_else(|| format!("HTTP {}", response.status.as_u16()));
                return self
                    .give_up(&stored, &format!("the token refresh was refused ({why})"))
                    .await;
            }
            status => {
                return Err(CallFailure::Internal(format!(
                    "the token endpoint answered HTTP {status}"
                )));
            }
        }
        let tokens: TokenResponse = serde_json::from_slice(&response.body).map_err(|_| {
            CallFailure::Internal("the token endpoint's answer is not valid".into())
        })?;
        let now = Timestamp::now();
        let expires_at = access_expiry(&tokens, now);
        let credentials = Credentials::Oauth2 {
            access_token: tokens.access_token,
            // Providers that rotate send a new one; the others expect the old one kept.
            refresh_token: Some(tokens.refresh_token.unwrap_or(refresh_token)),
        };
        let sealed = self.seal_credentials(account_id, &credentials);
        let won = self
            .store
            .replace_credentials(&CredentialsUpdate {
                account_id,
                expected_version: seen_version,
                sealed_credentials: &sealed,
                auth_type: AuthType::Oauth2,
                context: &stored.account.context,
                status: AccountStatus::Active,
                access_token_expires_at: Some(expires_at),
                now,
            })
            .await
            .map_err(|e| CallFailure::Internal(e.to_string()))?;
        if !won {
            return Err(CallFailure::Internal(
                "the account's credentials changed during the refresh".into(),
            ));
        }
        self.after_credentials_change(account_id);
        tracing::info!(integrated_account.id = %account_id, "OAuth access token refreshed");
        self.current_account(account_id).await
    }

    async fn give_up(
        &self,
        stored: &StoredAccount,
        why: &str,
    ) -> Result<StoredAccount, CallFailure> {
        let id = &stored.account.id;
        if let Err(e) = self
            .store
            .set_account_status(id, AccountStatus::NeedsReauth, Timestamp::now())
            .await
        {
            tracing::error!(error = %e, integrated_account.id = %id, "could not mark the account needs_reauth");
        }
        self.after_credentials_change(id);
        tracing::warn!(integrated_account.id = %id, reason = why, "OAuth account needs to be reconnected");
        Err(CallFailure::NeedsReauth(why.to_owned()))
    }

    /// The bearer value for an OAuth account, refreshed first when it is about to expire.
    pub(crate) async fn oauth_bearer(
        &self,
        account: &IntegratedAccount,
        sealed: &[u8],
    ) -> Result<SecretString, CallFailure> {
        let expiring = account
            .access_token_expires_at
            .is_some_and(|at| at <= Timestamp::now().plus_secs(REFRESH_AHEAD_SECS));
        let credentials = if expiring {
            let fresh = self
                .refresh_oauth(&account.id, account.credentials_version)
                .await?;
            self.open_credentials(&fresh)
                .map_err(|e| CallFailure::Internal(e.to_string()))?
        } else {
            self.open_sealed(account, sealed)?
        };
        match credentials {
            Credentials::Oauth2 { access_token, .. } => {
                Ok(upstream::bearer_authorization(&access_token))
            }
            Credentials::ApiKey { .. } => Err(CallFailure::Internal(
                "an OAuth account holds an API key".into(),
            )),
        }
    }

    /// Refreshes, ahead of time, every OAuth token that expires soon (background work; the
    /// lease makes it run once across replicas per account).
    pub async fn refresh_expiring_tokens(&self) -> Result<(), StoreError> {
        let soon = Timestamp::now().plus_secs(REFRESH_AHEAD_SECS * 5);
        for id in self.store.oauth_accounts_expiring(soon).await? {
            let Some(stored) = self.store.get_account(&id).await? else {
                continue;
            };
            if let Err(e) = self
                .refresh_oauth(&id, stored.account.credentials_version)
                .await
            {
                tracing::warn!(integrated_account.id = %id, error = %e, "background token refresh failed");
            }
        }
        Ok(())
    }

    /// Deletes connect flows that were never finished.
    pub async fn sweep_oauth_states(&self) -> Result<u64, StoreError> {
        self.store
            .delete_expired_oauth_states(Timestamp::now())
            .await
    }
}

/// The `error`/`error_description` of an OAuth error body.
fn oauth_error_text(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    let text = match error {
        serde_json::Value::String(s) => s.clone(),
        other => other
            .get("msg")
            .and_then(|m| m.as_str())
            .unwrap_or("error")
            .to_owned(),
    };
    Some(
        match value.get("error_description").and_then(|d| d.as_str()) {
            Some(d) => format!("{text}: {d}"),
            None => text,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_flow_asks_for_every_read_scope_and_no_write_scope() {
        let integration = crate::integration::Integration::gorgias(Duration::from_secs(60))
            .expect("the built-in definition loads");
        let scopes = &integration.connection().oauth2.as_ref().unwrap().scopes;
        let all = requested_scopes(scopes, false);
        assert_eq!(all, scopes.join(" "));
        let read_scope = requested_scopes(scopes, true);
        let read: Vec<&str> = read_scope.split(' ').collect();
        for kept in [
            "openid",
            "email",
            "profile",
            "offline",
            "tickets:read",
            "statistics:read",
        ] {
            assert!(read.contains(&kept), "{kept} is asked for");
        }
        assert!(read.iter().all(|s| !s.ends_with(":write")), "{read:?}");
        // Every resource's read scope the full flow asks for is still asked for.
        let reads_in_all = scopes.iter().filter(|s| s.ends_with(":read")).count();
        assert_eq!(
            read.iter().filter(|s| s.ends_with(":read")).count(),
            reads_in_all
        );
        let scope = AccountContext {
            subdomain: "acme".into(),
            email: None,
            api_base_url: None,
            scope: Some(read.join(" ")),
        };
        assert!(scope.is_read_only());
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn expiry_comes_from_expires_in_then_the_jwt() {
        let now = Timestamp(1_000_000);
        let with = |expires_in, token: &str| TokenResponse {
            access_token: token.into(),
            refresh_token: None,
            expires_in,
            scope: None,
        };
        assert_eq!(
            access_expiry(&with(Some(60), "x"), now),
            Timestamp(1_060_000)
        );
        let claims = URL_SAFE_NO_PAD.encode(br#"{"exp": 2000}"#);
        assert_eq!(
            access_expiry(&with(Some(0), &format!("h.{claims}.s")), now),
            Timestamp(2_000_000)
        );
        assert_eq!(
            access_expiry(&with(None, "opaque"), now),
            now.plus_secs(DEFAULT_ACCESS_TOKEN_SECS)
        );
    }

    #[test]
    fn oauth_errors_are_read_from_both_shapes() {
        assert_eq!(
            oauth_error_text(br#"{"error":"invalid_grant"}"#).unwrap(),
            "invalid_grant"
        );
        assert_eq!(
            oauth_error_text(br#"{"error":"invalid_grant","error_description":"revoked"}"#)
                .unwrap(),
            "invalid_grant: revoked"
        );
        assert_eq!(
            oauth_error_text(br#"{"error":{"msg":"Unauthorized."}}"#).unwrap(),
            "Unauthorized."
        );
    }
}
