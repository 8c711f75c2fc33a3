//! How to reach an integration's API: base URL, credential check, error bodies, rate-limit
//! headers, pagination and OAuth2. All of it is data from `integration.yaml`; nothing here
//! knows Gorgias.

use serde::Serialize;

/// Connection facts of one integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// With a `{subdomain}` placeholder, e.g. `https://{subdomain}.gorgias.com`.
    pub base_url: String,
    /// The rule account subdomains follow. Only `dns-label` exists today: lowercase ASCII
    /// letters, digits and hyphens, 1 to 63 characters, no hyphen at either end.
    pub subdomain_pattern: String,
    /// The cheap authenticated request that proves credentials work.
    pub verify: VerifyRequest,
    /// JSON pointer to the human message inside an upstream error body.
    pub error_message_pointer: String,
    pub rate_limit: RateLimitHeaders,
    pub pagination: Pagination,
    pub oauth2: Option<OAuth2Settings>,
    /// Where an account's custom-field definitions are listed (one source per resource).
    pub custom_fields: Vec<CustomFieldSource>,
    /// Lists whose entries arguments may name instead of giving their ids.
    pub directories: Vec<crate::names::DirectorySource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyRequest {
    pub method: String,
    pub path: String,
}

/// How the upstream reports its rate limit. `usage_header` holds `used/limit`; the bucket drains
/// `limit` requests per `window_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimitHeaders {
    pub usage_header: String,
    pub retry_after_header: String,
    pub window_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pagination {
    pub cursor_param: String,
    pub limit_param: String,
    pub next_cursor_pointer: String,
    pub prev_cursor_pointer: String,
    pub default_limit: u64,
    pub max_limit: u64,
}

/// OAuth2 endpoints (with `{base_url}` placeholders) and the scopes the tools need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuth2Settings {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub scopes: Vec<String>,
    pub pkce: bool,
}

impl OAuth2Settings {
    /// The endpoint URLs with `{base_url}` filled in.
    pub fn authorize_url_for(&self, base_url: &str) -> String {
        self.authorize_url.replace("{base_url}", base_url)
    }
    pub fn token_url_for(&self, base_url: &str) -> String {
        self.token_url.replace("{base_url}", base_url)
    }
    pub fn revoke_url_for(&self, base_url: &str) -> Option<String> {
        self.revoke_url
            .as_ref()
            .map(|u| u.replace("{base_url}", base_url))
    }
}

/// A list endpoint that returns one resource's custom-field definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomFieldSource {
    /// The name bindings refer to, e.g. `tickets`.
    pub resource: String,
    pub path: String,
    pub query: Vec<(String, String)>,
}

/// Rate-limit state normalized from upstream headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the bucket is empty again (or, on a 429, until a retry may succeed).
    pub reset: u64,
}

pub(crate) const SUBDOMAIN_PATTERNS: &[&str] = &["dns-label"];

impl Connection {
    /// Trims and lowercases `s`, then checks it against the subdomain rule.
    pub fn validate_subdomain(&self, s: &str) -> Result<String, String> {
        let normalized = s.trim().to_ascii_lowercase();
        match self.subdomain_pattern.as_str() {
            "dns-label" => {
                if normalized.is_empty() {
                    return Err("the subdomain is empty".to_owned());
                }
                if normalized.len() > 63 {
                    return Err(format!(
                        "the subdomain is {} characters long; at most 63 are allowed",
                        normalized.len()
                    ));
                }
                if let Some(bad) = normalized
                    .chars()
                    .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
                {
                    return Err(format!(
                        "the subdomain may only hold letters, digits and hyphens, not {bad:?} \
                         (give just the account name, e.g. `acme` for acme.gorgias.com)"
                    ));
                }
                if normalized.starts_with('-') || normalized.ends_with('-') {
                    return Err("the subdomain may not start or end with a hyphen".to_owned());
                }
                Ok(normalized)
            }
            // The loader refuses any other pattern.
            other => Err(format!("unknown subdomain rule {other:?}")),
        }
    }

    /// The API base URL for one account (no trailing slash).
    pub fn base_url_for(&self, subdomain: &str) -> String {
        self.base_url.replace("{subdomain}", subdomain)
    }

