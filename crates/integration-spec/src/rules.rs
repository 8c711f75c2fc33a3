//! Cross-field rules and defaults, declared as data and evaluated generically.
//!
//! A rule reads: when every `when` condition holds, every `require` condition must hold, and
//! at least one `require_any` group must hold entirely. Paths are dotted property names relative
//! to the object the rule is attached to (a method's arguments, or every instance of a shared
//! schema). Conditions:
//!
//! | YAML                     | holds when the value ...                          |
//! |--------------------------|---------------------------------------------------|
//! | `x` (a scalar)           | equals `x`                                        |
//! | `{equals: x}`            | equals `x`                                        |
//! | `{one_of: [x, y]}`       | equals one of them                                |
//! | `{not: x}`               | is absent or differs from `x`                     |
//! | `{not_in: [x, y]}`       | is absent or equals none of them                  |
//! | `{present: true}`        | is there and not null, `""` or `[]`               |
//! | `{present: false}`       | is absent, null, `""` or `[]`                     |

use indexmap::IndexMap;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Equals(Value),
    OneOf(Vec<Value>),
    Not(Value),
    NotIn(Vec<Value>),
    Present(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub path: Vec<String>,
    pub cond: Cond,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub when: Vec<Clause>,
    pub require: Vec<Clause>,
    pub require_any: Vec<Vec<Clause>>,
    pub message: String,
}

/// A broken rule: the argument to point at and the rule's message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub field: Vec<String>,
    pub message: String,
}

impl Cond {
    pub fn parse(value: &Value) -> Result<Cond, String> {
        match value {
            Value::Object(map) => {
                let (op, arg) = match map.iter().next() {
                    Some(entry) if map.len() == 1 => entry,
                    _ => {
                        return Err(format!(
                            "a condition object has exactly one operator, got {value}"
                        ));
                    }
                };
                let list = || match arg {
                    Value::Array(items) if !items.is_empty() => Ok(items.clone()),
                    _ => Err(format!("`{op}` takes a non-empty list, got {arg}")),
                };
                Ok(match op.as_str() {
                    "equals" => Cond::Equals(arg.clone()),
                    "not" => Cond::Not(arg.clone()),
                    "one_of" => Cond::OneOf(list()?),
                    "not_in" => Cond::NotIn(list()?),
                    "present" => Cond::Present(
                        arg.as_bool()
                            .ok_or_else(|| format!("`present` takes true or false, got {arg}"))?,
                    ),
                    other => {
                        return Err(format!(
                            "unknown condition `{other}`; use equals, one_of, not, not_in or present"
                        ));
                    }
                })
            }
            Value::Array(_) => Err("a list is not a condition; use `{one_of: [...]}`".into()),
            scalar => Ok(Cond::Equals(scalar.clone())),
        }
    }

    /// The literal values the condition compares with (checked against enums at load time).
    pub fn literals(&self) -> Vec<&Value> {
        match self {
            Cond::Equals(v) | Cond::Not(v) => vec![v],
            Cond::OneOf(vs) | Cond::NotIn(vs) => vs.iter().collect(),
            Cond::Present(_) => vec![],
        }
    }

    pub fn holds(&self, value: Option<&Value>) -> bool {
        match self {
            Cond::Equals(x) => value == Some(x),
            Cond::OneOf(xs) => value.is_some_and(|v| xs.contains(v)),
            Cond::Not(x) => value != Some(x),
            Cond::NotIn(xs) => !value.is_some_and(|v| xs.contains(v)),
            Cond::Present(want) => present(value) == *want,
        }
    }

    /// How a requirement reads in a message.
    pub fn describe(&self) -> String {
        let list = |vs: &[Value]| {
            vs.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Cond::Equals(x) => format!("must be {x}"),
            Cond::OneOf(xs) => format!("must be one of {}", list(xs)),
            Cond::Not(x) => format!("must not be {x}"),
            Cond::NotIn(xs) => format!("must not be any of {}", list(xs)),
            Cond::Present(true) => "is required here".into(),
            Cond::Present(false) => "must be left out here".into(),
        }
    }
}

fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

pub(crate) fn lookup<'a>(instance: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(instance, |v, key| v.get(key))
}

impl Clause {
    fn holds(&self, instance: &Value) -> bool {
        self.cond.holds(lookup(instance, &self.path))
    }
}

