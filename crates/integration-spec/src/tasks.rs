//! Task-shaped tools: compositions of API tools, declared as data (`tasks:` in a definition
//! file). A task has its own arguments (a schema, validated like any tool's), a list of steps
//! that each call an API tool with arguments built from the task's arguments and earlier
//! steps' answers, and a result built the same way.
//!
//! Building values is a small template language over JSON (see `integrations/README.md`):
//! `"$name.path"` reads the task's arguments, `"@step.path"` an earlier step's answer,
//! `{$fn: name, ...}` calls one of the named functions below for what data cannot say (compiling
//! a ticket filter, routing a reply), `{$concise: step}` is a step's concise answer and
//! `{$link: "/app/ticket/{id}", id: ...}` a page in the web app. A value that reads nothing is
//! absent: its key is left out, and a step whose `when` is absent does not run.
//!
//! Pure: [`TaskRun`] says which call to make next; the caller makes it and reports back.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::catalog::{ResponseFormat, Tool};
use crate::plan::ArgumentError;
use crate::views::ShapeContext;

/// A compiled task.
#[derive(Debug, Clone)]
pub struct Task {
    pub(crate) steps: Vec<TaskStep>,
    pub(crate) result: Expr,
}

#[derive(Debug, Clone)]
pub(crate) struct TaskStep {
    pub id: String,
    /// The API tool it calls.
    pub call: String,
    pub with: Expr,
    pub when: Option<Expr>,
    /// A failure leaves the step out of the result instead of failing the task.
    pub optional: bool,
}

/// A value template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    /// `$name.path`: the task's argument (and a path into it).
    Arg(Vec<String>),
    /// `@step.path`: a step's answer (and a path into it).
    Step(String, Vec<String>),
    Object(Vec<(String, Expr)>),
    Array(Vec<Expr>),
    Fn(String, Vec<(String, Expr)>),
    Concise(String),
    Link(String, Vec<(String, Expr)>),
}

/// Functions a template may call; each is described where it is defined.
pub(crate) const FUNCTIONS: &[&str] = &[
    "ticket_filter",
    "ticket_order",
    "customer_reply",
    "merged_tags",
    "present_keys",
    "search_results",
    "document",
    "document_id",
];

impl Expr {
    /// Parses a template; names the first thing that is wrong.
    pub(crate) fn parse(value: &Value) -> Result<Expr, String> {
        Ok(match value {
            Value::String(s) if s.starts_with("$$") || s.starts_with("@@") => {
                Expr::Literal(Value::String(s[1..].to_owned()))
            }
            Value::String(s) if s.starts_with('$') => Expr::Arg(path(&s[1..])?),
            Value::String(s) if s.starts_with('@') => {
                let mut parts = path(&s[1..])?;
                let step = parts.remove(0);
                Expr::Step(step, parts)
            }
            Value::Array(items) => {
                Expr::Array(items.iter().map(Expr::parse).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => {
                let pairs = |skip: &str| -> Result<Vec<(String, Expr)>, String> {
                    map.iter()
                        .filter(|(k, _)| k.as_str() != skip)
                        .map(|(k, v)| Ok((k.clone(), Expr::parse(v)?)))
                        .collect()
                };
                if let Some(name) = map.get("$fn") {
                    let name = name.as_str().ok_or("`$fn` names a function")?;
                    if !FUNCTIONS.contains(&name) {
                        return Err(format!(
                            "unknown function `{name}`; known: {}",
                            FUNCTIONS.join(", ")
                        ));
                    }
                    Expr::Fn(name.to_owned(), pairs("$fn")?)
                } else if let Some(step) = map.get("$concise") {
                    if map.len() > 1 {
                        return Err("`$concise` takes nothing else".into());
                    }
                    Expr::Concise(step.as_str().ok_or("`$concise` names a step")?.to_owned())
                } else if let Some(link) = map.get("$link") {
                    let link = link.as_str().ok_or("`$link` is a path template")?;
                    if !link.starts_with('/') {
                        return Err("`$link` is a path starting with `/`".into());
                    }
                    Expr::Link(link.to_owned(), pairs("$link")?)
                } else if let Some(k) = map.keys().find(|k| k.starts_with('$')) {
                    return Err(format!(
                        "unknown template key `{k}`; use $fn, $concise or $link"
                    ));
                } else {
                    Expr::Object(pairs("")?)
                }
            }
            other => Expr::Literal(other.clone()),
        })
    }

    /// Every argument name and step id the template reads.
    pub(crate) fn reads(&self, args: &mut Vec<String>, steps: &mut Vec<String>) {
        match self {
            Expr::Literal(_) => {}
            Expr::Arg(p) => args.push(p[0].clone()),
            Expr::Step(s, _) | Expr::Concise(s) => steps.push(s.clone()),
            Expr::Object(pairs) | Expr::Fn(_, pairs) | Expr::Link(_, pairs) => {
                pairs.iter().for_each(|(_, e)| e.reads(args, steps))
            }
            Expr::Array(items) => items.iter().for_each(|e| e.reads(args, steps)),
        }
    }
}

fn path(s: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = s.split('.').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("`{s}` is not a dotted path"));
    }
    Ok(parts)
}

