//! `/integrated-account/{id}/actions`: writes held for approval by a server's policy (issue 15),
//! and the decisions on them. See `crate::approvals`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ApiJson, Caller};
use crate::app::App;
use crate::approvals::PendingAction;
use crate::error::ApiError;

#[utoipa::path(get, path = "/integrated-account/{id}/actions", operation_id = "list_pending_actions", tag = "approvals",
    responses((status = 200, body = Vec<PendingAction>), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<PendingAction>>, ApiError> {
    Ok(Json(app.pending_actions(&id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The arguments to send instead of the held ones (an edited note or reply); they are
    /// checked like any call's. Absent: send what was held.
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<Map<String, Value>>,
}

#[utoipa::path(post, path = "/integrated-account/{id}/actions/{action_id}/approve", operation_id = "approve_action", tag = "approvals",
    request_body = Approve,
    responses((status = 200, description = "Approved and sent; `result_outcome` says how the call went", body = PendingAction),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "Already decided, or expired", body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn approve(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path((id, action_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Approve>,
) -> Result<Json<PendingAction>, ApiError> {
    let who = caller.0.describe();
    Ok(Json(
        app.approve_action(&id, &action_id, body.arguments, &who)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    /// Why, for the record.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/integrated-account/{id}/actions/{action_id}/reject", operation_id = "reject_action", tag = "approvals",
    request_body = Reject,
    responses((status = 200, body = PendingAction), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "Already decided, or expired", body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn reject(
    caller: Caller,
    State(app): State<Arc<App>>,
    Path((id, action_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Reject>,
) -> Result<Json<PendingAction>, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "reason must be 1 to 500 characters".into(),
        ));
    }
    let who = caller.0.describe();
    Ok(Json(
        app.reject_action(&id, &action_id, reason, &who).await?,
    ))
}
