//! At start-up, before anything is served: every sealed secret in the database must open with
//! the vault's keys. A lost or changed key otherwise goes unnoticed until every tool call fails
//! with a message that blames Gorgias.
//!
//! Credentials no key opens make deskgate refuse to start, saying how many accounts and what to
//! do, unless `--allow-unreadable-credentials` says to start anyway: those accounts are then
//! marked `needs_credentials` (shown in the console and the API, calls fail with a message that
//! says so) until their credentials are entered again. Accounts already marked are not counted
//! again: the operator has already accepted them.
//!
//! Actions held for approval (their sealed arguments) and webhook secrets are checked too. With
//! the flag, held actions that cannot be opened and still wait are rejected (nobody could see
//! what they would send), and unreadable webhook secrets are reported: rotate them.

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
    /// Held actions whose arguments no key opens, with their status.
    pub actions: Vec<(String, String)>,
    /// Servers whose webhook secret no key opens.
    pub webhooks: Vec<String>,
}

impl Unreadable {
    fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && !self.oauth_app
            && self.actions.is_empty()
            && self.webhooks.is_empty()
    }
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
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_sealed_actions(after.as_deref(), i64::from(PAGE))
            .await?;
        for (id, status, sealed) in &page {
            if vault.open(id, sealed).is_err() {
                found.actions.push((id.clone(), status.clone()));
                found.key_ids.extend(Vault::sealed_key_id(sealed));
            }
        }
        match page.last() {
            Some((last, _, _)) if page.len() == PAGE as usize => after = Some(last.clone()),
            _ => break,
        }
    }
    for webhook in store.list_webhooks().await? {
        if vault
            .open(&webhook.mcp_server_id, &webhook.sealed_secret)
            .is_err()
        {
            found
                .key_ids
                .extend(Vault::sealed_key_id(&webhook.sealed_secret));
            found.webhooks.push(webhook.mcp_server_id);
        }
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
    if found.is_empty() {
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
        let mut others = String::new();
        if !found.actions.is_empty() {
            others.push_str(&format!(
                " {} action(s) held for approval have arguments that no key opens ({}).",
                found.actions.len(),
                found
                    .actions
                    .iter()
                    .take(10)
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !found.webhooks.is_empty() {
            others.push_str(&format!(
                " The webhook secret(s) of {} MCP server(s) do not open ({}).",
                found.webhooks.len(),
                found
                    .webhooks
                    .iter()
                    .take(10)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        anyhow::bail!(
            "refusing to start: {count} integrated account(s) hold credentials that no configured vault key opens \
             ({ids}{more}); they were sealed with key id(s) {sealed:?}, and this server holds key id(s) {held:?}.{oauth}{others} \
             The vault key that sealed them is missing or changed. Restore it: DESKGATE_VAULT_KEY, or the key file \
             (to rotate, list the new key first and keep the old one: `2:NEW,1:OLD`). \
             Or start with --allow-unreadable-credentials (DESKGATE_ALLOW_UNREADABLE_CREDENTIALS=true): those accounts \
             are marked needs_credentials and their tool calls fail until their credentials are entered again \
             (in the console, on the account's Overview, or with PATCH /integrated-account/<id>); unreadable held \
             actions still waiting are rejected, and unreadable webhook secrets must be rotated.",
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
    for (id, status) in &found.actions {
        if status == "pending" {
            store
                .decide_pending_action(
                    id,
                    "rejected",
                    "deskgate (vault key check)",
                    Some("its arguments cannot be opened with this server's vault keys; nothing was sent"),
                    now,
                )
                .await?;
        }
    }
    if !found.actions.is_empty() {
        tracing::warn!(
            count = found.actions.len(),
            ids = ?found.actions.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "started with --allow-unreadable-credentials: these held actions' arguments cannot be opened with \
             this server's vault keys; those still waiting were rejected"
        );
    }
    if !found.webhooks.is_empty() {
        tracing::warn!(
            ids = ?found.webhooks,
            "these MCP servers' webhook secrets cannot be opened with this server's vault keys: no notice is \
             sent until the secret is rotated (POST /integrated-account/<id>/mcp/<server id>/webhook/rotate-secret)"
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
