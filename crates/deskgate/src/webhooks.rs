//! A server's webhook (issue 15, item 3): an optional URL told, with a signed JSON POST, that a
//! call waits for approval, so a team channel hears of it without watching the console.
//!
//! - The signing secret is generated here, sealed with the vault like credentials, and shown
//!   once (when the webhook is set, and when its secret is rotated).
//! - Each POST carries `X-Deskgate-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
//!   HMAC-SHA256 over `<t>.<body>` with the secret; [`verify`] is the receiver's side of it
//!   (docs/approvals.md has the recipe).
//! - Delivery never holds up the tool's answer: it runs in its own task with a bounded timeout,
//!   is tried once, and its result (never the secret, never the URL's path) goes to the log and
//!   to the webhook's `last_delivery_result`.

use std::sync::LazyLock;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::timestamp::Timestamp;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Deskgate-Signature";
/// The event a delivery reports.
pub const EVENT_HEADER: &str = "X-Deskgate-Event";
pub const PENDING_EVENT: &str = "action.pending";
/// How long one delivery may take, connecting included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Secrets start with this, so a leaked one is recognisable in a scan.
const SECRET_PREFIX: &str = "dgwhsec_";
const MAX_URL_LEN: usize = 2048;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A webhook as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub mcp_server_id: String,
    pub url: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: i64,
    pub secret_rotated_at: i64,
    pub last_delivery_at: Option<i64>,
    pub last_delivery_result: Option<String>,
}

/// A server's webhook as the API and the console show it: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub url: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub secret_rotated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_delivery_at: Option<Timestamp>,
    /// `delivered (HTTP 200)`, or why the last delivery failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery_result: Option<String>,
}

impl From<WebhookRow> for WebhookView {
    fn from(r: WebhookRow) -> Self {
        WebhookView {
            url: r.url,
            created_at: Timestamp(r.created_at),
            secret_rotated_at: Timestamp(r.secret_rotated_at),
            last_delivery_at: r.last_delivery_at.map(Timestamp),
            last_delivery_result: r.last_delivery_result,
        }
    }
}

/// A webhook URL: absolute http or https with a host, no credentials in it.
pub fn parse_url(raw: &str) -> Result<url::Url, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("webhook_url {why}"));
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(bad("must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not hold a user name or password: receivers check the signature instead",
        ));
    }
    Ok(url)
}

/// The `X-Deskgate-Signature` value for a body sent at `timestamp` (Unix seconds).
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        crate::tokens::hex(&mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether a signature header is valid for `body` and no older than `tolerance_secs` at `now`
/// (Unix seconds): what a receiver does, in constant time.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    let expected = crate::tokens::hex(&mac(secret, timestamp, body));
    signatures.iter().any(|s| {
        use subtle::ConstantTimeEq;
        s.as_bytes().ct_eq(expected.as_bytes()).into()
    })
}

fn mint_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    SecretString::from(format!("{SECRET_PREFIX}{}", crate::tokens::hex(&bytes)))
}

/// What a pending action's notice says.
#[derive(Debug, Clone)]
pub struct PendingNotice {
    pub action_id: String,
    pub tool: String,
    pub ticket_id: Option<i64>,
    pub summary: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The body of an `action.pending` delivery. Flat, so a chat tool's incoming webhook template
/// can use its fields directly. It never holds the action's arguments (the text of a reply):
/// the console shows them to people who are signed in.
pub fn pending_body(
    notice: &PendingNotice,
    server: (&str, &str),
    account: (&str, &str),
    console_url: &str,
) -> Value {
    json!({
        "event": PENDING_EVENT,
        "id": notice.action_id,
        "mcp_server_id": server.0,
        "mcp_server_name": server.1,
        "integrated_account_id": account.0,
        "integrated_account_name": account.1,
        "tool": notice.tool,
        "ticket_id": notice.ticket_id,
        "summary": notice.summary,
        "created_at": notice.created_at.to_rfc3339(),
        "expires_at": notice.expires_at.to_rfc3339(),
        "console_url": console_url,
    })
}

/// The client deliveries go through: a short timeout, no redirects (a redirect could carry the
/// signed body elsewhere), no retries. Its own client rather than the upstream one, whose
/// timeouts are Gorgias's.
static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .user_agent(concat!("deskgate-webhook/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(DELIVERY_TIMEOUT)
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .build()
        .expect("the webhook client's fixed settings are valid")
});

/// Sends one delivery; returns what happened, in words that hold neither the secret nor the
/// URL (a chat tool's webhook URL is itself a credential).
async fn deliver(url: &str, secret: &SecretString, body: &[u8]) -> Result<u16, String> {
    let timestamp = Timestamp::now().millis() / 1000;
    let response = CLIENT
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, PENDING_EVENT)
        .header(
            SIGNATURE_HEADER,
            signature_header(secret.expose_secret(), timestamp, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }
        })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err(format!("the receiver answered HTTP {status}"))
    }
}

impl App {
    /// A server's webhook, if it has one.
    pub async fn webhook(&self, server_id: &str) -> Result<Option<WebhookView>, ApiError> {
        Ok(self.store.get_webhook(server_id).await?.map(Into::into))
    }

