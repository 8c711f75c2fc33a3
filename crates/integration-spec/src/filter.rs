//! Which tools an MCP server offers: by method selector and by tag.
//!
//! Methods: `read` (= list + get), `write` (= create + update + delete), `custom` (every other
//! method) or an exact method name (`merge`). Tags: a tool passes when it carries any listed tag.
//! A tool must pass both; an empty list does not filter.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, Tool};
use crate::naming::MethodKind;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Selector {
    Read,
    Write,
    Custom,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolFilter {
    methods: BTreeSet<Selector>,
    tags: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown method selector(s): {unknown}; use read, write, custom or one of: {valid}")]
    UnknownMethods { unknown: String, valid: String },
    #[error("unknown tag(s): {unknown}; valid tags: {valid}")]
    UnknownTags { unknown: String, valid: String },
}

impl ToolFilter {
    pub fn parse(
        methods: &[String],
        tags: &[String],
        catalog: &Catalog,
    ) -> Result<ToolFilter, FilterError> {
        let known_methods = catalog.methods();
        let mut unknown = Vec::new();
        let mut selectors = BTreeSet::new();
        for m in methods {
            let m = m.trim();
            let selector = match m {
                "read" => Selector::Read,
                "write" => Selector::Write,
                "custom" => Selector::Custom,
                exact if known_methods.contains(&exact) => Selector::Exact(exact.to_owned()),
                other => {
                    unknown.push(other.to_owned());
                    continue;
                }
            };
            selectors.insert(selector);
        }
        if !unknown.is_empty() {
            return Err(FilterError::UnknownMethods {
                unknown: unknown.join(", "),
                valid: known_methods.join(", "),
            });
        }
        let known_tags = catalog.tags();
        let unknown: Vec<&str> = tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !known_tags.contains(t))
            .collect();
        if !unknown.is_empty() {
            return Err(FilterError::UnknownTags {
                unknown: unknown.join(", "),
                valid: known_tags.join(", "),
            });
        }
        Ok(ToolFilter {
            methods: selectors,
            tags: tags.iter().map(|t| t.trim().to_owned()).collect(),
        })
    }

    /// Lets every tool through.
    pub fn all() -> ToolFilter {
        ToolFilter::default()
    }

    pub fn matches(&self, tool: &Tool) -> bool {
        let method_ok = self.methods.is_empty()
            || self.methods.iter().any(|s| match s {
                Selector::Read => matches!(tool.kind, MethodKind::List | MethodKind::Get),
                Selector::Write => matches!(
                    tool.kind,
                    MethodKind::Create | MethodKind::Update | MethodKind::Delete
                ),
                Selector::Custom => tool.kind == MethodKind::Custom,
                Selector::Exact(m) => tool.method == *m,
            });
        let tag_ok = self.tags.is_empty() || tool.tags.iter().any(|t| self.tags.contains(t));
        method_ok && tag_ok
    }
}
