//! Policies: what a server's allowed tools may do, rule by rule (`config.policies`).
//!
//! The filters (`methods`, `tags`, `tools`) decide which tools exist for a server; a policy
//! then decides, per tool or per method class, whether a tool may run (`mode`) and with which
//! arguments:
//! - `pin` {arg: value}: the value is forced and the argument leaves the schema;
//! - `narrow` {arg: [values]}: only these values (for an array, only these items);
//! - `forbid` [args] / `only` [args]: arguments the tool may not be given, or the only ones it
//!   may be given besides its required arguments and `response_format`;
//! - `max_limit` n: a list's `limit` at most n (n when the call gives none).
//!
//! A tool follows the rule that names it, else the rule for its class (`read`: tools that only
//! read; `write`: every other tool, tasks included); a tool with neither runs as the filters
//! offer it. A task's steps are deskgate's own calls, fixed by the task's definition, so only
//! the task's own rule applies to them (a denied `create_a_gorgias_message` does not stop an
//! allowed `add_gorgias_internal_note`, whose channel the definition fixes). A task without a
//! rule of its own is denied by a deny rule naming a tool its steps call: denying
//! `update_a_gorgias_ticket_by_id` also denies `triage_gorgias_ticket` unless a rule allows it.
//!
//! Everything here is pure: [`Policy::compile`] checks rules against the catalog when a server
//! is minted or changed (and when its tenant is resolved), [`Policy::schema`] is what clients
//! see, [`Policy::check`] is what every call goes through before anything is sent upstream.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use integration_spec::{Catalog, Tool, ToolFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a rule does with the calls it governs: `allow` (within its argument rules) or `deny`
/// (not listed, calls refused naming the rule). `approve` (hold for a human) is not available
/// yet and is refused when a server is minted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// The tool runs, within the rule's argument rules.
    #[default]
    Allow,
    /// Reserved for human approval; refused when a server is minted (not available yet).
    Approve,
    /// The tool is not listed, and a call to it is refused, naming the rule.
    Deny,
}

/// A method class: `read` is every tool that only reads, `write` every other tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MethodClass {
    Read,
    Write,
}

impl MethodClass {
    fn of(tool: &Tool) -> MethodClass {
        if tool.annotations.read_only {
            MethodClass::Read
        } else {
            MethodClass::Write
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            MethodClass::Read => "read",
            MethodClass::Write => "write",
        }
    }
}

/// One rule of `config.policies`: a target (`tool` or `class`), a mode and argument rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tool": "update_a_gorgias_ticket_by_id", "mode": "allow", "only": ["tags", "priority", "status", "assignee_team"]}))]
pub struct PolicyRule {
    /// The tool this rule governs (give `tool` or `class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Or every tool of a method class without a rule of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<MethodClass>,
    #[serde(default)]
    pub mode: PolicyMode,
    /// Arguments forced to a value; clients no longer see them. Needs `tool`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pin: BTreeMap<String, Value>,
    /// Arguments limited to these values (an array argument: these items). Needs `tool`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub narrow: BTreeMap<String, Vec<Value>>,
    /// Arguments the tool may not be given. Needs `tool`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid: Vec<String>,
    /// The only arguments the tool may be given, besides its required ones and
    /// `response_format`. Needs `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// The largest `limit` a list may ask for; a call without `limit` asks for this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_limit: Option<u32>,
}

impl PolicyRule {
    /// One line for people (the console): `allow update_a_gorgias_ticket_by_id (only tags, status)`.
    pub fn summary(&self) -> String {
        let mut line = label(0, self)
            .trim_start_matches("policies[0] (")
            .trim_end_matches(')')
            .to_owned();
        let mut parts = Vec::new();
        if !self.pin.is_empty() {
            let pins: Vec<String> = self.pin.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("pin {}", pins.join(", ")));
        }
        for (arg, values) in &self.narrow {
            let values: Vec<String> = values.iter().map(show).collect();
            parts.push(format!("{arg} only {}", values.join(" or ")));
        }
        if !self.forbid.is_empty() {
            parts.push(format!("forbid {}", self.forbid.join(", ")));
        }
        if let Some(only) = &self.only {
            parts.push(format!("only {}", only.join(", ")));
        }
        if let Some(n) = self.max_limit {
            parts.push(format!("limit at most {n}"));
        }
        if !parts.is_empty() {
            line = format!("{line} ({})", parts.join("; "));
        }
        line
    }

    fn has_argument_rules(&self) -> bool {
        !self.pin.is_empty()
            || !self.narrow.is_empty()
            || !self.forbid.is_empty()
            || self.only.is_some()
            || self.max_limit.is_some()
    }
}

