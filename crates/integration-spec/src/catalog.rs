//! Tools derived from a definition: one per documented method, each with its input schema,
//! annotations, tags, compiled validator and request template. Built once; cheap to clone.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::custom_fields::{self, CustomFields};
use crate::definition::{Binding, Body, CURSOR_ARG, Definition, LIMIT_ARG, Method, SchemaExtras};
use crate::filter::ToolFilter;
use crate::filter_expr::FilterLanguage;
use crate::names::{self, Directory, DirectorySource, NameSlot, SlotKind};
use crate::naming::MethodKind;
use crate::plan::ArgumentError;
use crate::plan::BodyEncoding;
use crate::rules::Rule;
use crate::schema::ref_name;
use crate::schema::{
    EFFECT_KEYWORD, EFFECTS_KEYWORD, FILTER_LANGUAGE_KEYWORD, HIDDEN_KEYWORD, NAMES_KEYWORD,
};
use crate::tasks::Task;
use crate::views::{self, ResultShape, ShapeContext, Views};

/// The argument every tool with a concise answer takes: concise (the default) or detailed (the
/// upstream's answer exactly as sent).
pub(crate) const RESPONSE_FORMAT_ARG: &str = "response_format";

/// Which form of the answer a call asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    Concise,
    Detailed,
}

/// MCP tool annotations (hints for clients; ChatGPT asks for confirmation on anything that is not
/// read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Annotations {
    /// Defaults by method kind, and for custom methods by HTTP verb; the data may override each.
    pub(crate) fn default_for(kind: MethodKind, http_method: &str) -> Annotations {
        let read_only = matches!(kind, MethodKind::List | MethodKind::Get)
            || (kind == MethodKind::Custom && http_method == "GET");
        Annotations {
            read_only,
            destructive: kind == MethodKind::Delete
                || (kind == MethodKind::Custom && http_method == "DELETE"),
            idempotent: read_only || matches!(http_method, "PUT" | "DELETE"),
            open_world: false,
        }
    }

    /// The MCP form, saying only what is not the spec's default or what a client must not
    /// guess. A read states `readOnlyHint: true` (the spec reads the other two write hints only
    /// when it is false) and whether it reaches outside the helpdesk. A write states
    /// `destructiveHint` and `openWorldHint` both ways (the spec's defaults are the cautious
    /// true, but a client that ignores defaults must not read a missing one as false) and
    /// `idempotentHint` only when true (false is the default).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        if self.read_only {
            map.insert("readOnlyHint".into(), Value::Bool(true));
        } else {
            map.insert("destructiveHint".into(), Value::Bool(self.destructive));
            if self.idempotent {
                map.insert("idempotentHint".into(), Value::Bool(true));
            }
        }
        map.insert("openWorldHint".into(), Value::Bool(self.open_world));
        Value::Object(map)
    }
}

/// One step of the way from the arguments to an instance of a shared schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Each,
}

/// Where a shared schema with defaults or rules is used inside a tool's arguments.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub path: Vec<Step>,
    pub extras: Arc<SchemaExtras>,
}

#[derive(Debug, Clone)]
pub(crate) enum TemplateBody {
    None,
    /// Object body: these arguments go into it.
    Object(Vec<String>),
    /// The body is this argument's value.
    Wrapped(String),
}

impl Template {
    /// Whether an argument travels upstream (in the query or the body), as opposed to an id in
    /// the path or an argument deskgate itself consumes (`response_format`).
    pub(crate) fn sends(&self, argument: &str) -> bool {
        self.query.iter().any(|q| q == argument)
            || match &self.body {
                TemplateBody::None => false,
                TemplateBody::Object(names) => names.iter().any(|n| n == argument),
                TemplateBody::Wrapped(name) => name == argument,
            }
    }
}

/// Everything `plan` needs besides the schema.
#[derive(Debug)]
pub(crate) struct Template {
    pub resource: String,
    pub http_method: String,
    pub path: String,
    pub path_params: Vec<String>,
    pub query: Vec<String>,
    pub body: TemplateBody,
    pub body_encoding: BodyEncoding,
    /// `(cursor query param, limit query param)` when paginated.
    pub pagination: Option<(String, String)>,
    pub defaults: Map<String, Value>,
    pub rules: Vec<Rule>,
    pub instances: Vec<Instance>,
    pub bindings: Vec<Binding>,
    pub example: Option<Map<String, Value>>,
    /// The schema before any account's custom fields.
    pub base_schema: Arc<Map<String, Value>>,
    pub result: ResultShape,
    /// What of an answer the concise form reads (from `result` and `views`).
    pub answer_needs: crate::prune::Needs,
    pub link: Option<String>,
    pub views: Arc<Views>,
    /// Where the arguments may name a team, user or tag instead of giving its id.
    pub name_slots: Vec<NameSlot>,
    /// Where the arguments are written in a filter language.
    pub filter_slots: Vec<FilterSlot>,
    pub directories: Arc<Vec<DirectorySource>>,
}