    /// Sets a server's webhook URL. A new webhook gets a new secret, returned here once; a
    /// changed URL keeps its secret (`None`).
    pub async fn set_webhook(
        &self,
        account_id: &str,
        server_id: &str,
        raw_url: &str,
    ) -> Result<Option<SecretString>, ApiError> {
        let url = parse_url(raw_url)?;
        self.mcp_server(account_id, server_id).await?;
        if self.store.set_webhook_url(server_id, url.as_str()).await? {
            return Ok(None);
        }
        let secret = mint_secret();
        let now = Timestamp::now().millis();
        self.store
            .insert_webhook(&WebhookRow {
                mcp_server_id: server_id.to_owned(),
                url: url.into(),
                sealed_secret: self.vault.seal_secret(server_id, &secret),
                created_at: now,
                secret_rotated_at: now,
                last_delivery_at: None,
                last_delivery_result: None,
            })
            .await?;
        tracing::info!(mcp_server.id = %server_id, "webhook set");
        Ok(Some(secret))
    }

    /// Removes a server's webhook; `false` when it had none.
    pub async fn remove_webhook(
        &self,
        account_id: &str,
        server_id: &str,
    ) -> Result<bool, ApiError> {
        self.mcp_server(account_id, server_id).await?;
        let removed = self.store.delete_webhook(server_id).await?;
        if removed {
            tracing::info!(mcp_server.id = %server_id, "webhook removed");
        }
        Ok(removed)
    }

    /// Replaces a webhook's secret; the new one is returned here once and the old one stops
    /// signing at once.
    pub async fn rotate_webhook_secret(
        &self,
        account_id: &str,
        server_id: &str,
    ) -> Result<SecretString, ApiError> {
        self.mcp_server(account_id, server_id).await?;
        let secret = mint_secret();
        let sealed = self.vault.seal_secret(server_id, &secret);
        if !self
            .store
            .set_webhook_secret(server_id, &sealed, Timestamp::now())
            .await?
        {
            return Err(ApiError::NotFound("webhook"));
        }
        tracing::info!(mcp_server.id = %server_id, "webhook secret rotated");
        Ok(secret)
    }

    /// Tells a server's webhook (if any) that an action waits. Returns at once: the delivery
    /// runs in its own task.
    pub(crate) async fn notify_pending(
        &self,
        tenant: &crate::tenants::Tenant,
        notice: PendingNotice,
    ) {
        let server_id = tenant.server.id.clone();
        let row = match self.store.get_webhook(&server_id).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(mcp_server.id = %server_id, error = %e, "could not read the webhook; no notice sent");
                return;
            }
        };
        let store = self.store.clone();
        let secret = match self.vault.open(&server_id, &row.sealed_secret) {
            Ok(secret) => secret,
            Err(_) => {
                tracing::warn!(mcp_server.id = %server_id, "the webhook's secret cannot be opened with this server's vault keys; rotate it. No notice sent");
                let _ = store
                    .record_webhook_delivery(
                        &server_id,
                        Timestamp::now(),
                        "not sent: the secret cannot be opened with this server's vault keys; rotate it",
                    )
                    .await;
                return;
            }
        };
        let console_url = format!(
            "{}/ui/accounts/{}/approvals#action-{}",
            self.public_url, tenant.account.id, notice.action_id
        );
        let body = pending_body(
            &notice,
            (&tenant.server.id, &tenant.server.name),
            (&tenant.account.id, &tenant.account.name),
            &console_url,
        );
        let body = serde_json::to_vec(&body).expect("a notice serializes");
        let action_id = notice.action_id;
        let host = url::Url::parse(&row.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let result = deliver(&row.url, &secret, &body).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let recorded = match &result {
                Ok(status) => {
                    tracing::info!(mcp_server.id = %server_id, action.id = %action_id, webhook.host = %host, status, duration_ms, "webhook delivered");
                    format!("delivered (HTTP {status})")
                }
                Err(why) => {
                    tracing::warn!(mcp_server.id = %server_id, action.id = %action_id, webhook.host = %host, duration_ms, error = %why, "webhook delivery failed");
                    format!("failed: {why}")
                }
            };
            if let Err(e) = store
                .record_webhook_delivery(&server_id, Timestamp::now(), &recorded)
                .await
            {
                tracing::warn!(mcp_server.id = %server_id, error = %e, "could not record the webhook delivery");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_body_or_secret_does_not() {
        let header = signature_header("dgwhsec_k", 1_700_000_000, b"{\"id\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify(
            "dgwhsec_k",
            &header,
            b"{\"id\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "dgwhsec_k",
            &header,
            b"{\"id\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify("other", &header, b"{\"id\":1}", 1_700_000_010, 300));
        // Too old: a replayed delivery.
        assert!(!verify(
            "dgwhsec_k",
            &header,
            b"{\"id\":1}",
            1_700_000_400,
            300
        ));
        assert!(!verify(
            "dgwhsec_k",
            "v1=00",
            b"{\"id\":1}",
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(b"s", b"5.x", hashlib.sha256).hexdigest().
        assert_eq!(
            signature_header("s", 5, b"x"),
            "t=5,v1=0476333279aef7dbe9fe8e79d45cda54180d568426d8b3fc4202ed152114738f"
        );
    }

    #[test]
    fn webhook_urls_are_http_or_https_with_a_host() {
        assert!(parse_url("https://hooks.example.com/T1/B2").is_ok());
        assert!(parse_url(" http://127.0.0.1:8080/hook ").is_ok());
        for bad in [
            "ftp://example.com/x",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "/relative",
            "https://user:pw@example.com/",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_url(&format!("https://e.com/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn minted_secrets_are_long_and_distinct() {
        let a = mint_secret();
        let b = mint_secret();
        assert!(a.expose_secret().starts_with(SECRET_PREFIX));
        assert_eq!(a.expose_secret().len(), SECRET_PREFIX.len() + 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