/// A policy that cannot be applied, naming the rule (`policies[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policies[{index}]: {message}")]
pub struct PolicyError {
    pub index: usize,
    pub message: String,
}

/// The policies together leave no tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the policies leave this server no tool: {rules} deny every tool its filters offer; allow one, or widen the filters"
)]
pub struct NoToolLeft {
    pub rules: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyConfigError {
    #[error(transparent)]
    Rule(#[from] PolicyError),
    #[error(transparent)]
    NoTool(#[from] NoToolLeft),
}

/// Where a narrowed value is checked: the argument itself, or each item of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Narrowed {
    Value,
    Items,
}

#[derive(Debug, Clone)]
struct Rule {
    rule: PolicyRule,
    /// How each `narrow` argument is checked (from the schema it was compiled against).
    narrowed: BTreeMap<String, Narrowed>,
    label: String,
}

/// A server's compiled policies. The default has no rules (every offered tool runs as is).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    by_tool: HashMap<String, usize>,
    by_class: [Option<usize>; 2],
}

/// What the policy says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The call may go on (with pinned and capped arguments filled in); `rule` names the rule
    /// that governed it, if one did.
    Allowed { rule: Option<String> },
    /// The call is refused; nothing is sent.
    Denied { rule: String, reason: String },
    /// The call is valid but waits for a person's approval; nothing is sent until then.
    Held { rule: String },
}

impl Decision {
    pub fn rule(&self) -> Option<&str> {
        match self {
            Decision::Allowed { rule } => rule.as_deref(),
            Decision::Denied { rule, .. } | Decision::Held { rule } => Some(rule),
        }
    }
}

/// What the audit log keeps of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    Allowed,
    Denied,
    /// Held for a person's approval (issue 15); the approved call is recorded as `approved`.
    Held,
    Approved,
}

impl PolicyOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOutcome::Allowed => "allowed",
            PolicyOutcome::Denied => "denied",
            PolicyOutcome::Held => "held",
            PolicyOutcome::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allowed" => Some(PolicyOutcome::Allowed),
            "denied" => Some(PolicyOutcome::Denied),
            "held" => Some(PolicyOutcome::Held),
            "approved" => Some(PolicyOutcome::Approved),
            _ => None,
        }
    }
}

impl From<&Decision> for PolicyOutcome {
    fn from(d: &Decision) -> Self {
        match d {
            Decision::Allowed { .. } => PolicyOutcome::Allowed,
            Decision::Denied { .. } => PolicyOutcome::Denied,
            Decision::Held { .. } => PolicyOutcome::Held,
        }
    }
}

/// Arguments a call may always give, whatever `only` lists: they change nothing upstream.
const ALWAYS_ALLOWED: &[&str] = &["response_format"];

fn properties(schema: &Map<String, Value>) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn required(schema: &Map<String, Value>) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn label(index: usize, rule: &PolicyRule) -> String {
    let mode = match rule.mode {
        PolicyMode::Allow => "allow",
        PolicyMode::Approve => "approve",
        PolicyMode::Deny => "deny",
    };
    match (&rule.tool, rule.class) {
        (Some(tool), _) => format!("policies[{index}] ({mode} {tool})"),
        (None, Some(class)) => format!("policies[{index}] ({mode} class {})", class.as_str()),
        (None, None) => format!("policies[{index}] ({mode})"),
    }
}

fn show(value: &Value) -> String {
    value.to_string()
}

/// Whether `value` is valid for the property schema `schema`.
fn accepts(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .map_err(|e| format!("its schema does not compile: {e}"))?;
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(e) => Err(e.to_string()),
    }
}

