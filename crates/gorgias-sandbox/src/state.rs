//! `SandboxState`: in-process inspection and control for tests, returning the API's own JSON.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::app::App;
use crate::faults::{Fault, FaultError};

/// The resources the store keeps as JSON documents (see [`SandboxState::documents`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Macros,
    Rules,
    Views,
    Widgets,
    Integrations,
    Jobs,
    SatisfactionSurveys,
    AccountSettings,
    VoiceCalls,
    VoiceCallEvents,
    VoiceCallRecordings,
}

/// A cheap handle on a sandbox's state. Reads return the API's JSON shapes (full objects, with
/// messages, tags and custom-field values) so tests can assert what a write really did.
#[derive(Clone)]
pub struct SandboxState {
    app: App,
}

impl SandboxState {
    pub(crate) fn new(app: App) -> Self {
        SandboxState { app }
    }

    /// The full ticket (messages, tags, custom fields), trashed ones included.
    pub fn ticket(&self, id: i64) -> Option<Value> {
        let store = self.app.store();
        store.tickets.get(&id).map(|t| store.ticket_json(t, true))
    }

    /// Every ticket, full, in id order.
    pub fn tickets(&self) -> Vec<Value> {
        let store = self.app.store();
        store
            .tickets
            .values()
            .map(|t| store.ticket_json(t, true))
            .collect()
    }

    pub fn ticket_ids(&self) -> Vec<i64> {
        self.app.store().tickets.keys().copied().collect()
    }

    pub fn message(&self, id: i64) -> Option<Value> {
        let store = self.app.store();
        store.messages.get(&id).map(|m| store.message_json(m))
    }

    /// The full customer with its custom-field values.
    pub fn customer(&self, id: i64) -> Option<Value> {
        let store = self.app.store();
        store
            .customers
            .get(&id)
            .map(|c| store.customer_json(c, true))
    }

    pub fn customers(&self) -> Vec<Value> {
        let store = self.app.store();
        store
            .customers
            .values()
            .map(|c| store.customer_json(c, true))
            .collect()
    }

    pub fn users(&self) -> Vec<Value> {
        let store = self.app.store();
        store.users.values().map(|u| store.user_json(u)).collect()
    }

    pub fn tags(&self) -> Vec<Value> {
        let store = self.app.store();
        store.tags.values().map(|t| store.tag_json(t)).collect()
    }

    pub fn teams(&self) -> Vec<Value> {
        let store = self.app.store();
        store.teams.values().map(|t| store.team_json(t)).collect()
    }

    /// Every event, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let store = self.app.store();
        store.events.values().map(|e| store.event_json(e)).collect()
    }

    /// Custom field definitions (ticket and customer ones, archived included), in id order.
    pub fn custom_fields(&self) -> Vec<Value> {
        let store = self.app.store();
        store
            .custom_fields
            .values()
            .map(|f| store.custom_field_json(f))
            .collect()
    }

    /// The documents of one configuration-like resource, as the API renders them, in id order.
    pub fn documents(&self, kind: DocumentKind) -> Vec<Value> {
        let store = self.app.store();
        let docs = match kind {
            DocumentKind::Macros => &store.macros,
            DocumentKind::Rules => &store.rules,
            DocumentKind::Views => &store.views,
            DocumentKind::Widgets => &store.widgets,
            DocumentKind::Integrations => &store.integrations,
            DocumentKind::Jobs => &store.jobs,
            DocumentKind::SatisfactionSurveys => &store.surveys,
            DocumentKind::AccountSettings => &store.settings,
            DocumentKind::VoiceCalls => &store.voice_calls,
            DocumentKind::VoiceCallEvents => &store.voice_call_events,
            DocumentKind::VoiceCallRecordings => &store.recordings,
        };
        docs.values().map(|d| Value::Object(d.clone())).collect()
    }

    /// Stored uploads, as the `{file_type}/{domain_hash}/{resource_name}` part of their
    /// download URL.
    pub fn upload_paths(&self) -> Vec<String> {
        self.app.store().uploads.keys().cloned().collect()
    }

    /// The id of the user with this email (e.g. the API key's owner).
    pub fn user_id_for_email(&self, email: &str) -> Option<i64> {
        self.app.store().user_by_email(email)
    }

    /// Requests that reached `/api` (authenticated or not).
    pub fn request_count(&self) -> u64 {
        self.app.stats().api_requests
    }

    /// Request counts keyed by `METHOD /api/path/{id}`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.app.stats().by_route.clone()
    }

    /// Revokes every OAuth access and refresh token.
    pub fn revoke_all_tokens(&self) {
        self.app.oauth().revoke_all();
    }

    /// Expires every access token now; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.app.oauth().expire_access_tokens();
    }

    /// Calls that reached `POST /oauth/token` (code exchanges and refreshes, failed ones too).
    pub fn oauth_token_requests(&self) -> u64 {
        self.app.oauth().token_requests
    }

    /// Every OAuth access, id and refresh token issued so far (e.g. to assert none is logged).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.app.oauth().issued.clone()
    }

    pub fn live_access_tokens(&self) -> usize {
        self.app.oauth().live_access_tokens()
    }

    /// Adds a fault. Send failures (`message_send_failure`) apply to the next `count` outgoing
    /// replies; the others to the next matching requests.
    pub fn inject_fault(&self, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        if fault.message_send_failure {
            let error = fault.error.clone().unwrap_or_else(|| {
                "This message could not be sent. The recipient's server rejected it.".to_owned()
            });
            let n = fault.count.unwrap_or(1);
            let mut store = self.app.store();
            for _ in 0..n {
                store.forced_send_failures.push(error.clone());
            }
        } else {
            self.app.faults().push(fault);
        }
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.app.faults().clear();
        self.app.store().forced_send_failures.clear();
    }

    /// Reseeds the data and forgets tokens, rate-limit buckets, faults and stats.
    pub fn reset(&self) {
        self.app.reset();
    }
}