pub(crate) struct ToolInner {
    pub validator: jsonschema::Validator,
    /// The schema the validator was compiled from: `Tool::input_schema` plus the keywords only
    /// a validator needs (see [`for_model`]).
    pub full_schema: Arc<Map<String, Value>>,
    pub template: Arc<Template>,
    /// This account's custom fields per binding source, when the schema was completed.
    pub fields: Option<Arc<CustomFields>>,
    /// A task tool's composition, and the API tools its steps call (what filters check).
    pub task: Option<Arc<Task>>,
    pub uses: Vec<UsedTool>,
}

/// An API tool a task calls, as filters see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsedTool {
    pub kind: MethodKind,
    pub method: String,
    pub read_only: bool,
}

/// One MCP tool.
#[derive(Clone)]
pub struct Tool {
    pub name: String,
    pub title: String,
    pub description: String,
    pub resource: String,
    pub method: String,
    pub kind: MethodKind,
    /// Sorted, deduplicated: the resource's tags and the method's.
    pub tags: Vec<String>,
    pub input_schema: Arc<Map<String, Value>>,
    pub annotations: Annotations,
    /// Offered only to servers that ask for this group (see [`ToolFilter::with_groups`]).
    pub offered_with: Option<String>,
    /// Changes the helpdesk's own set-up or runs bulk jobs: offered only to servers that ask
    /// for admin tools or name it (see [`ToolFilter::with_admin`]).
    pub admin: bool,
    /// What some call of it can do beyond its kind (`deletes`, `replaces`, `sends`), as the
    /// data marks it; its annotations admit every one.
    pub effects: Vec<String>,
    pub(crate) inner: Arc<ToolInner>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// The schema every call is validated against: [`Tool::input_schema`] plus what only a
    /// validator needs and what the model is not shown (hidden properties, descriptions that
    /// repeat a name).
    pub fn full_input_schema(&self) -> &Map<String, Value> {
        &self.inner.full_schema
    }

    /// Whether the tool returns one page of a cursor-paginated list (it then takes `limit` and
    /// `next_cursor`).
    pub fn is_list(&self) -> bool {
        self.inner.template.pagination.is_some()
    }

    /// The upstream HTTP method and path template, e.g. `("GET", "/api/tickets/{id}")`.
    pub fn endpoint(&self) -> (&str, &str) {
        (&self.inner.template.http_method, &self.inner.template.path)
    }

    /// The form of the answer the arguments ask for (concise unless they say otherwise, or the
    /// tool has no concise form).
    pub fn response_format(&self, arguments: &Map<String, Value>) -> ResponseFormat {
        match (
            &self.inner.template.result,
            arguments.get(RESPONSE_FORMAT_ARG).and_then(Value::as_str),
        ) {
            (ResultShape::Raw, _) | (_, Some("detailed")) => ResponseFormat::Detailed,
            _ => ResponseFormat::Concise,
        }
    }

    /// The directories (`teams`, `users`, `tags`) the arguments name something in: the caller
    /// fetches these before [`Tool::resolve_names`].
    pub fn named_directories(&self, arguments: &Map<String, Value>) -> Vec<String> {
        names::named_directories(&self.inner.template.name_slots, arguments)
    }

    /// Replaces the names in `arguments` by what the upstream takes (an id, or the name exactly
    /// as the account has it), or explains which name is unknown or ambiguous.
    pub fn resolve_names<'d>(
        &self,
        arguments: &mut Map<String, Value>,
        directories: &dyn Fn(&str) -> Option<&'d Directory>,
    ) -> Result<(), ArgumentError> {
        let template = &self.inner.template;
        names::resolve(
            &template.name_slots,
            &template.directories,
            arguments,
            directories,
        )
    }

    /// A task tool's composition (`None` for an API tool, which `plan` turns into one request).
    pub fn task(&self) -> Option<&Task> {
        self.inner.task.as_deref()
    }

    /// What this tool's concise answer is.
    pub fn result_shape(&self) -> &ResultShape {
        &self.inner.template.result
    }

    /// An upstream answer as JSON with only what [`Tool::concise`] reads of it (`None` when it
    /// is not JSON): the same concise answer as from the whole tree, for much less work.
    pub fn concise_answer(&self, body: &[u8]) -> Option<Value> {
        crate::prune::parse(body, &self.inner.template.answer_needs)
    }

    /// The concise form of an upstream answer to a call with `arguments` (`answer` is `None`
    /// when the upstream answered with an empty body).
    pub fn concise(
        &self,
        arguments: &Map<String, Value>,
        answer: Option<&Value>,
        cx: &ShapeContext<'_>,
    ) -> Value {
        let template = &self.inner.template;
        match (&template.result, answer) {
            (ResultShape::Confirmation(kind), _) => {
                let sent: Vec<&str> = arguments
                    .keys()
                    .map(String::as_str)
                    .filter(|k| template.sends(k))
                    .collect();
                let ids: Map<String, Value> = template
                    .path_params
                    .iter()
                    .filter_map(|p| arguments.get(p).map(|v| (p.clone(), v.clone())))
                    .collect();
                views::confirmation(*kind, answer, &sent, &ids, template.link.as_deref(), cx)
            }
            (_, None) => json!({"ok": true}),
            (ResultShape::View(name), Some(answer)) => template.views.apply(name, answer, cx),
            (ResultShape::List(view), Some(answer)) => {
                let items = answer.get("data").unwrap_or(answer);
                let items = match view {
                    Some(name) => template.views.apply(name, items, cx),
                    None => views::compact(items),
                };
                let mut out = Map::new();
                out.insert("data".into(), items);
                // Cursors are passed back as received: the page's meta is kept whole.
                if let Some(meta) = answer.get("meta") {
                    out.insert("meta".into(), meta.clone());
                }
                Value::Object(out)
            }
            (ResultShape::Compact | ResultShape::Raw | ResultShape::Task, Some(answer)) => {
                views::compact(answer)
            }
        }
    }

    /// The MCP `tools/list` entry.
    pub fn to_json(&self) -> Value {
        let mut annotations = self.annotations.to_json();
        // The title once, where every protocol revision has it (the top-level `title` of
        // 2025-06-18 would say it a second time).
        annotations["title"] = Value::String(self.title.clone());
        json!({
            "name": self.name,
            "description": self.description,
            "inputSchema": Value::Object((*self.input_schema).clone()),
            "annotations": annotations,
        })
    }
}

