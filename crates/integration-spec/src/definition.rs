//! Loading and validating a definition: YAML files in, a checked [`Definition`] out.
//!
//! Every error names the file and line it comes from: syntax errors and unknown keys come
//! from the YAML reader, semantic ones (a tag nobody declared, a path parameter without a
//! schema, a tool name over 45 characters, ...) from the checks here, which keep the source
//! location of every value they may complain about.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use serde_saphyr::{MessageFormatter, Spanned};

use crate::catalog::Annotations;
use crate::connection::{
    Connection, CustomFieldSource, OAuth2Settings, Pagination, RateLimitHeaders,
    SUBDOMAIN_PATTERNS, VerifyRequest,
};
use crate::filter_expr::FilterLanguage;
use crate::format::{
    self, IntegrationFile, MethodDoc, NamedSchemaDoc, Noun, PaginationKind, ResourceFile,
};
use crate::naming::{self, MethodKind, NameParts, check_identifier};
use crate::plan::BodyEncoding;
use crate::rules::{Rule, apply_defaults};
use crate::schema::{
    self, Shared, convert, convert_properties, loc_error, property_at, refs_in, resolve,
};
use crate::views::{FieldOp, FieldRule, ResultShape, TextRule, View, Views, WriteKind};

/// A definition file that does not load: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    file: String,
    line: u64,
    column: u64,
    message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl LoadError {
    pub(crate) fn at(file: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }
    pub(crate) fn in_file(file: &str, message: impl Into<String>) -> Self {
        Self::at(file, 0, 0, message)
    }
    pub fn file(&self) -> &str {
        &self.file
    }
    /// 1-based; 0 when the error is about a whole file.
    pub fn line(&self) -> u64 {
        self.line
    }
    pub fn column(&self) -> u64 {
        self.column
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A loaded, validated integration definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) connection: Connection,
    pub(crate) tags: IndexMap<String, String>,
    pub(crate) schemas: IndexMap<String, Value>,
    pub(crate) schema_extras: IndexMap<String, SchemaExtras>,
    pub(crate) methods: Vec<Method>,
    pub(crate) views: Views,
    pub(crate) tasks: Vec<TaskDef>,
    pub(crate) filter_languages: IndexMap<String, Arc<FilterLanguage>>,
}

/// A task as loaded: its tool's facts, its arguments, and its compiled steps.
#[derive(Debug, Clone)]
pub(crate) struct TaskDef {
    pub name: String,
    pub title: String,
    pub description: String,
    pub method: String,
    pub tags: Vec<String>,
    pub annotations: Annotations,
    /// Argument name -> schema (with `$ref`s still to inline).
    pub arguments: IndexMap<String, Value>,
    pub required: Vec<String>,
    pub example: Option<Map<String, Value>>,
    pub offered_with: Option<String>,
    pub task: crate::tasks::Task,
}

/// Defaults and rules that hold wherever a shared schema is used.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaExtras {
    pub defaults: Map<String, Value>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub(crate) struct Method {
    pub resource: String,
    pub method: String,
    pub kind: MethodKind,
    pub http_method: String,
    pub path: String,
    pub path_params: Vec<String>,
    pub tool_name: String,
    pub tags: Vec<String>,
    pub paginated: bool,
    pub max_limit: u64,
    pub annotations: Annotations,
    pub body_encoding: BodyEncoding,
    pub result: ResultShape,
    /// The object's page in the web app (`/app/ticket/{id}`).
    pub link: Option<String>,
    /// Effects of every call, whatever its arguments (`replaces` for a replace-all PUT).
    pub effects: Vec<String>,
    /// An admin tool: it changes the helpdesk's set-up (its resource says `admin: true`) and
    /// does not only read.
    pub admin: bool,
    pub doc: Option<Doc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub title: String,
    /// The summary followed by the notes: what the model reads.
    pub description: String,
    pub path: IndexMap<String, Value>,
    pub query: IndexMap<String, Value>,
    /// Required arguments besides path parameters and what the body schema requires.
    pub required: Vec<String>,
    pub body: Option<Body>,
    pub defaults: Map<String, Value>,
    pub rules: Vec<Rule>,
    pub custom_fields: Vec<Binding>,
    pub example: Option<Map<String, Value>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// An object body whose properties become arguments (the schema may be a `$ref`).
    Object(Value),
    /// Any other body, carried whole by one argument.
    Wrapped { property: String, schema: Value },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    pub source: String,
    pub target: BindingTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BindingTarget {
    /// An array argument of `{id, value}` items.
    Array(String),
    /// An argument holding a field id, and optionally the one holding its value.
    Id { id: String, value: Option<String> },
}

const INTEGRATION_FILES: &[&str] = &["integration.yaml", "integration.yml"];
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
/// Argument names the planner adds to paginated tools.
pub(crate) const LIMIT_ARG: &str = "limit";
pub(crate) const CURSOR_ARG: &str = "next_cursor";

fn parse_yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, LoadError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        // YAML 1.1 booleans (`yes`, `on`) would turn enum values into booleans.
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let message = serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet());
        match e.location() {
            Some(loc) if loc.line() > 0 => LoadError::at(file, loc.line(), loc.column(), message),
            _ => LoadError::in_file(file, message),
        }
    })
}

fn basename(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

impl Definition {
    /// Loads a definition from `(file name, YAML text)` pairs. One file must be named
    /// `integration.yaml`; the others hold shared schemas and resources. Tools come out in the
    /// order of the file names, then of the resources and methods inside each file.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Definition, LoadError> {
        let mut integration = None;
        let mut others = Vec::new();
        for (name, text) in files {
            if INTEGRATION_FILES.contains(&basename(name)) {
                if let Some((first, _)) = integration {
                    return Err(LoadError::in_file(
                        name,
                        format!("a second integration file (the first is {first})"),
                    ));
                }
                integration = Some((*name, *text));
            } else {
                others.push((*name, *text));
            }
        }
        let Some((integration_file, integration_text)) = integration else {
            let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
            return Err(LoadError::in_file(
                names.first().copied().unwrap_or("(no files)"),
                format!("no integration.yaml among {}", names.join(", ")),
            ));
        };
        others.sort_by_key(|(n, _)| basename(n).to_owned());
        let head: IntegrationFile = parse_yaml(integration_file, integration_text)?;
        let mut resource_files = Vec::new();
        for (name, text) in &others {
            resource_files.push((*name, parse_yaml::<ResourceFile>(name, text)?));
        }
        Loader::default().load(integration_file, head, &resource_files)
    }

    /// Loads every `*.yaml` / `*.yml` file of a directory (error messages name them by path).
    pub fn load_dir(dir: &Path) -> Result<Definition, LoadError> {
        let shown = dir.display().to_string();
        let entries =
            std::fs::read_dir(dir).map_err(|e| LoadError::in_file(&shown, e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| LoadError::in_file(&shown, e.to_string()))?
                .path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| LoadError::in_file(&name, e.to_string()))?;
                files.push((name, text));
            }
        }
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Self::from_files(&borrowed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
    /// Declared tags with their descriptions.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// Methods that have no documentation record and therefore no tool, as tool names.
    pub fn undocumented(&self) -> Vec<&str> {
        self.methods
            .iter()
            .filter(|m| m.doc.is_none())
            .map(|m| m.tool_name.as_str())
            .collect()
    }
}