impl Policy {
    /// Checks `rules` against the catalog and the server's filter, and compiles them.
    pub fn compile(
        rules: &[PolicyRule],
        catalog: &Catalog,
        filter: &ToolFilter,
    ) -> Result<Policy, PolicyConfigError> {
        let mut policy = Policy::default();
        for (index, rule) in rules.iter().enumerate() {
            let fail = |message: String| PolicyError { index, message };
            let compiled = compile_rule(index, rule, catalog, filter).map_err(fail)?;
            let slot = match (&rule.tool, rule.class) {
                (Some(tool), _) => policy.by_tool.get(tool).copied(),
                (None, Some(class)) => policy.by_class[class as usize],
                (None, None) => unreachable!("compile_rule checked the target"),
            };
            if let Some(earlier) = slot {
                return Err(fail(format!(
                    "{} already has a rule (policies[{earlier}]); merge the two",
                    match (&rule.tool, rule.class) {
                        (Some(tool), _) => format!("tool `{tool}`"),
                        (_, class) => format!("class `{}`", class.map_or("", MethodClass::as_str)),
                    }
                ))
                .into());
            }
            match (&rule.tool, rule.class) {
                (Some(tool), _) => {
                    policy.by_tool.insert(tool.clone(), policy.rules.len());
                }
                (None, Some(class)) => policy.by_class[class as usize] = Some(policy.rules.len()),
                (None, None) => {}
            }
            policy.rules.push(compiled);
        }
        let offered: Vec<&Tool> = catalog
            .tools()
            .iter()
            .filter(|t| filter.matches(t))
            .collect();
        if !offered.is_empty() && !offered.iter().any(|t| policy.offers(t)) {
            let mut deniers: Vec<&str> = offered
                .iter()
                .filter_map(|t| policy.rule_for(t).map(|r| r.label.as_str()))
                .collect();
            deniers.sort_unstable();
            deniers.dedup();
            return Err(NoToolLeft {
                rules: deniers.join(", "),
            }
            .into());
        }
        Ok(policy)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn rule_for(&self, tool: &Tool) -> Option<&Rule> {
        if let Some(&i) = self.by_tool.get(&tool.name) {
            return Some(&self.rules[i]);
        }
        // A task inherits the denial of a tool it calls, unless a rule names the task itself.
        let denied_step = tool.task().and_then(|task| {
            task.calls()
                .filter_map(|step| self.by_tool.get(step).copied())
                .find(|&i| self.rules[i].rule.mode == PolicyMode::Deny)
        });
        denied_step
            .or(self.by_class[MethodClass::of(tool) as usize])
            .map(|i| &self.rules[i])
    }

    /// Whether the tool is offered at all (listed, searchable, callable).
    pub fn offers(&self, tool: &Tool) -> bool {
        self.rule_for(tool)
            .is_none_or(|r| r.rule.mode == PolicyMode::Allow)
    }

    /// The input schema a client sees: pinned and forbidden arguments gone, narrowed enums,
    /// capped limits. Without argument rules it is the tool's own schema, shared.
    pub fn schema(&self, tool: &Tool) -> Arc<Map<String, Value>> {
        match self.rule_for(tool) {
            Some(rule) if rule.rule.has_argument_rules() => {
                Arc::new(narrowed_schema(rule, &tool.input_schema))
            }
            _ => tool.input_schema.clone(),
        }
    }

    /// Whether any rule holds calls for approval (the server then offers the status tool).
    pub fn holds_any(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.rule.mode == PolicyMode::Approve)
    }

    /// Checks one call's arguments; an allowed call gets its pinned values and capped limit.
    pub fn check(&self, tool: &Tool, arguments: &mut Map<String, Value>) -> Decision {
        let Some(rule) = self.rule_for(tool) else {
            return Decision::Allowed { rule: None };
        };
        let deny = |reason: String| Decision::Denied {
            rule: rule.label.clone(),
            reason,
        };
        match rule.rule.mode {
            PolicyMode::Allow => {}
            PolicyMode::Deny => {
                return deny(match &rule.rule.tool {
                    Some(step) if *step != tool.name => {
                        format!("{} denies {step}, which {} calls", rule.label, tool.name)
                    }
                    _ => format!("{} denies {}", rule.label, tool.name),
                });
            }
            PolicyMode::Approve => {}
        }
        if let Err(reason) = check_arguments(rule, tool, arguments) {
            return deny(reason);
        }
        if rule.rule.mode == PolicyMode::Approve {
            return Decision::Held {
                rule: rule.label.clone(),
            };
        }
        Decision::Allowed {
            rule: Some(rule.label.clone()),
        }
    }
}