/// Why a catalog cannot be built from a (loaded) definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("tool `{tool}`: its input schema does not compile: {message}")]
    Schema { tool: String, message: String },
    #[error("tool `{tool}`: its example arguments are not valid: {message}")]
    Example { tool: String, message: String },
    #[error("tool `{tool}`: {message}")]
    Annotations { tool: String, message: String },
}

struct CatalogInner {
    integration: String,
    tools: Vec<Tool>,
    index: HashMap<String, usize>,
    undocumented: Vec<String>,
}

/// Every tool of a definition.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<CatalogInner>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("integration", &self.inner.integration)
            .field("tools", &self.inner.tools.len())
            .finish()
    }
}

pub(crate) fn compile(schema: &Map<String, Value>) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(schema.clone()))
        .map_err(|e| e.to_string())
}

impl Catalog {
    pub fn build(definition: &Definition) -> Result<Catalog, BuildError> {
        let extras: HashMap<&str, Arc<SchemaExtras>> = definition
            .schema_extras
            .iter()
            .filter(|(_, e)| !e.defaults.is_empty() || !e.rules.is_empty())
            .map(|(n, e)| (n.as_str(), Arc::new(e.clone())))
            .collect();
        let views = Arc::new(definition.views.clone());
        let mut tools = Vec::new();
        for method in &definition.methods {
            if method.doc.is_some() {
                tools.push(build_tool(definition, method, &extras, &views)?);
            }
        }
        for task in &definition.tasks {
            let task_tool = build_task(definition, task, &tools, &views)?;
            tools.push(task_tool);
        }
        for tool in &tools {
            let example = tool.example_arguments(&|_| None);
            let checked = match tool.task() {
                Some(_) => tool.validate(&example).map(|_| ()),
                None => tool.plan(&example).map(|_| ()),
            };
            checked.map_err(|e| BuildError::Example {
                tool: tool.name.clone(),
                message: e.to_string(),
            })?;
        }
        let undocumented = definition
            .undocumented()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Ok(Self::from_tools(
            definition.name().to_owned(),
            tools,
            undocumented,
        ))
    }

    fn from_tools(integration: String, tools: Vec<Tool>, undocumented: Vec<String>) -> Catalog {
        let index = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Catalog {
            inner: Arc::new(CatalogInner {
                integration,
                tools,
                index,
                undocumented,
            }),
        }
    }

    pub fn integration(&self) -> &str {
        &self.inner.integration
    }

