//! Posted console forms. `CheckedForm` is the only way a console handler reads a POST: it
//! requires a signed-in admin and the session's CSRF token before the handler runs, so no
//! state-changing route can forget the check. `MemberForm` is the same for the few forms an
//! agent may post (see `session` on roles).
//!
//! Fields are read from `application/x-www-form-urlencoded` pairs in order; repeated names
//! (checkbox groups) are kept, which `serde_urlencoded` cannot do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

use super::session::{Operator, SessionError};
use crate::app::App;

/// The name/value pairs of a form body or a query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(encoded: &[u8]) -> Self {
        FormFields(
            url::form_urlencoded::parse(encoded)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field, as sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every non-blank value of a repeated field, in order, without duplicates.
    pub fn all(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == name) {
            let v = v.trim();
            if !v.is_empty() && !values.iter().any(|seen| seen == v) {
                values.push(v.to_owned());
            }
        }
        values
    }

    /// Whether a checkbox was checked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A posted form from a signed-in admin whose CSRF token matched.
pub struct CheckedForm {
    pub operator: Operator,
    pub fields: FormFields,
}

/// A posted form from any signed-in operator (agents included) whose CSRF token matched.
pub struct MemberForm {
    pub operator: Operator,
    pub fields: FormFields,
}

/// The operator and fields of a posted form, its CSRF token checked.
async fn checked(req: Request, app: &Arc<App>) -> Result<(Operator, FormFields), Response> {
    let client = app.client_address(req.headers(), req.extensions());
    let operator = app
        .operator(req.headers(), client)
        .await
        .map_err(IntoResponse::into_response)?;
    let body = Bytes::from_request(req, app)
        .await
        .map_err(IntoResponse::into_response)?;
    let fields = FormFields::parse(&body);
    operator
        .check_csrf(fields.get("csrf"))
        .map_err(IntoResponse::into_response)?;
    Ok((operator, fields))
}

impl FromRequest<Arc<App>> for CheckedForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (operator, fields) = checked(req, app).await?;
        operator
            .require_admin()
            .map_err(|refused| SessionError::Refused(refused).into_response())?;
        Ok(CheckedForm { operator, fields })
    }
}

impl FromRequest<Arc<App>> for MemberForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (operator, fields) = checked(req, app).await?;
        Ok(MemberForm { operator, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_keep_every_value_once() {
        let f = FormFields::parse(b"methods=read&tags=tickets&methods=list&methods=read&name=+x+");
        assert_eq!(f.all("methods"), ["read", "list"]);
        assert_eq!(f.all("tags"), ["tickets"]);
        assert_eq!(f.text("name").as_deref(), Some("x"));
        assert_eq!(f.text("missing"), None);
        assert!(f.checked("name"));
        assert!(!f.checked("require_api_token_auth"));
    }

    #[test]
    fn encoded_values_are_decoded() {
        let f = FormFields::parse(b"email=agent%40acme.example&q=a+b");
        assert_eq!(f.get("email"), Some("agent@acme.example"));
        assert_eq!(f.get("q"), Some("a b"));
    }
}