fn compile_rule(
    index: usize,
    rule: &PolicyRule,
    catalog: &Catalog,
    filter: &ToolFilter,
) -> Result<Rule, String> {
    let label = label(index, rule);
    let arguments_named = || {
        rule.pin
            .keys()
            .chain(rule.narrow.keys())
            .chain(rule.forbid.iter())
            .chain(rule.only.iter().flatten())
    };
    match rule.mode {
        PolicyMode::Deny if rule.has_argument_rules() => {
            return Err(
                "a deny rule takes no argument rules (pin, narrow, forbid, only, max_limit)"
                    .to_owned(),
            );
        }
        _ => {}
    }
    let tool = match (&rule.tool, rule.class) {
        (Some(_), Some(_)) => {
            return Err("give `tool` or `class`, not both".to_owned());
        }
        (None, None) => {
            return Err("give the `tool` it governs or a `class` (`read` or `write`)".to_owned());
        }
        (None, Some(class)) => {
            if rule.mode == PolicyMode::Approve && class == MethodClass::Read {
                return Err(
                    "mode `approve` holds writes for a person; reads are never held (class `read`)"
                        .to_owned(),
                );
            }
            if arguments_named().next().is_some() {
                return Err(format!(
                    "a class rule takes only `mode` and `max_limit`; pin, narrow, forbid and only need a `tool` (class `{}`)",
                    class.as_str()
                ));
            }
            if let Some(n) = rule.max_limit {
                check_max_limit(n)?;
                let any = catalog.tools().iter().any(|t| {
                    MethodClass::of(t) == class
                        && properties(&t.input_schema).is_some_and(|p| p.contains_key("limit"))
                });
                if !any {
                    return Err(format!(
                        "max_limit: no {} tool takes a limit",
                        class.as_str()
                    ));
                }
            }
            return Ok(Rule {
                rule: rule.clone(),
                narrowed: BTreeMap::new(),
                label,
            });
        }
        (Some(name), None) => catalog
            .tool(name)
            .ok_or_else(|| format!("unknown tool `{name}`; see the tool list for valid names"))?,
    };
    if rule.mode == PolicyMode::Approve && tool.annotations.read_only {
        return Err(format!(
            "mode `approve` holds writes for a person; `{}` only reads",
            tool.name
        ));
    }
    if rule.mode == PolicyMode::Allow && !filter.matches(tool) {
        let why = if filter.leaves_out_as_admin(tool) {
            " (it is an admin tool: set admin_tools: true or list it in tools)"
        } else {
            ""
        };
        return Err(format!(
            "`{}` is not offered by this server's filters (methods, tags, tools){why}; a policy cannot add a tool",
            tool.name
        ));
    }
    let empty = Map::new();
    let props = properties(&tool.input_schema).unwrap_or(&empty);
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    for arg in arguments_named() {
        if !props.contains_key(arg) {
            return Err(format!(
                "`{}` has no argument `{arg}`; its arguments: {}",
                tool.name,
                names.join(", ")
            ));
        }
    }
    let required = required(&tool.input_schema);
    for arg in &rule.forbid {
        if required.contains(arg.as_str()) {
            return Err(format!(
                "forbid `{arg}`: `{}` requires it, so no call could pass; deny the tool instead",
                tool.name
            ));
        }
        if rule.pin.contains_key(arg) || rule.narrow.contains_key(arg) {
            return Err(format!("`{arg}` is both forbidden and pinned or narrowed"));
        }
    }
    for (arg, value) in &rule.pin {
        if rule.narrow.contains_key(arg) {
            return Err(format!("`{arg}` is both pinned and narrowed; pin it only"));
        }
        accepts(&props[arg], value)
            .map_err(|e| format!("pin `{arg}`: {} is not a valid value: {e}", show(value)))?;
    }
    let mut narrowed = BTreeMap::new();
    for (arg, values) in &rule.narrow {
        if values.is_empty() {
            return Err(format!(
                "narrow `{arg}`: list at least one value (or forbid the argument)"
            ));
        }
        if let Some(only) = &rule.only
            && !only.contains(arg)
            && !required.contains(arg.as_str())
        {
            return Err(format!(
                "narrow `{arg}`: `only` leaves it out; list it in `only` too"
            ));
        }
        let prop = &props[arg];
        let (how, schema) = match prop.get("items") {
            Some(items) => (Narrowed::Items, items),
            None => (Narrowed::Value, prop),
        };
        for value in values {
            accepts(schema, value).map_err(|e| {
                format!("narrow `{arg}`: {} is not a valid value: {e}", show(value))
            })?;
        }
        narrowed.insert(arg.clone(), how);
    }
    if let Some(n) = rule.max_limit {
        check_max_limit(n)?;
        match props.get("limit") {
            Some(limit) => accepts(limit, &Value::from(n)).map_err(|e| {
                format!(
                    "max_limit {n} is not a valid limit for `{}`: {e}",
                    tool.name
                )
            })?,
            None => {
                return Err(format!("max_limit: `{}` takes no limit", tool.name));
            }
        }
    }
    Ok(Rule {
        rule: rule.clone(),
        narrowed,
        label,
    })
}

