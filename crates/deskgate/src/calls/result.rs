//! What a call produced, before any protocol sees it.

use serde_json::Value;

use crate::audit::Outcome;
use integration_spec::RateLimit;

/// Who is calling, as the client introduced itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub name: String,
    pub version: String,
    /// On an `oauth` server: who deskgate knows is behind the call (not self-declared).
    pub oauth: Option<OAuthAttribution>,
}

/// The OAuth client that made a call and the person who let it in (see `auth_server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthAttribution {
    pub client_id: String,
    /// The approving person's id and email; `None` when an admin API token's session approved.
    pub person: Option<(String, String)>,
}

/// A call refused before anything ran: the tool does not exist for this server (unknown, or
/// filtered out — the two are deliberately indistinguishable).
#[derive(Debug, thiserror::Error)]
#[error("unknown tool: {0}")]
pub struct UnknownTool(pub String);

/// What a call produced.
#[derive(Debug, Clone)]
pub struct CallResult {
    pub outcome: Outcome,
    pub is_error: bool,
    /// What the model reads.
    pub text: String,
    pub structured: Structured,
    /// Set when the call reached the upstream and it reported its limits.
    pub rate_limit: Option<RateLimit>,
    /// The upstream's HTTP status, when it answered.
    pub upstream_status: Option<u16>,
}

/// A call's structured content: always one JSON object.
#[derive(Debug, Clone, PartialEq)]
pub enum Structured {
    /// Built by deskgate (errors, wrapped arrays, files).
    Value(Value),
    /// The call's text *is* the structured content: the upstream's reply, one JSON object,
    /// checked but never parsed into a tree. Parsing a 5 KB ticket into a `Value` and dropping
    /// it again was about half the instructions of a whole call.
    SameAsText,
    /// A tree built by deskgate (a concise view) whose compact JSON is exactly the call's
    /// text: peers that need a tree take it, the fast path writes the text instead of
    /// serializing the tree a second time.
    Tree(Value),
}

impl Structured {
    /// The JSON object as a tree, for peers that need one; `text` is the call's text.
    pub fn into_value(self, text: &str) -> Value {
        match self {
            Structured::Value(value) | Structured::Tree(value) => value,
            Structured::SameAsText => {
                serde_json::from_str(text).expect("verbatim content was checked to be JSON")
            }
        }
    }

    /// Writes the object as JSON; `text` is the call's text.
    pub fn write_json(&self, text: &str, out: &mut Vec<u8>) {
        match self {
            Structured::Value(value) => {
                serde_json::to_writer(&mut *out, value).expect("a Value always serializes")
            }
            Structured::SameAsText | Structured::Tree(_) => out.extend_from_slice(text.as_bytes()),
        }
    }
}

impl CallResult {
    /// An error the model can act on, built by deskgate (nothing, or not everything, reached
    /// the upstream).
    pub fn error(outcome: Outcome, text: String, structured: Value) -> Self {
        CallResult {
            outcome,
            is_error: true,
            text,
            structured: Structured::Value(structured),
            rate_limit: None,
            upstream_status: None,
        }
    }

    /// A call held for a person's approval: not an error (the model did nothing wrong and
    /// should not retry), and nothing was sent.
    pub fn held(text: String, structured: Value) -> Self {
        CallResult {
            outcome: Outcome::Held,
            is_error: false,
            text,
            structured: Structured::Value(structured),
            rate_limit: None,
            upstream_status: None,
        }
    }

    /// The same result, recorded with another outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The first line of the text, short: what the audit log keeps of a failure.
    pub fn error_summary(&self) -> Option<String> {
        self.is_error.then(|| {
            let line = self.text.lines().next().unwrap_or_default();
            line.chars().take(300).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_content_reads_and_writes_as_the_same_object() {
        let text = r#"{"id":7,"subject":"Où est ma commande ?","tags":[{"name":"refund"}]}"#;
        let mut written = Vec::new();
        Structured::SameAsText.write_json(text, &mut written);
        assert_eq!(written, text.as_bytes());
        let tree = Structured::SameAsText.into_value(text);
        assert_eq!(tree["subject"], "Où est ma commande ?");
        let mut again = Vec::new();
        Structured::Value(tree).write_json("ignored", &mut again);
        assert_eq!(again, text.as_bytes());
    }
}