#[derive(Default)]
struct Loader {
    directories: Vec<String>,
    filter_languages: IndexMap<String, Arc<FilterLanguage>>,
    create_flags: Vec<String>,
    described: IndexMap<String, bool>,
    schemas: IndexMap<String, Value>,
    extras: IndexMap<String, SchemaExtras>,
}

impl Loader {
    fn load(
        mut self,
        head_file: &str,
        head: IntegrationFile,
        files: &[(&str, ResourceFile)],
    ) -> Result<Definition, LoadError> {
        check_identifier("integration name", &head.name.value, 32)
            .map_err(|m| loc_error(head_file, &head.name, m))?;
        let connection = connection(head_file, &head.connection)?;
        self.directories = connection
            .directories
            .iter()
            .map(|d| d.name.clone())
            .collect();
        self.create_flags = connection
            .directories
            .iter()
            .filter_map(|d| d.create_flag.clone())
            .collect();
        let mut tags = IndexMap::new();
        for (tag, description) in &head.tags {
            check_identifier("tag", tag, 40).map_err(|m| loc_error(head_file, description, m))?;
            tags.insert(tag.clone(), description.value.trim().to_owned());
        }

        self.filter_languages = load_filter_languages(files)?;

        // Shared schemas first: every file may refer to any of them.
        let mut shared_docs: Vec<(&str, &String, &Spanned<NamedSchemaDoc>)> = Vec::new();
        let mut origin: HashMap<&str, &str> = HashMap::new();
        let all_schemas = std::iter::once((head_file, &head.schemas))
            .chain(files.iter().map(|(f, r)| (*f, &r.schemas)));
        for (file, schemas) in all_schemas {
            for (name, doc) in schemas {
                check_identifier("schema name", name, 64).map_err(|m| loc_error(file, doc, m))?;
                if let Some(first) = origin.insert(name, file) {
                    return Err(loc_error(
                        file,
                        doc,
                        format!("schema `{name}` is also defined in {first}"),
                    ));
                }
                self.described
                    .insert(name.clone(), doc.value.schema.value.description.is_some());
                shared_docs.push((file, name, doc));
            }
        }
        for (file, name, doc) in &shared_docs {
            let shared = Shared {
                described: &self.described,
                directories: &self.directories,
                filter_languages: &self.filter_languages,
            };
            let what = format!("schema `{name}`");
            let value = convert(file, &doc.value.schema, &shared, &what)?;
            if value.get("description").is_none() {
                return Err(loc_error(
                    file,
                    &doc.value.schema,
                    format!("{what} needs a `description`"),
                ));
            }
            self.schemas.insert((*name).clone(), value);
        }
        self.check_cycles(&shared_docs)?;
        for (file, name, doc) in &shared_docs {
            let schema = self.schemas[name.as_str()].clone();
            let defaults = self.defaults(file, &doc.value.defaults, &schema)?;
            let rules = self.rules(file, &doc.value.rules, &schema)?;
            // Shown to the model as `default`, applied by the planner.
            for (key, value) in &defaults {
                if let Some(Value::Object(prop)) = self.schemas[name.as_str()]
                    .get_mut("properties")
                    .and_then(|p| p.get_mut(key))
                {
                    prop.insert("default".into(), value.clone());
                }
            }
            self.extras
                .insert((*name).clone(), SchemaExtras { defaults, rules });
        }

        let views = load_views(files)?;

        let mut methods = Vec::new();
        let mut resources_seen: HashMap<String, String> = HashMap::new();
        let mut tools_seen: HashMap<String, String> = HashMap::new();
        for (file, content) in files {
            for resource in &content.resources {
                let r = &resource.value;
                for n in [&r.name, &r.plural] {
                    check_identifier("resource name", &n.value, 40)
                        .map_err(|m| loc_error(file, n, m))?;
                }
                if let Some(first) = resources_seen.insert(r.name.value.clone(), (*file).to_owned())
                {
                    return Err(loc_error(
                        file,
                        &r.name,
                        format!("resource `{}` is also defined in {first}", r.name.value),
                    ));
                }
                let resource_tags = check_tags(file, &r.tags, &tags)?;
                for name in [&r.view, &r.list_view].into_iter().flatten() {
                    check_view(file, name, &views)?;
                }
                let mut kinds_seen = HashSet::new();
                for method in &r.methods {
                    let m = self.method(
                        file,
                        &head.name.value,
                        r,
                        &resource_tags,
                        method,
                        &tags,
                        &connection,
                        &views,
                    )?;
                    if m.kind != MethodKind::Custom && !kinds_seen.insert(m.kind) {
                        return Err(loc_error(
                            file,
                            &method.value.method,
                            format!("resource `{}` has two `{}` methods", r.name.value, m.method),
                        ));
                    }
                    let here = format!("{file}:{}", method.referenced.line());
                    if let Some(first) = tools_seen.insert(m.tool_name.clone(), here) {
                        return Err(loc_error(
                            file,
                            &method.value.method,
                            format!("tool name `{}` is also produced at {first}", m.tool_name),
                        ));
                    }
                    methods.push(m);
                }
            }
        }
        let tasks = self.tasks(files, &head.name.value, &tags, &methods, &mut tools_seen)?;
        Ok(Definition {
            tasks,
            name: head.name.value,
            title: head.title.trim().to_owned(),
            description: head.description.trim().to_owned(),
            connection,
            tags,
            schemas: self.schemas,
            schema_extras: self.extras,
            methods,
            views,
            filter_languages: self.filter_languages,
        })
    }

