//! The one error type of the emulated API and its JSON envelope
//! `{"error":{"msg":"...","data":{...}}}` (reference §4).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every way an `/api` call can fail. The `Display` text is the envelope's `msg`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or bad credentials, expired or revoked token (text observed on the live API).
    #[error("Unauthorized.")]
    Unauthorized,
    /// Role or scope lacks permission (text observed on the live API, minus its quota suffix).
    #[error("{0}")]
    Forbidden(String),
    /// Text from Gorgias's legacy docs.
    #[error("Resource not found.")]
    NotFound,
    /// Text from Gorgias's legacy docs.
    #[error("The specified HTTP method is not allowed.")]
    MethodNotAllowed,
    /// A marshmallow-style validation failure: `data` maps fields to lists of messages.
    #[error("{msg}")]
    Validation { msg: String, data: Value },
    /// A 400 without per-field data.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Request entity too large.")]
    PayloadTooLarge,
    /// The 429 body was not found in any source (§12 #5); this text is our choice.
    #[error("Too many requests.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("Internal server error.")]
    Internal,
    /// Text from Gorgias's legacy docs for 503.
    #[error("An external service had an issue.")]
    ServiceUnavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Validation { .. } | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A validation error with a single field message.
    pub fn field(msg: impl Into<String>, field: &str, problem: &str) -> Self {
        ApiError::Validation {
            msg: msg.into(),
            data: json!({ field: [problem] }),
        }
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden("You do not have enough permissions to perform this action.".to_owned())
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::Validation { msg, data } => json!({"error": {"msg": msg, "data": data}}),
            other => json!({"error": {"msg": other.to_string()}}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;