    /// In definition order: files by name, then resources and methods as written.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.inner.index.get(name).map(|&i| &self.inner.tools[i])
    }

    /// Every tag some tool carries, sorted.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .inner
            .tools
            .iter()
            .flat_map(|t| t.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// Every method name some tool uses, sorted.
    pub fn methods(&self) -> Vec<&str> {
        let mut methods: Vec<&str> = self.inner.tools.iter().map(|t| t.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }

    /// The catalog with one account's custom fields written into the schemas (and validators)
    /// of the tools that take custom-field values. Tools without such arguments are shared.
    pub fn with_custom_fields(&self, fields: &CustomFields) -> Catalog {
        let fields = Arc::new(fields.clone());
        let tools = self
            .inner
            .tools
            .iter()
            .map(|tool| {
                let template = &tool.inner.template;
                if template.bindings.is_empty()
                    || !template
                        .bindings
                        .iter()
                        .any(|b| fields.has_source(&b.source))
                {
                    return tool.clone();
                }
                let mut schema = (*template.base_schema).clone();
                custom_fields::complete(&mut schema, &template.bindings, &fields);
                // The completed schema is generated from validated data; if it still failed to
                // compile, the base tool keeps working rather than losing the tool.
                let Ok(validator) = compile(&schema) else {
                    return tool.clone();
                };
                Tool {
                    input_schema: Arc::new(for_model(&schema)),
                    inner: Arc::new(ToolInner {
                        validator,
                        full_schema: Arc::new(schema),
                        template: template.clone(),
                        fields: Some(fields.clone()),
                        task: None,
                        uses: Vec::new(),
                    }),
                    ..tool.clone()
                }
            })
            .collect();
        Self::from_tools(
            self.inner.integration.clone(),
            tools,
            self.inner.undocumented.clone(),
        )
    }

    /// The MCP `tools/list` array for the tools that pass `filter`.
    pub fn tools_list_json(&self, filter: &ToolFilter) -> Value {
        Value::Array(
            self.inner
                .tools
                .iter()
                .filter(|t| filter.matches(t))
                .map(Tool::to_json)
                .collect(),
        )
    }

    pub fn summary(&self) -> Summary {
        let list = self.tools_list_json(&ToolFilter::all());
        let json = serde_json::to_string(&list).unwrap_or_default();
        let bytes = json.len();
        let mut tags: BTreeMap<String, usize> = BTreeMap::new();
        let mut methods: BTreeMap<String, usize> = BTreeMap::new();
        let mut schema_bytes = Vec::new();
        for t in self.tools() {
            for tag in &t.tags {
                *tags.entry(tag.clone()).or_default() += 1;
            }
            *methods.entry(t.method.clone()).or_default() += 1;
            let size = serde_json::to_vec(&t.to_json())
                .map(|v| v.len())
                .unwrap_or(0);
            schema_bytes.push((t.name.clone(), size));
        }
        schema_bytes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        schema_bytes.truncate(5);
        // What a server with no filters offers: everything but the admin tools.
        let default_list = serde_json::to_string(&self.tools_list_json(&ToolFilter::default()))
            .unwrap_or_default();
        Summary {
            integration: self.integration().to_owned(),
            tools: self.tools().len(),
            read_only_tools: self
                .tools()
                .iter()
                .filter(|t| t.annotations.read_only)
                .count(),
            tags: tags.into_iter().collect(),
            methods: methods.into_iter().collect(),
            tools_list_bytes: bytes,
            tokens: crate::tokens::count(&json),
            admin_tools: self.tools().iter().filter(|t| t.admin).count(),
            default_tools_list_tokens: crate::tokens::count(&default_list),
            largest_tools: schema_bytes,
            undocumented: self.inner.undocumented.clone(),
        }
    }
}

/// What `integrations check` prints.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub integration: String,
    pub tools: usize,
    pub read_only_tools: usize,
    /// Tag -> how many tools carry it.
    pub tags: Vec<(String, usize)>,
    /// Method -> how many tools use it.
    pub methods: Vec<(String, usize)>,
    /// Size of the whole `tools/list` array as compact JSON.
    pub tools_list_bytes: usize,
    /// The same array in o200k_base tokens.
    pub tokens: usize,
    /// Tools offered only to servers that ask for admin tools or name them.
    pub admin_tools: usize,
    /// The `tools/list` of a server with no filters (no admin tools), in o200k_base tokens.
    pub default_tools_list_tokens: usize,
    /// The five largest tools (their whole `tools/list` entry), in bytes.
    pub largest_tools: Vec<(String, usize)>,
    /// Methods without a documentation record (no tool).
    pub undocumented: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "integration {}: {} tools ({} read-only)",
            self.integration, self.tools, self.read_only_tools
        )?;
        writeln!(
            f,
            "tools/list: {} bytes, {} tokens (o200k_base); without the {} admin tools (a server with no filters): {} tokens",
            self.tools_list_bytes, self.tokens, self.admin_tools, self.default_tools_list_tokens
        )?;
        let join = |pairs: &[(String, usize)]| {
            pairs
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "tags: {}", join(&self.tags))?;
        writeln!(f, "methods: {}", join(&self.methods))?;
        writeln!(f, "largest tools:")?;
        for (name, bytes) in &self.largest_tools {
            writeln!(f, "  {name}: {bytes} bytes")?;
        }
        if self.undocumented.is_empty() {
            write!(f, "every method is documented")
        } else {
            write!(
                f,
                "methods without documentation (no tool): {}",
                self.undocumented.join(", ")
            )
        }
    }
}

