//! The console's stylesheet and script, compiled into the binary (no build step, no CDN).
//! Pages link them with a content hash in the query string, so browsers may cache them for a
//! year: a new release changes the hash and with it the URL.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/console.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../assets/favicon.svg"),
    },
];

/// Each asset's content hash (12 hex digits), computed once.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| crate::tokens::hex(&Sha256::digest(a.body.as_bytes()))[..12].to_owned())
        .collect()
});

fn find(name: &str) -> Option<(&'static Asset, &'static str)> {
    ASSETS
        .iter()
        .zip(VERSIONS.iter())
        .find(|(a, _)| a.name == name)
        .map(|(a, v)| (a, v.as_str()))
}

/// The URL pages link an asset with.
pub fn url(name: &str) -> String {
    match find(name) {
        Some((asset, version)) => format!("/ui/assets/{}?v={version}", asset.name),
        None => format!("/ui/assets/{name}"),
    }
}

#[derive(Debug, Deserialize)]
pub struct AssetQuery {
    v: Option<String>,
}

pub async fn serve(
    Path(name): Path<String>,
    Query(query): Query<AssetQuery>,
    headers: HeaderMap,
) -> Response {
    let Some((asset, version)) = find(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{version}\"");
    // The hashed URL never changes content: cache it for good. An unversioned or stale URL
    // must be revalidated.
    let cache = if query.v.as_deref() == Some(version) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header value"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_a_content_hash() {
        let css = url("console.css");
        assert!(css.starts_with("/ui/assets/console.css?v="), "{css}");
        assert_eq!(css.len(), "/ui/assets/console.css?v=".len() + 12);
        assert_ne!(url("console.css")[25..], url("console.js")[24..]);
    }
}