fn at<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for key in path {
        value = match value {
            Value::Object(m) => m.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// A value that says nothing: absent, null, `""`, `[]` or `{}`.
fn is_nothing(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

/// Finds the API tool a step called (to shape its concise answer).
pub type ToolLookup<'a, 't> = &'a dyn Fn(&str) -> Option<&'t Tool>;

/// What one step produced.
#[derive(Debug, Clone)]
enum Outcome {
    Done {
        /// The upstream's answer (`None` for an empty body).
        answer: Option<Value>,
        arguments: Map<String, Value>,
    },
    Skipped,
    Failed,
}

/// The next call a task wants made.
#[derive(Debug, Clone, PartialEq)]
pub struct NextCall {
    pub step: String,
    pub tool: String,
    pub arguments: Map<String, Value>,
}

/// One run of a task, step by step.
#[derive(Debug)]
pub struct TaskRun<'t> {
    task: &'t Task,
    arguments: Value,
    outcomes: IndexMap<String, Outcome>,
    next: usize,
}

impl Task {
    /// A run over validated arguments.
    pub fn start(&self, arguments: Map<String, Value>) -> TaskRun<'_> {
        TaskRun {
            task: self,
            arguments: Value::Object(arguments),
            outcomes: IndexMap::new(),
            next: 0,
        }
    }

    /// The API tools the steps call, in order.
    pub fn calls(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.call.as_str())
    }
}

