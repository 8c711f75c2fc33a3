//! A sandbox on port 0 and a small client speaking to it.

use std::time::Duration;

use gorgias_sandbox::{Sandbox, SandboxConfig};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

/// One response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.data` of a Gorgias error body.
    pub fn error_data(&self) -> &Value {
        &self.body["error"]["data"]
    }
}

pub async fn start() -> Harness {
    start_with(SandboxConfig::default()).await
}

/// A sandbox whose API-key bucket does not get in the way of tests making many calls.
pub async fn roomy() -> Harness {
    start_with(SandboxConfig {
        api_key_bucket: gorgias_sandbox::BucketConfig {
            capacity: 10_000,
            window: Duration::from_secs(20),
        },
        ..SandboxConfig::default()
    })
    .await
}

pub async fn start_with(config: SandboxConfig) -> Harness {
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Harness { sandbox, http }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.base_url(), path)
    }

    fn basic(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let c = self.sandbox.config();
        rb.basic_auth(&c.email, Some(&c.api_key))
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let resp = rb.send().await.expect("request reaches the sandbox");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// An API call with the configured HTTP Basic credentials.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut rb = self.basic(self.http.request(method, self.url(path)));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.send(rb).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn delete_with(&self, path: &str, body: Value) -> Reply {
        self.call(Method::DELETE, path, Some(body)).await
    }

    /// A bearer call.
    pub async fn bearer(&self, method: Method, path: &str, token: &str) -> Reply {
        self.send(self.http.request(method, self.url(path)).bearer_auth(token))
            .await
    }

    /// Walks a list endpoint with `next_cursor` and returns every item.
    pub async fn walk(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = path.to_owned();
        for _ in 0..1000 {
            let r = self.get(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            out.extend(
                r.body["data"]
                    .as_array()
                    .expect("data array")
                    .iter()
                    .cloned(),
            );
            match r.body["meta"]["next_cursor"].as_str() {
                Some(c) => url = format!("{path}{sep}cursor={}", urlencode(c)),
                None => return out,
            }
        }
        panic!("pagination did not end");
    }

    pub fn user_id(&self) -> i64 {
        let c = self.sandbox.config();
        self.sandbox
            .state()
            .user_id_for_email(&c.email)
            .expect("admin user")
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (§1).
pub fn is_gorgias_datetime(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    s.len() == 32
        && s.ends_with("+00:00")
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && s[20..26].bytes().all(|c| c.is_ascii_digit())
}

/// Asserts every key is present (null allowed).
pub fn assert_keys(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(*k).is_some(), "missing key {k} in {v}");
    }
}

/// Finds a seeded ticket id matching a predicate on its full JSON.
pub fn find_ticket(h: &Harness, pred: impl Fn(&Value) -> bool) -> Value {
    h.sandbox
        .state()
        .tickets()
        .into_iter()
        .find(|t| pred(t))
        .expect("a matching seeded ticket")
}
