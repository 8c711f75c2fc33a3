//! View filter expressions (reference §6.20): a JavaScript-like boolean expression over ticket
//! attributes, e.g. `eq(ticket.status, 'open') && eq(ticket.assignee_user.id, '{{current_user.id}}')`.
//!
//! The docs only show `eq` joined by `&&`; the other operators are the product's names
//! **[inferred]**: `neq`, `contains`, `notContains`, `startsWith`, `endsWith`, `gt`, `gte`,
//! `lt`, `lte`, `containsAny`, `containsAll`, `notContainsAny`, `isEmpty`, `isNotEmpty`,
//! `gteTimedelta`/`lteTimedelta` (age such as `'24h'`, `'7d'`), with `||`, `!` and parentheses.
//! A path that reaches an array (e.g. `ticket.tags.name`) matches when any element does.

use serde_json::Value;

use crate::clock::{MICROS_PER_SEC, Timestamp};

const OPERATORS: &[(&str, usize)] = &[
    ("eq", 2),
    ("neq", 2),
    ("contains", 2),
    ("notContains", 2),
    ("startsWith", 2),
    ("endsWith", 2),
    ("gt", 2),
    ("gte", 2),
    ("lt", 2),
    ("lte", 2),
    ("containsAny", 2),
    ("containsAll", 2),
    ("notContainsAny", 2),
    ("isEmpty", 1),
    ("isNotEmpty", 1),
    ("gteTimedelta", 2),
    ("lteTimedelta", 2),
];

pub use integration_spec::filter_expr::{Arg, Expr, FilterError};

/// Parses a filter expression; `{{current_user.id}}` is replaced first.
pub fn parse(src: &str, current_user_id: i64) -> Result<Expr, FilterError> {
    let src = src
        .replace("{{current_user.id}}", &current_user_id.to_string())
        .replace("{{ current_user.id }}", &current_user_id.to_string());
    integration_spec::filter_expr::parse(&src, OPERATORS)
}

/// Every value a path reaches in `root` (arrays fan out).
fn resolve<'a>(root: &'a Value, path: &[String]) -> Vec<&'a Value> {
    // Paths start with the object name (`ticket`, or `customer` in customer-list views); it
    // names the root.
    let rest = if path
        .first()
        .is_some_and(|p| p == "ticket" || p == "customer")
    {
        &path[1..]
    } else {
        path
    };
    let mut current = vec![root];
    for seg in rest {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => {
                    if let Some(x) = m.get(seg) {
                        next.push(x);
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        if let Some(x) = item.get(seg) {
                            next.push(x);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    // A final array fans out too (`ticket.tags.name` already did; `ticket.tags` would not).
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) if items.iter().all(|i| !i.is_object()) => items.iter().collect(),
            other => vec![other],
        })
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => match (text(a), text(b)) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
            _ => a == b,
        },
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        return x.as_f64()?.partial_cmp(&y.as_f64()?);
    }
    let (x, y) = (text(a)?, text(b)?);
    if let (Some(tx), Some(ty)) = (Timestamp::parse(&x), Timestamp::parse(&y)) {
        return Some(tx.cmp(&ty));
    }
    if let (Ok(nx), Ok(ny)) = (x.parse::<f64>(), y.parse::<f64>()) {
        return nx.partial_cmp(&ny);
    }
    Some(x.cmp(&y))
}

/// `'24h'`, `'7d'`, `'30m'`, `'2w'` as microseconds.
fn timedelta(v: &Value) -> Option<i64> {
    let s = text(v)?;
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: i64 = num.trim().parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(n * secs * MICROS_PER_SEC)
}

/// Evaluates `expr` against a ticket as JSON, at instant `now`.
pub fn eval(expr: &Expr, ticket: &Value, now: Timestamp) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, ticket, now) && eval(b, ticket, now),
        Expr::Or(a, b) => eval(a, ticket, now) || eval(b, ticket, now),
        Expr::Not(a) => !eval(a, ticket, now),
        Expr::Call(op, args) => {
            let Some(Arg::Path(path)) = args.first() else {
                return false;
            };
            let values = resolve(ticket, path);
            let lit = match args.get(1) {
                Some(Arg::Literal(v)) => v.clone(),
                Some(Arg::Path(p)) => resolve(ticket, p)
                    .first()
                    .map_or(Value::Null, |v| (*v).clone()),
                None => Value::Null,
            };
            let present: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
            let lower = |v: &Value| text(v).map(|s| s.to_lowercase());
            let needle = lower(&lit).unwrap_or_default();
            let list: Vec<Value> = match &lit {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            match op.as_str() {
                "eq" => {
                    if lit.is_null() {
                        present.is_empty()
                    } else {
                        present.iter().any(|v| loose_eq(v, &lit))
                    }
                }
                "neq" => {
                    if lit.is_null() {
                        !present.is_empty()
                    } else {
                        !present.iter().any(|v| loose_eq(v, &lit))
                    }
                }
                "contains" => present
                    .iter()
                    .any(|v| lower(v).is_some_and(|s| s.contains(&needle))),
                "notContains" => !present
                    .iter()
                    .any(|v| lower(v).is_some_and(|s| s.contains(&needle))),
                "startsWith" => present
                    .iter()
                    .any(|v| lower(v).is_some_and(|s| s.starts_with(&needle))),
                "endsWith" => present
                    .iter()
                    .any(|v| lower(v).is_some_and(|s| s.ends_with(&needle))),
                "gt" => present
                    .iter()
                    .any(|v| compare(v, &lit).is_some_and(|o| o.is_gt())),
                "gte" => present
                    .iter()
                    .any(|v| compare(v, &lit).is_some_and(|o| o.is_ge())),
                "lt" => present
                    .iter()
                    .any(|v| compare(v, &lit).is_some_and(|o| o.is_lt())),
                "lte" => present
                    .iter()
                    .any(|v| compare(v, &lit).is_some_and(|o| o.is_le())),
                "containsAny" => list.iter().any(|l| present.iter().any(|v| loose_eq(v, l))),
                "containsAll" => list.iter().all(|l| present.iter().any(|v| loose_eq(v, l))),
                "notContainsAny" => !list.iter().any(|l| present.iter().any(|v| loose_eq(v, l))),
                "isEmpty" => present.is_empty() || present.iter().all(|v| v.as_str() == Some("")),
                "isNotEmpty" => present.iter().any(|v| v.as_str() != Some("")),
                // Age filters: the attribute is at least / at most `delta` old.
                "gteTimedelta" | "lteTimedelta" => {
                    let Some(delta) = timedelta(&lit) else {
                        return false;
                    };
                    present.iter().any(|v| {
                        text(v).and_then(|s| Timestamp::parse(&s)).is_some_and(|t| {
                            let age = now.micros() - t.micros();
                            if op == "gteTimedelta" {
                                age >= delta
                            } else {
                                age <= delta
                            }
                        })
                    })
                }
                _ => false,
            }
        }
    }
}