fn build_tool(
    definition: &Definition,
    method: &Method,
    extras: &HashMap<&str, Arc<SchemaExtras>>,
    views: &Arc<Views>,
) -> Result<Tool, BuildError> {
    let doc = method
        .doc
        .as_ref()
        .expect("only documented methods get tools");
    let pagination = &definition.connection.pagination;
    let mut properties = Map::new();
    let mut required: Vec<String> = Vec::new();
    let mut instances = Vec::new();

    for (name, schema) in &doc.path {
        properties.insert(name.clone(), schema.clone());
        required.push(name.clone());
    }
    for (name, schema) in &doc.query {
        properties.insert(name.clone(), schema.clone());
    }
    required.extend(doc.required.iter().cloned());
    let body = match &doc.body {
        None => TemplateBody::None,
        Some(Body::Object(schema)) => {
            // The body's own shared schema (if it is one) applies to the arguments as a whole.
            let mut target = schema;
            while let Some(name) = ref_name(target) {
                if let Some(e) = extras.get(name) {
                    instances.push(Instance {
                        path: vec![],
                        extras: e.clone(),
                    });
                }
                target = &definition.schemas[name];
            }
            let mut names = Vec::new();
            for (name, prop) in target["properties"].as_object().expect("object body") {
                properties.insert(name.clone(), prop.clone());
                names.push(name.clone());
            }
            if let Some(req) = target.get("required").and_then(Value::as_array) {
                required.extend(req.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            TemplateBody::Object(names)
        }
        Some(Body::Wrapped { property, schema }) => {
            properties.insert(property.clone(), schema.clone());
            required.push(property.clone());
            TemplateBody::Wrapped(property.clone())
        }
    };
    if method.paginated {
        properties.insert(
            LIMIT_ARG.into(),
            json!({
                "type": "integer",
                "minimum": 1,
                "maximum": method.max_limit,
                "description": format!("Page size (default {}).", pagination.default_limit),
            }),
        );
        properties.insert(
            CURSOR_ARG.into(),
            json!({
                "type": "string",
                "description": "The last page's meta.next_cursor, unchanged.",
            }),
        );
    }
    if method.result != ResultShape::Raw {
        // Twelve tokens on every such tool; what the two values mean is said once, in the
        // server's instructions, rather than in a description repeated ninety times.
        properties.insert(
            RESPONSE_FORMAT_ARG.into(),
            json!({"enum": ["concise", "detailed"]}),
        );
    }
    // Data defaults show in the schema too, so the model knows what an omission means.
    for (name, value) in &doc.defaults {
        if let Some(Value::Object(prop)) = properties.get_mut(name) {
            prop.insert("default".into(), value.clone());
        }
    }
    for (name, prop) in &properties {
        collect_instances(
            prop,
            vec![Step::Key(name.clone())],
            definition,
            extras,
            &mut instances,
        );
    }

    let mut root = Map::new();
    root.insert("type".into(), json!("object"));
    root.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        let mut seen = std::collections::HashSet::new();
        required.retain(|r| seen.insert(r.clone()));
        root.insert("required".into(), json!(required));
    }
    root.insert("additionalProperties".into(), Value::Bool(false));
    let mut input_schema = inline_shared(&Value::Object(root), &definition.schemas);
    let mut slots = Slots::default();
    take_slots(
        &mut input_schema,
        Vec::new(),
        &definition.filter_languages,
        &mut slots,
    );
    let Slots {
        names: name_slots,
        filters: filter_slots,
    } = slots;
    let mut effects = method.effects.clone();
    take_effects(&mut input_schema, &mut effects);
    let effects = admitted(&method.tool_name, effects, &method.annotations)?;
    let Value::Object(mut input_schema) = input_schema else {
        unreachable!("the root is an object")
    };
    // A directory whose unknown names the upstream would create (tags) gets its flag, so that
    // creating one is a decision the call states.
    let directories = &definition.connection.directories;
    for source in directories {
        // A tool that only reads never creates anything: no flag for it.
        let named_as_such = !method.annotations.read_only
            && name_slots.iter().any(|s| {
                s.directory == source.name && matches!(s.kind, SlotKind::NameField | SlotKind::Text)
            });
        if let (true, Some(flag)) = (named_as_such, &source.create_flag) {
            input_schema["properties"][flag.as_str()] = json!({
                "type": "boolean",
                "description": format!("true to create {}s that do not exist yet; otherwise an unknown {} name is refused.", source.label, source.label),
            });
        }
    }
    let validator = compile(&input_schema).map_err(|message| BuildError::Schema {
        tool: method.tool_name.clone(),
        message,
    })?;
    let input_schema = Arc::new(input_schema);
    let template = Template {
        resource: method.resource.clone(),
        http_method: method.http_method.clone(),
        path: method.path.clone(),
        path_params: method.path_params.clone(),
        query: doc.query.keys().cloned().collect(),
        body,
        body_encoding: method.body_encoding,
        pagination: method.paginated.then(|| {
            (
                pagination.cursor_param.clone(),
                pagination.limit_param.clone(),
            )
        }),
        defaults: doc.defaults.clone(),
        rules: doc.rules.clone(),
        instances,
        bindings: doc.custom_fields.clone(),
        example: doc.example.clone(),
        base_schema: input_schema.clone(),
        result: method.result.clone(),
        answer_needs: views.needs(&method.result),
        link: method.link.clone(),
        views: views.clone(),
        name_slots,
        filter_slots,
        directories: Arc::new(directories.clone()),
    };
    Ok(Tool {
        name: method.tool_name.clone(),
        title: doc.title.clone(),
        description: doc.description.clone(),
        resource: method.resource.clone(),
        method: method.method.clone(),
        kind: method.kind,
        tags: method.tags.clone(),
        input_schema: Arc::new(for_model(&input_schema)),
        annotations: method.annotations,
        offered_with: None,
        admin: method.admin,
        effects,
        inner: Arc::new(ToolInner {
            validator,
            full_schema: input_schema,
            template: Arc::new(template),
            fields: None,
            task: None,
            uses: Vec::new(),
        }),
    })
}

/// A task's tool: its own schema (its arguments and `response_format`), validated like any
/// tool's, and its composition.
fn build_task(
    definition: &Definition,
    task: &crate::definition::TaskDef,
    api_tools: &[Tool],
    views: &Arc<Views>,
) -> Result<Tool, BuildError> {
    let mut properties: Map<String, Value> = task.arguments.clone().into_iter().collect();
    // A group's tools have the shape their client requires (ChatGPT's `search` and `fetch`
    // take one string and answer one form), so no second form.
    if task.offered_with.is_none() {
        properties.insert(
            RESPONSE_FORMAT_ARG.into(),
            json!({"enum": ["concise", "detailed"]}),
        );
    }
    let mut root = Map::new();
    root.insert("type".into(), json!("object"));
    root.insert("properties".into(), Value::Object(properties));
    if !task.required.is_empty() {
        root.insert("required".into(), json!(task.required));
    }
    root.insert("additionalProperties".into(), Value::Bool(false));
    let mut schema = inline_shared(&Value::Object(root), &definition.schemas);
    let mut slots = Slots::default();
    take_slots(
        &mut schema,
        Vec::new(),
        &definition.filter_languages,
        &mut slots,
    );
    let Slots {
        names: name_slots,
        filters: filter_slots,
    } = slots;
    let mut effects = Vec::new();
    take_effects(&mut schema, &mut effects);
    let effects = admitted(&task.name, effects, &task.annotations)?;
    let Value::Object(mut schema) = schema else {
        unreachable!("the root is an object")
    };
    let directories = &definition.connection.directories;
    for source in directories {
        let named_as_such = !task.annotations.read_only
            && name_slots.iter().any(|s| {
                s.directory == source.name && matches!(s.kind, SlotKind::NameField | SlotKind::Text)
            });
        if let (true, Some(flag)) = (named_as_such, &source.create_flag) {
            schema["properties"][flag.as_str()] = json!({
                "type": "boolean",
                "description": format!("true to create {}s that do not exist yet; otherwise an unknown {} name is refused.", source.label, source.label),
            });
        }
    }
    let validator = compile(&schema).map_err(|message| BuildError::Schema {
        tool: task.name.clone(),
        message,
    })?;
    let used: Vec<&Tool> = task
        .task
        .calls()
        .filter_map(|name| api_tools.iter().find(|t| t.name == name))
        .collect();
    // A task that changes the helpdesk's set-up is an admin tool like the API tool it calls.
    let admin = used.iter().any(|t| t.admin);
    let uses = used
        .into_iter()
        .map(|t| UsedTool {
            kind: t.kind,
            method: t.method.clone(),
            read_only: t.annotations.read_only,
        })
        .collect();
    let schema = Arc::new(schema);
    let template = Template {
        resource: task.name.clone(),
        http_method: String::new(),
        path: String::new(),
        path_params: Vec::new(),
        query: Vec::new(),
        body: TemplateBody::None,
        body_encoding: BodyEncoding::Json,
        pagination: None,
        defaults: Map::new(),
        rules: Vec::new(),
        instances: Vec::new(),
        bindings: Vec::new(),
        example: task.example.clone(),
        base_schema: schema.clone(),
        result: ResultShape::Task,
        answer_needs: crate::prune::Needs::All,
        link: None,
        views: views.clone(),
        name_slots,
        filter_slots,
        directories: Arc::new(directories.clone()),
    };
    Ok(Tool {
        name: task.name.clone(),
        title: task.title.clone(),
        description: task.description.clone(),
        resource: task.name.clone(),
        method: task.method.clone(),
        kind: MethodKind::Task,
        tags: task.tags.clone(),
        input_schema: Arc::new(for_model(&schema)),
        annotations: task.annotations,
        offered_with: task.offered_with.clone(),
        admin,
        effects,
        inner: Arc::new(ToolInner {
            validator,
            full_schema: schema,
            template: Arc::new(template),
            fields: None,
            task: Some(Arc::new(task.task.clone())),
            uses,
        }),
    })
}

/// Finds the shared schemas with defaults or rules below `schema`, with their instance paths.
fn collect_instances(
    schema: &Value,
    path: Vec<Step>,
    definition: &Definition,
    extras: &HashMap<&str, Arc<SchemaExtras>>,
    out: &mut Vec<Instance>,
) {
    if let Some(name) = ref_name(schema) {
        if let Some(e) = extras.get(name) {
            out.push(Instance {
                path: path.clone(),
                extras: e.clone(),
            });
        }
        if let Some(target) = definition.schemas.get(name) {
            collect_instances(target, path, definition, extras, out);
        }
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let mut p = path.clone();
            p.push(Step::Key(k.clone()));
            collect_instances(v, p, definition, extras, out);
        }
    }
    if let Some(items) = schema.get("items") {
        let mut p = path;
        p.push(Step::Each);
        collect_instances(items, p, definition, extras, out);
    }
}

