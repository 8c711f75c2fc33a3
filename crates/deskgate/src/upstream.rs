//! The one HTTP client deskgate uses to reach Gorgias: pooled connections, timeouts set once,
//! no redirects (a redirect could carry credentials to another host), and no retries of any
//! kind — a failure, a 429 above all, goes back to the caller as it happened.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::telemetry::UpstreamResult;

/// Where and as whom to call: an account's base URL and its `Authorization` header value.
pub struct Target<'a> {
    pub base_url: &'a str,
    pub authorization: &'a SecretString,
}

/// One upstream request, already planned and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub encoding: BodyEncoding,
}

pub use integration_spec::BodyEncoding;

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("Gorgias did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach Gorgias: {0}")]
    Unreachable(String),
    #[error("the connection to Gorgias broke before a full answer arrived")]
    Interrupted,
    #[error("the request body cannot be sent: {0}")]
    BadBody(String),
}

/// Rate-limit figures normalized from the upstream's own headers, as the `ratelimit-*` headers
/// and tool results carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the limit is fully reset.
    pub reset: u64,
}

#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    timeout: Duration,
}

impl Upstream {
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("deskgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            // Every connection a burst opened stays for the next one: a cap below the
            // concurrency would close and reopen connections on every call under load.
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .build()
            .expect("the HTTP client's fixed settings are valid");
        Self { http, timeout }
    }

    pub async fn send(
        &self,
        target: &Target<'_>,
        request: &Request,
    ) -> Result<Response, UpstreamError> {
        let url = format!("{}{}", target.base_url.trim_end_matches('/'), request.path);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::AUTHORIZATION,
                target.authorization.expose_secret(),
            );
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        match (&request.body, request.encoding) {
            (None, _) => {}
            (Some(body), BodyEncoding::Json) => builder = builder.json(body),
            (Some(body), BodyEncoding::Multipart) => {
                builder = builder.multipart(multipart_form(body)?)
            }
        }
        let started = std::time::Instant::now();
        let result = async {
            let response = builder.send().await.map_err(|e| self.classify(e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(|e| self.classify(e))?;
            Ok(Response {
                status,
                headers,
                body,
            })
        }
        .await;
        crate::telemetry::upstream_latency(
            &request.method,
            match &result {
                Ok(response) => UpstreamResult::Status(response.status.as_u16()),
                Err(UpstreamError::Timeout(_)) => UpstreamResult::Timeout,
                Err(UpstreamError::Unreachable(_)) => UpstreamResult::Unreachable,
                Err(_) => UpstreamResult::Interrupted,
            },
            started.elapsed(),
        );
        result
    }

    /// Sends a form-encoded POST (OAuth token endpoints) with optional HTTP Basic client auth.
    pub async fn post_form(
        &self,
        url: &str,
        basic_auth: Option<(&str, &SecretString)>,
        form: &[(&str, &str)],
    ) -> Result<Response, UpstreamError> {
        let mut builder = self
            .http
            .post(url)
            .header(http::header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic_auth {
            builder = builder.basic_auth(user, Some(password.expose_secret()));
        }
        let response = builder.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| self.classify(e))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn classify(&self, e: reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            UpstreamError::Timeout(self.timeout)
        } else if e.is_connect() {
            // The error chain can hold the URL but never a credential: they travel in headers.
            UpstreamError::Unreachable(describe_connect_error(&e))
        } else {
            UpstreamError::Interrupted
        }
    }
}

/// A planned multipart body as a form: each key is a part; an object with `content_base64` is a
/// file part (`name`, `content_type`), anything else a text part.
fn multipart_form(body: &serde_json::Value) -> Result<reqwest::multipart::Form, UpstreamError> {
    use base64::Engine;
    let parts = body.as_object().ok_or_else(|| {
        UpstreamError::BadBody("a multipart body must be an object of parts".into())
    })?;
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in parts {
        form = match value
            .get("content_base64")
            .and_then(serde_json::Value::as_str)
        {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| {
                        UpstreamError::BadBody(format!(
                            "`{name}.content_base64` is not valid base64"
                        ))
                    })?;
                let file_name = checked_file_name(
                    name,
                    value
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("file"),
                )?;
                let mut part = reqwest::multipart::Part::bytes(bytes).file_name(file_name);
                if let Some(content_type) = value
                    .get("content_type")
                    .and_then(serde_json::Value::as_str)
                {
                    part = part.mime_str(content_type).map_err(|_| {
                        UpstreamError::BadBody(format!("`{name}.content_type` is not a media type"))
                    })?;
                }
                form.part(name.clone(), part)
            }
            None => form.text(
                name.clone(),
                match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            ),
        };
    }
    Ok(form)
}

/// Longest file name sent upstream, in characters (what file systems commonly allow).
const MAX_FILE_NAME_CHARS: usize = 255;

/// A part's file name goes into the part's `Content-Disposition` header. A CR or LF there would
/// end that header and let the name write headers (or a whole part) of its own into the request
/// Gorgias receives, so a name with any control character is refused, and nothing is sent:
/// refusing tells the model what to fix, where silently rewriting the name would upload a file
/// under a name nobody chose.
fn checked_file_name(part: &str, file_name: &str) -> Result<String, UpstreamError> {
    if file_name.chars().any(char::is_control) {
        return Err(UpstreamError::BadBody(format!(
            "`{part}.name` must not contain control characters such as line breaks"
        )));
    }
    if file_name.trim().is_empty() || file_name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(UpstreamError::BadBody(format!(
            "`{part}.name` must be 1 to {MAX_FILE_NAME_CHARS} characters"
        )));
    }
    Ok(file_name.to_owned())
}

fn describe_connect_error(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| "connection failed".to_owned())
}

/// The HTTP method a definition names (`GET`, `post`, …); the definition loader has already
/// refused anything that is not a valid method token.
pub fn method(name: &str) -> Method {
    Method::from_bytes(name.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET)
}

/// Builds an HTTP Basic `Authorization` value.
pub fn basic_authorization(user: &str, password: &str) -> SecretString {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    SecretString::from(format!("Basic {encoded}"))
}

pub fn bearer_authorization(token: &str) -> SecretString {
    SecretString::from(format!("Bearer {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_carry_headers() {
        for bad in [
            "a\r\nContent-Type: text/html",
            "a\nb",
            "a\rb",
            "nul\0",
            "tab\there",
            "",
        ] {
            assert!(checked_file_name("file", bad).is_err(), "{bad:?}");
        }
        assert!(checked_file_name("file", &"x".repeat(256)).is_err());
        assert_eq!(
            checked_file_name("file", "rapport été.pdf").unwrap(),
            "rapport été.pdf"
        );
        let body = serde_json::json!({"file": {"name": "x\r\nX-Injected: 1", "content_type": "text/plain", "content_base64": "aGk="}});
        assert!(matches!(
            multipart_form(&body),
            Err(UpstreamError::BadBody(_))
        ));
    }
}
