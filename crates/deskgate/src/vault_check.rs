//! At start-up, before anything is served: every sealed secret in the database must open with
//! the vault's keys. A lost or changed key otherwise goes unnoticed until every tool call fails
//! with a message that blames Gorgias.
//!
//! Credentials no key opens make deskgate refuse to start, saying how many accounts and what to
//! do, unless `--allow-unreadable-credentials` says to start anyway: those accounts are then
//! marked `needs_credentials` (shown in the console and the API, calls fail with a message that
//! says so) until their credentials are entered again. Accounts already marked are not counted
//! again: the operator has already accepted them.

use crate::accounts::AccountStatus;
use crate::store::Store;
use crate::timestamp::Timestamp;
use crate::vault::Vault;

/// Accounts read per page while checking.
const PAGE: u32 = 500;

/// What the check found that the vault cannot open.
#[derive(Debug, Default)]
pub struct Unreadable {
    pub accounts: Vec<String>,
    /// The key ids those values name.
    pub key_ids: Vec<u8>,
    pub oauth_app: bool,
}

pub async fn find_unreadable(
    store: &Store,
    vault: &Vault,
    integration: &str,
) -> anyhow::Result<Unreadable> {
    let mut found = Unreadable::default();
    let mut before: Option<String> = None;
    loop {
        let page = store.list_accounts(before.as_deref(), PAGE).await?;
        for stored in &page {
            let account = &stored.account;
            if account.status != AccountStatus::NeedsCredentials
                && vault.open(&account.id, &stored.sealed_credentials).is_err()
            {
                found.accounts.push(account.id.clone());
                found
                    .key_ids
                    .extend(Vault::sealed_key_id(&stored.sealed_credentials));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => before = Some(last.account.id.clone()),
            _ => break,
        }
    }
    if let Some(app) = store.get_oauth_app(integration).await?
        && vault.open(integration, &app.client_secret).is_err()
    {
        found.oauth_app = true;
        found
            .key_ids
            .extend(Vault::sealed_key_id(&app.client_secret));
    }
    found.key_ids.sort_unstable();
    found.key_ids.dedup();
    Ok(found)
}

/// Refuses to start over unreadable secrets, or (allowed) marks their accounts.
pub async fn check(
    store: &Store,
    vault: &Vault,
    integration: &str,
    allow_unreadable: bool,
) -> anyhow::Result<()> {
    let found = find_unreadable(store, vault, integration).await?;
    if found.accounts.is_empty() && !found.oauth_app {
        return Ok(());
    }
    let count = found.accounts.len();
    if !allow_unreadable {
        let shown: Vec<&str> = found.accounts.iter().take(10).map(String::as_str).collect();
        let more = if count > shown.len() { ", …" } else { "" };
        let oauth = if found.oauth_app {
            " The OAuth app's client secret does not open either."
        } else {
            ""
        };
        anyhow::bail!(
            "refusing to start: {count} integrated account(s) hold credentials that no configured vault key opens \
             ({ids}{more}); they were sealed with key id(s) {sealed:?}, and this server holds key id(s) {held:?}.{oauth} \
             The vault key that sealed them is missing or changed. Restore it: DESKGATE_VAULT_KEY, or the key file \
             (to rotate, list the new key first and keep the old one: `2:NEW,1:OLD`). \
             Or start with --allow-unreadable-credentials (DESKGATE_ALLOW_UNREADABLE_CREDENTIALS=true): those accounts \
             are marked needs_credentials and their tool calls fail until their credentials are entered again \
             (in the console, on the account's Overview, or with PATCH /integrated-account/<id>).",
            ids = shown.join(", "),
            sealed = found.key_ids,
            held = vault.key_ids(),
        );
    }
    let now = Timestamp::now();
    for id in &found.accounts {
        store
            .set_account_status(id, AccountStatus::NeedsCredentials, now)
            .await?;
    }
    if count > 0 {
        tracing::warn!(
            count,
            ids = ?found.accounts,
            "started with --allow-unreadable-credentials: these accounts' credentials cannot be opened with \
             this server's vault keys and are marked needs_credentials until they are entered again"
        );
    }
    if found.oauth_app {
        tracing::warn!(
            "the OAuth app's client secret cannot be opened with this server's vault keys: set the OAuth app \
             again (PUT /oauth-app/{integration}) before connecting or refreshing OAuth accounts"
        );
    }
    Ok(())
}
