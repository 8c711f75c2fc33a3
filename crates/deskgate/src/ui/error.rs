//! How a console page fails: one enum, rendered as a page that says what happened. A 500 page
//! is generic; its cause is logged once, here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::error_page;
use super::session::SessionError;
use crate::error::ApiError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Session(e) => e.into_response(),
            UiError::Api(ApiError::NotFound(what)) => (
                StatusCode::NOT_FOUND,
                error_page(
                    "Not found",
                    &format!("This {what} does not exist, or it was deleted."),
                ),
            )
                .into_response(),
            UiError::Api(ApiError::Internal(cause)) => internal(&*cause),
            UiError::Store(cause) => internal(&cause),
            UiError::Api(other) => (
                StatusCode::BAD_REQUEST,
                error_page("Could not do that", &other.to_string()),
            )
                .into_response(),
        }
    }
}

fn internal(cause: &dyn std::error::Error) -> Response {
    tracing::error!(error = %cause, "console request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        error_page(
            "Something went wrong",
            "Something went wrong on our side. Try again in a moment.",
        ),
    )
        .into_response()
}

/// The status and message a form shows when saving failed; the form is rendered again around
/// the message so the operator can fix the input.
pub fn form_failure(error: ApiError) -> (StatusCode, String) {
    match error {
        ApiError::Internal(cause) => {
            tracing::error!(error = %cause, "console form failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; nothing was saved. Try again in a moment."
                    .to_owned(),
            )
        }
        ApiError::NotFound(_) => (StatusCode::NOT_FOUND, error.to_string()),
        ApiError::Conflict(_) => (StatusCode::CONFLICT, error.to_string()),
        ApiError::UpstreamUnavailable(_) => (StatusCode::BAD_GATEWAY, error.to_string()),
        ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, error.to_string()),
        ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, error.to_string()),
        ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, error.to_string()),
        ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, error.to_string()),
        ApiError::BadRequest(_) | ApiError::Invalid { .. } => {
            (StatusCode::BAD_REQUEST, error.to_string())
        }
    }
}
