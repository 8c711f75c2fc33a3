//! The YAML format as written in `integrations/<name>/*.yaml`, read strictly.
//!
//! Every struct denies unknown fields, so a typo is an error that names the file and line
//! instead of a silently ignored key. Values that later validation may complain about carry
//! their source location (`Spanned`). `integrations/README.md` is the prose version of this
//! module; keep the two in step.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

/// `integration.yaml`: who the integration is and how to talk to it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntegrationFile {
    pub name: Spanned<String>,
    pub title: String,
    pub description: String,
    pub connection: ConnectionDoc,
    /// Every tag a resource or method may use, with a one-line description.
    pub tags: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    pub schemas: IndexMap<String, Spanned<NamedSchemaDoc>>,
}

/// Any other file: shared schemas and resources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceFile {
    #[serde(default)]
    pub schemas: IndexMap<String, Spanned<NamedSchemaDoc>>,
    #[serde(default)]
    pub resources: Vec<Spanned<ResourceDoc>>,
    /// Concise views, by name, usable from every file.
    #[serde(default)]
    pub views: IndexMap<String, Spanned<ViewDoc>>,
    /// Task-shaped tools: compositions of the API tools.
    #[serde(default)]
    pub tasks: Vec<Spanned<TaskDoc>>,
    /// Filter languages, by name, that string arguments may be written in.
    #[serde(default)]
    pub filter_languages: IndexMap<String, Spanned<FilterLanguageDoc>>,
}

/// A task: its own arguments, steps calling API tools, and a result.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskDoc {
    /// The whole tool name.
    pub name: Spanned<String>,
    pub title: String,
    /// Its method name, for filters that select exact methods.
    pub method: Spanned<String>,
    /// `read` or `write`: which method filter offers it.
    pub class: Spanned<String>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default)]
    pub annotations: AnnotationsDoc,
    pub doc: Spanned<TaskRecordDoc>,
    /// Offered only to servers that ask for this group (`chatgpt`: the `search` and `fetch`
    /// tools ChatGPT's connectors require, named exactly so).
    #[serde(default)]
    pub offered_with: Option<Spanned<String>>,
    pub steps: Vec<Spanned<StepDoc>>,
    pub result: Spanned<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskRecordDoc {
    pub description: Spanned<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub arguments: IndexMap<String, Spanned<SchemaDoc>>,
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    #[serde(default)]
    pub example: Option<Spanned<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepDoc {
    pub id: String,
    /// The API tool it calls.
    pub call: String,
    #[serde(default)]
    pub with: Option<Value>,
    #[serde(default)]
    pub when: Option<Value>,
    #[serde(default)]
    pub optional: bool,
}

/// A concise view: the fields a support agent reads of one object, in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewDoc {
    pub fields: Vec<Spanned<FieldDoc>>,
}

/// A field of a view: a key copied as it is, or a rule.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FieldDoc {
    Copy(String),
    Rule(Box<FieldRuleDoc>),
}

/// One key of a view's output. `field` is where the value comes from (a dotted path; default
/// the key); at most one of `pick`, `pluck`, `view`, `text`, `link` says what happens to it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldRuleDoc {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub pick: Option<Vec<String>>,
    /// One key of the object (or of each object of an array) in its place; with several, the
    /// first that holds something (`[name, email]`: a customer without a name shows its email).
    #[serde(default)]
    pub pluck: Option<OneOrMany>,
    #[serde(default)]
    pub view: Option<String>,
    #[serde(default)]
    pub text: Option<TextDoc>,
    #[serde(default)]
    pub link: Option<String>,
}

/// A string, or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One plain-text body out of several candidate keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextDoc {
    pub from: Vec<String>,
    pub max_chars: usize,
    /// A boolean key, true when staff wrote the text; when false the text goes under
    /// `untrusted_key`.
    #[serde(default)]
    pub staff: Option<String>,
    #[serde(default)]
    pub untrusted_key: Option<String>,
    /// A boolean key, false when only staff see the text; the text then goes under
    /// `private_key`.
    #[serde(default)]
    pub public: Option<String>,
    #[serde(default)]
    pub private_key: Option<String>,
    /// How to get the rest of a cut text.
    #[serde(default)]
    pub more: Option<String>,
}