/// Collects the `effect:`/`effects:` markers of an inlined schema, and removes them.
fn take_effects(schema: &mut Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(e)) = map.remove(EFFECT_KEYWORD) {
                out.push(e);
            }
            if let Some(Value::Object(per_value)) = map.remove(EFFECTS_KEYWORD) {
                out.extend(
                    per_value
                        .into_values()
                        .filter_map(|v| v.as_str().map(str::to_owned)),
                );
            }
            for (k, v) in map.iter_mut() {
                if !matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    take_effects(v, out);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| take_effects(v, out)),
        _ => {}
    }
}

/// The effects, sorted and unique, if the annotations admit every one: annotations that tell
/// the truth are what clients decide confirmations on (ChatGPT asks before anything that is
/// not read-only, and warns harder for destructive and open-world tools).
fn admitted(
    tool: &str,
    mut effects: Vec<String>,
    annotations: &Annotations,
) -> Result<Vec<String>, BuildError> {
    effects.sort();
    effects.dedup();
    for effect in &effects {
        let (ok, needs) = match effect.as_str() {
            "deletes" | "replaces" => (annotations.destructive, "destructive"),
            "sends" => (annotations.open_world, "open_world"),
            _ => (true, ""),
        };
        if !ok {
            return Err(BuildError::Annotations {
                tool: tool.to_owned(),
                message: format!(
                    "an argument of it {effect} (see its `effect` markers), so its annotations must say {needs}: true"
                ),
            });
        }
    }
    Ok(effects)
}

