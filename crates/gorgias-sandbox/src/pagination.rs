//! Query strings and cursor pagination (reference §5): `limit` (1..100, default 30),
//! `order_by` (`field:asc|desc`, validated per endpoint), and opaque keyset cursors.
//!
//! A cursor is URL-safe base64 of `["next"|"prev", sort key, id, order_by, filter fingerprint]`.
//! Binding it to the order and to the other query parameters (§5.1 says cursors are bound to
//! the same filters **[inferred]**) lets a mismatched or tampered cursor fail with 400 instead of
//! silently returning the wrong page. Keyset paging over `(sort key, id)` never skips or repeats
//! an item, even when items are added between two pages.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::errors::ApiError;
use crate::validation::{self, Errors};

pub const DEFAULT_LIMIT: i64 = 30;
pub const MAX_LIMIT: i64 = 100;
const QUERY_ERROR: &str = "Invalid query parameters.";

/// The query string as ordered key/value pairs (repeated keys kept: `ticket_ids=1&ticket_ids=2`).
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        QueryParams { pairs }
    }

    /// The first value of `key`, as Werkzeug's `args.get` returns it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a repeated key; `key[]` (PHP style, used by some clients) counts too.
    pub fn all(&self, key: &str) -> Vec<&str> {
        let bracketed = format!("{key}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn integer(&self, key: &str, errors: &mut Errors) -> Option<i64> {
        let raw = self.get(key)?;
        match raw.trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(key, validation::NOT_INTEGER);
                None
            }
        }
    }

    pub fn integers(&self, key: &str, errors: &mut Errors) -> Vec<i64> {
        let mut out = Vec::new();
        for raw in self.all(key) {
            // Accept comma-separated too (`ticket_ids=1,2`), a form some clients use.
            for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
                match part.trim().parse::<i64>() {
                    Ok(n) => out.push(n),
                    Err(_) => {
                        errors.add(key, validation::NOT_INTEGER);
                        return Vec::new();
                    }
                }
            }
        }
        out
    }

    pub fn boolean(&self, key: &str, errors: &mut Errors) -> Option<bool> {
        let raw = self.get(key)?;
        // Werkzeug/marshmallow truthy and falsy spellings.
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => {
                errors.add(key, validation::NOT_BOOLEAN);
                None
            }
        }
    }

    pub fn choice(&self, key: &str, choices: &[&str], errors: &mut Errors) -> Option<String> {
        let raw = self.get(key)?;
        if choices.contains(&raw) {
            Some(raw.to_owned())
        } else {
            errors.add(key, validation::one_of(choices));
            None
        }
    }

    /// A deep-object datetime range, e.g. `created_datetime[gte]=2021-03-03T06:00:00Z`.
    pub fn datetime_range(&self, field: &str, errors: &mut Errors) -> DateRange {
        let mut range = DateRange::default();
        for (op, slot) in [
            ("gt", &mut range.gt),
            ("gte", &mut range.gte),
            ("lt", &mut range.lt),
            ("lte", &mut range.lte),
        ] {
            let key = format!("{field}[{op}]");
            if let Some(raw) = self.get(&key) {
                match Timestamp::parse(raw) {
                    Some(t) => *slot = Some(t),
                    None => errors.add(&key, validation::NOT_DATETIME),
                }
            }
        }
        range
    }

    /// A stable hash of every parameter except the paging ones, to bind cursors to filters.
    pub fn fingerprint(&self) -> u64 {
        let mut filtered: Vec<&(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "cursor" | "limit" | "direction" | "ignored_item"
                )
            })
            .collect();
        filtered.sort();
        let mut h = DefaultHasher::new();
        filtered.hash(&mut h);
        h.finish()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DateRange {
    pub gt: Option<Timestamp>,
    pub gte: Option<Timestamp>,
    pub lt: Option<Timestamp>,
    pub lte: Option<Timestamp>,
}