    /// The upstream's own error text, if the body is JSON and has one at the pointer.
    pub fn error_message(&self, body: &[u8]) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        match value.pointer(&self.error_message_pointer)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        }
    }

    /// Normalizes the rate-limit headers. `header` looks a header up case-insensitively.
    ///
    /// The usage header reads `used/limit`. The bucket drains `limit / window` requests per
    /// second, so without `Retry-After` it is empty again after `ceil(used * window / limit)`
    /// seconds; with `Retry-After` (a 429) that value is the reset.
    pub fn rate_limit(&self, header: &dyn Fn(&str) -> Option<String>) -> Option<RateLimit> {
        let usage = header(&self.rate_limit.usage_header)?;
        let (used, limit) = usage.trim().split_once('/')?;
        let used: u64 = used.trim().parse().ok()?;
        let limit: u64 = limit.trim().parse().ok()?;
        if limit == 0 {
            return None;
        }
        let retry_after = header(&self.rate_limit.retry_after_header)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v.ceil() as u64);
        let reset = retry_after
            .unwrap_or_else(|| (used.min(limit) * self.rate_limit.window_seconds).div_ceil(limit));
        Some(RateLimit {
            limit,
            remaining: limit.saturating_sub(used),
            reset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        Connection {
            base_url: "https://{subdomain}.gorgias.com".into(),
            subdomain_pattern: "dns-label".into(),
            verify: VerifyRequest {
                method: "GET".into(),
                path: "/api/account".into(),
            },
            error_message_pointer: "/error/msg".into(),
            rate_limit: RateLimitHeaders {
                usage_header: "X-Gorgias-Account-Api-Call-Limit".into(),
                retry_after_header: "Retry-After".into(),
                window_seconds: 20,
            },
            pagination: Pagination {
                cursor_param: "cursor".into(),
                limit_param: "limit".into(),
                next_cursor_pointer: "/meta/next_cursor".into(),
                prev_cursor_pointer: "/meta/prev_cursor".into(),
                default_limit: 30,
                max_limit: 100,
            },
            oauth2: None,
            custom_fields: vec![],
            directories: vec![],
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name.to_ascii_lowercase())
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn subdomains_are_normalized_or_refused_with_a_reason() {
        let c = connection();
        assert_eq!(c.validate_subdomain("  Acme-2 ").unwrap(), "acme-2");
        assert!(c.validate_subdomain("").unwrap_err().contains("empty"));
        assert!(
            c.validate_subdomain("acme.gorgias.com")
                .unwrap_err()
                .contains("'.'")
        );
        assert!(
            c.validate_subdomain("-acme")
                .unwrap_err()
                .contains("hyphen")
        );
        assert!(
            c.validate_subdomain(&"a".repeat(64))
                .unwrap_err()
                .contains("63")
        );
        assert_eq!(c.base_url_for("acme"), "https://acme.gorgias.com");
    }

    #[test]
    fn error_message_reads_the_pointer() {
        let c = connection();
        assert_eq!(
            c.error_message(br#"{"error":{"msg":"Unauthorized."}}"#)
                .as_deref(),
            Some("Unauthorized.")
        );
        assert_eq!(c.error_message(b"<html>Not Found</html>"), None);
        assert_eq!(c.error_message(br#"{"error":{}}"#), None);
    }

    #[test]
    fn rate_limit_drains_the_bucket_or_uses_retry_after() {
        let c = connection();
        let rl = c
            .rate_limit(&headers(&[("x-gorgias-account-api-call-limit", "10/40")]))
            .unwrap();
        assert_eq!(
            rl,
            RateLimit {
                limit: 40,
                remaining: 30,
                reset: 5
            }
        );
        let rl = c
            .rate_limit(&headers(&[
                ("X-Gorgias-Account-Api-Call-Limit", "40/40"),
                ("retry-after", "7"),
            ]))
            .unwrap();
        assert_eq!(rl.remaining, 0);
        assert_eq!(rl.reset, 7);
        let rl = c
            .rate_limit(&headers(&[("X-Gorgias-Account-Api-Call-Limit", "1/80")]))
            .unwrap();
        assert_eq!(rl.reset, 1, "ceil(1 * 20 / 80)");
        assert_eq!(c.rate_limit(&headers(&[])), None);
        assert_eq!(
            c.rate_limit(&headers(&[("X-Gorgias-Account-Api-Call-Limit", "x")])),
            None
        );
    }
}
