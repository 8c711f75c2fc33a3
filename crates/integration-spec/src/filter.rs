//! Which tools an MCP server offers: by method selector, by tag and by name.
//!
//! Methods: `read` (every tool that only reads: list, get, searches, read tasks), `write`
//! (create, update, delete, and tasks that write), `custom` (every other method) or an exact
//! method name (`merge`, `note`). Tags: a tool passes when it carries any listed tag. Tools: a
//! tool passes when it is listed by name. A tool must pass every filter given; an empty list
//! does not filter. Admin tools (writes that change the helpdesk's own set-up: macros, rules,
//! teams, users, views…, and bulk jobs) pass only when the server asks for them or lists them
//! by name: a support agent's server should not rewrite the helpdesk because its method filter
//! says `write`. A task also needs the methods of every API tool its steps call to pass the
//! method filter: a read-only server never gets a task that writes.

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
    tools: BTreeSet<String>,
    groups: BTreeSet<String>,
    /// Also offers admin tools (see [`Tool::admin`]) that pass the other filters.
    admin: bool,
    /// Only tools that read, whatever the selectors say (an account connected read-only).
    reads_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown method selector(s): {unknown}; use read, write, custom or one of: {valid}")]
    UnknownMethods { unknown: String, valid: String },
    #[error("unknown tag(s): {unknown}; valid tags: {valid}")]
    UnknownTags { unknown: String, valid: String },
    #[error("unknown tool(s): {unknown}; see the tool list for valid names")]
    UnknownTools { unknown: String },
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
            tools: BTreeSet::new(),
            groups: BTreeSet::new(),
            admin: false,
            reads_only: false,
        })
    }

    /// Also offers the tools that are offered only with these groups (`chatgpt`).
    pub fn with_groups(mut self, groups: &[&str]) -> Self {
        self.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        self
    }

    /// Also offers the admin tools that pass the other filters (without it, only those listed
    /// by name in [`ToolFilter::with_tools`]).
    pub fn with_admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// Whether a tool left out only for being an admin tool would pass otherwise: what a
    /// config that exposes nothing is told.
    pub fn leaves_out_as_admin(&self, tool: &Tool) -> bool {
        tool.admin && !self.admin && self.clone().with_admin(true).matches(tool)
    }

    /// Also requires a tool to be one of `names` (an empty list does not filter).
    pub fn with_tools(mut self, names: &[String], catalog: &Catalog) -> Result<Self, FilterError> {
        let unknown: Vec<&str> = names
            .iter()
            .map(|n| n.trim())
            .filter(|n| catalog.tool(n).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(FilterError::UnknownTools {
                unknown: unknown.join(", "),
            });
        }
        self.tools = names.iter().map(|n| n.trim().to_owned()).collect();
        Ok(self)
    }

    /// Also requires a tool to only read (and, for a task, every tool its steps call): for an
    /// account whose credentials cannot write, so no server of it offers what would fail.
    pub fn reads_only(mut self) -> Self {
        self.reads_only = true;
        self
    }

    /// Lets every tool through, admin tools included.
    pub fn all() -> ToolFilter {
        ToolFilter::default().with_admin(true)
    }

    pub fn matches(&self, tool: &Tool) -> bool {
        if let Some(group) = &tool.offered_with
            && !self.groups.contains(group)
        {
            return false;
        }
        if tool.admin && !self.admin && !self.tools.contains(&tool.name) {
            return false;
        }
        // A task named by an exact method selector is chosen explicitly; otherwise every API
        // tool it calls must pass the method filter too.
        let named = self
            .methods
            .iter()
            .any(|s| matches!(s, Selector::Exact(m) if *m == tool.method));
        let method_ok = named
            || (self.method_allowed(tool.kind, &tool.method, tool.annotations.read_only)
                && tool
                    .inner
                    .uses
                    .iter()
                    .all(|u| self.method_allowed(u.kind, &u.method, u.read_only)));
        let tag_ok = self.tags.is_empty() || tool.tags.iter().any(|t| self.tags.contains(t));
        let name_ok = self.tools.is_empty() || self.tools.contains(&tool.name);
        let read_ok = !self.reads_only
            || (tool.annotations.read_only && tool.inner.uses.iter().all(|u| u.read_only));
        method_ok && tag_ok && name_ok && read_ok
    }

    fn method_allowed(&self, kind: MethodKind, method: &str, read_only: bool) -> bool {
        self.methods.is_empty()
            || self.methods.iter().any(|s| match s {
                Selector::Read => read_only,
                Selector::Write => {
                    matches!(
                        kind,
                        MethodKind::Create | MethodKind::Update | MethodKind::Delete
                    ) || (kind == MethodKind::Task && !read_only)
                }
                Selector::Custom => kind == MethodKind::Custom,
                Selector::Exact(m) => method == m,
            })
    }
}