impl DateRange {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.gt.is_none_or(|b| t > b)
            && self.gte.is_none_or(|b| t >= b)
            && self.lt.is_none_or(|b| t < b)
            && self.lte.is_none_or(|b| t <= b)
    }
}

/// What a list is sorted by. `Null` sorts after every value (PostgreSQL's `NULLS LAST` for
/// ascending order), so a descending walk sees the nulls first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Int(i64),
    Str(String),
    Null,
}

impl SortKey {
    pub fn time(t: Option<Timestamp>) -> Self {
        t.map_or(SortKey::Null, |t| SortKey::Int(t.micros()))
    }

    fn to_json(&self) -> Value {
        match self {
            SortKey::Int(n) => json!(n),
            SortKey::Str(s) => json!(s),
            SortKey::Null => Value::Null,
        }
    }

    fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) => n.as_i64().map(SortKey::Int),
            Value::String(s) => Some(SortKey::Str(s.clone())),
            Value::Null => Some(SortKey::Null),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Next,
    Prev,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub direction: Direction,
    pub key: SortKey,
    pub id: i64,
    pub order_by: String,
    pub fingerprint: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let dir = match self.direction {
            Direction::Next => "next",
            Direction::Prev => "prev",
        };
        let raw = json!([
            dir,
            self.key.to_json(),
            self.id,
            self.order_by,
            self.fingerprint.to_string()
        ]);
        URL_SAFE_NO_PAD.encode(raw.to_string())
    }

    pub fn decode(s: &str) -> Option<Self> {
        // Tolerate standard-alphabet and padded forms a client may have re-encoded.
        let normalized: String = s
            .trim()
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        let bytes = URL_SAFE_NO_PAD.decode(normalized).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        let arr = v.as_array()?;
        if arr.len() != 5 {
            return None;
        }
        let direction = match arr[0].as_str()? {
            "next" => Direction::Next,
            "prev" => Direction::Prev,
            _ => return None,
        };
        Some(Cursor {
            direction,
            key: SortKey::from_json(&arr[1])?,
            id: arr[2].as_i64()?,
            order_by: arr[3].as_str()?.to_owned(),
            fingerprint: arr[4].as_str()?.parse().ok()?,
        })
    }
}

/// A validated `order_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The value as the client should write it, e.g. `created_datetime:desc`.
    pub canonical: String,
    pub field: String,
    pub descending: bool,
}

/// How one list endpoint may be ordered.
pub struct Ordering<'a> {
    /// Accepted `order_by` values, e.g. `["created_datetime:asc", "created_datetime:desc"]`.
    pub allowed: &'a [&'a str],
    pub default: &'a str,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: usize,
    pub order: OrderBy,
    pub cursor: Option<Cursor>,
    pub fingerprint: u64,
}

impl PageRequest {
    /// Reads `limit`, `order_by` and `cursor`, adding problems to `errors`.
    /// `bound` is extra input the cursor must stay tied to (e.g. a search body).
    pub fn parse(
        query: &QueryParams,
        ordering: &Ordering<'_>,
        max_limit: i64,
        bound: &str,
        errors: &mut Errors,
    ) -> Option<Self> {
        let limit = match query.integer("limit", errors) {
            Some(n) if !(1..=max_limit).contains(&n) => {
                errors.add("limit", validation::range(1.0, max_limit as f64));
                None
            }
            Some(n) => Some(n),
            None if query.get("limit").is_some() => None,
            None => Some(DEFAULT_LIMIT),
        };
        let order = parse_order_by(query.get("order_by"), ordering, errors);
        let fingerprint = {
            let mut h = DefaultHasher::new();
            (query.fingerprint(), bound).hash(&mut h);
            h.finish()
        };
        let cursor = match query.get("cursor") {
            None | Some("") => Some(None),
            Some(raw) => match Cursor::decode(raw) {
                Some(c)
                    if order.as_ref().is_some_and(|o| o.canonical == c.order_by)
                        && c.fingerprint == fingerprint =>
                {
                    Some(Some(c))
                }
                _ => {
                    errors.add("cursor", "Invalid cursor.");
                    None
                }
            },
        };
        Some(PageRequest {
            limit: usize::try_from(limit?).ok()?,
            order: order?,
            cursor: cursor?,
            fingerprint,
        })
    }