fn check_max_limit(n: u32) -> Result<(), String> {
    if n == 0 {
        return Err("max_limit must be at least 1".to_owned());
    }
    Ok(())
}

/// Whether `only` (if any) lets the call give `arg`.
fn kept_by_only(rule: &PolicyRule, required: &BTreeSet<&str>, arg: &str) -> bool {
    match &rule.only {
        None => true,
        Some(only) => {
            only.iter().any(|o| o == arg) || required.contains(arg) || ALWAYS_ALLOWED.contains(&arg)
        }
    }
}

fn narrowed_schema(rule: &Rule, schema: &Map<String, Value>) -> Map<String, Value> {
    let mut out = schema.clone();
    let required_before: BTreeSet<String> =
        required(schema).into_iter().map(str::to_owned).collect();
    let required_ref: BTreeSet<&str> = required_before.iter().map(String::as_str).collect();
    let mut removed = BTreeSet::new();
    if let Some(Value::Object(props)) = out.get_mut("properties") {
        let gone: Vec<String> = props
            .keys()
            .filter(|k| {
                rule.rule.pin.contains_key(*k)
                    || rule.rule.forbid.contains(k)
                    || !kept_by_only(&rule.rule, &required_ref, k)
            })
            .cloned()
            .collect();
        for k in gone {
            props.remove(&k);
            removed.insert(k);
        }
        for (arg, values) in &rule.rule.narrow {
            let Some(Value::Object(prop)) = props.get_mut(arg) else {
                continue;
            };
            let target = match rule.narrowed.get(arg) {
                Some(Narrowed::Items) => match prop.get_mut("items") {
                    Some(Value::Object(items)) => items,
                    _ => continue,
                },
                _ => prop,
            };
            target.insert("enum".to_owned(), Value::Array(values.clone()));
            if target.get("default").is_some_and(|d| !values.contains(d)) {
                target.remove("default");
            }
        }
        if let Some(n) = rule.rule.max_limit
            && let Some(Value::Object(limit)) = props.get_mut("limit")
        {
            let max = limit
                .get("maximum")
                .and_then(Value::as_u64)
                .map_or(u64::from(n), |m| m.min(u64::from(n)));
            limit.insert("maximum".to_owned(), Value::from(max));
            limit.insert(
                "description".to_owned(),
                Value::String(format!("Page size, 1 to {max} (default {max}).")),
            );
        }
    }
    if !removed.is_empty()
        && let Some(Value::Array(req)) = out.get_mut("required")
    {
        req.retain(|r| r.as_str().is_none_or(|r| !removed.contains(r)));
    }
    out
}

