//! Names instead of ids: where a schema takes a team, a user or a tag, the model may give its
//! name (as people see it in the helpdesk), and the name is turned into what the upstream
//! takes before the call is validated and planned.
//!
//! The data marks the schema nodes (`names: teams`) and declares each directory in the
//! connection (where its entries are listed, which keys besides `name` match). Two kinds of
//! node:
//! - an object with `id` and `name` properties (`assignee_team`): `{name: "tier 1"}` becomes
//!   `{id: 30001}`;
//! - a name the upstream takes as such (a tag's `name`, a string in `names: [...]`): it is
//!   replaced by the name exactly as the directory has it, and an unknown one is refused unless
//!   the call sets the directory's create flag (`create_missing_tags: true`), because the
//!   upstream would silently create it.
//!
//! Matching is case-insensitive and exact; an ambiguous or unknown name is refused with the
//! closest candidates, so the model can correct itself in one step. Pure: the caller fetches
//! the directories the arguments need ([`crate::Tool::named_directories`]) and hands them in.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::catalog::Step;
use crate::plan::ArgumentError;

/// Where one directory's entries are listed, as the connection declares it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirectorySource {
    /// The name schemas refer to (`teams`).
    pub name: String,
    /// What one entry is called in messages (`team`).
    pub label: String,
    /// A paginated list endpoint.
    pub path: String,
    /// Keys matched besides `name` (a user's `email`).
    pub also: Vec<String>,
    /// The argument that lets a call create entries the directory does not have yet.
    pub create_flag: Option<String>,
}

/// One account's entries of a directory.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    id: Value,
    name: String,
    also: Vec<String>,
}

impl Directory {
    /// Adds the entries of one list page (`{data: [{id, name, ...}]}` or a bare array).
    pub fn add_page(&mut self, source: &DirectorySource, page: &Value) {
        let items = page
            .get("data")
            .and_then(Value::as_array)
            .or_else(|| page.as_array());
        for item in items.into_iter().flatten() {
            let (Some(id), Some(name)) = (item.get("id"), item.get("name").and_then(Value::as_str))
            else {
                continue;
            };
            self.entries.push(Entry {
                id: id.clone(),
                name: name.to_owned(),
                also: source
                    .also
                    .iter()
                    .filter_map(|k| item.get(k).and_then(Value::as_str).map(str::to_owned))
                    .collect(),
            });
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn matches<'a>(&'a self, wanted: &str) -> Vec<&'a Entry> {
        let wanted = wanted.trim();
        self.entries
            .iter()
            .filter(|e| {
                e.name.eq_ignore_ascii_case(wanted)
                    || e.name.to_lowercase() == wanted.to_lowercase()
                    || e.also.iter().any(|a| a.eq_ignore_ascii_case(wanted))
            })
            .collect()
    }

    /// Up to five entries whose names look most like `wanted`.
    fn closest(&self, wanted: &str) -> Vec<String> {
        let wanted = wanted.trim().to_lowercase();
        let mut scored: Vec<(f64, &str)> = self
            .entries
            .iter()
            .map(|e| {
                let name = e.name.to_lowercase();
                let mut score = strsim::jaro_winkler(&wanted, &name);
                if name.contains(&wanted) || wanted.contains(&name) {
                    score += 0.2;
                }
                (score, e.name.as_str())
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut seen = BTreeSet::new();
        scored
            .into_iter()
            .filter(|(_, n)| seen.insert(*n))
            .take(5)
            .map(|(_, n)| n.to_owned())
            .collect()
    }
}

/// How a marked node takes a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// An object with `id` and `name`: the name becomes the id.
    Id,
    /// An object with `name` only: the name is made exact.
    NameField,
    /// A string that is a name.
    Text,
    /// An id (an integer) that may be given as a name instead: the name becomes the id.
    ScalarId,
}

/// A place in a tool's arguments that takes a name of `directory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameSlot {
    pub path: Vec<Step>,
    pub directory: String,
    pub kind: SlotKind,
}