    /// Every file's `tasks:`, checked: names like any tool's, steps calling documented API
    /// tools, templates that read only declared arguments and earlier steps, a read task that
    /// only reads.
    fn tasks(
        &self,
        files: &[(&str, ResourceFile)],
        integration: &str,
        declared_tags: &IndexMap<String, String>,
        methods: &[Method],
        tools_seen: &mut HashMap<String, String>,
    ) -> Result<Vec<TaskDef>, LoadError> {
        use crate::tasks::{Expr, Task, TaskStep};
        let shared = Shared {
            described: &self.described,
            directories: &self.directories,
            filter_languages: &self.filter_languages,
        };
        let mut out = Vec::new();
        for (file, content) in files {
            for spanned in &content.tasks {
                let t = &spanned.value;
                let name = &t.name.value;
                check_identifier("tool name", name, naming::MAX_TOOL_NAME)
                    .map_err(|m| loc_error(file, &t.name, m))?;
                if let Some(group) = &t.offered_with {
                    check_identifier("group", &group.value, 40)
                        .map_err(|m| loc_error(file, group, m))?;
                } else if !name.contains(&format!("_{integration}_")) {
                    return Err(loc_error(
                        file,
                        &t.name,
                        format!(
                            "a task's name says its integration, like any tool's (`…_{integration}_…`)"
                        ),
                    ));
                }
                let here = format!("{file}:{}", t.name.referenced.line());
                if let Some(first) = tools_seen.insert(name.clone(), here) {
                    return Err(loc_error(
                        file,
                        &t.name,
                        format!("tool name `{name}` is also produced at {first}"),
                    ));
                }
                check_identifier("method name", &t.method.value, 40)
                    .map_err(|m| loc_error(file, &t.method, m))?;
                let read = match t.class.value.as_str() {
                    "read" => true,
                    "write" => false,
                    other => {
                        return Err(loc_error(
                            file,
                            &t.class,
                            format!("class `{other}`: a task is `read` or `write`"),
                        ));
                    }
                };
                let mut tags = check_tags(file, &t.tags, declared_tags)?;
                tags.sort();
                tags.dedup();
                let doc = &t.doc.value;
                let summary = doc.description.value.trim().to_owned();
                if summary.is_empty()
                    || !summary.ends_with('.')
                    || summary.contains('\n')
                    || summary.len() > 300
                {
                    return Err(loc_error(
                        file,
                        &doc.description,
                        "`description` must be one sentence (one line, at most 300 characters, ending with a period)",
                    ));
                }
                let description = match &doc.notes {
                    Some(notes) => format!(
                        "{summary} {}",
                        notes.split_whitespace().collect::<Vec<_>>().join(" ")
                    ),
                    None => summary,
                };
                let arguments: IndexMap<String, Value> =
                    convert_properties(file, &doc.arguments, &shared)?
                        .into_iter()
                        .collect();
                let mut required = Vec::new();
                for r in &doc.required {
                    if !arguments.contains_key(&r.value) {
                        return Err(loc_error(
                            file,
                            r,
                            format!("`required` names `{}`, which is not an argument", r.value),
                        ));
                    }
                    required.push(r.value.clone());
                }
                let example = match &doc.example {
                    None => None,
                    Some(ex) => match &ex.value {
                        Value::Object(m) => Some(m.clone()),
                        _ => {
                            return Err(loc_error(
                                file,
                                ex,
                                "`example` must be an object of arguments",
                            ));
                        }
                    },
                };

                let mut steps = Vec::new();
                let mut annotations = Annotations {
                    read_only: true,
                    destructive: false,
                    idempotent: true,
                    open_world: false,
                };
                for step in &t.steps {
                    let s = &step.value;
                    check_identifier("step id", &s.id, 40).map_err(|m| loc_error(file, step, m))?;
                    if steps.iter().any(|x: &TaskStep| x.id == s.id) {
                        return Err(loc_error(
                            file,
                            step,
                            format!("step `{}` is declared twice", s.id),
                        ));
                    }
                    let Some(method) = methods
                        .iter()
                        .find(|m| m.tool_name == s.call && m.doc.is_some())
                    else {
                        return Err(loc_error(
                            file,
                            step,
                            format!(
                                "step `{}` calls `{}`, which is not an API tool",
                                s.id, s.call
                            ),
                        ));
                    };
                    annotations.read_only &= method.annotations.read_only;
                    annotations.destructive |= method.annotations.destructive;
                    annotations.idempotent &= method.annotations.idempotent;
                    annotations.open_world |= method.annotations.open_world;
                    let parse = |v: &Value, what: &str| {
                        Expr::parse(v).map_err(|m| {
                            loc_error(file, step, format!("step `{}` {what}: {m}", s.id))
                        })
                    };
                    let with = parse(s.with.as_ref().unwrap_or(&json!({})), "`with`")?;
                    let when = s.when.as_ref().map(|w| parse(w, "`when`")).transpose()?;
                    for e in std::iter::once(&with).chain(when.as_ref()) {
                        self.check_reads(file, step, e, &arguments, &steps)?;
                    }
                    steps.push(TaskStep {
                        id: s.id.clone(),
                        call: s.call.clone(),
                        with,
                        when,
                        optional: s.optional,
                    });
                }
                if steps.is_empty() {
                    return Err(loc_error(file, spanned, "a task needs at least one step"));
                }
                let result = Expr::parse(&t.result.value)
                    .map_err(|m| loc_error(file, &t.result, format!("`result`: {m}")))?;
                self.check_reads(file, &t.result, &result, &arguments, &steps)?;
                if read && !annotations.read_only {
                    return Err(loc_error(
                        file,
                        &t.class,
                        "a `read` task calls a tool that writes",
                    ));
                }
                if !read {
                    annotations.read_only = false;
                }
                let a = &t.annotations;
                annotations.read_only = a.read_only.unwrap_or(annotations.read_only);
                annotations.destructive = a.destructive.unwrap_or(annotations.destructive);
                annotations.idempotent = a.idempotent.unwrap_or(annotations.idempotent);
                annotations.open_world = a.open_world.unwrap_or(annotations.open_world);
                out.push(TaskDef {
                    name: name.clone(),
                    title: t.title.trim().to_owned(),
                    description,
                    method: t.method.value.clone(),
                    tags,
                    annotations,
                    arguments,
                    required,
                    example,
                    offered_with: t.offered_with.as_ref().map(|g| g.value.clone()),
                    task: Task { steps, result },
                });
            }
        }
        Ok(out)
    }