fn check_arguments(
    rule: &Rule,
    tool: &Tool,
    arguments: &mut Map<String, Value>,
) -> Result<(), String> {
    let p = &rule.rule;
    let required = required(&tool.input_schema);
    for (arg, value) in arguments.iter() {
        // A pinned argument given with its pinned value is harmless, whatever `only` says.
        if let Some(pinned) = p.pin.get(arg) {
            if pinned != value {
                return Err(format!(
                    "{} fixes `{arg}` to {}; leave it out",
                    rule.label,
                    show(pinned)
                ));
            }
            continue;
        }
        if p.forbid.iter().any(|f| f == arg) || !kept_by_only(p, &required, arg) {
            return Err(format!(
                "{} does not allow the argument `{arg}` for {}",
                rule.label, tool.name
            ));
        }
        if let Some(allowed) = p.narrow.get(arg) {
            let bad: Option<Cow<'_, Value>> = match (rule.narrowed.get(arg), value) {
                (Some(Narrowed::Items), Value::Array(items)) => items
                    .iter()
                    .find(|i| !allowed.contains(i))
                    .map(Cow::Borrowed),
                (Some(Narrowed::Items), Value::Null) => None,
                _ => (!allowed.contains(value)).then_some(Cow::Borrowed(value)),
            };
            if let Some(bad) = bad {
                return Err(format!(
                    "{} allows `{arg}` only as {}, not {}",
                    rule.label,
                    allowed.iter().map(show).collect::<Vec<_>>().join(" or "),
                    show(&bad)
                ));
            }
        }
    }
    if let Some(n) = p.max_limit
        && properties(&tool.input_schema).is_some_and(|props| props.contains_key("limit"))
    {
        match arguments.get("limit") {
            None => {
                arguments.insert("limit".to_owned(), Value::from(n));
            }
            Some(limit) if limit.as_u64().is_some_and(|l| l > u64::from(n)) => {
                return Err(format!(
                    "{} allows a limit of at most {n}, not {limit}",
                    rule.label
                ));
            }
            Some(_) => {}
        }
    }
    for (arg, value) in &p.pin {
        arguments.insert(arg.clone(), value.clone());
    }
    Ok(())
}

impl fmt::Display for PolicyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a server offers: its tool filter, then its policy. `matches` is what listings,
/// discovery and the instructions count; a call also goes through [`Policy::check`].
#[derive(Debug, Clone, Default)]
pub struct ServerFilter {
    pub tools: ToolFilter,
    pub policy: Policy,
}