impl<'t> TaskRun<'t> {
    /// The next call to make, or `None` when every step has run. A function that refuses its
    /// input (a reply to a ticket with no customer) is an argument error of the task.
    pub fn next_call(&mut self, cx: &ShapeContext<'_>) -> Result<Option<NextCall>, ArgumentError> {
        while let Some(step) = self.task.steps.get(self.next) {
            self.next += 1;
            if let Some(when) = &step.when {
                let run = self.eval(when, cx)?.is_some_and(|v| !is_nothing(&v));
                if !run {
                    self.outcomes.insert(step.id.clone(), Outcome::Skipped);
                    continue;
                }
            }
            let arguments = match self.eval(&step.with, cx)? {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            return Ok(Some(NextCall {
                step: step.id.clone(),
                tool: step.call.clone(),
                arguments,
            }));
        }
        Ok(None)
    }

    /// The step's call succeeded with this answer.
    pub fn succeeded(&mut self, call: NextCall, answer: Option<Value>) {
        self.outcomes.insert(
            call.step,
            Outcome::Done {
                answer,
                arguments: call.arguments,
            },
        );
    }

    /// The step's call failed: `true` when the task goes on without it (an optional step).
    pub fn failed(&mut self, call: &NextCall) -> bool {
        let optional = self
            .task
            .steps
            .iter()
            .find(|s| s.id == call.step)
            .is_some_and(|s| s.optional);
        self.outcomes.insert(call.step.clone(), Outcome::Failed);
        optional
    }

    /// The task's answer: the result template (concise), or every step's answer as sent
    /// (detailed).
    pub fn result(
        &self,
        format: ResponseFormat,
        tools: ToolLookup<'_, 't>,
        cx: &ShapeContext<'_>,
    ) -> Result<Value, ArgumentError> {
        match format {
            ResponseFormat::Detailed => Ok(Value::Object(
                self.outcomes
                    .iter()
                    .filter_map(|(id, o)| match o {
                        Outcome::Done { answer, .. } => {
                            Some((id.clone(), answer.clone().unwrap_or(Value::Null)))
                        }
                        _ => None,
                    })
                    .collect(),
            )),
            ResponseFormat::Concise => self
                .eval_with(&self.task.result, cx, Some(tools))?
                .filter(|v| !is_nothing(v))
                .ok_or_else(|| ArgumentError::new("", "nothing matches these arguments")),
        }
    }

    fn eval(&self, expr: &Expr, cx: &ShapeContext<'_>) -> Result<Option<Value>, ArgumentError> {
        self.eval_with(expr, cx, None)
    }

    fn eval_with(
        &self,
        expr: &Expr,
        cx: &ShapeContext<'_>,
        tools: Option<ToolLookup<'_, 't>>,
    ) -> Result<Option<Value>, ArgumentError> {
        Ok(match expr {
            Expr::Literal(v) => Some(v.clone()),
            Expr::Arg(path) => at(&self.arguments, path).cloned(),
            Expr::Step(step, path) => match self.outcomes.get(step) {
                Some(Outcome::Done {
                    answer: Some(answer),
                    ..
                }) => at(answer, path).cloned(),
                _ => None,
            },
            Expr::Object(pairs) => {
                let mut out = Map::new();
                for (k, e) in pairs {
                    if let Some(v) = self.eval_with(e, cx, tools)? {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            Expr::Array(items) => {
                let mut out = Vec::new();
                for e in items {
                    if let Some(v) = self.eval_with(e, cx, tools)? {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Expr::Fn(name, pairs) => {
                let mut params = Map::new();
                for (k, e) in pairs {
                    if let Some(v) = self.eval_with(e, cx, tools)? {
                        params.insert(k.clone(), v);
                    }
                }
                functions::call(name, &params, cx)?
            }
            Expr::Concise(step) => match (self.outcomes.get(step), tools) {
                (Some(Outcome::Done { answer, arguments }), Some(tools)) => {
                    let call = self.task.steps.iter().find(|s| &s.id == step);
                    call.and_then(|c| tools(&c.call))
                        .map(|tool| tool.concise(arguments, answer.as_ref(), cx))
                }
                _ => None,
            },
            Expr::Link(template, pairs) => {
                let mut fields = Map::new();
                for (k, e) in pairs {
                    if let Some(v) = self.eval_with(e, cx, tools)? {
                        fields.insert(k.clone(), v);
                    }
                }
                crate::views::fill(template, &fields)
                    .map(|path| Value::String(format!("{}{path}", cx.app_base)))
            }
        })
    }
}

/// The named functions templates call: what data alone cannot say. Each takes its parameters
/// by name (absent ones are simply missing) and returns a value or nothing.
mod functions {
    use serde_json::{Map, Value, json};

    use crate::plan::ArgumentError;
    use crate::views::ShapeContext;

    pub(super) fn call(
        name: &str,
        params: &Map<String, Value>,
        cx: &ShapeContext<'_>,
    ) -> Result<Option<Value>, ArgumentError> {
        match name {
            "ticket_filter" => Ok(ticket_filter(params)),
            "ticket_order" => Ok(ticket_order(params)),
            "customer_reply" => customer_reply(params).map(Some),
            "merged_tags" => Ok(merged_tags(params)),
            "present_keys" => Ok(present_keys(params)),
            "search_results" => Ok(Some(search_results(params, cx))),
            "document" => Ok(document(params, cx)),
            "document_id" => Ok(document_id(params)),
            other => unreachable!("function `{other}` was checked at load time"),
        }
    }

    /// A quoted literal of the view filter language.
    fn quoted(s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    /// The ticket queue's structured filters as a Gorgias view filter expression (reference
    /// §6.20), so the model never writes the language: `status`, `priority`, `channel`,
    /// `language`, `assignee_user` (`{id}`), `unassigned`, `assignee_team` (`{id}`), `no_team`,
    /// `tags` (any of these names), `created_since` and `updated_since` (date-times).
    fn ticket_filter(p: &Map<String, Value>) -> Option<Value> {
        let mut parts: Vec<String> = Vec::new();
        let text = |k: &str| p.get(k).and_then(Value::as_str);
        for (key, attribute) in [
            ("status", "ticket.status"),
            ("priority", "ticket.priority"),
            ("channel", "ticket.channel"),
            ("language", "ticket.language"),
        ] {
            if let Some(v) = text(key) {
                parts.push(format!("eq({attribute}, {})", quoted(v)));
            }
        }
        let id_of = |k: &str| p.get(k).and_then(|v| v.get("id")).filter(|v| !v.is_null());
        if p.get("unassigned") == Some(&Value::Bool(true)) {
            parts.push("eq(ticket.assignee_user.id, null)".into());
        } else if let Some(id) = id_of("assignee_user") {
            parts.push(format!("eq(ticket.assignee_user.id, {id})"));
        }
        if p.get("no_team") == Some(&Value::Bool(true)) {
            parts.push("eq(ticket.assignee_team.id, null)".into());
        } else if let Some(id) = id_of("assignee_team") {
            parts.push(format!("eq(ticket.assignee_team.id, {id})"));
        }
        if let Some(tags) = p.get("tags").and_then(Value::as_array) {
            let names: Vec<String> = tags.iter().filter_map(Value::as_str).map(quoted).collect();
            if !names.is_empty() {
                parts.push(format!(
                    "containsAny(ticket.tags.name, [{}])",
                    names.join(", ")
                ));
            }
        }
        for (key, attribute) in [
            ("created_since", "ticket.created_datetime"),
            ("updated_since", "ticket.updated_datetime"),
        ] {
            if let Some(v) = text(key) {
                parts.push(format!("gte({attribute}, {})", quoted(v)));
            }
        }
        (!parts.is_empty()).then(|| Value::String(parts.join(" && ")))
    }

    /// `order` (newest, oldest, recently_updated, least_recently_updated, waiting_longest,
    /// priority) as the view's `order_by` or `order_dir` (`part`).
    fn ticket_order(p: &Map<String, Value>) -> Option<Value> {
        let (by, dir) = match p.get("order").and_then(Value::as_str).unwrap_or("newest") {
            "newest" => ("created_datetime", "desc"),
            "oldest" => ("created_datetime", "asc"),
            "recently_updated" => ("updated_datetime", "desc"),
            "least_recently_updated" => ("updated_datetime", "asc"),
            "waiting_longest" => ("last_received_message_datetime", "asc"),
            "priority" => ("priority", "desc"),
            _ => return None,
        };
        match p.get("part").and_then(Value::as_str)? {
            "order_by" => Some(json!(by)),
            "order_dir" => Some(json!(dir)),
            _ => None,
        }
    }

    /// Channels a reply can go out on from the API, with the message source type each uses.
    /// Any other channel (voice, reviews, social comments) is answered in the helpdesk itself.
    const REPLY_CHANNELS: &[(&str, &str)] = &[
        ("email", "email"),
        ("chat", "chat"),
        ("sms", "sms"),
        ("whatsapp", "whatsapp-message"),
        ("facebook-messenger", "facebook-messenger"),
        ("instagram-direct-message", "instagram-direct-message"),
        ("contact_form", "email"),
        ("help-center", "email"),
    ];

    /// The body of a public reply to the customer of `ticket` (a full ticket, with messages),
    /// on `channel` or the ticket's own channel: the customer as receiver and recipient, the
    /// address they wrote to as the sender, and the integration that received it.
    fn customer_reply(p: &Map<String, Value>) -> Result<Value, ArgumentError> {
        let ticket = p.get("ticket").cloned().unwrap_or(Value::Null);
        let wanted = p
            .get("channel")
            .and_then(Value::as_str)
            .or_else(|| ticket.get("channel").and_then(Value::as_str))
            .unwrap_or("email");
        // A contact form or help-center request is answered by email.
        let (channel, source_type) = REPLY_CHANNELS
            .iter()
            .find(|(c, _)| *c == wanted)
            .map(|(c, t)| {
                if matches!(*c, "contact_form" | "help-center") {
                    ("email", *t)
                } else {
                    (*c, *t)
                }
            })
            .ok_or_else(|| {
                ArgumentError::new(
                    "channel",
                    format!(
                        "a reply cannot be sent on `{wanted}` from here; use channel email, or answer in the helpdesk"
                    ),
                )
            })?;
        let customer = ticket
            .get("customer")
            .filter(|c| c.get("id").is_some())
            .ok_or_else(|| {
                ArgumentError::new("ticket_id", "this ticket has no customer to reply to")
            })?;
        let messages = ticket
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // The customer's latest message says where they wrote to and from.
        let last_inbound = messages
            .iter()
            .rev()
            .find(|m| m.get("from_agent") == Some(&Value::Bool(false)));
        let support = last_inbound
            .and_then(|m| m.pointer("/source/to/0"))
            .cloned()
            .or_else(|| {
                messages
                    .iter()
                    .rev()
                    .find(|m| {
                        m.get("from_agent") == Some(&Value::Bool(true))
                            && m.get("public") != Some(&Value::Bool(false))
                    })
                    .and_then(|m| m.pointer("/source/from"))
                    .cloned()
            });
        let customer_address = last_inbound
            .and_then(|m| m.pointer("/source/from"))
            .cloned()
            .or_else(|| {
                customer
                    .get("email")
                    .and_then(Value::as_str)
                    .map(|e| json!({"address": e, "name": customer.get("name").cloned().unwrap_or(Value::Null)}))
            });
        let integration_id = messages
            .iter()
            .rev()
            .find_map(|m| m.get("integration_id").filter(|v| v.is_number()).cloned());
        let mut source = Map::new();
        source.insert("type".into(), json!(source_type));
        if let Some(from) = support {
            source.insert("from".into(), strip_nulls(from));
        } else if integration_id.is_none() {
            return Err(ArgumentError::new(
                "ticket_id",
                "no support address is known for this ticket (no message names one); answer it in the helpdesk",
            ));
        }
        if let Some(to) = customer_address {
            source.insert("to".into(), json!([strip_nulls(to)]));
        }
        let mut body = Map::new();
        if let Some(id) = p.get("ticket_id") {
            body.insert("ticket_id".into(), id.clone());
        }
        body.insert("channel".into(), json!(channel));
        body.insert("via".into(), json!("api"));
        body.insert("from_agent".into(), json!(true));
        body.insert("public".into(), json!(true));
        body.insert("receiver".into(), json!({"id": customer["id"]}));
        body.insert("source".into(), Value::Object(source));
        if let Some(id) = integration_id {
            body.insert("integration_id".into(), id);
        }
        if channel == "email" {
            let subject = p
                .get("subject")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    ticket.get("subject").and_then(Value::as_str).map(|s| {
                        if s.to_lowercase().starts_with("re:") {
                            s.to_owned()
                        } else {
                            format!("Re: {s}")
                        }
                    })
                });
            if let Some(subject) = subject {
                body.insert("subject".into(), json!(subject));
            }
        }
        for key in ["body_text", "body_html"] {
            if let Some(v) = p.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
        Ok(Value::Object(body))
    }

    fn strip_nulls(v: Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }
            other => other,
        }
    }

    /// The ticket's tags (`current`, `[{name}]`) with the names in `add`, as `[{name}]`;
    /// nothing when there is nothing to add.
    fn merged_tags(p: &Map<String, Value>) -> Option<Value> {
        let add: Vec<&str> = p
            .get("add")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if add.is_empty() {
            return None;
        }
        let mut names: Vec<String> = p
            .get("current")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for name in add {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Some(Value::Array(
            names.into_iter().map(|n| json!({"name": n})).collect(),
        ))
    }

    /// The keys of `of` (the arguments a call was given, absent ones already left out).
    fn present_keys(p: &Map<String, Value>) -> Option<Value> {
        let keys: Vec<Value> = p
            .get("of")?
            .as_object()?
            .keys()
            .map(|k| Value::String(k.clone()))
            .collect();
        (!keys.is_empty()).then_some(Value::Array(keys))
    }

    /// ChatGPT's `search` answer: `{results: [{id, title, url}]}` over tickets (a list page)
    /// and customers (a search answer); ids say what they are (`ticket:123`).
    fn search_results(p: &Map<String, Value>, cx: &ShapeContext<'_>) -> Value {
        let items = |key: &str| -> Vec<Value> {
            p.get(key)
                .and_then(|v| v.get("data").or(Some(v)))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut results = Vec::new();
        for t in items("tickets") {
            let Some(id) = t.get("id") else { continue };
            let subject = t
                .get("subject")
                .and_then(Value::as_str)
                .unwrap_or("(no subject)");
            let who = t
                .pointer("/customer/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let status = t.get("status").and_then(Value::as_str).unwrap_or("");
            results.push(json!({
                "id": format!("ticket:{id}"),
                "title": format!("{subject} — {who} ({status})").replace(" —  (", " (").replace(" ()", ""),
                "url": format!("{}/app/ticket/{id}", cx.app_base),
            }));
        }
        for c in items("customers") {
            let Some(id) = c.get("id") else { continue };
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let email = c.get("email").and_then(Value::as_str).unwrap_or("");
            results.push(json!({
                "id": format!("customer:{id}"),
                "title": format!("Customer {name} <{email}>").replace(" <>", ""),
                "url": format!("{}/app/customer/{id}", cx.app_base),
            }));
        }
        json!({ "results": results })
    }

    /// The number in a search result id (`ticket:123` with `kind: ticket` is 123); nothing
    /// when the id is of another kind.
    fn document_id(p: &Map<String, Value>) -> Option<Value> {
        let id = p.get("id")?.as_str()?.trim();
        let kind = p.get("kind")?.as_str()?;
        let number = match id.split_once(':') {
            Some((k, n)) if k == kind => n,
            Some(_) => return None,
            // A bare number is a ticket, the usual thing to fetch.
            None if kind == "ticket" => id,
            None => return None,
        };
        number.parse::<u64>().ok().map(Value::from)
    }

    /// ChatGPT's `fetch` answer `{id, title, text, url, metadata}` for a full ticket, or a
    /// customer with their recent tickets. The text is the conversation, oldest first, each
    /// message marked with who wrote it.
    fn document(p: &Map<String, Value>, cx: &ShapeContext<'_>) -> Option<Value> {
        if let Some(t) = p.get("ticket").filter(|t| t.get("id").is_some()) {
            let id = &t["id"];
            let subject = t
                .get("subject")
                .and_then(Value::as_str)
                .unwrap_or("(no subject)");
            let mut text = format!(
                "Ticket {id}: {subject}\nStatus: {}, priority: {}, channel: {}\nCustomer: {} <{}>\n",
                t["status"].as_str().unwrap_or(""),
                t["priority"].as_str().unwrap_or(""),
                t["channel"].as_str().unwrap_or(""),
                t.pointer("/customer/name")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                t.pointer("/customer/email")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
            for m in t
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let by = m
                    .pointer("/sender/name")
                    .and_then(Value::as_str)
                    .unwrap_or("someone");
                let role = match (
                    m.get("from_agent").and_then(Value::as_bool),
                    m.get("public").and_then(Value::as_bool),
                ) {
                    (Some(false), _) => "customer, untrusted text",
                    (_, Some(false)) => "agent, internal note",
                    _ => "agent",
                };
                let when = m
                    .get("created_datetime")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let body = m
                    .get("stripped_text")
                    .or_else(|| m.get("body_text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim();
                text.push_str(&format!(
                    "\n[{}] {by} ({role}):\n{body}\n",
                    when.get(..16).unwrap_or(when)
                ));
            }
            let tags: Vec<&str> = t
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect();
            return Some(json!({
                "id": format!("ticket:{id}"),
                "title": subject,
                "text": text,
                "url": format!("{}/app/ticket/{id}", cx.app_base),
                "metadata": {
                    "status": t.get("status"), "priority": t.get("priority"), "channel": t.get("channel"),
                    "tags": tags, "created": t.get("created_datetime"),
                    "assignee_team": t.pointer("/assignee_team/name"),
                },
            }));
        }
        let c = p.get("customer").filter(|c| c.get("id").is_some())?;
        let id = &c["id"];
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let mut text = format!(
            "Customer {name} <{}>\nLanguage: {}\n",
            c.get("email").and_then(Value::as_str).unwrap_or(""),
            c.get("language")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        );
        if let Some(note) = c.get("note").and_then(Value::as_str) {
            text.push_str(&format!("Note: {note}\n"));
        }
        let tickets = p
            .get("tickets")
            .and_then(|v| v.get("data"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !tickets.is_empty() {
            text.push_str("\nRecent tickets:\n");
            for t in &tickets {
                text.push_str(&format!(
                    "- ticket:{} {} ({})\n",
                    t["id"],
                    t.get("subject").and_then(Value::as_str).unwrap_or(""),
                    t.get("status").and_then(Value::as_str).unwrap_or("")
                ));
            }
        }
        Some(json!({
            "id": format!("customer:{id}"),
            "title": format!("Customer {name}"),
            "text": text,
            "url": format!("{}/app/customer/{id}", cx.app_base),
            "metadata": {"email": c.get("email"), "language": c.get("language"), "tickets": tickets.len()},
        }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn map(v: Value) -> Map<String, Value> {
            v.as_object().unwrap().clone()
        }

        #[test]
        fn structured_filters_compile_to_the_view_language() {
            let f = ticket_filter(&map(json!({
                "status": "open", "unassigned": true, "assignee_team": {"id": 30001},
                "tags": ["login_issue", "o'brien"], "created_since": "2026-12-01T00:00:00Z"
            })))
            .unwrap();
            assert_eq!(
                f,
                "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, null) && eq(ticket.assignee_team.id, 30001) && containsAny(ticket.tags.name, ['login_issue', 'o\\'brien']) && gte(ticket.created_datetime, '2026-12-01T00:00:00Z')"
            );
            assert_eq!(ticket_filter(&Map::new()), None);
        }

        #[test]
        fn a_reply_goes_to_the_customer_from_the_address_they_wrote_to() {
            let ticket = json!({
                "id": 7, "channel": "email", "subject": "Order late",
                "customer": {"id": 9, "email": "jane@example.com", "name": "Jane"},
                "messages": [{"from_agent": false, "source": {"type": "email",
                    "from": {"address": "jane@example.com", "name": "Jane"},
                    "to": [{"address": "support@acme.example", "name": "Acme Support"}]}}]
            });
            let body =
                customer_reply(&map(json!({"ticket": ticket, "body_text": "Hi Jane"}))).unwrap();
            assert_eq!(
                body,
                json!({
                    "channel": "email", "via": "api", "from_agent": true, "public": true,
                    "receiver": {"id": 9},
                    "source": {"type": "email", "from": {"address": "support@acme.example", "name": "Acme Support"},
                               "to": [{"address": "jane@example.com", "name": "Jane"}]},
                    "subject": "Re: Order late", "body_text": "Hi Jane"
                })
            );
            let phone = json!({"channel": "phone", "customer": {"id": 1}, "messages": []});
            let e = customer_reply(&map(json!({"ticket": phone, "body_text": "x"}))).unwrap_err();
            assert!(e.to_string().contains("cannot be sent on `phone`"), "{e}");
        }

        #[test]
        fn tags_merge_without_duplicates() {
            assert_eq!(
                merged_tags(&map(
                    json!({"current": [{"id": 1, "name": "vip"}], "add": ["finance", "vip"]})
                )),
                Some(json!([{"name": "vip"}, {"name": "finance"}]))
            );
            assert_eq!(merged_tags(&map(json!({"current": []}))), None);
        }

        #[test]
        fn search_ids_say_what_they_are() {
            assert_eq!(
                document_id(&map(json!({"id": "ticket:12", "kind": "ticket"}))),
                Some(json!(12))
            );
            assert_eq!(
                document_id(&map(json!({"id": "12", "kind": "ticket"}))),
                Some(json!(12))
            );
            assert_eq!(
                document_id(&map(json!({"id": "customer:3", "kind": "ticket"}))),
                None
            );
            assert_eq!(
                document_id(&map(json!({"id": "customer:3", "kind": "customer"}))),
                Some(json!(3))
            );
            assert_eq!(
                document_id(&map(json!({"id": "ticket:x", "kind": "ticket"}))),
                None
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_read_arguments_and_steps_and_leave_out_what_is_absent() {
        let task = Task {
            steps: vec![
                TaskStep {
                    id: "ticket".into(),
                    call: "get_ticket".into(),
                    with: Expr::parse(&json!({"id": "$ticket_id"})).unwrap(),
                    when: None,
                    optional: false,
                },
                TaskStep {
                    id: "history".into(),
                    call: "list_tickets".into(),
                    with: Expr::parse(&json!({"customer_id": "@ticket.customer.id", "limit": 5, "note": "$missing"})).unwrap(),
                    when: Some(Expr::parse(&json!("@ticket.customer")).unwrap()),
                    optional: true,
                },
                TaskStep {
                    id: "never".into(),
                    call: "x".into(),
                    with: Expr::parse(&json!({})).unwrap(),
                    when: Some(Expr::parse(&json!("$missing")).unwrap()),
                    optional: false,
                },
            ],
            result: Expr::parse(&json!({"customer": "@ticket.customer.name", "literal": "$$5", "count": "@history.meta.count"})).unwrap(),
        };
        let cx = ShapeContext {
            app_base: "https://acme.gorgias.com",
        };
        let mut run = task.start(json!({"ticket_id": 7}).as_object().unwrap().clone());
        let first = run.next_call(&cx).unwrap().unwrap();
        assert_eq!(first.tool, "get_ticket");
        assert_eq!(Value::Object(first.arguments.clone()), json!({"id": 7}));
        run.succeeded(
            first,
            Some(json!({"id": 7, "customer": {"id": 9, "name": "Jane"}})),
        );
        let second = run.next_call(&cx).unwrap().unwrap();
        assert_eq!(
            Value::Object(second.arguments.clone()),
            json!({"customer_id": 9, "limit": 5})
        );
        assert!(
            run.failed(&second),
            "an optional step's failure lets the task go on"
        );
        assert_eq!(
            run.next_call(&cx).unwrap(),
            None,
            "a step whose `when` reads nothing is skipped"
        );
        let result = run.result(ResponseFormat::Concise, &|_| None, &cx).unwrap();
        assert_eq!(result, json!({"customer": "Jane", "literal": "$5"}));
        let detailed = run
            .result(ResponseFormat::Detailed, &|_| None, &cx)
            .unwrap();
        assert_eq!(
            detailed,
            json!({"ticket": {"id": 7, "customer": {"id": 9, "name": "Jane"}}})
        );
    }

    #[test]
    fn bad_templates_are_named() {
        assert!(
            Expr::parse(&json!({"$fn": "nope"}))
                .unwrap_err()
                .contains("unknown function `nope`")
        );
        assert!(
            Expr::parse(&json!({"$oops": 1}))
                .unwrap_err()
                .contains("unknown template key `$oops`")
        );
        assert!(
            Expr::parse(&json!("$a..b"))
                .unwrap_err()
                .contains("dotted path")
        );
    }
}