/// A string argument written in a filter language: checked against it before a call is sent.
#[derive(Debug, Clone)]
pub(crate) struct FilterSlot {
    pub path: Vec<Step>,
    pub language: Arc<FilterLanguage>,
}

/// The markers an inlined schema carries for deskgate rather than for the model.
#[derive(Default)]
struct Slots {
    names: Vec<NameSlot>,
    filters: Vec<FilterSlot>,
}

/// Collects the `names:` and `filter_language:` markers of an inlined schema, and removes them.
fn take_slots(
    schema: &mut Value,
    path: Vec<Step>,
    languages: &IndexMap<String, Arc<FilterLanguage>>,
    out: &mut Slots,
) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::String(language)) = map.remove(FILTER_LANGUAGE_KEYWORD)
        && let Some(language) = languages.get(&language)
    {
        out.filters.push(FilterSlot {
            path: path.clone(),
            language: language.clone(),
        });
    }
    if let Some(Value::String(directory)) = map.remove(NAMES_KEYWORD) {
        let has = |k: &str| map.get("properties").and_then(|p| p.get(k)).is_some();
        let integer = match map.get("type") {
            Some(Value::String(t)) => t == "integer",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
            _ => false,
        };
        let kind = if has("id") {
            SlotKind::Id
        } else if has("name") {
            SlotKind::NameField
        } else if integer {
            SlotKind::ScalarId
        } else {
            SlotKind::Text
        };
        out.names.push(NameSlot {
            path: path.clone(),
            directory,
            kind,
        });
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (k, v) in props.iter_mut() {
            let mut p = path.clone();
            p.push(Step::Key(k.clone()));
            take_slots(v, p, languages, out);
        }
    }
    if let Some(items) = map.get_mut("items") {
        let mut p = path.clone();
        p.push(Step::Each);
        take_slots(items, p, languages, out);
    }
    if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
        for a in alternatives {
            take_slots(a, path.clone(), languages, out);
        }
    }
}

/// Keywords a validator needs and a model does not: deskgate checks every call against the
/// full schema and names the broken limit in its error, so sending these would only spend the
/// model's context (they were 7 % of the full tools/list). Types, enums, consts, formats,
/// numeric ranges and defaults stay: they say what a valid value is.
const VALIDATOR_ONLY: &[&str] = &[
    "additionalProperties",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
];