    /// Convenience for handlers: parse and turn problems into a 400.
    pub fn from_query(query: &QueryParams, ordering: &Ordering<'_>) -> Result<Self, ApiError> {
        Self::from_query_bound(query, ordering, "")
    }

    /// Like `from_query`, with cursors also bound to `bound` (input outside the query string).
    pub fn from_query_bound(
        query: &QueryParams,
        ordering: &Ordering<'_>,
        bound: &str,
    ) -> Result<Self, ApiError> {
        let mut errors = Errors::default();
        let page = Self::parse(query, ordering, MAX_LIMIT, bound, &mut errors);
        errors.into_result(QUERY_ERROR)?;
        page.ok_or(ApiError::BadRequest(QUERY_ERROR.to_owned()))
    }
}

pub fn query_error(errors: Errors) -> Result<(), ApiError> {
    errors.into_result(QUERY_ERROR)
}

fn parse_order_by(
    raw: Option<&str>,
    ordering: &Ordering<'_>,
    errors: &mut Errors,
) -> Option<OrderBy> {
    let value = raw.unwrap_or(ordering.default);
    let canonical = if ordering.allowed.contains(&value) {
        value.to_owned()
    } else {
        // A bare field name is accepted but deprecated (§5.1); it means descending, the
        // direction of every default order in the reference **[inferred]**.
        let desc = format!("{value}:desc");
        if !value.contains(':') && ordering.allowed.contains(&desc.as_str()) {
            desc
        } else {
            errors.add("order_by", validation::one_of(ordering.allowed));
            return None;
        }
    };
    let (field, dir) = canonical
        .split_once(':')
        .unwrap_or((canonical.as_str(), "desc"));
    let descending = dir.starts_with("desc");
    Some(OrderBy {
        field: field.to_owned(),
        descending,
        canonical: canonical.clone(),
    })
}

/// One page and its cursors.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub prev_cursor: Option<String>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn meta(&self) -> Value {
        json!({"prev_cursor": self.prev_cursor, "next_cursor": self.next_cursor})
    }
}

/// Sorts `items` by `(key, id)` in the requested direction and cuts the requested page.
pub fn paginate<T>(mut items: Vec<(SortKey, i64, T)>, page: &PageRequest) -> Page<T> {
    items.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    if page.order.descending {
        items.reverse();
    }
    let desc = page.order.descending;
    // Index of the first item strictly after (key, id) in the walk order.
    let after = |key: &SortKey, id: i64| {
        items.partition_point(|(k, i, _)| {
            let ord = (k, *i).cmp(&(key, id));
            if desc { ord.is_ge() } else { ord.is_le() }
        })
    };
    let (start, end) = match &page.cursor {
        None => (0, page.limit.min(items.len())),
        Some(c) => match c.direction {
            Direction::Next => {
                let s = after(&c.key, c.id);
                (s, (s + page.limit).min(items.len()))
            }
            Direction::Prev => {
                // Items strictly before the cursor item: everything before its position.
                let e = items.partition_point(|(k, i, _)| {
                    let ord = (k, *i).cmp(&(&c.key, c.id));
                    if desc { ord.is_gt() } else { ord.is_lt() }
                });
                (e.saturating_sub(page.limit), e)
            }
        },
    };
    let total = items.len();
    let cursor_for = |dir: Direction, item: &(SortKey, i64, T)| {
        Cursor {
            direction: dir,
            key: item.0.clone(),
            id: item.1,
            order_by: page.order.canonical.clone(),
            fingerprint: page.fingerprint,
        }
        .encode()
    };
    // An empty page past the end (its items were deleted meanwhile) has no anchor to walk
    // back from; the client starts over, as with any expired cursor.
    let prev_cursor = if start > 0 && start < end {
        Some(cursor_for(Direction::Prev, &items[start]))
    } else {
        None
    };
    let next_cursor = if end < total && end > start {
        Some(cursor_for(Direction::Next, &items[end - 1]))
    } else {
        None
    };
    let items = items
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(_, _, t)| t)
        .collect();
    Page {
        items,
        prev_cursor,
        next_cursor,
    }
}

