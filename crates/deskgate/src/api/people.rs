//! People (see `crate::people`): `/people` to add, list, delete them and reset a password
//! (admins), `/integrated-account/{id}/mcp/{mcp_id}/shares` to share a server with a person
//! (admins), `/people/{id}/grants` for the OAuth grants a person approved (admins: anyone's;
//! agents: their own), and `/me` for whoever is calling.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::oauth_grants::OAuthGrantView;
use super::{AnyCaller, ApiJson, Caller, Page};
use crate::app::App;
use crate::error::ApiError;
use crate::people::{NewPerson, Person, Role};
use crate::timestamp::Timestamp;
use crate::ui::session::Operator;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePerson {
    /// Their sign-in; stored lowercased, unique.
    pub email: String,
    /// How the console shows them (optional).
    #[serde(default)]
    pub name: Option<String>,
    /// `admin` (everything) or `agent` (only the servers shared with them).
    pub role: Role,
    /// At least 12 characters; stored as an argon2id hash only.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password (at least 12 characters). Every session of the person is closed.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

/// Who is calling.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// `person` (a console session opened with a password) or `api_token`.
    pub kind: String,
    /// The person's or the API token's id.
    pub id: String,
    pub role: Role,
    /// The person, when a person is calling.
    pub person: Option<Person>,
}

/// An MCP server shared with a person, as they see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SharedServer {
    pub id: String,
    pub integrated_account_id: String,
    pub name: String,
    /// Its URL (an `oauth` server's URL holds no secret; a URL-token server's is never shown).
    pub url: Option<String>,
}

/// Agents may only ask about themselves.
fn self_or_admin(caller: &Operator, person_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || caller.id == person_id {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            crate::ui::session::AGENTS_REFUSED.into(),
        ))
    }
}

#[utoipa::path(get, path = "/me", operation_id = "get_me", tag = "people",
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn me(AnyCaller(caller): AnyCaller) -> Json<Me> {
    Json(Me {
        kind: if caller.person.is_some() {
            "person"
        } else {
            "api_token"
        }
        .into(),
        id: caller.id.clone(),
        role: caller.role(),
        person: caller.person,
    })
}

#[utoipa::path(post, path = "/people", operation_id = "create_person", tag = "people", request_body = CreatePerson,
    responses((status = 201, body = Person), (status = 400, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn create(
    _caller: Caller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CreatePerson>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    let person = app
        .create_person(NewPerson {
            email: &body.email,
            name: body.name.as_deref(),
            role: body.role,
            password: &body.password,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(person)))
}

#[utoipa::path(get, path = "/people", operation_id = "list_people", tag = "people",
    responses((status = 200, body = Page<Person>)), security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
) -> Result<Json<Page<Person>>, ApiError> {
    Ok(Json(Page {
        result: app.store.list_people().await?,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/people/{id}", operation_id = "get_person", tag = "people",
    responses((status = 200, body = Person), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn get(
    AnyCaller(caller): AnyCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Person>, ApiError> {
    self_or_admin(&caller, &id)?;
    app.store
        .get_person(&id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("person"))
}

#[utoipa::path(delete, path = "/people/{id}", operation_id = "delete_person", tag = "people",
    responses((status = 204, description = "Deleted: their sessions end, their shares and the grants they approved are revoked"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn delete(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_person(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/people/{id}/password", operation_id = "reset_person_password", tag = "people", request_body = ResetPassword,
    responses((status = 204, description = "Set; every session of the person is closed"),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn reset_password(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    app.reset_password(&id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/people/{id}/servers", operation_id = "list_person_servers", tag = "people",
    responses((status = 200, body = Page<SharedServer>), (status = 403, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn servers(
    AnyCaller(caller): AnyCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Page<SharedServer>>, ApiError> {
    self_or_admin(&caller, &id)?;
    Ok(Json(Page {
        result: app.shared_servers(&id).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/people/{id}/grants", operation_id = "list_person_grants", tag = "people",
    responses((status = 200, body = Page<OAuthGrantView>), (status = 403, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn grants(
    AnyCaller(caller): AnyCaller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Page<OAuthGrantView>>, ApiError> {
    self_or_admin(&caller, &id)?;
    Ok(Json(Page {
        result: app
            .store
            .list_person_grants(&id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/people/{id}/grants/{grant_id}", operation_id = "revoke_person_grant", tag = "people",
    responses((status = 204, description = "Revoked: its access and refresh tokens stop working at once"),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn revoke_grant(
    AnyCaller(caller): AnyCaller,
    State(app): State<Arc<App>>,
    Path((id, grant_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    self_or_admin(&caller, &id)?;
    app.revoke_grant_of(
        &grant_id,
        |g| g.approved_by_person.as_deref() == Some(id.as_str()),
        &format!("revoked through the API by {}", caller.describe()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/integrated-account/{id}/mcp/{mcp_id}/shares", operation_id = "list_server_shares", tag = "people",
    responses((status = 200, body = Page<Person>), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn shares(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Json<Page<Person>>, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    Ok(Json(Page {
        result: app.store.server_shares(&server.id).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(put, path = "/integrated-account/{id}/mcp/{mcp_id}/shares/{person_id}", operation_id = "share_server", tag = "people",
    responses((status = 204, description = "Shared: the person may see the server and let OAuth clients into it"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn share(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id, person_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    app.share_server(&server.id, &person_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/integrated-account/{id}/mcp/{mcp_id}/shares/{person_id}", operation_id = "unshare_server", tag = "people",
    responses((status = 204, description = "No longer shared; the grants the person approved on it are revoked"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn unshare(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id, person_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    if app.store.unshare_server(&server.id, &person_id).await? {
        tracing::info!(mcp_server.id = %server.id, person.id = %person_id, "server no longer shared; the person's grants on it were revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("share"))
    }
}

impl App {
    /// Shares a server with a person (idempotent).
    pub async fn share_server(&self, server_id: &str, person_id: &str) -> Result<(), ApiError> {
        if self.store.get_person(person_id).await?.is_none() {
            return Err(ApiError::NotFound("person"));
        }
        self.store
            .share_server(server_id, person_id, Timestamp::now())
            .await?;
        tracing::info!(mcp_server.id = %server_id, person.id = %person_id, "server shared");
        Ok(())
    }

    /// The live servers shared with a person, with the URL of the `oauth` ones.
    pub async fn shared_servers(&self, person_id: &str) -> Result<Vec<SharedServer>, ApiError> {
        let ids = self.store.shared_server_ids(person_id).await?;
        let now = Timestamp::now();
        Ok(self
            .store
            .find_mcp_servers(&ids)
            .await?
            .into_iter()
            .filter(|s| !s.is_expired(now))
            .map(|s| SharedServer {
                url: (s.auth == crate::mcp_servers::AuthMode::Oauth)
                    .then(|| self.oauth_server_url(&s.id)),
                id: s.id,
                integrated_account_id: s.integrated_account_id,
                name: s.name,
            })
            .collect())
    }
}