/// The schema as `tools/list` shows it: the full schema without [`VALIDATOR_ONLY`] keywords,
/// without `hidden` properties, and without descriptions that only repeat their property's name
/// (`external_id: "External id."`, `ticket_id: "The ticket."`): 120 of them cost 650 tokens of
/// every full list and tell the model nothing its name does not.
pub(crate) fn for_model(schema: &Map<String, Value>) -> Map<String, Value> {
    fn strip(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let hidden: Vec<&str> = match map.get("properties") {
                    Some(Value::Object(props)) => props
                        .iter()
                        .filter(|(_, p)| p.get(HIDDEN_KEYWORD) == Some(&Value::Bool(true)))
                        .map(|(n, _)| n.as_str())
                        .collect(),
                    _ => Vec::new(),
                };
                Value::Object(
                    map.iter()
                        .filter(|(k, v)| {
                            (!VALIDATOR_ONLY.contains(&k.as_str()) || v.is_object())
                                && k.as_str() != HIDDEN_KEYWORD
                        })
                        .map(|(k, v)| match (k.as_str(), v) {
                            // `properties` maps names to schemas: a property may be called
                            // `pattern`.
                            ("properties", Value::Object(props)) => {
                                let props = props
                                    .iter()
                                    .filter(|(n, _)| !hidden.contains(&n.as_str()))
                                    .map(|(n, p)| (n.clone(), strip_property(n, p)))
                                    .collect();
                                (k.clone(), Value::Object(props))
                            }
                            ("required", Value::Array(names)) => {
                                let names = names
                                    .iter()
                                    .filter(|n| !n.as_str().is_some_and(|n| hidden.contains(&n)))
                                    .cloned()
                                    .collect();
                                (k.clone(), Value::Array(names))
                            }
                            _ => (k.clone(), strip(v)),
                        })
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    fn strip_property(name: &str, schema: &Value) -> Value {
        let mut out = strip(schema);
        if let Value::Object(map) = &mut out
            && map
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| only_repeats_name(name, d))
        {
            map.remove("description");
        }
        out
    }
    match strip(&Value::Object(schema.clone())) {
        Value::Object(map) => map,
        _ => unreachable!("an object stays an object"),
    }
}

/// Whether a property's description says nothing but its name: every word of it is a word of
/// the name or filler (`the`, `its`, `flag`, `id`).
fn only_repeats_name(name: &str, description: &str) -> bool {
    const FILLER: &[&str] = &["the", "a", "an", "its", "flag", "id", "ids"];
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let name_words = words(name);
    let said = words(description);
    !said.is_empty()
        && said
            .iter()
            .all(|w| FILLER.contains(&w.as_str()) || name_words.contains(w))
}

/// Every shared schema is written out where it is used: a tool's input schema holds no `$ref`
/// and no `$defs`. Some clients rewrite schemas and drop both (Claude Desktop's local
/// connectors, anthropics/claude-ai-mcp#591), which would leave a message's `sender` or an
/// email's `source.from` with no shape at all.
fn inline_shared(schema: &Value, shared: &IndexMap<String, Value>) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(name) = ref_name(schema)
                && let Some(target) = shared.get(name)
            {
                let mut inlined = inline_shared(target, shared);
                // The place of use may say more (its own description, a default).
                if let Value::Object(m) = &mut inlined {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        m.insert(k.clone(), v.clone());
                    }
                }
                return inlined;
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                            v.clone()
                        } else {
                            inline_shared(v, shared)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| inline_shared(v, shared)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::{for_model, only_repeats_name};
    use serde_json::json;

    #[test]
    fn a_description_that_only_repeats_the_name_is_recognised() {
        assert!(only_repeats_name("external_id", "External id."));
        assert!(only_repeats_name("ticket_id", "The ticket."));
        assert!(only_repeats_name("body_html", "HTML body."));
        assert!(only_repeats_name("spam", "Spam flag."));
        // Anything beyond the name is kept.
        assert!(!only_repeats_name("id", "The ticket."));
        assert!(!only_repeats_name("name", "Display name."));
        assert!(!only_repeats_name("limit", "Page size (default 30)."));
        assert!(!only_repeats_name("status", ""));
    }

    #[test]
    fn the_model_reads_neither_hidden_properties_nor_names_said_twice() {
        let full = json!({
            "type": "object",
            "properties": {
                "via": {"type": "string", "enum": ["api", "email"], "x-hidden": true},
                "external_id": {"type": "string", "description": "External id.", "maxLength": 9},
                "channel": {"type": "string", "description": "Where it goes."},
                "nested": {"type": "object", "properties": {
                    "via": {"type": "string", "x-hidden": true},
                    "id": {"type": "integer", "description": "Id."}},
                    "required": ["via", "id"]}
            },
            "required": ["via", "channel"]
        });
        let seen = for_model(full.as_object().unwrap());
        assert_eq!(
            serde_json::Value::Object(seen),
            json!({
                "type": "object",
                "properties": {
                    "external_id": {"type": "string"},
                    "channel": {"type": "string", "description": "Where it goes."},
                    "nested": {"type": "object", "properties": {"id": {"type": "integer"}},
                               "required": ["id"]}
                },
                "required": ["channel"]
            })
        );
    }
}