/// The name a slot's instance holds, if it is given by name.
fn name_in(kind: SlotKind, value: &Value) -> Option<&str> {
    match (kind, value) {
        (SlotKind::Id, Value::Object(o)) if !o.contains_key("id") => {
            o.get("name").and_then(Value::as_str)
        }
        (SlotKind::NameField, Value::Object(o)) => o.get("name").and_then(Value::as_str),
        (SlotKind::Text | SlotKind::ScalarId, Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Visits every instance at `path`, with its displayed location (`tags[2].name`).
pub(crate) fn each_at(
    value: &mut Value,
    path: &[Step],
    at: String,
    visit: &mut dyn FnMut(&mut Value, &str) -> Result<(), ArgumentError>,
) -> Result<(), ArgumentError> {
    let Some((step, rest)) = path.split_first() else {
        return visit(value, &at);
    };
    match (step, value) {
        (Step::Key(k), Value::Object(o)) => match o.get_mut(k) {
            Some(v) => {
                let at = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                each_at(v, rest, at, visit)
            }
            None => Ok(()),
        },
        (Step::Each, Value::Array(items)) => {
            for (i, v) in items.iter_mut().enumerate() {
                each_at(v, rest, format!("{at}[{i}]"), visit)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The directories `arguments` name something in.
pub(crate) fn named_directories(slots: &[NameSlot], arguments: &Map<String, Value>) -> Vec<String> {
    let mut args = Value::Object(arguments.clone());
    let mut out = BTreeSet::new();
    for slot in slots {
        let _ = each_at(&mut args, &slot.path, String::new(), &mut |v, _| {
            if name_in(slot.kind, v).is_some() {
                out.insert(slot.directory.clone());
            }
            Ok(())
        });
    }
    out.into_iter().collect()
}

/// Replaces every name in `arguments` by what the upstream takes.
pub(crate) fn resolve<'d>(
    slots: &[NameSlot],
    sources: &[DirectorySource],
    arguments: &mut Map<String, Value>,
    directories: &dyn Fn(&str) -> Option<&'d Directory>,
) -> Result<(), ArgumentError> {
    let creatable: Vec<&str> = sources
        .iter()
        .filter_map(|s| s.create_flag.as_deref())
        .filter(|flag| arguments.get(*flag).and_then(Value::as_bool) == Some(true))
        .collect();
    let mut args = Value::Object(std::mem::take(arguments));
    let outcome = (|| {
        for slot in slots {
            let Some(source) = sources.iter().find(|s| s.name == slot.directory) else {
                continue;
            };
            each_at(&mut args, &slot.path, String::new(), &mut |value, at| {
                if let (SlotKind::Id, Value::Object(o)) = (slot.kind, &*value)
                    && !o.contains_key("id")
                    && !o.contains_key("name")
                {
                    return Err(ArgumentError::new(
                        at,
                        format!("give the {}'s `id` or its `name`", source.label),
                    ));
                }
                let Some(wanted) = name_in(slot.kind, value).map(str::to_owned) else {
                    return Ok(());
                };
                let Some(directory) = directories(&slot.directory) else {
                    return Err(ArgumentError::new(
                        at,
                        format!(
                            "{}s could not be listed just now, so a {} cannot be given by name; give its id",
                            source.label, source.label
                        ),
                    ));
                };
                let found = directory.matches(&wanted);
                let field = match slot.kind {
                    SlotKind::Text | SlotKind::ScalarId => at.to_owned(),
                    _ => format!("{at}.name"),
                };
                match found.as_slice() {
                    [entry] => {
                        match slot.kind {
                            SlotKind::Id => {
                                let mut object = Map::new();
                                object.insert("id".into(), entry.id.clone());
                                *value = Value::Object(object);
                            }
                            SlotKind::NameField => {
                                value["name"] = Value::String(entry.name.clone());
                            }
                            SlotKind::Text => *value = Value::String(entry.name.clone()),
                            SlotKind::ScalarId => *value = entry.id.clone(),
                        }
                        Ok(())
                    }
                    [] if matches!(slot.kind, SlotKind::NameField | SlotKind::Text)
                        && source
                            .create_flag
                            .as_deref()
                            .is_some_and(|f| creatable.contains(&f)) =>
                    {
                        Ok(())
                    }
                    [] => {
                        let closest = directory.closest(&wanted);
                        let hint = if closest.is_empty() {
                            format!("there are no {}s yet", source.label)
                        } else {
                            format!("closest: {}", closest.join(", "))
                        };
                        let create = match (&source.create_flag, slot.kind) {
                            (Some(flag), SlotKind::NameField | SlotKind::Text) => {
                                format!("; to create a new {} set {flag}: true", source.label)
                            }
                            _ => String::new(),
                        };
                        Err(ArgumentError::new(
                            field,
                            format!("no {} is named {wanted:?} ({hint}){create}", source.label),
                        ))
                    }
                    several => {
                        let list: Vec<String> = several
                            .iter()
                            .map(|e| match e.also.first() {
                                Some(a) => format!("{} <{a}> (id {})", e.name, e.id),
                                None => format!("{} (id {})", e.name, e.id),
                            })
                            .collect();
                        Err(ArgumentError::new(
                            field,
                            format!(
                                "{} {}s match {wanted:?}: {}; give the id instead",
                                several.len(),
                                source.label,
                                list.join(", ")
                            ),
                        ))
                    }
                }
            })?;
        }
        Ok(())
    })();
    let Value::Object(map) = args else {
        unreachable!("arguments stay an object")
    };
    *arguments = map;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(name: &str, label: &str, also: &[&str], flag: Option<&str>) -> DirectorySource {
        DirectorySource {
            name: name.into(),
            label: label.into(),
            path: format!("/api/{name}"),
            also: also.iter().map(|s| (*s).to_owned()).collect(),
            create_flag: flag.map(str::to_owned),
        }
    }

    fn sources() -> Vec<DirectorySource> {
        vec![
            source("teams", "team", &[], None),
            source("users", "user", &["email"], None),
            source("tags", "tag", &[], Some("create_missing_tags")),
        ]
    }

    fn directory(source: &DirectorySource, page: Value) -> Directory {
        let mut d = Directory::default();
        d.add_page(source, &page);
        d
    }

    fn slots() -> Vec<NameSlot> {
        vec![
            NameSlot {
                path: vec![Step::Key("assignee_team".into())],
                directory: "teams".into(),
                kind: SlotKind::Id,
            },
            NameSlot {
                path: vec![Step::Key("assignee_user".into())],
                directory: "users".into(),
                kind: SlotKind::Id,
            },
            NameSlot {
                path: vec![Step::Key("tags".into()), Step::Each],
                directory: "tags".into(),
                kind: SlotKind::NameField,
            },
            NameSlot {
                path: vec![Step::Key("names".into()), Step::Each],
                directory: "tags".into(),
                kind: SlotKind::Text,
            },
        ]
    }

    fn resolved(args: Value) -> Result<Value, String> {
        let sources = sources();
        let teams = directory(
            &sources[0],
            json!({"data": [{"id": 30001, "name": "Tier 1"}, {"id": 30002, "name": "Tier 2"}]}),
        );
        let users = directory(
            &sources[1],
            json!({"data": [
            {"id": 1, "name": "Sam Lee", "email": "sam@acme.example"},
            {"id": 2, "name": "Sam Lee", "email": "sam.lee@acme.example"},
            {"id": 3, "name": "Hannah Weber", "email": "hannah@acme.example"}]}),
        );
        let tags = directory(
            &sources[2],
            json!({"data": [{"id": 7, "name": "login_issue"}, {"id": 8, "name": "finance"}]}),
        );
        let mut map = args.as_object().unwrap().clone();
        resolve(&slots(), &sources, &mut map, &|d| match d {
            "teams" => Some(&teams),
            "users" => Some(&users),
            "tags" => Some(&tags),
            _ => None,
        })
        .map(|()| Value::Object(map))
        .map_err(|e| e.to_string())
    }

    #[test]
    fn names_become_ids_or_exact_names() {
        assert_eq!(
            resolved(json!({"assignee_team": {"name": "tier 1"}, "assignee_user": {"name": "HANNAH@acme.example"},
                            "tags": [{"name": "Login_Issue"}], "names": ["FINANCE"]})).unwrap(),
            json!({"assignee_team": {"id": 30001}, "assignee_user": {"id": 3},
                   "tags": [{"name": "login_issue"}], "names": ["finance"]})
        );
        // Ids pass untouched.
        assert_eq!(
            resolved(json!({"assignee_team": {"id": 5}})).unwrap(),
            json!({"assignee_team": {"id": 5}})
        );
    }

    #[test]
    fn unknown_and_ambiguous_names_are_refused_with_candidates() {
        let e = resolved(json!({"assignee_team": {"name": "Tier One"}})).unwrap_err();
        assert!(e.contains("argument `assignee_team.name`: no team is named \"Tier One\" (closest: Tier 1, Tier 2)"), "{e}");
        let e = resolved(json!({"names": ["Login Issue"]})).unwrap_err();
        assert!(
            e.contains(
                "argument `names[0]`: no tag is named \"Login Issue\" (closest: login_issue"
            ),
            "{e}"
        );
        assert!(e.contains("set create_missing_tags: true"), "{e}");
        let e = resolved(json!({"assignee_user": {"name": "sam lee"}})).unwrap_err();
        assert!(e.contains("2 users match \"sam lee\": Sam Lee <sam@acme.example> (id 1), Sam Lee <sam.lee@acme.example> (id 2)"), "{e}");
    }

    #[test]
    fn a_create_flag_lets_new_tags_through() {
        assert_eq!(
            resolved(json!({"names": ["Brand new", "finance"], "create_missing_tags": true}))
                .unwrap(),
            json!({"names": ["Brand new", "finance"], "create_missing_tags": true})
        );
        // It does not make an unknown team appear.
        assert!(
            resolved(json!({"assignee_team": {"name": "Nope"}, "create_missing_tags": true}))
                .is_err()
        );
    }

    #[test]
    fn an_empty_reference_is_refused() {
        let e = resolved(json!({"assignee_team": {}})).unwrap_err();
        assert_eq!(
            e,
            "argument `assignee_team`: give the team's `id` or its `name`"
        );
    }

    #[test]
    fn only_the_directories_named_are_needed() {
        let mut args = json!({"assignee_team": {"id": 1}, "tags": [{"name": "x"}]});
        let map = args.as_object_mut().unwrap();
        assert_eq!(named_directories(&slots(), map), vec!["tags".to_owned()]);
    }
}