impl ServerFilter {
    pub fn matches(&self, tool: &Tool) -> bool {
        self.tools.matches(tool) && self.policy.offers(tool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        CATALOG
            .get_or_init(|| {
                crate::integration::Integration::gorgias(std::time::Duration::from_secs(60))
                    .expect("the built-in definition loads")
                    .catalog()
                    .clone()
            })
            .clone()
    }

    fn rules(value: Value) -> Vec<PolicyRule> {
        serde_json::from_value(value).expect("rules parse")
    }

    fn compile(value: Value) -> Result<Policy, PolicyConfigError> {
        Policy::compile(&rules(value), &catalog(), &ToolFilter::all())
    }

    fn error(value: Value) -> String {
        compile(value).expect_err("refused").to_string()
    }

    #[test]
    fn a_tool_rule_beats_its_class_rule_and_unruled_tools_run() {
        let catalog = catalog();
        let policy = Policy::compile(
            &rules(json!([
                {"class": "write", "mode": "deny"},
                {"tool": "add_gorgias_internal_note"}
            ])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        let tool = |n: &str| catalog.tool(n).unwrap();
        assert!(policy.offers(tool("add_gorgias_internal_note")));
        assert!(!policy.offers(tool("create_a_gorgias_message")));
        assert!(!policy.offers(tool("reply_to_gorgias_customer")));
        assert!(policy.offers(tool("list_all_gorgias_tickets")));
        let mut args = Map::new();
        match policy.check(tool("create_a_gorgias_message"), &mut args) {
            Decision::Denied { rule, reason } => {
                assert_eq!(rule, "policies[0] (deny class write)");
                assert!(
                    reason.contains("denies create_a_gorgias_message"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            policy.check(tool("get_single_gorgias_ticket_by_id"), &mut args),
            Decision::Allowed { rule: None }
        );
    }

    #[test]
    fn only_hides_and_refuses_other_arguments_but_keeps_required_ones() {
        let catalog = catalog();
        let policy = Policy::compile(
            &rules(json!([{"tool": "update_a_gorgias_ticket_by_id",
                           "only": ["tags", "priority", "status", "assignee_team"]}])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        let tool = catalog.tool("update_a_gorgias_ticket_by_id").unwrap();
        let schema = policy.schema(tool);
        let props: BTreeSet<&str> = properties(&schema)
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            props,
            BTreeSet::from([
                "id",
                "status",
                "priority",
                "assignee_team",
                "tags",
                "response_format"
            ])
        );
        let mut ok = json!({"id": 1, "status": "closed"})
            .as_object()
            .unwrap()
            .clone();
        assert!(matches!(
            policy.check(tool, &mut ok),
            Decision::Allowed { rule: Some(_) }
        ));
        let mut bad = json!({"id": 1, "subject": "x"})
            .as_object()
            .unwrap()
            .clone();
        match policy.check(tool, &mut bad) {
            Decision::Denied { reason, .. } => assert_eq!(
                reason,
                "policies[0] (allow update_a_gorgias_ticket_by_id) does not allow the argument `subject` for update_a_gorgias_ticket_by_id"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pins_leave_the_schema_and_are_forced() {
        let catalog = catalog();
        let policy = Policy::compile(
            &rules(json!([{"tool": "create_a_gorgias_message",
                           "pin": {"channel": "internal-note", "public": false}}])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        let tool = catalog.tool("create_a_gorgias_message").unwrap();
        let schema = policy.schema(tool);
        assert!(!properties(&schema).unwrap().contains_key("channel"));
        assert!(!properties(&schema).unwrap().contains_key("public"));
        let mut args = json!({"ticket_id": 1}).as_object().unwrap().clone();
        assert!(matches!(
            policy.check(tool, &mut args),
            Decision::Allowed { .. }
        ));
        assert_eq!(args["channel"], "internal-note");
        assert_eq!(args["public"], false);
        let mut args = json!({"ticket_id": 1, "channel": "email"})
            .as_object()
            .unwrap()
            .clone();
        match policy.check(tool, &mut args) {
            Decision::Denied { reason, .. } => {
                assert!(
                    reason.contains("fixes `channel` to \"internal-note\""),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn narrow_and_max_limit_show_in_the_schema_and_hold_on_calls() {
        let catalog = catalog();
        let policy = Policy::compile(
            &rules(json!([
                {"tool": "list_all_gorgias_tickets", "narrow": {"order_by": ["created_datetime:desc"]}, "max_limit": 20},
                {"tool": "create_a_gorgias_job", "narrow": {"type": ["exportTicket"]}}
            ])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        let list = catalog.tool("list_all_gorgias_tickets").unwrap();
        let schema = policy.schema(list);
        let props = properties(&schema).unwrap();
        assert_eq!(props["order_by"]["enum"], json!(["created_datetime:desc"]));
        assert_eq!(props["limit"]["maximum"], 20);
        let mut args = Map::new();
        assert!(matches!(
            policy.check(list, &mut args),
            Decision::Allowed { .. }
        ));
        assert_eq!(args["limit"], 20);
        let mut args = json!({"limit": 50}).as_object().unwrap().clone();
        assert!(matches!(
            policy.check(list, &mut args),
            Decision::Denied { .. }
        ));
        let job = catalog.tool("create_a_gorgias_job").unwrap();
        let mut args = json!({"type": "applyMacro", "params": {}})
            .as_object()
            .unwrap()
            .clone();
        match policy.check(job, &mut args) {
            Decision::Denied { reason, .. } => assert_eq!(
                reason,
                "policies[1] (allow create_a_gorgias_job) allows `type` only as \"exportTicket\", not \"applyMacro\""
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        assert_eq!(
            error(json!([{"tool": "create_a_gorgias_messages", "mode": "deny"}])),
            "policies[0]: unknown tool `create_a_gorgias_messages`; see the tool list for valid names"
        );
        assert!(
            error(json!([{"class": "read"}, {"tool": "update_a_gorgias_ticket_by_id", "forbid": ["subjet"]}]))
                .starts_with("policies[1]: `update_a_gorgias_ticket_by_id` has no argument `subjet`; its arguments: id, status,")
        );
        assert!(
            error(json!([{"tool": "create_a_gorgias_message", "pin": {"channel": "pigeon"}}]))
                .starts_with("policies[0]: pin `channel`: \"pigeon\" is not a valid value:")
        );
        assert!(
            error(
                json!([{"tool": "create_a_gorgias_message", "narrow": {"channel": ["email", 3]}}])
            )
            .starts_with("policies[0]: narrow `channel`: 3 is not a valid value:")
        );
        assert_eq!(
            error(json!([{"class": "write", "mode": "deny"}, {"class": "write"}])),
            "policies[1]: class `write` already has a rule (policies[0]); merge the two"
        );
        assert_eq!(
            error(json!([{"tool": "update_a_gorgias_ticket_by_id", "forbid": ["id"]}])),
            "policies[0]: forbid `id`: `update_a_gorgias_ticket_by_id` requires it, so no call could pass; deny the tool instead"
        );
        assert_eq!(
            error(json!([{"tool": "get_single_gorgias_ticket_by_id", "max_limit": 5}])),
            "policies[0]: max_limit: `get_single_gorgias_ticket_by_id` takes no limit"
        );
        assert_eq!(
            error(json!([{"class": "read", "mode": "deny"}, {"class": "write", "mode": "deny"}])),
            "the policies leave this server no tool: policies[0] (deny class read), policies[1] (deny class write) deny every tool its filters offer; allow one, or widen the filters"
        );
        assert!(
            serde_json::from_value::<Vec<PolicyRule>>(json!([{"tool": "x", "mood": "deny"}]))
                .is_err()
        );
    }

    #[test]
    fn a_task_without_a_rule_inherits_the_denial_of_a_tool_it_calls() {
        let catalog = catalog();
        let triage = catalog.tool("triage_gorgias_ticket").unwrap();
        let denied = Policy::compile(
            &rules(json!([{"tool": "update_a_gorgias_ticket_by_id", "mode": "deny"}])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        assert!(!denied.offers(triage));
        match denied.check(triage, &mut Map::new()) {
            Decision::Denied { rule, reason } => {
                assert_eq!(rule, "policies[0] (deny update_a_gorgias_ticket_by_id)");
                assert_eq!(
                    reason,
                    "policies[0] (deny update_a_gorgias_ticket_by_id) denies update_a_gorgias_ticket_by_id, which triage_gorgias_ticket calls"
                );
            }
            other => panic!("{other:?}"),
        }
        // A task that only reads is not affected, and a rule naming the task wins.
        assert!(denied.offers(catalog.tool("get_gorgias_ticket_context").unwrap()));
        let allowed = Policy::compile(
            &rules(json!([
                {"tool": "update_a_gorgias_ticket_by_id", "mode": "deny"},
                {"tool": "triage_gorgias_ticket"}
            ])),
            &catalog,
            &ToolFilter::all(),
        )
        .unwrap();
        assert!(allowed.offers(triage));
    }

    #[test]
    fn rules_read_as_one_line() {
        let rules = rules(json!([
            {"class": "write", "mode": "deny"},
            {"tool": "update_a_gorgias_ticket_by_id", "only": ["tags", "status"]},
            {"tool": "create_a_gorgias_message", "pin": {"channel": "internal-note"}, "max_limit": 3}
        ]));
        let lines: Vec<String> = rules.iter().map(PolicyRule::summary).collect();
        assert_eq!(
            lines,
            [
                "deny class write",
                "allow update_a_gorgias_ticket_by_id (only tags, status)",
                "allow create_a_gorgias_message (pin channel=\"internal-note\"; limit at most 3)",
            ]
        );
    }

    #[test]
    fn an_allow_rule_cannot_add_a_filtered_out_tool() {
        let catalog = catalog();
        let read = ToolFilter::parse(&["read".to_owned()], &[], &catalog).unwrap();
        let e = Policy::compile(
            &rules(json!([{"tool": "add_gorgias_internal_note"}])),
            &catalog,
            &read,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("is not offered by this server's filters"),
            "{e}"
        );
        // Denying a tool the filters already leave out is harmless.
        Policy::compile(
            &rules(json!([{"tool": "create_a_gorgias_message", "mode": "deny"}])),
            &catalog,
            &read,
        )
        .unwrap();
        // An admin tool left out says what would offer it.
        let write = ToolFilter::parse(&["write".to_owned()], &[], &catalog).unwrap();
        let e = Policy::compile(
            &rules(json!([{"tool": "create_a_gorgias_macro"}])),
            &catalog,
            &write,
        )
        .unwrap_err();
        assert!(e.to_string().contains("admin_tools: true"), "{e}");
        Policy::compile(
            &rules(json!([{"tool": "create_a_gorgias_macro"}])),
            &catalog,
            &write.with_admin(true),
        )
        .unwrap();
    }
}
