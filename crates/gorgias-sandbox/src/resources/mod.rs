//! One module per API resource; each exposes `routes()` (paths relative to `/api`).
//! This file holds what several resources share: listing JSON documents and reading enums.

pub mod account;
pub mod custom_fields;
pub mod customers;
pub mod events;
pub mod field_values;
pub mod files;
pub mod integrations;
pub mod jobs;
pub mod macros;
pub mod messages;
pub mod phone;
pub mod reporting;
pub mod rules;
pub mod satisfaction_surveys;
pub mod search;
pub mod tags;
pub mod teams;
pub mod tickets;
pub mod users;
pub mod view_filter;
pub mod views;
pub mod widgets;

use axum::response::Response;
use serde_json::{Map, Value};

use crate::app::{Ctx, ok};
use crate::clock::Timestamp;
use crate::errors::ApiResult;
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate};
use crate::store::{Docs, doc_time};

pub const CREATED_ORDERING: Ordering<'static> = Ordering {
    allowed: &["created_datetime:asc", "created_datetime:desc"],
    default: "created_datetime:desc",
};

/// The sort key of a document for `field` (datetimes as instants, numbers, strings).
pub fn doc_sort_key(doc: &Map<String, Value>, field: &str) -> SortKey {
    if field.ends_with("_datetime") {
        return SortKey::time(doc_time(doc, field));
    }
    match doc.get(field) {
        Some(Value::Number(n)) => n.as_i64().map_or(SortKey::Null, SortKey::Int),
        Some(Value::String(s)) => SortKey::Str(s.to_lowercase()),
        _ => SortKey::Null,
    }
}

/// Lists documents that pass `keep`, ordered per `page`.
pub fn list_docs(
    ctx: &Ctx,
    docs: &Docs,
    page: &PageRequest,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> Response {
    let items = docs
        .values()
        .filter(|d| keep(d))
        .map(|d| {
            let id = d.get("id").and_then(Value::as_i64).unwrap_or_default();
            (
                doc_sort_key(d, &page.order.field),
                id,
                Value::Object(d.clone()),
            )
        })
        .collect();
    let page = paginate(items, page);
    ok(envelope(&ctx.uri, page.items.clone(), page.meta()))
}

/// A plain "list everything, newest first" endpoint over documents.
pub fn list_docs_by_created(
    ctx: &Ctx,
    docs: &Docs,
    keep: impl Fn(&Map<String, Value>) -> bool,
) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    Ok(list_docs(ctx, docs, &page, keep))
}

pub fn set_time(doc: &mut Map<String, Value>, key: &str, t: Option<Timestamp>) {
    doc.insert(
        key.to_owned(),
        t.map_or(Value::Null, |t| Value::String(t.to_string())),
    );
}

/// Ticket channels (reference §10.1), plus newer slugs the spec mentions elsewhere.
pub const CHANNELS: &[&str] = &[
    "aircall",
    "api",
    "chat",
    "contact_form",
    "email",
    "facebook",
    "facebook-mention",
    "facebook-messenger",
    "facebook-recommendations",
    "help-center",
    "instagram-ad-comment",
    "instagram-comment",
    "instagram-direct-message",
    "instagram-mention",
    "internal-note",
    "phone",
    "sms",
    "twitter",
    "twitter-direct-message",
    "whatsapp",
    "yotpo-review",
];

/// New channel slugs the spec names outside the legacy enum (§10.1): accepted on write, but not
/// listed in the `Must be one of` text, which names the 21 legacy values.
pub const NEWER_CHANNELS: &[&str] = &["google-business-messages", "tiktok-shop", "custom-chat"];

/// `via` values accepted on write (§10.2: the 32 response values minus three).
pub const VIA_WRITE: &[&str] = &[
    "aircall",
    "api",
    "chat",
    "contact_form",
    "email",
    "facebook",
    "facebook-mention",
    "facebook-messenger",
    "facebook-recommendations",
    "form",
    "help-center",
    "helpdesk",
    "instagram",
    "instagram-ad-comment",
    "instagram-comment",
    "instagram-direct-message",
    "instagram-mention",
    "internal-note",
    "phone",
    "rule",
    "shopify",
    "sms",
    "twilio",
    "twitter",
    "twitter-direct-message",
    "whatsapp",
    "yotpo",
    "yotpo-review",
    "zendesk",
];

/// `source.type` values (§10.3). The reference counts 50 but lists 49; `email-forward` (a
/// Gorgias source type, and in our integration definition) is taken as the 50th **[inferred]**.
pub const SOURCE_TYPES: &[&str] = &[
    "aircall",
    "api",
    "app",
    "custom-chat",
    "chat",
    "chat-contact-form",
    "chat-offline-capture",
    "contact-form",
    "email",
    "email-forward",
    "facebook",
    "facebook-comment",
    "facebook-mention-comment",
    "facebook-mention-post",
    "facebook-message",
    "facebook-messenger",
    "facebook-post",
    "facebook-review",
    "facebook-review-comment",
    "form",
    "google-business-messages",
    "help-center",
    "help-center-contact-form",
    "helpdesk",
    "instagram",
    "instagram-ad-comment",
    "instagram-ad-media",
    "instagram-comment",
    "instagram-direct-message",
    "instagram-media",
    "instagram-mention-comment",
    "instagram-mention-media",
    "internal-note",
    "ottspott-call",
    "phone",
    "rule",
    "self_service",
    "shopify",
    "sms",
    "system-message",
    "tiktok-shop",
    "twilio",
    "twitter-direct-message",
    "twitter-mention-tweet",
    "twitter-quoted-tweet",
    "twitter-tweet",
    "whatsapp-message",
    "yotpo-review",
    "yotpo-review-private-comment",
    "yotpo-review-public-comment",
];

pub const STATUSES: &[&str] = &["open", "closed"];
pub const PRIORITIES: &[&str] = &["critical", "high", "normal", "low"];

/// ISO 639-1 codes (the spec has an enum of them).
pub const LANGUAGES: &[&str] = &[
    "aa", "ab", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi",
    "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de",
    "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia",
    "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk",
    "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo",
    "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd",
    "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl",
    "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl",
    "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk",
    "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa",
    "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// A plausible IANA timezone name: `Area/City` (with old aliases like `US/Pacific`,
/// `Etc/GMT+5`) or `UTC`. The sandbox does not carry the whole tz database.
pub fn is_timezone(s: &str) -> bool {
    if matches!(s, "UTC" | "GMT" | "Etc/UTC" | "Zulu") {
        return true;
    }
    let mut parts = s.split('/');
    let area = parts.next().unwrap_or("");
    let known_area = matches!(
        area,
        "Africa"
            | "America"
            | "Antarctica"
            | "Arctic"
            | "Asia"
            | "Atlantic"
            | "Australia"
            | "Europe"
            | "Indian"
            | "Pacific"
            | "Etc"
            | "US"
            | "Canada"
            | "Brazil"
            | "Mexico"
            | "Chile"
    );
    known_area
        && s.split('/').count() >= 2
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
}
