//! File upload and download (reference §6.6): `POST /api/upload?type=` (multipart, part `file`)
//! answers an array `[{url, name, size, content_type}]`; the URL downloads through
//! `GET /api/{file_type}/download/{domain_hash}/{resource_name}` with the API's auth.

use axum::Router;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::{App, Ctx, json_response};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::query_error;
use crate::store::Upload;
use crate::validation::{self, Errors};

const TYPES: &[&str] = &[
    "attachment",
    "public_attachment",
    "profile_picture",
    "widget_picture",
];
/// The reference infers a size limit (§4.1 413); 20 MiB is the sandbox's.
const MAX_BYTES: usize = 20 * 1024 * 1024;

fn file_type_path(kind: &str) -> &'static str {
    match kind {
        "public_attachment" => "public-attachments",
        "profile_picture" => "profile-pictures",
        "widget_picture" => "widget-pictures",
        _ => "attachments",
    }
}

fn domain_hash(subdomain: &str) -> String {
    let digest = Sha256::digest(subdomain.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// The spec's status is "200/201"; uploads create resources, so 201 like other creates.
async fn upload(State(app): State<App>, ctx: Ctx, mut multipart: Multipart) -> ApiResult {
    let mut errors = Errors::default();
    let kind = ctx
        .query
        .choice("type", TYPES, &mut errors)
        .unwrap_or_else(|| "attachment".into());
    query_error(errors)?;
    let mut out = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::BadRequest(format!("Invalid multipart body: {e}")))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let content_type = field
            .content_type()
            .map_or_else(|| "application/octet-stream".to_owned(), str::to_owned);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::BadRequest(format!("Invalid multipart body: {e}")))?;
        if bytes.len() > MAX_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let mut store = app.store();
        let n = store.next_id("upload", 0);
        let resource = format!("{}-{n}-{}", domain_hash(&format!("{n}")), safe_name(&name));
        let hash = domain_hash(&store.subdomain);
        let path = file_type_path(&kind);
        let url = format!("{}/api/{path}/download/{hash}/{resource}", ctx.origin);
        store.uploads.insert(
            format!("{path}/{hash}/{resource}"),
            Upload {
                file_type: kind.clone(),
                name: name.clone(),
                content_type: content_type.clone(),
                bytes: bytes.to_vec(),
            },
        );
        out.push(
            json!({"url": url, "name": name, "size": bytes.len(), "content_type": content_type}),
        );
    }
    if out.is_empty() {
        return Err(ApiError::field(
            "Failed to upload files",
            "file",
            validation::MISSING,
        ));
    }
    Ok(json_response(StatusCode::CREATED, Value::Array(out)))
}

async fn download(
    State(app): State<App>,
    Path((file_type, hash, name)): Path<(String, String, String)>,
) -> Response {
    let store = app.store();
    match store.uploads.get(&format!("{file_type}/{hash}/{name}")) {
        Some(u) => {
            let disposition = format!("inline; filename=\"{}\"", u.name.replace('"', ""));
            (
                [
                    (header::CONTENT_TYPE, u.content_type.clone()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                Body::from(u.bytes.clone()),
            )
                .into_response()
        }
        None => ApiError::NotFound.into_response(),
    }
}

pub fn routes() -> Router<App> {
    Router::new().route("/upload", post(upload)).route(
        "/{file_type}/download/{domain_hash}/{resource_name}",
        get(download),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_url_safe() {
        assert_eq!(safe_name("my file (1).pdf"), "my_file__1_.pdf");
        assert_eq!(safe_name(""), "file");
        assert_eq!(domain_hash("acme").len(), 16);
    }
}
