//! Ranking tools for a plain-language request: what discovery mode's `search_tools` answers.
//!
//! BM25 (the `bm25` crate, with its English stemming and stop words) over one document per
//! tool: its name split into words, its title, its description and its tags. The name and
//! title say what the tool is for in the fewest words, so they count twice (repeating a field
//! is how BM25 weighs fields without a multi-field index). The query set that holds the
//! ranking to account is `crates/integration-spec/tests/discovery_queries.yaml`.
//!
//! Tags bring their one-line descriptions from the definition (where synonyms such as "canned
//! responses" for macros live, as data). Then the request's verbs say what kind of act is
//! wanted: a tool of that kind gains, a tool of another kind loses, so "look up a customer by
//! id" does not rank the delete tool first because it too takes an id.

use bm25::{Language, SearchEngine, SearchEngineBuilder};

use crate::catalog::Tool;
use crate::definition::Definition;
use crate::naming::MethodKind;

/// What a tool does, as a request's verbs can ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Read,
    Create,
    Update,
    Delete,
}

/// English verbs of support work, by the act they ask for. These are about the language of the
/// request, not about any integration, which is why they are code and not data.
const VERBS: &[(Act, &[&str])] = &[
    (
        Act::Read,
        &[
            "find",
            "show",
            "list",
            "which",
            "what",
            "who",
            "look",
            "get",
            "read",
            "search",
            "see",
            "check",
            "view",
            "many",
            "everything",
            "all",
            "history",
        ],
    ),
    (
        Act::Create,
        &[
            "create", "new", "add", "invite", "write", "make", "start", "upload", "attach",
            "leave", "draft", "send", "answer", "reply",
        ],
    ),
    (
        Act::Update,
        &[
            "change", "edit", "set", "rename", "update", "modify", "assign", "close", "mark",
            "move", "merge", "triage", "order", "reorder", "tag",
        ],
    ),
    (
        Act::Delete,
        &[
            "delete",
            "remove",
            "erase",
            "purge",
            "permanently",
            "cancel",
        ],
    ),
];

fn act_of(tool: &Tool) -> Act {
    let method = tool.method.as_str();
    if tool.annotations.read_only {
        Act::Read
    } else if ["delete", "remove", "bulk_delete"]
        .iter()
        .any(|m| method.starts_with(m))
    {
        Act::Delete
    } else if ["create", "add", "upload", "note", "reply"]
        .iter()
        .any(|m| method.starts_with(m))
    {
        Act::Create
    } else {
        Act::Update
    }
}

fn acts_asked(query: &str) -> Vec<Act> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    VERBS
        .iter()
        .filter(|(_, verbs)| words.iter().any(|w| verbs.contains(&w.as_str())))
        .map(|(act, _)| *act)
        .collect()
}

/// An index over a set of tools (a server's allowed tools), built once per set.
pub struct ToolIndex<'a> {
    tools: Vec<&'a Tool>,
    acts: Vec<Act>,
    engine: SearchEngine<usize>,
}

impl<'a> ToolIndex<'a> {
    pub fn new(definition: &Definition, tools: impl IntoIterator<Item = &'a Tool>) -> Self {
        let tools: Vec<&Tool> = tools.into_iter().collect();
        let tag_lines: std::collections::HashMap<&str, &str> = definition.tags().collect();
        let documents: Vec<bm25::Document<usize>> = tools
            .iter()
            .enumerate()
            .map(|(i, t)| bm25::Document::new(i, document(t, &tag_lines)))
            .collect();
        let engine =
            SearchEngineBuilder::<usize>::with_documents(Language::English, documents).build();
        let acts = tools.iter().map(|t| act_of(t)).collect();
        ToolIndex {
            tools,
            acts,
            engine,
        }
    }

    /// The tools that match `query`, best first; ties keep the catalog's order.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&'a Tool> {
        let asked = acts_asked(query);
        let specific = query.chars().any(|c| c.is_ascii_digit())
            || query.split(|c: char| !c.is_alphanumeric()).any(|w| {
                matches!(
                    w.to_lowercase().as_str(),
                    "id" | "this" | "one" | "whether" | "single"
                )
            });
        let mut results: Vec<(f32, usize)> = self
            .engine
            .search(query, self.tools.len())
            .into_iter()
            .map(|r| {
                let id = r.document.id;
                let tool = self.tools[id];
                let mut weight = match (asked.is_empty(), asked.contains(&self.acts[id])) {
                    (true, _) => 1.0,
                    (false, true) => 1.5,
                    (false, false) => 0.6,
                };
                // Task tools are the ones shaped for support work (one call where the API
                // needs several), so they lead when they match as well as an API tool.
                if tool.kind == MethodKind::Task {
                    weight *= 1.3;
                }
                // One object by id is what a request that names one wants; otherwise a list.
                if tool.kind == MethodKind::Get && !specific {
                    weight *= 0.8;
                }
                (r.score * weight, id)
            })
            .collect();
        results.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        results
            .into_iter()
            .take(limit)
            .map(|(_, id)| self.tools[id])
            .collect()
    }
}

fn document(tool: &Tool, tag_lines: &std::collections::HashMap<&str, &str>) -> String {
    let name = tool.name.replace('_', " ");
    let tags: Vec<String> = tool
        .tags
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t.replace('_', " "),
                tag_lines.get(t.as_str()).unwrap_or(&"")
            )
        })
        .collect();
    let tags = tags.join(" ");
    format!(
        "{name}. {title}. {title}. {description} {tags}",
        title = tool.title,
        description = tool.description,
    )
}