/// What a method answers in concise form: `confirmation`, `compact`, `raw` (no concise form),
/// `{view: name}` (one object) or `{list: name}` (a list page whose items go through the view).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ResultDoc {
    Named(String),
    View { view: String },
    List { list: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionDoc {
    pub base_url: Spanned<String>,
    pub subdomain: Spanned<String>,
    pub verify: VerifyDoc,
    pub error_message_pointer: Spanned<String>,
    pub rate_limit: RateLimitDoc,
    pub pagination: PaginationDoc,
    #[serde(default)]
    pub oauth2: Option<OAuth2Doc>,
    #[serde(default)]
    pub custom_fields: Vec<Spanned<CustomFieldSourceDoc>>,
    /// Lists whose entries may be named instead of given by id (`names:` on a schema).
    #[serde(default)]
    pub directories: IndexMap<String, Spanned<DirectoryDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DirectoryDoc {
    /// A paginated list endpoint.
    pub path: String,
    /// What one entry is called in messages (`team`).
    pub label: String,
    /// Keys matched besides `name`.
    #[serde(default)]
    pub also: Vec<String>,
    /// The boolean argument that lets a call name entries that do not exist yet (the upstream
    /// creates them).
    #[serde(default)]
    pub create_flag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyDoc {
    pub method: Spanned<String>,
    pub path: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitDoc {
    pub usage_header: String,
    pub retry_after_header: String,
    pub window_seconds: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaginationDoc {
    pub cursor_param: String,
    pub limit_param: String,
    pub next_cursor_pointer: Spanned<String>,
    pub prev_cursor_pointer: Spanned<String>,
    pub default_limit: u64,
    pub max_limit: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuth2Doc {
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub pkce: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomFieldSourceDoc {
    pub resource: Spanned<String>,
    pub path: Spanned<String>,
    #[serde(default)]
    pub query: IndexMap<String, String>,
}

/// A schema shared by several methods, with the rules and defaults that hold wherever it is
/// used (for instance every ticket message, alone or inside a new ticket).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedSchemaDoc {
    pub schema: Spanned<SchemaDoc>,
    #[serde(default)]
    pub defaults: IndexMap<String, Spanned<Value>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RuleDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceDoc {
    pub name: Spanned<String>,
    pub plural: Spanned<String>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// The view of one object (get answers) and of a list item (list answers; default `view`).
    #[serde(default)]
    pub view: Option<Spanned<String>>,
    #[serde(default)]
    pub list_view: Option<Spanned<String>>,
    /// The object's page in the web app, relative to the account's base URL, with `{key}`s
    /// from the object (`/app/ticket/{id}`).
    #[serde(default)]
    pub link: Option<Spanned<String>>,
    /// Its methods that change something change the helpdesk's own set-up (macros, rules,
    /// teams, users…) or run bulk jobs: they are offered only to servers that ask for admin
    /// tools, or that name them (see `ToolFilter::with_admin`). Its reads are offered as usual.
    #[serde(default)]
    pub admin: bool,
    pub methods: Vec<Spanned<MethodDoc>>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Noun {
    Singular,
    Plural,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PaginationKind {
    Cursor,
    None,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnnotationsDoc {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MethodDoc {
    pub method: Spanned<String>,
    /// `"GET /api/tickets/{id}"`.
    pub http: Spanned<String>,
    /// Custom methods only: whether the tool name ends with the resource's singular or plural.
    #[serde(default)]
    pub noun: Option<Noun>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default)]
    pub pagination: Option<PaginationKind>,
    /// Overrides the connection's `max_limit` for this method.
    #[serde(default)]
    pub max_limit: Option<u64>,
    #[serde(default)]
    pub annotations: AnnotationsDoc,
    #[serde(default)]
    pub body_encoding: Option<crate::BodyEncoding>,
    /// What a call does beyond its kind, whatever its arguments (see `SchemaDoc::effect`).
    #[serde(default)]
    pub effects: Vec<Spanned<String>>,
    /// The concise answer, when the default for the method's kind does not fit.
    #[serde(default)]
    pub result: Option<Spanned<ResultDoc>>,
    /// The documentation record. Without one the method is known but offers no tool.
    #[serde(default)]
    pub doc: Option<Spanned<DocRecord>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocRecord {
    #[serde(default)]
    pub title: Option<String>,
    /// One sentence: what the tool does.
    pub description: Spanned<String>,
    /// Further guidance for the model, appended to the description.
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub path: IndexMap<String, Spanned<SchemaDoc>>,
    #[serde(default)]
    pub query: IndexMap<String, Spanned<SchemaDoc>>,
    /// Required query parameters or body properties (path parameters always are; the body
    /// schema's own `required` also applies). Lets a shared body schema serve create and update.
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    #[serde(default)]
    pub body: Option<Spanned<SchemaDoc>>,
    /// For a body that is not an object: the argument that carries it (default `body`).
    #[serde(default)]
    pub body_property: Option<Spanned<String>>,
    #[serde(default)]
    pub defaults: IndexMap<String, Spanned<Value>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    pub custom_fields: Vec<Spanned<CustomFieldBindingDoc>>,
    /// Example arguments (path parameters excluded), checked against the tool's schema.
    #[serde(default)]
    pub example: Option<Spanned<Value>>,
}

/// A cross-field rule: when every `when` condition holds, every `require` condition must hold
/// and at least one group of `require_any` must hold entirely.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    #[serde(default)]
    pub when: IndexMap<String, Value>,
    #[serde(default)]
    pub require: IndexMap<String, Value>,
    #[serde(default)]
    pub require_any: Vec<IndexMap<String, Value>>,
    pub message: String,
}

/// Where a tool takes values of the account's custom fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomFieldBindingDoc {
    /// A `connection.custom_fields[].resource`.
    pub source: Spanned<String>,
    /// An array argument of `{id, value}` items.
    #[serde(default)]
    pub array: Option<String>,
    /// An argument holding one field id.
    #[serde(default)]
    pub id: Option<String>,
    /// With `id`: the argument holding that field's value.
    #[serde(default)]
    pub value: Option<String>,
}

/// The subset of JSON Schema an integration may use. Anything else is a load error, which
/// catches typos (`descripton`) that a free-form map would carry silently to the model.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SchemaDoc {
    #[serde(rename = "$ref", default)]
    pub reference: Option<Spanned<String>>,
    #[serde(rename = "type", default)]
    pub kind: Option<TypeDoc>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "enum", default)]
    pub enumeration: Option<Vec<Value>>,
    #[serde(rename = "const", default)]
    pub constant: Option<Value>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub minimum: Option<serde_json::Number>,
    #[serde(default)]
    pub maximum: Option<serde_json::Number>,
    #[serde(rename = "minLength", default)]
    pub min_length: Option<u64>,
    #[serde(rename = "maxLength", default)]
    pub max_length: Option<u64>,
    #[serde(rename = "minItems", default)]
    pub min_items: Option<u64>,
    #[serde(rename = "maxItems", default)]
    pub max_items: Option<u64>,
    #[serde(rename = "uniqueItems", default)]
    pub unique_items: Option<bool>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub items: Option<Box<Spanned<SchemaDoc>>>,
    #[serde(default)]
    pub properties: Option<IndexMap<String, Spanned<SchemaDoc>>>,
    #[serde(default)]
    pub required: Option<Vec<String>>,
    #[serde(rename = "additionalProperties", default)]
    pub additional_properties: Option<bool>,
    #[serde(rename = "anyOf", default)]
    pub any_of: Option<Vec<Spanned<SchemaDoc>>>,
    /// A directory (declared in the connection) whose entries this node may name.
    #[serde(default)]
    pub names: Option<Spanned<String>>,
    /// What giving this argument does beyond the obvious: `deletes`, `replaces` (a whole list
    /// or object, losing what is not sent) or `sends` (reaches people outside the helpdesk).
    /// The tool's annotations must say so (destructive, open world); the loader checks.
    #[serde(default)]
    pub effect: Option<Spanned<String>>,
    /// The same, per value of an enum (`{deleteTicket: deletes, applyMacro: sends}`).
    #[serde(default)]
    pub effects: Option<Spanned<IndexMap<String, String>>>,
    /// A filter language (declared under `filter_languages:`) this string is written in: its
    /// grammar is added to the description and a call is checked against it before it is sent.
    #[serde(default)]
    pub filter_language: Option<Spanned<String>>,
    /// `false` keeps the grammar out of the description (checked all the same) where another
    /// tool's schema already shows it, to say it once in a tool list.
    #[serde(default)]
    pub filter_grammar: Option<bool>,
    /// `true` leaves this property out of what the model reads: its only right value is the
    /// default deskgate sends (a message's `via`), so listing its values on every message tool
    /// would spend tokens on a choice the model must not make. A client may still send it, and
    /// it is validated against the full schema all the same.
    #[serde(default)]
    pub hidden: Option<bool>,
}

/// A filter language: the operators and attribute paths an upstream's filter expressions take.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterLanguageDoc {
    /// One line said before the operators and attributes.
    pub summary: String,
    /// Operator name → its arguments, e.g. `eq: [attribute, value]`.
    pub operators: IndexMap<String, Vec<String>>,
    /// Attribute path → what it holds (a `*` segment stands for any one segment).
    pub attributes: IndexMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum TypeDoc {
    One(String),
    Many(Vec<String>),
}

impl TypeDoc {
    pub fn names(&self) -> Vec<&str> {
        match self {
            TypeDoc::One(t) => vec![t.as_str()],
            TypeDoc::Many(ts) => ts.iter().map(String::as_str).collect(),
        }
    }
}