    /// A template reads declared arguments and steps that ran before it.
    fn check_reads<T>(
        &self,
        file: &str,
        at: &Spanned<T>,
        expr: &crate::tasks::Expr,
        arguments: &IndexMap<String, Value>,
        earlier: &[crate::tasks::TaskStep],
    ) -> Result<(), LoadError> {
        let (mut args, mut steps) = (Vec::new(), Vec::new());
        expr.reads(&mut args, &mut steps);
        // A directory's create flag is an argument the catalog adds to tools that name its
        // entries.
        let flags = self.create_flags.iter();
        for a in args {
            if !arguments.contains_key(&a) && !flags.clone().any(|f| *f == a) {
                return Err(loc_error(
                    file,
                    at,
                    format!("`${a}` is not an argument of the task"),
                ));
            }
        }
        for s in steps {
            if !earlier.iter().any(|e| e.id == s) {
                return Err(loc_error(
                    file,
                    at,
                    format!("`@{s}` is not an earlier step"),
                ));
            }
        }
        Ok(())
    }

    fn check_cycles(
        &self,
        docs: &[(&str, &String, &Spanned<NamedSchemaDoc>)],
    ) -> Result<(), LoadError> {
        fn visit<'a>(
            name: &'a str,
            schemas: &'a IndexMap<String, Value>,
            stack: &mut Vec<&'a str>,
            done: &mut HashSet<&'a str>,
        ) -> Result<(), Vec<String>> {
            if done.contains(name) {
                return Ok(());
            }
            if stack.contains(&name) {
                let mut cycle: Vec<String> = stack.iter().map(|s| (*s).to_owned()).collect();
                cycle.push(name.to_owned());
                return Err(cycle);
            }
            stack.push(name);
            let mut refs = Vec::new();
            refs_in(&schemas[name], &mut refs);
            for r in refs {
                let (key, _) = schemas
                    .get_key_value(r.as_str())
                    .expect("refs were checked");
                visit(key, schemas, stack, done)?;
            }
            stack.pop();
            done.insert(name);
            Ok(())
        }
        let mut done = HashSet::new();
        for (file, name, doc) in docs {
            visit(name, &self.schemas, &mut Vec::new(), &mut done).map_err(|cycle| {
                loc_error(
                    file,
                    *doc,
                    format!(
                        "schemas refer to each other in a cycle: {}",
                        cycle.join(" -> ")
                    ),
                )
            })?;
        }
        Ok(())
    }

    fn defaults(
        &self,
        file: &str,
        defaults: &IndexMap<String, Spanned<Value>>,
        schema: &Value,
    ) -> Result<Map<String, Value>, LoadError> {
        let mut out = Map::new();
        for (key, value) in defaults {
            let Some(prop) = property_at(schema, &[key.as_str()], &self.schemas) else {
                return Err(loc_error(
                    file,
                    value,
                    format!("default for `{key}`, which is not an argument"),
                ));
            };
            if let Some(allowed) = prop.get("enum").and_then(Value::as_array)
                && !allowed.contains(&value.value)
            {
                return Err(loc_error(
                    file,
                    value,
                    format!("default {} for `{key}` is not in its enum", value.value),
                ));
            }
            out.insert(key.clone(), value.value.clone());
        }
        Ok(out)
    }

    fn rules(
        &self,
        file: &str,
        rules: &[Spanned<format::RuleDoc>],
        schema: &Value,
    ) -> Result<Vec<Rule>, LoadError> {
        let mut out = Vec::new();
        for spanned in rules {
            let doc = &spanned.value;
            let rule = Rule::parse(&doc.when, &doc.require, &doc.require_any, &doc.message)
                .map_err(|m| loc_error(file, spanned, format!("rule: {m}")))?;
            for clause in rule.clauses() {
                let path: Vec<&str> = clause.path.iter().map(String::as_str).collect();
                let Some(prop) = property_at(schema, &path, &self.schemas) else {
                    return Err(loc_error(
                        file,
                        spanned,
                        format!("rule: `{}` is not an argument", path.join(".")),
                    ));
                };
                if let Some(allowed) = prop.get("enum").and_then(Value::as_array) {
                    for literal in clause.cond.literals() {
                        if !allowed.contains(literal) {
                            return Err(loc_error(
                                file,
                                spanned,
                                format!("rule: {literal} is not a value of `{}`", path.join(".")),
                            ));
                        }
                    }
                }
            }
            out.push(rule);
        }
        Ok(out)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; a struct would only rename them"
    )]
    fn method(
        &self,
        file: &str,
        integration: &str,
        resource: &format::ResourceDoc,
        resource_tags: &[String],
        spanned: &Spanned<MethodDoc>,
        declared_tags: &IndexMap<String, String>,
        connection: &Connection,
        views: &Views,
    ) -> Result<Method, LoadError> {
        let doc = &spanned.value;
        let name = &doc.method.value;
        check_identifier("method name", name, 40).map_err(|m| loc_error(file, &doc.method, m))?;
        let kind = MethodKind::of(name);
        let (http_method, path, path_params) =
            parse_http(&doc.http.value).map_err(|m| loc_error(file, &doc.http, m))?;
        let expected_verbs: &[&str] = match kind {
            MethodKind::List | MethodKind::Get => &["GET"],
            MethodKind::Create => &["POST"],
            MethodKind::Update => &["PUT", "PATCH"],
            MethodKind::Delete => &["DELETE"],
            MethodKind::Custom | MethodKind::Task => HTTP_METHODS,
        };
        if !expected_verbs.contains(&http_method.as_str()) {
            return Err(loc_error(
                file,
                &doc.http,
                format!(
                    "a `{name}` method must use {}; make it a custom method otherwise",
                    expected_verbs.join(" or ")
                ),
            ));
        }
        if doc.noun.is_some() && kind != MethodKind::Custom {
            return Err(loc_error(
                file,
                &doc.method,
                "`noun` only applies to custom methods",
            ));
        }
        let tool_name = naming::tool_name(&NameParts {
            integration,
            method: name,
            resource: &resource.name.value,
            plural: &resource.plural.value,
            plural_noun: doc.noun != Some(Noun::Singular),
            by_id: !path_params.is_empty(),
        });
        check_identifier("tool name", &tool_name, naming::MAX_TOOL_NAME)
            .map_err(|m| loc_error(file, &doc.method, m))?;

        let mut tags: Vec<String> = resource_tags.to_vec();
        tags.extend(check_tags(file, &doc.tags, declared_tags)?);
        tags.sort();
        tags.dedup();

        let paginated = match doc.pagination {
            Some(PaginationKind::Cursor) => true,
            Some(PaginationKind::None) => false,
            None => kind == MethodKind::List,
        };
        if doc.max_limit.is_some() && !paginated {
            return Err(loc_error(
                file,
                &doc.method,
                "`max_limit` needs `pagination: cursor`",
            ));
        }
        let max_limit = doc.max_limit.unwrap_or(connection.pagination.max_limit);

        let mut annotations = Annotations::default_for(kind, &http_method);
        let a = &doc.annotations;
        annotations.read_only = a.read_only.unwrap_or(annotations.read_only);
        annotations.destructive = a.destructive.unwrap_or(annotations.destructive);
        annotations.idempotent = a.idempotent.unwrap_or(annotations.idempotent);
        annotations.open_world = a.open_world.unwrap_or(annotations.open_world);

        let record = match &doc.doc {
            None => None,
            Some(record) => Some(self.doc_record(
                file,
                record,
                &DocContext {
                    method: name,
                    resource: &resource.name.value,
                    plural: &resource.plural.value,
                    http_method: &http_method,
                    path_params: &path_params,
                    paginated,
                    connection,
                },
            )?),
        };
        let result = result_shape(file, doc, resource, kind, paginated, &annotations, views)?;
        for effect in &doc.effects {
            schema::check_effect(file, effect, "method")?;
        }
        Ok(Method {
            effects: doc.effects.iter().map(|e| e.value.clone()).collect(),
            admin: resource.admin && !annotations.read_only,
            result,
            link: resource.link.as_ref().map(|l| l.value.clone()),
            resource: resource.name.value.clone(),
            method: name.clone(),
            kind,
            http_method,
            path,
            path_params,
            tool_name,
            tags,
            paginated,
            max_limit,
            annotations,
            body_encoding: doc.body_encoding.unwrap_or_default(),
            doc: record,
        })
    }

    fn doc_record(
        &self,
        file: &str,
        spanned: &Spanned<format::DocRecord>,
        cx: &DocContext<'_>,
    ) -> Result<Doc, LoadError> {
        let doc = &spanned.value;
        let shared = Shared {
            described: &self.described,
            directories: &self.directories,
            filter_languages: &self.filter_languages,
        };
        let summary = doc.description.value.trim().to_owned();
        if summary.is_empty()
            || !summary.ends_with('.')
            || summary.contains('\n')
            || summary.len() > 300
        {
            return Err(loc_error(
                file,
                &doc.description,
                "`description` must be one sentence (one line, at most 300 characters, ending with a period)",
            ));
        }
        let title = match (
            &doc.title,
            naming::default_title(cx.method, cx.resource, cx.plural),
        ) {
            (Some(t), _) => t.trim().to_owned(),
            (None, Some(t)) => t,
            (None, None) => {
                return Err(loc_error(
                    file,
                    spanned,
                    "a custom method's documentation needs a `title`",
                ));
            }
        };
        let description = match &doc.notes {
            Some(notes) => format!(
                "{summary} {}",
                notes.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
            None => summary.clone(),
        };

        // Path parameters: exactly those of the template, each with a schema.
        for param in cx.path_params {
            if !doc.path.contains_key(param) {
                return Err(loc_error(
                    file,
                    spanned,
                    format!("path parameter `{param}` has no schema under `path`"),
                ));
            }
        }
        for (name, schema) in &doc.path {
            if !cx.path_params.contains(name) {
                return Err(loc_error(
                    file,
                    schema,
                    format!("`path` declares `{name}`, which is not in the path template"),
                ));
            }
        }
        let path = convert_properties(file, &doc.path, &shared)?;
        for (name, schema) in &path {
            let kind = resolve(schema, &self.schemas).get("type").cloned();
            if !matches!(
                kind.as_ref().and_then(Value::as_str),
                Some("integer" | "string")
            ) {
                return Err(loc_error(
                    file,
                    &doc.path[name],
                    format!("path parameter `{name}` must be an integer or a string"),
                ));
            }
        }
        let query = convert_properties(file, &doc.query, &shared)?;
        let body = match &doc.body {
            None => {
                if let Some(p) = &doc.body_property {
                    return Err(loc_error(file, p, "`body_property` without a `body`"));
                }
                None
            }
            Some(body_doc) => {
                if cx.http_method == "GET" {
                    return Err(loc_error(file, body_doc, "a GET method cannot have a body"));
                }
                let schema = convert(file, body_doc, &shared, "body")?;
                let target = resolve(&schema, &self.schemas);
                let is_object = target.get("type").and_then(Value::as_str) == Some("object")
                    && target.get("properties").is_some();
                if is_object {
                    if let Some(p) = &doc.body_property {
                        return Err(loc_error(
                            file,
                            p,
                            "an object body is spread into arguments; `body_property` is for other bodies",
                        ));
                    }
                    Some(Body::Object(schema))
                } else {
                    let property = doc
                        .body_property
                        .as_ref()
                        .map_or("body".to_owned(), |p| p.value.clone());
                    naming::check_property_name(&property)
                        .map_err(|m| loc_error(file, body_doc, m))?;
                    schema::require_description(file, body_doc, &schema, &shared, "body")?;
                    Some(Body::Wrapped { property, schema })
                }
            }
        };

        // One flat argument object: names must not collide across path, query and body.
        let mut arguments = Map::new();
        let mut add = |name: &str, schema: &Value, origin: &str| -> Result<(), String> {
            if arguments.insert(name.to_owned(), schema.clone()).is_some() {
                return Err(format!(
                    "argument `{name}` ({origin}) is declared twice across path, query, body and pagination"
                ));
            }
            Ok(())
        };
        for (n, s) in &path {
            add(n, s, "path").map_err(|m| loc_error(file, spanned, m))?;
        }
        for (n, s) in &query {
            add(n, s, "query").map_err(|m| loc_error(file, spanned, m))?;
        }
        match &body {
            Some(Body::Object(schema)) => {
                let target = resolve(schema, &self.schemas);
                for (n, s) in target["properties"].as_object().expect("checked object") {
                    add(n, s, "body").map_err(|m| loc_error(file, spanned, m))?;
                }
            }
            Some(Body::Wrapped { property, schema }) => {
                add(property, schema, "body").map_err(|m| loc_error(file, spanned, m))?
            }
            None => {}
        }
        if cx.paginated {
            for n in [LIMIT_ARG, CURSOR_ARG] {
                add(n, &json!({"type": "string"}), "pagination")
                    .map_err(|m| loc_error(file, spanned, m))?;
            }
            let _ = &cx.connection.pagination;
        }
        let mut required = Vec::new();
        for r in &doc.required {
            let in_body =
                matches!(&body, Some(Body::Object(_))) && arguments.contains_key(&r.value);
            if !query.contains_key(&r.value) && !in_body {
                return Err(loc_error(
                    file,
                    r,
                    format!(
                        "`required` names `{}`, which is neither a query parameter nor a body property",
                        r.value
                    ),
                ));
            }
            required.push(r.value.clone());
        }
        let arguments = json!({"type": "object", "properties": arguments});

        let defaults = self.defaults(file, &doc.defaults, &arguments)?;
        let rules = self.rules(file, &doc.rules, &arguments)?;

        let mut custom_fields = Vec::new();
        for b in &doc.custom_fields {
            custom_fields.push(self.binding(file, b, &arguments, cx.connection)?);
        }

        let example = match &doc.example {
            None => None,
            Some(ex) => {
                let Value::Object(map) = &ex.value else {
                    return Err(loc_error(
                        file,
                        ex,
                        "`example` must be an object of arguments",
                    ));
                };
                for key in map.keys() {
                    if cx.path_params.contains(key) {
                        return Err(loc_error(
                            file,
                            ex,
                            format!(
                                "`example` holds path parameter `{key}`; ids come from the caller"
                            ),
                        ));
                    }
                    if arguments["properties"].get(key).is_none() {
                        return Err(loc_error(
                            file,
                            ex,
                            format!("`example` holds `{key}`, which is not an argument"),
                        ));
                    }
                }
                let mut map = Value::Object(map.clone());
                apply_defaults(&mut map, &defaults);
                match map {
                    Value::Object(m) => Some(m),
                    _ => unreachable!("an object stays an object"),
                }
            }
        };

        Ok(Doc {
            title,
            description,
            path: path.into_iter().collect(),
            query: query.into_iter().collect(),
            required,
            body,
            defaults,
            rules,
            custom_fields,
            example,
        })
    }

    fn binding(
        &self,
        file: &str,
        spanned: &Spanned<format::CustomFieldBindingDoc>,
        arguments: &Value,
        connection: &Connection,
    ) -> Result<Binding, LoadError> {
        let b = &spanned.value;
        if !connection
            .custom_fields
            .iter()
            .any(|s| s.resource == b.source.value)
        {
            let known: Vec<&str> = connection
                .custom_fields
                .iter()
                .map(|s| s.resource.as_str())
                .collect();
            return Err(loc_error(
                file,
                &b.source,
                format!(
                    "custom-field source `{}` is not declared in the connection; known: {}",
                    b.source.value,
                    known.join(", ")
                ),
            ));
        }
        let arg = |name: &str| property_at(arguments, &[name], &self.schemas);
        let target = match (&b.array, &b.id, &b.value) {
            (Some(array), None, None) => {
                if arg(array)
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str)
                    != Some("array")
                {
                    return Err(loc_error(
                        file,
                        spanned,
                        format!("`array: {array}` must name an array argument"),
                    ));
                }
                BindingTarget::Array(array.clone())
            }
            (None, Some(id), value) => {
                if arg(id).is_none() {
                    return Err(loc_error(
                        file,
                        spanned,
                        format!("`id: {id}` is not an argument"),
                    ));
                }
                if let Some(v) = value
                    && arg(v).is_none()
                {
                    return Err(loc_error(
                        file,
                        spanned,
                        format!("`value: {v}` is not an argument"),
                    ));
                }
                BindingTarget::Id {
                    id: id.clone(),
                    value: value.clone(),
                }
            }
            _ => {
                return Err(loc_error(
                    file,
                    spanned,
                    "a binding names either `array`, or `id` (and optionally `value`)",
                ));
            }
        };
        Ok(Binding {
            source: b.source.value.clone(),
            target,
        })
    }
}