impl Rule {
    /// Parses the YAML form; paths are split on dots.
    pub fn parse(
        when: &IndexMap<String, Value>,
        require: &IndexMap<String, Value>,
        require_any: &[IndexMap<String, Value>],
        message: &str,
    ) -> Result<Rule, String> {
        let clauses = |m: &IndexMap<String, Value>| -> Result<Vec<Clause>, String> {
            m.iter()
                .map(|(path, v)| {
                    Ok(Clause {
                        path: path.split('.').map(str::to_owned).collect(),
                        cond: Cond::parse(v).map_err(|e| format!("`{path}`: {e}"))?,
                    })
                })
                .collect()
        };
        let rule = Rule {
            when: clauses(when)?,
            require: clauses(require)?,
            require_any: require_any.iter().map(clauses).collect::<Result<_, _>>()?,
            message: message.trim().to_owned(),
        };
        if rule.require.is_empty() && rule.require_any.is_empty() {
            return Err("a rule needs `require` or `require_any`".into());
        }
        if rule.require_any.iter().any(Vec::is_empty) {
            return Err("a `require_any` group is empty".into());
        }
        if rule.message.is_empty() {
            return Err("a rule needs a `message` the model can act on".into());
        }
        Ok(rule)
    }

    pub fn clauses(&self) -> impl Iterator<Item = &Clause> {
        self.when
            .iter()
            .chain(&self.require)
            .chain(self.require_any.iter().flatten())
    }

    /// The first violation of this rule by `instance`, if any.
    pub fn check(&self, instance: &Value) -> Option<Violation> {
        if !self.when.iter().all(|c| c.holds(instance)) {
            return None;
        }
        if let Some(failed) = self.require.iter().find(|c| !c.holds(instance)) {
            return Some(Violation {
                field: failed.path.clone(),
                message: format!("{} ({})", self.message, failed.cond.describe()),
            });
        }
        if !self.require_any.is_empty()
            && !self
                .require_any
                .iter()
                .any(|g| g.iter().all(|c| c.holds(instance)))
        {
            let alternatives: Vec<String> = self
                .require_any
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|c| format!("`{}` {}", c.path.join("."), c.cond.describe()))
                        .collect::<Vec<_>>()
                        .join(" and ")
                })
                .collect();
            return Some(Violation {
                field: self.require_any[0][0].path.clone(),
                message: format!("{} (one of: {})", self.message, alternatives.join("; or ")),
            });
        }
        None
    }
}

/// Fills in defaults for keys the caller left out.
pub(crate) fn apply_defaults(instance: &mut Value, defaults: &Map<String, Value>) {
    if let Value::Object(map) = instance {
        for (k, v) in defaults {
            if !map.contains_key(k) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(when: Value, require: Value, any: Value) -> Rule {
        let map = |v: Value| -> IndexMap<String, Value> {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let any: Vec<IndexMap<String, Value>> =
            any.as_array().unwrap().iter().cloned().map(map).collect();
        Rule::parse(&map(when), &map(require), &any, "msg").unwrap()
    }

    #[test]
    fn conditions_parse_and_hold() {
        assert_eq!(Cond::parse(&json!("x")).unwrap(), Cond::Equals(json!("x")));
        assert!(
            Cond::parse(&json!({"present": true}))
                .unwrap()
                .holds(Some(&json!("a")))
        );
        assert!(
            !Cond::parse(&json!({"present": true}))
                .unwrap()
                .holds(Some(&json!("")))
        );
        assert!(Cond::parse(&json!({"not": false})).unwrap().holds(None));
        assert!(
            Cond::parse(&json!({"not_in": [1, 2]}))
                .unwrap()
                .holds(Some(&json!(3)))
        );
        assert!(
            Cond::parse(&json!({"one_of": [1, 2]}))
                .unwrap()
                .holds(Some(&json!(2)))
        );
        assert!(
            Cond::parse(&json!({"bogus": 1}))
                .unwrap_err()
                .contains("bogus")
        );
        assert!(Cond::parse(&json!([1])).is_err());
    }

    #[test]
    fn rules_check_require_and_require_any() {
        let r = rule(
            json!({"channel": "internal-note"}),
            json!({"public": false}),
            json!([]),
        );
        assert_eq!(r.check(&json!({"channel": "email"})), None);
        assert_eq!(
            r.check(&json!({"channel": "internal-note", "public": false})),
            None
        );
        let v = r.check(&json!({"channel": "internal-note"})).unwrap();
        assert_eq!(v.field, vec!["public"]);
        assert!(v.message.contains("must be false"));

        let r = rule(
            json!({"channel": "email"}),
            json!({}),
            json!([{"integration_id": {"present": true}}, {"source.from.address": {"present": true}}]),
        );
        assert!(
            r.check(&json!({"channel": "email", "integration_id": 5}))
                .is_none()
        );
        assert!(
            r.check(&json!({"channel": "email", "source": {"from": {"address": "a@b.c"}}}))
                .is_none()
        );
        let v = r
            .check(&json!({"channel": "email", "source": {"from": {}}}))
            .unwrap();
        assert_eq!(v.field, vec!["integration_id"]);
        assert!(v.message.contains("source.from.address"), "{}", v.message);
    }

    #[test]
    fn defaults_fill_only_missing_keys() {
        let mut v = json!({"via": "email"});
        let defaults: Map<String, Value> =
            json!({"via": "api", "x": 1}).as_object().unwrap().clone();
        apply_defaults(&mut v, &defaults);
        assert_eq!(v, json!({"via": "email", "x": 1}));
    }
}