/// Whether the expression mentions an attribute (used to decide whether trashed and spam
/// tickets are in scope: views leave them out unless they ask for them).
pub fn mentions(expr: &Expr, attribute: &str) -> bool {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => mentions(a, attribute) || mentions(b, attribute),
        Expr::Not(a) => mentions(a, attribute),
        Expr::Call(_, args) => args
            .iter()
            .any(|a| matches!(a, Arg::Path(p) if p.iter().any(|s| s == attribute))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ticket() -> Value {
        json!({"status": "open", "channel": "email", "priority": "high",
            "assignee_user": null, "assignee_team": {"id": 7, "name": "Tier 1"},
            "tags": [{"id": 1, "name": "refund"}, {"id": 2, "name": "vip"}],
            "subject": "I want a REFUND", "created_datetime": "2024-01-01T00:00:00.000000+00:00",
            "customer": {"email": "jane@example.com", "language": "fr"}})
    }

    fn check(src: &str) -> bool {
        let now = Timestamp::parse("2024-01-02T00:00:00Z").unwrap();
        eval(&parse(src, 42).unwrap(), &ticket(), now)
    }

    #[test]
    fn eq_and_combinators() {
        assert!(check("eq(ticket.status, 'open')"));
        assert!(check(
            "eq(ticket.status, 'open') && eq(ticket.channel, \"email\")"
        ));
        assert!(!check(
            "eq(ticket.status, 'open') && eq(ticket.channel, 'chat')"
        ));
        assert!(check(
            "eq(ticket.status, 'closed') || eq(ticket.priority, 'high')"
        ));
        assert!(check("!eq(ticket.status, 'closed')"));
        assert!(check(
            "(eq(ticket.status, 'closed') || eq(ticket.status, 'open')) && eq(ticket.assignee_team.id, 7)"
        ));
        assert!(check("eq(ticket.assignee_team.id, '7')"));
    }

    #[test]
    fn null_arrays_text_and_time() {
        assert!(check("eq(ticket.assignee_user.id, null)"));
        assert!(check("isEmpty(ticket.assignee_user)"));
        assert!(check("isNotEmpty(ticket.assignee_team.id)"));
        assert!(check("eq(ticket.tags.name, 'vip')"));
        assert!(check(
            "containsAny(ticket.tags.name, ['finance', 'refund'])"
        ));
        assert!(!check(
            "containsAll(ticket.tags.name, ['finance', 'refund'])"
        ));
        assert!(check("contains(ticket.subject, 'refund')"));
        assert!(check("eq(ticket.customer.language, 'fr')"));
        assert!(check("gte(ticket.created_datetime, '2023-12-31')"));
        assert!(check("gteTimedelta(ticket.created_datetime, '12h')"));
        assert!(!check("lteTimedelta(ticket.created_datetime, '12h')"));
    }

    #[test]
    fn current_user_template_and_errors() {
        let e = parse("eq(ticket.assignee_user.id, '{{current_user.id}}')", 42).unwrap();
        assert_eq!(
            e,
            Expr::Call(
                "eq".into(),
                vec![
                    Arg::Path(vec!["ticket".into(), "assignee_user".into(), "id".into()]),
                    Arg::Literal(json!("42"))
                ]
            )
        );
        assert_eq!(
            parse("frob(ticket.x, 1)", 1),
            Err(FilterError::UnknownOperator("frob".into()))
        );
        assert!(matches!(
            parse("eq(ticket.status)", 1),
            Err(FilterError::Arity(..))
        ));
        assert!(parse("eq(ticket.status, 'open'", 1).is_err());
        assert!(parse("eq(ticket.status, 'open') &&", 1).is_err());
        assert!(matches!(
            parse("eq('open', ticket.status)", 1),
            Err(FilterError::NotAPath(_))
        ));
        assert!(mentions(
            &parse("isNotEmpty(ticket.trashed_datetime)", 1).unwrap(),
            "trashed_datetime"
        ));
    }
}