/// The concise answer of a method: what the data says, else the default for its kind.
fn result_shape(
    file: &str,
    doc: &MethodDoc,
    resource: &format::ResourceDoc,
    kind: MethodKind,
    paginated: bool,
    annotations: &Annotations,
    views: &Views,
) -> Result<ResultShape, LoadError> {
    if let Some(result) = &doc.result {
        let shape = match &result.value {
            format::ResultDoc::Named(n) if n == "confirmation" => {
                ResultShape::Confirmation(write_kind(kind))
            }
            format::ResultDoc::Named(n) if n == "compact" => ResultShape::Compact,
            format::ResultDoc::Named(n) if n == "raw" => ResultShape::Raw,
            format::ResultDoc::Named(other) => {
                return Err(loc_error(
                    file,
                    result,
                    format!(
                        "unknown result `{other}`; use confirmation, compact, raw, {{view: name}} or {{list: name}}"
                    ),
                ));
            }
            format::ResultDoc::View { view } | format::ResultDoc::List { list: view }
                if views.get(view).is_none() =>
            {
                return Err(loc_error(
                    file,
                    result,
                    format!("result names view `{view}`, which is not defined"),
                ));
            }
            format::ResultDoc::View { view } => ResultShape::View(view.clone()),
            format::ResultDoc::List { list } => ResultShape::List(Some(list.clone())),
        };
        return Ok(shape);
    }
    // Reads of a resource without a view answer as the upstream does (and take no
    // `response_format`); writes always confirm briefly.
    let view = resource.view.as_ref().map(|v| v.value.clone());
    let list_view = resource.list_view.as_ref().map(|v| v.value.clone());
    Ok(match kind {
        MethodKind::List | MethodKind::Custom if paginated => list_view
            .or(view)
            .map_or(ResultShape::Raw, |v| ResultShape::List(Some(v))),
        MethodKind::Get | MethodKind::List => view.map_or(ResultShape::Raw, ResultShape::View),
        _ if annotations.read_only => ResultShape::Raw,
        other => ResultShape::Confirmation(write_kind(other)),
    })
}