/// The list envelope `{object:"list", uri, data, meta}`.
pub fn envelope(uri: &str, data: Vec<Value>, meta: Value) -> Value {
    json!({"object": "list", "uri": uri, "data": data, "meta": meta})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> PageRequest {
        let q = QueryParams::parse(Some(query));
        let ordering = Ordering {
            allowed: &["created_datetime:asc", "created_datetime:desc"],
            default: "created_datetime:desc",
        };
        PageRequest::from_query(&q, &ordering).unwrap()
    }

    fn items(n: i64) -> Vec<(SortKey, i64, i64)> {
        // Duplicate sort keys on purpose: ties must be broken by id.
        (1..=n).map(|i| (SortKey::Int(i / 3), i, i)).collect()
    }

    #[test]
    fn cursor_round_trip_and_rejects_garbage() {
        let c = Cursor {
            direction: Direction::Prev,
            key: SortKey::Str("2021-03-03".into()),
            id: 7,
            order_by: "name:asc".into(),
            fingerprint: 99,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not base64!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("[1,2]")), None);
    }

    #[test]
    fn walks_forward_and_back_without_gaps() {
        for query in ["limit=4", "limit=4&order_by=created_datetime:asc"] {
            let mut seen = Vec::new();
            let mut req = request(query);
            let mut pages = Vec::new();
            loop {
                let page = paginate(items(17), &req);
                seen.extend(page.items.iter().copied());
                pages.push(page.items.clone());
                match page.next_cursor {
                    Some(c) => req = request(&format!("{query}&cursor={c}")),
                    None => break,
                }
            }
            let mut sorted = seen.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted, (1..=17).collect::<Vec<_>>(), "{query}");
            assert_eq!(seen.len(), 17);
            // Walk back from the last page with prev cursors.
            let last = paginate(items(17), &req);
            let mut back = vec![last.items.clone()];
            let mut prev = last.prev_cursor;
            while let Some(c) = prev {
                let page = paginate(items(17), &request(&format!("{query}&cursor={c}")));
                back.push(page.items.clone());
                prev = page.prev_cursor;
            }
            back.reverse();
            assert_eq!(back, pages, "{query}");
        }
    }

    #[test]
    fn limit_order_and_cursor_validation() {
        let ordering = Ordering {
            allowed: &["created_datetime:asc", "created_datetime:desc"],
            default: "created_datetime:desc",
        };
        for (q, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=abc", "limit"),
            ("order_by=name:asc", "order_by"),
            ("cursor=zzz", "cursor"),
        ] {
            let err = PageRequest::from_query(&QueryParams::parse(Some(q)), &ordering).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.body()["error"]["data"][field].is_array(), "{q}");
        }
        // Bare field name means descending.
        let r = PageRequest::from_query(
            &QueryParams::parse(Some("order_by=created_datetime")),
            &ordering,
        )
        .unwrap();
        assert!(r.order.descending);
        // A cursor is bound to its order.
        let page = paginate(items(10), &request("limit=2"));
        let c = page.next_cursor.unwrap();
        let q = QueryParams::parse(Some(&format!("cursor={c}&order_by=created_datetime:asc")));
        assert!(PageRequest::from_query(&q, &ordering).is_err());
    }

    #[test]
    fn last_page_has_null_next() {
        let page = paginate(items(3), &request("limit=3"));
        assert_eq!(page.items.len(), 3);
        assert!(page.next_cursor.is_none());
        assert!(page.prev_cursor.is_none());
    }
}