fn write_kind(kind: MethodKind) -> WriteKind {
    match kind {
        MethodKind::Create => WriteKind::Create,
        MethodKind::Update => WriteKind::Update,
        MethodKind::Delete => WriteKind::Delete,
        _ => WriteKind::Other,
    }
}

fn check_view(file: &str, name: &Spanned<String>, views: &Views) -> Result<(), LoadError> {
    if views.get(&name.value).is_none() {
        let known: Vec<&str> = views.views.keys().map(String::as_str).collect();
        return Err(loc_error(
            file,
            name,
            format!(
                "view `{}` is not defined; defined: {}",
                name.value,
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every file's `filter_languages:`: names unique, operators and attributes well formed.
fn load_filter_languages(
    files: &[(&str, ResourceFile)],
) -> Result<IndexMap<String, Arc<FilterLanguage>>, LoadError> {
    let mut out: IndexMap<String, Arc<FilterLanguage>> = IndexMap::new();
    for (file, content) in files {
        for (name, doc) in &content.filter_languages {
            check_identifier("filter language name", name, 40)
                .map_err(|m| loc_error(file, doc, m))?;
            if out.contains_key(name) {
                return Err(loc_error(
                    file,
                    doc,
                    format!("filter language `{name}` is declared twice"),
                ));
            }
            let d = &doc.value;
            for (op, args) in &d.operators {
                if op.is_empty()
                    || !op.chars().all(|c| c.is_ascii_alphanumeric())
                    || args.is_empty()
                {
                    return Err(loc_error(
                        file,
                        doc,
                        format!(
                            "operator `{op}`: a name of letters and digits, and at least one argument"
                        ),
                    ));
                }
            }
            for path in d.attributes.keys() {
                let ok = path.split('.').all(|s| {
                    s == "*"
                        || (!s.is_empty()
                            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                });
                if !ok {
                    return Err(loc_error(
                        file,
                        doc,
                        format!(
                            "attribute `{path}`: dotted segments of letters, digits and _ (or *)"
                        ),
                    ));
                }
            }
            out.insert(
                name.clone(),
                Arc::new(FilterLanguage {
                    name: name.clone(),
                    summary: d.summary.trim().to_owned(),
                    operators: d
                        .operators
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    attributes: d
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                        .collect(),
                }),
            );
        }
    }
    Ok(out)
}

/// Every file's `views:`, compiled and checked: names unique, sub-views defined, no cycles,
/// exactly one operation per rule.
fn load_views(files: &[(&str, ResourceFile)]) -> Result<Views, LoadError> {
    let mut views = Views::default();
    let mut origin: HashMap<String, (String, u64, u64)> = HashMap::new();
    for (file, content) in files {
        for (name, doc) in &content.views {
            check_identifier("view name", name, 64).map_err(|m| loc_error(file, doc, m))?;
            if views.views.contains_key(name) {
                return Err(loc_error(
                    file,
                    doc,
                    format!("view `{name}` is defined twice"),
                ));
            }
            let mut fields = Vec::new();
            for field in &doc.value.fields {
                fields.push(field_rule(file, field)?);
            }
            origin.insert(
                name.clone(),
                (
                    (*file).to_owned(),
                    doc.referenced.line(),
                    doc.referenced.column(),
                ),
            );
            views.views.insert(
                name.clone(),
                View {
                    name: name.clone(),
                    fields,
                },
            );
        }
    }
    // Sub-views exist and never lead back to themselves.
    fn visit(name: &str, views: &Views, stack: &mut Vec<String>) -> Result<(), String> {
        if stack.iter().any(|s| s == name) {
            stack.push(name.to_owned());
            return Err(format!(
                "views refer to each other in a cycle: {}",
                stack.join(" -> ")
            ));
        }
        let Some(view) = views.get(name) else {
            return Err(format!("view `{name}` is not defined"));
        };
        stack.push(name.to_owned());
        for rule in &view.fields {
            if let FieldOp::View(inner) = &rule.op {
                visit(inner, views, stack)?;
            }
        }
        stack.pop();
        Ok(())
    }
    for name in views.views.keys() {
        visit(name, &views, &mut Vec::new()).map_err(|m| {
            let (file, line, column) = &origin[name];
            LoadError::at(file, *line, *column, m)
        })?;
    }
    Ok(views)
}

fn field_rule(file: &str, field: &Spanned<format::FieldDoc>) -> Result<FieldRule, LoadError> {
    let path = |p: &str| -> Vec<String> { p.split('.').map(str::to_owned).collect() };
    let rule = match &field.value {
        format::FieldDoc::Copy(key) => FieldRule {
            source: path(key),
            key: key.rsplit('.').next().unwrap_or(key).to_owned(),
            op: FieldOp::Copy,
        },
        format::FieldDoc::Rule(r) => {
            let ops = [
                r.pick.is_some(),
                r.pluck.is_some(),
                r.view.is_some(),
                r.text.is_some(),
                r.link.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if ops > 1 {
                return Err(loc_error(
                    file,
                    field,
                    "a view field takes at most one of pick, pluck, view, text, link",
                ));
            }
            let computed = r.text.is_some() || r.link.is_some();
            let key = match (&r.key, &r.field) {
                (Some(k), _) => k.clone(),
                (None, Some(f)) if !computed => f.rsplit('.').next().unwrap_or(f).to_owned(),
                _ => {
                    return Err(loc_error(
                        file,
                        field,
                        "a view field needs `key` (its output name) or `field` (its source)",
                    ));
                }
            };
            let source = match &r.field {
                Some(f) => path(f),
                None if computed => Vec::new(),
                None => path(&key),
            };
            let op = if let Some(keys) = &r.pick {
                FieldOp::Pick(keys.clone())
            } else if let Some(k) = &r.pluck {
                let keys = k.to_vec();
                if keys.is_empty() {
                    return Err(loc_error(file, field, "`pluck` names at least one key"));
                }
                FieldOp::Pluck(keys)
            } else if let Some(v) = &r.view {
                FieldOp::View(v.clone())
            } else if let Some(t) = &r.text {
                if t.from.is_empty() || t.max_chars == 0 {
                    return Err(loc_error(
                        file,
                        field,
                        "`text` needs `from` keys and a `max_chars` above 0",
                    ));
                }
                if t.untrusted_key.is_some() != t.staff.is_some() {
                    return Err(loc_error(
                        file,
                        field,
                        "`text`: `staff` and `untrusted_key` go together",
                    ));
                }
                if t.private_key.is_some() != t.public.is_some() {
                    return Err(loc_error(
                        file,
                        field,
                        "`text`: `public` and `private_key` go together",
                    ));
                }
                FieldOp::Text(TextRule {
                    sources: t.from.clone(),
                    max_chars: t.max_chars,
                    staff_flag: t.staff.clone(),
                    untrusted_key: t.untrusted_key.clone(),
                    public_flag: t.public.clone(),
                    private_key: t.private_key.clone(),
                    more: t.more.clone(),
                })
            } else if let Some(l) = &r.link {
                if !l.starts_with('/') {
                    return Err(loc_error(file, field, "`link` is a path starting with `/`"));
                }
                FieldOp::Link(l.clone())
            } else {
                FieldOp::Copy
            };
            FieldRule { source, key, op }
        }
    };
    Ok(rule)
}

struct DocContext<'a> {
    method: &'a str,
    resource: &'a str,
    plural: &'a str,
    http_method: &'a str,
    path_params: &'a [String],
    paginated: bool,
    connection: &'a Connection,
}

fn check_tags(
    file: &str,
    tags: &[Spanned<String>],
    declared: &IndexMap<String, String>,
) -> Result<Vec<String>, LoadError> {
    tags.iter()
        .map(|t| {
            if declared.contains_key(&t.value) {
                Ok(t.value.clone())
            } else {
                let known: Vec<&str> = declared.keys().map(String::as_str).collect();
                Err(loc_error(
                    file,
                    t,
                    format!(
                        "tag `{}` is not declared in integration.yaml; declared: {}",
                        t.value,
                        known.join(", ")
                    ),
                ))
            }
        })
        .collect()
}

/// `"GET /api/tickets/{id}"` -> ("GET", "/api/tickets/{id}", ["id"]). A parameter is a whole
/// segment, so a value can never change the shape of the path around it.
pub(crate) fn parse_http(http: &str) -> Result<(String, String, Vec<String>), String> {
    let (verb, path) = http
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("`http` reads `VERB /path`, got {http:?}"))?;
    if !HTTP_METHODS.contains(&verb) {
        return Err(format!(
            "unknown HTTP method `{verb}`; use one of {}",
            HTTP_METHODS.join(", ")
        ));
    }
    let path = path.trim();
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        return Err(format!(
            "the path {path:?} must start with `/` and hold no query, fragment or space"
        ));
    }
    let mut params = Vec::new();
    for segment in path.split('/').skip(1) {
        if segment.contains(['{', '}']) {
            let name = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .filter(|n| !n.contains(['{', '}']))
                .ok_or_else(|| format!("path segment {segment:?}: a parameter must be a whole segment like `{{id}}`"))?;
            check_identifier("path parameter", name, 40)?;
            if params.iter().any(|p| p == name) {
                return Err(format!("path parameter `{name}` appears twice"));
            }
            params.push(name.to_owned());
        }
    }
    Ok((verb.to_owned(), path.to_owned(), params))
}

fn connection(file: &str, doc: &format::ConnectionDoc) -> Result<Connection, LoadError> {
    let base = &doc.base_url;
    if !(base.value.starts_with("https://") || base.value.starts_with("http://"))
        || !base.value.contains("{subdomain}")
    {
        return Err(loc_error(
            file,
            base,
            "`base_url` must be an http(s) URL with a `{subdomain}` placeholder",
        ));
    }
    if base.value.ends_with('/') {
        return Err(loc_error(file, base, "`base_url` must not end with `/`"));
    }
    if !SUBDOMAIN_PATTERNS.contains(&doc.subdomain.value.as_str()) {
        return Err(loc_error(
            file,
            &doc.subdomain,
            format!(
                "unknown subdomain rule `{}`; known: {}",
                doc.subdomain.value,
                SUBDOMAIN_PATTERNS.join(", ")
            ),
        ));
    }
    if !HTTP_METHODS.contains(&doc.verify.method.value.as_str()) {
        return Err(loc_error(file, &doc.verify.method, "unknown HTTP method"));
    }
    for p in [
        &doc.verify.path,
        &doc.error_message_pointer,
        &doc.pagination.next_cursor_pointer,
        &doc.pagination.prev_cursor_pointer,
    ] {
        if !p.value.starts_with('/') {
            return Err(loc_error(file, p, "must start with `/`"));
        }
    }
    let mut custom_fields: Vec<CustomFieldSource> = Vec::new();
    for s in &doc.custom_fields {
        if custom_fields
            .iter()
            .any(|c| c.resource == s.value.resource.value)
        {
            return Err(loc_error(
                file,
                &s.value.resource,
                "custom-field source declared twice",
            ));
        }
        if !s.value.path.value.starts_with('/') {
            return Err(loc_error(file, &s.value.path, "must start with `/`"));
        }
        custom_fields.push(CustomFieldSource {
            resource: s.value.resource.value.clone(),
            path: s.value.path.value.clone(),
            query: s
                .value
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }
    let mut directories = Vec::new();
    for (name, d) in &doc.directories {
        check_identifier("directory name", name, 40).map_err(|m| loc_error(file, d, m))?;
        if !d.value.path.starts_with('/') {
            return Err(loc_error(
                file,
                d,
                "a directory's `path` must start with `/`",
            ));
        }
        if let Some(flag) = &d.value.create_flag {
            naming::check_property_name(flag).map_err(|m| loc_error(file, d, m))?;
        }
        directories.push(crate::names::DirectorySource {
            name: name.clone(),
            label: d.value.label.trim().to_owned(),
            path: d.value.path.clone(),
            also: d.value.also.clone(),
            create_flag: d.value.create_flag.clone(),
        });
    }
    let p = &doc.pagination;
    Ok(Connection {
        directories,
        base_url: base.value.clone(),
        subdomain_pattern: doc.subdomain.value.clone(),
        verify: VerifyRequest {
            method: doc.verify.method.value.clone(),
            path: doc.verify.path.value.clone(),
        },
        error_message_pointer: doc.error_message_pointer.value.clone(),
        rate_limit: RateLimitHeaders {
            usage_header: doc.rate_limit.usage_header.clone(),
            retry_after_header: doc.rate_limit.retry_after_header.clone(),
            window_seconds: doc.rate_limit.window_seconds,
        },
        pagination: Pagination {
            cursor_param: p.cursor_param.clone(),
            limit_param: p.limit_param.clone(),
            next_cursor_pointer: p.next_cursor_pointer.value.clone(),
            prev_cursor_pointer: p.prev_cursor_pointer.value.clone(),
            default_limit: p.default_limit,
            max_limit: p.max_limit,
        },
        oauth2: doc.oauth2.as_ref().map(|o| OAuth2Settings {
            authorize_url: o.authorize_url.clone(),
            token_url: o.token_url.clone(),
            revoke_url: o.revoke_url.clone(),
            scopes: o.scopes.clone(),
            pkce: o.pkce,
        }),
        custom_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_lines_parse_into_whole_segment_parameters() {
        let (verb, path, params) =
            parse_http("GET /api/tickets/{ticket_id}/messages/{id}").unwrap();
        assert_eq!(verb, "GET");
        assert_eq!(path, "/api/tickets/{ticket_id}/messages/{id}");
        assert_eq!(params, vec!["ticket_id", "id"]);
        assert!(
            parse_http("GET /api/x{id}")
                .unwrap_err()
                .contains("whole segment")
        );
        assert!(parse_http("FETCH /api").unwrap_err().contains("FETCH"));
        assert!(parse_http("GET /api?x=1").is_err());
        assert!(
            parse_http("GET /a/{id}/{id}")
                .unwrap_err()
                .contains("twice")
        );
    }
}
