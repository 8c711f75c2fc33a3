//! The whole Gorgias catalog against the sandbox: every tool is called once over MCP with
//! arguments built from its own schema (the account's, custom fields included) and must succeed.
//!
//! Reads run first, on seeded data; then the writes; then the destructive tools, on records the
//! walk created itself (or, for recordings, which nothing can create, on a seeded one). So no call
//! depends on what an earlier call happened to leave behind. Failures are collected and reported
//! together, so one run shows everything that is wrong.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use gorgias_sandbox::{BucketConfig, DocumentKind, SandboxState};
use integration_spec::{Catalog, Tool};
use serde_json::{Map, Value, json};

use crate::support::{Options, RawMcp, TestServer};

/// When a tool runs in the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Read,
    Write,
    Destroy,
}

fn phase_of(tool: &Tool) -> Phase {
    // A download needs a file, and only an upload (a write) makes one.
    if tool.name == "download_gorgias_file" {
        return Phase::Write;
    }
    // What removes records runs last; a replace-all update is destructive too, but it edits a
    // record the walk made or keeps, like any write.
    if tool.annotations.read_only {
        Phase::Read
    } else if tool.endpoint().0 == "DELETE" || tool.method == "merge" {
        Phase::Destroy
    } else {
        Phase::Write
    }
}

/// The walk's memory: ids of seeded records to read and write, records it created, and what
/// it needs to remember between calls (the uploaded file).
struct Walk {
    mcp: RawMcp,
    catalog: Catalog,
    state: SandboxState,
    /// Seeded records, by the key the argument builder asks for.
    seeded: HashMap<String, Value>,
    /// Records the walk created, by resource, oldest first.
    created: BTreeMap<String, Vec<Value>>,
    upload: Option<UploadedFile>,
    /// Each successful call's arguments and result, by tool.
    done: HashMap<String, (Map<String, Value>, Value)>,
    failures: Vec<String>,
    calls: usize,
    throwaways: usize,
}

struct UploadedFile {
    file_type: String,
    domain_hash: String,
    resource_name: String,
}

fn ids_of(values: &[Value]) -> Vec<i64> {
    values.iter().filter_map(|v| v["id"].as_i64()).collect()
}

impl Walk {
    fn new(mcp: RawMcp, catalog: Catalog, state: SandboxState) -> Walk {
        let seeded = seeded_ids(&state);
        Walk {
            mcp,
            catalog,
            state,
            seeded,
            created: BTreeMap::new(),
            upload: None,
            done: HashMap::new(),
            failures: Vec::new(),
            calls: 0,
            throwaways: 0,
        }
    }

    /// The keys the argument builder will ask `tool`'s resolver for, each once.
    fn keys_asked(tool: &Tool) -> Vec<String> {
        let asked = RefCell::new(Vec::<String>::new());
        tool.example_arguments(&|key| {
            let mut asked = asked.borrow_mut();
            if !asked.iter().any(|k| k == key) {
                asked.push(key.to_owned());
            }
            None
        });
        asked.into_inner()
    }

    /// The id for `key` in `phase`: a record the walk created when it has one (writes and
    /// deletes work on the walk's own records), otherwise a seeded one.
    fn id_for(&self, key: &str, phase: Phase) -> Option<Value> {
        if phase >= Phase::Write
            && let Some(last) = self.created.get(key).and_then(|c| c.last())
        {
            return Some(last["id"].clone());
        }
        self.seeded.get(key).cloned()
    }

    /// Builds `tool`'s arguments for `phase`. Destructive tools get records of their own: each
    /// id they ask for is taken from what the walk created (and no longer used after), or made
    /// for the occasion.
    async fn arguments(&mut self, tool: &Tool, phase: Phase) -> Map<String, Value> {
        let mut resolved: HashMap<String, Value> = HashMap::new();
        for key in Self::keys_asked(tool) {
            let value = if phase == Phase::Destroy && self.is_resource(&key) {
                self.take_or_make(&key).await
            } else {
                self.id_for(&key, phase)
            };
            if let Some(v) = value {
                resolved.insert(key, v);
            }
        }
        if let Some(file) = &self.upload {
            resolved.insert("file_type".into(), json!(file.file_type));
            resolved.insert("domain_hash".into(), json!(file.domain_hash));
            resolved.insert("resource_name".into(), json!(file.resource_name));
        }
        let mut args = tool.example_arguments(&|key| resolved.get(key).cloned());
        self.override_arguments(tool, &mut args).await;
        args
    }

    fn is_resource(&self, key: &str) -> bool {
        self.catalog.tools().iter().any(|t| t.resource == key)
    }

    /// A record of `resource` nobody else will use: the walk's latest, or a new throwaway.
    /// Recordings cannot be created through the API: the last seeded one is the throwaway.
    async fn take_or_make(&mut self, resource: &str) -> Option<Value> {
        if let Some(record) = self.created.get_mut(resource).and_then(Vec::pop) {
            return Some(record["id"].clone());
        }
        if resource == "voice_call_recording" {
            return self.seeded.get("throwaway_recording").cloned();
        }
        if resource.ends_with("_field_value") {
            // Clearing a value leaves the field: the seeded field serves.
            return self.seeded.get(resource).cloned();
        }
        let record = self.make(resource).await?;
        Some(record["id"].clone())
    }

    /// Creates a throwaway record of `resource` with its create tool's example arguments, made
    /// unique where the API wants unique values (names, emails).
    async fn make(&mut self, resource: &str) -> Option<Value> {
        let create = self
            .catalog
            .tools()
            .iter()
            .find(|t| t.resource == resource && t.method == "create")?
            .clone();
        self.throwaways += 1;
        let n = self.throwaways;
        let mut args = create.example_arguments(&|key| self.id_for(key, Phase::Write));
        for (key, value) in args.iter_mut() {
            match (key.as_str(), value.as_str()) {
                ("email", Some(_)) => *value = json!(format!("throwaway-{n}@example.com")),
                ("name" | "label", Some(s)) => *value = json!(format!("{s} (throwaway {n})")),
                _ => {}
            }
        }
        let reply = self
            .mcp
            .call(&create.name, Value::Object(args.clone()))
            .await;
        let result = &reply.body["result"];
        if result["isError"] != false {
            self.failures.push(format!(
                "making a throwaway {resource} with {} failed:\n    {}",
                Value::Object(args),
                result["content"][0]["text"]
            ));
            return None;
        }
        Some(result["structuredContent"].clone())
    }

    /// The few tools whose inputs are about other records than their own, or about something
    /// an earlier call returned.
    async fn override_arguments(&mut self, tool: &Tool, args: &mut Map<String, Value>) {
        match tool.name.as_str() {
            // Merging needs two customers; both are throwaways (the source is deleted).
            "merge_gorgias_customers" => {
                for key in ["source_id", "target_id"] {
                    if let Some(id) = self.take_or_make("customer").await {
                        args.insert(key.into(), id);
                    }
                }
            }
            // The tags merged away are throwaways too (the kept one is the path id).
            "merge_gorgias_tags" => {
                let id = self.take_or_make("tag").await;
                args.insert("source_tags_ids".into(), json!([id]));
            }
            // A survey belongs to a ticket and its customer: a new one goes on a ticket that has
            // none; an update names the survey's own ticket and customer again.
            "create_a_gorgias_satisfaction_survey" => {
                let (ticket, customer) = self.ticket_without_survey();
                args.insert("ticket_id".into(), json!(ticket));
                args.insert("customer_id".into(), json!(customer));
            }
            "update_a_gorgias_satisfaction_survey_by_id" => {
                let survey = self.created["satisfaction_survey"]
                    .last()
                    .expect("the walk created a survey")
                    .clone();
                args.insert("ticket_id".into(), survey["ticket_id"].clone());
                args.insert("customer_id".into(), survey["customer_id"].clone());
            }
            _ => {}
        }
    }

    /// A seeded ticket without a satisfaction survey, and its customer.
    fn ticket_without_survey(&self) -> (i64, i64) {
        let surveyed: Vec<i64> = self
            .state
            .documents(DocumentKind::SatisfactionSurveys)
            .iter()
            .filter_map(|s| s["ticket_id"].as_i64())
            .collect();
        self.state
            .tickets()
            .iter()
            .find(|t| {
                let id = t["id"].as_i64().unwrap();
                !surveyed.contains(&id) && t["customer"]["id"].is_i64()
            })
            .map(|t| {
                (
                    t["id"].as_i64().unwrap(),
                    t["customer"]["id"].as_i64().unwrap(),
                )
            })
            .expect("a ticket without a survey")
    }

    /// Calls `tool` in `phase`, records a failure or what it created.
    async fn run(&mut self, tool: &Tool, phase: Phase) {
        let mut args = self.arguments(tool, phase).await;
        // What a create made is read back from its whole answer (its concise answer is only a
        // confirmation); every other tool runs in its default, concise form.
        if tool.method == "create"
            && tool.input_schema["properties"]
                .get("response_format")
                .is_some()
        {
            args.insert("response_format".into(), json!("detailed"));
        }
        let reply = self.mcp.call(&tool.name, Value::Object(args.clone())).await;
        self.calls += 1;
        let result = &reply.body["result"];
        if result["isError"] != false {
            let text = result["content"][0]["text"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| reply.body.to_string());
            self.failures.push(format!(
                "{} ({} {}) with {}:\n    {}",
                tool.name,
                tool.endpoint().0,
                tool.endpoint().1,
                Value::Object(args),
                text
            ));
            return;
        }
        let structured = result["structuredContent"].clone();
        self.done
            .insert(tool.name.clone(), (args, structured.clone()));
        if tool.name == "upload_gorgias_file" {
            self.remember_upload(&structured);
        } else if tool.method == "create" && structured["id"].is_i64() {
            self.created
                .entry(tool.resource.clone())
                .or_default()
                .push(structured);
        }
    }

    fn remember_upload(&mut self, structured: &Value) {
        let url = structured["data"][0]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("an upload answers [{{url, ..}}]: {structured}"));
        let path = url.split("/api/").nth(1).expect("a URL under /api/");
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 4, "{url}");
        assert_eq!(parts[1], "download", "{url}");
        self.upload = Some(UploadedFile {
            file_type: parts[0].to_owned(),
            domain_hash: parts[2].to_owned(),
            resource_name: parts[3].to_owned(),
        });
    }
}

impl Walk {
    fn check(&mut self, holds: bool, what: String) {
        if !holds {
            self.failures.push(format!("state check: {what}"));
        }
    }

    /// The arguments and result of `tool`'s call, when it succeeded (a failed call is already
    /// reported).
    fn call_of(&self, tool: &str) -> Option<(Map<String, Value>, Value)> {
        self.done.get(tool).cloned()
    }

    /// Some writes, seen from the sandbox's side: they did what they say.
    fn check_writes(&mut self) {
        if let Some((args, _)) = self.call_of("update_a_gorgias_ticket_by_id") {
            let ticket = self.state.ticket(args["id"].as_i64().unwrap());
            let status = ticket.map(|t| t["status"].clone());
            self.check(
                status.as_ref() == args.get("status"),
                format!(
                    "the updated ticket's status is {status:?}, not {}",
                    args["status"]
                ),
            );
        }
        if let (Some((_, created)), Some((update, _))) = (
            self.call_of("create_a_gorgias_message"),
            self.call_of("update_a_gorgias_message_by_id"),
        ) {
            let message = self.state.message(created["id"].as_i64().unwrap());
            self.check(
                message.as_ref().is_some_and(|m| {
                    m["ticket_id"] == update["ticket_id"] && m["body_text"] == update["body_text"]
                }),
                format!("the created then updated message is {message:?}"),
            );
        }
        if let Some((args, _)) = self.call_of("update_a_gorgias_ticket_field_value_by_id") {
            let ticket = self.state.ticket(args["ticket_id"].as_i64().unwrap());
            let field = args["id"].to_string();
            let value = ticket.map(|t| t["custom_fields"][&field]["value"].clone());
            self.check(
                value.as_ref() == Some(&args["value"]),
                format!(
                    "custom field {field} of the ticket is {value:?}, not {}",
                    args["value"]
                ),
            );
        }
        if let Some((_, tag)) = self.call_of("create_a_gorgias_tag") {
            let tags = ids_of(&self.state.tags());
            self.check(
                tags.contains(&tag["id"].as_i64().unwrap()),
                format!("the created tag {} is not in the sandbox", tag["id"]),
            );
        }
        if let (Some((upload, _)), Some((_, download))) = (
            self.call_of("upload_gorgias_file"),
            self.call_of("download_gorgias_file"),
        ) {
            use base64::Engine;
            let sent = base64::engine::general_purpose::STANDARD
                .decode(upload["file"]["content_base64"].as_str().unwrap())
                .unwrap();
            self.check(
                download["text"].as_str().map(str::as_bytes) == Some(&sent[..]),
                format!("the download {download} is not the uploaded file"),
            );
        }
    }

    /// The deletes really deleted.
    fn check_deletes(&mut self) {
        let id = |args: &Map<String, Value>, key: &str| args[key].as_i64().unwrap();
        if let Some((args, _)) = self.call_of("delete_a_gorgias_ticket_by_id") {
            let gone = self.state.ticket(id(&args, "id")).is_none();
            self.check(gone, format!("ticket {} is still there", args["id"]));
        }
        if let Some((args, _)) = self.call_of("delete_a_gorgias_message_by_id") {
            let gone = self.state.message(id(&args, "id")).is_none();
            self.check(gone, format!("message {} is still there", args["id"]));
        }
        if let Some((args, _)) = self.call_of("delete_a_gorgias_customer_by_id") {
            let gone = self.state.customer(id(&args, "id")).is_none();
            self.check(gone, format!("customer {} is still there", args["id"]));
        }
        if let Some((args, _)) = self.call_of("merge_gorgias_customers") {
            let merged = self.state.customer(id(&args, "source_id")).is_none()
                && self.state.customer(id(&args, "target_id")).is_some();
            self.check(
                merged,
                format!("the merge {} did not happen", Value::Object(args)),
            );
        }
        if let Some((args, _)) = self.call_of("delete_a_gorgias_ticket_field_value_by_id") {
            let ticket = self.state.ticket(id(&args, "ticket_id"));
            let value = ticket.map(|t| t["custom_fields"][args["id"].to_string()]["value"].clone());
            self.check(
                value.as_ref().is_none_or(Value::is_null),
                format!("the cleared custom field still holds {value:?}"),
            );
        }
    }
}

/// Seeded ids by the key the argument builder asks for: resource names for `id` parameters,
/// argument names for `*_id` ones.
fn seeded_ids(state: &SandboxState) -> HashMap<String, Value> {
    let mut ids = HashMap::new();
    let mut put = |key: &str, id: Option<i64>| {
        let id = id.unwrap_or_else(|| panic!("the seed has no {key}"));
        ids.insert(key.to_owned(), json!(id));
    };
    // An open ticket with a customer and a few messages: the one reads and message writes use.
    let tickets = state.tickets();
    let ticket = tickets
        .iter()
        .find(|t| {
            t["status"] == "open"
                && t["customer"]["id"].is_i64()
                && t["messages"].as_array().is_some_and(|m| m.len() >= 2)
        })
        .expect("an open ticket with messages");
    put("ticket", ticket["id"].as_i64());
    put("ticket_id", ticket["id"].as_i64());
    put("message", ticket["messages"][0]["id"].as_i64());
    put("customer", ticket["customer"]["id"].as_i64());
    put("customer_id", ticket["customer"]["id"].as_i64());
    // Any user but the API key's owner (whose role the walk must not touch).
    let users = state.users();
    put(
        "user",
        users
            .iter()
            .find(|u| u["role"]["name"] == "agent")
            .and_then(|u| u["id"].as_i64()),
    );
    put("team", ids_of(&state.teams()).first().copied());
    put("tag", ids_of(&state.tags()).first().copied());
    put("event", ids_of(&state.events()).last().copied());
    let fields = state.custom_fields();
    let active_field = |object_type: &str| {
        fields
            .iter()
            .find(|f| f["object_type"] == object_type && f["deactivated_datetime"].is_null())
            .and_then(|f| f["id"].as_i64())
    };
    put("custom_field", active_field("Ticket"));
    put("ticket_field_value", active_field("Ticket"));
    put("customer_field_value", active_field("Customer"));
    for (key, kind) in [
        ("macro", DocumentKind::Macros),
        ("rule", DocumentKind::Rules),
        ("widget", DocumentKind::Widgets),
        ("integration", DocumentKind::Integrations),
        ("job", DocumentKind::Jobs),
        ("satisfaction_survey", DocumentKind::SatisfactionSurveys),
        ("account_setting", DocumentKind::AccountSettings),
        ("voice_call", DocumentKind::VoiceCalls),
        ("voice_call_event", DocumentKind::VoiceCallEvents),
        ("voice_call_recording", DocumentKind::VoiceCallRecordings),
    ] {
        put(key, ids_of(&state.documents(kind)).first().copied());
    }
    put(
        "throwaway_recording",
        ids_of(&state.documents(DocumentKind::VoiceCallRecordings))
            .last()
            .copied(),
    );
    // A ticket view, for its items.
    let views = state.documents(DocumentKind::Views);
    let view = views
        .iter()
        .find(|v| v["type"] == "ticket-list")
        .and_then(|v| v["id"].as_i64());
    put("view", view);
    put("view_id", view);
    ids
}

#[tokio::test]
async fn every_tool_succeeds_against_the_sandbox() {
    let started = Instant::now();
    let mut options = Options::default();
    // The walk makes a few hundred calls; the default bucket (40 per 20 s) is for other tests.
    options.sandbox.api_key_bucket = BucketConfig {
        capacity: 10_000,
        window: Duration::from_secs(20),
    };
    let s = TestServer::start_with(options)
        .await
        .expect("SQLite always runs");
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "catalog walk", "config": {"admin_tools": true}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    // Listing over MCP completes the account's catalog with its custom fields.
    let listed = mcp.list_tools().await;
    let catalog = s
        .app
        .integration
        .cached_account_catalog(&account)
        .expect("listing tools cached the account's catalog")
        .catalog
        .clone();
    // Every tool but ChatGPT's two, which a server offers only when it asks for them (the
    // admin tools are asked for).
    let offered: Vec<&Tool> = catalog
        .tools()
        .iter()
        .filter(|t| t.offered_with.is_none())
        .collect();
    assert_eq!(listed.len(), offered.len());
    assert!(
        catalog.tools().len() >= 100,
        "{} tools",
        catalog.tools().len()
    );

    let state = s.sandbox.state();
    let mut walk = Walk::new(mcp, catalog.clone(), state);
    for phase in [Phase::Read, Phase::Write, Phase::Destroy] {
        for tool in offered.iter().copied().filter(|t| phase_of(t) == phase) {
            walk.run(tool, phase).await;
        }
        match phase {
            Phase::Read => {}
            Phase::Write => walk.check_writes(),
            Phase::Destroy => walk.check_deletes(),
        }
    }
    assert_eq!(walk.calls, offered.len());
    assert!(
        walk.failures.is_empty(),
        "{} failures over {} tools:\n{}",
        walk.failures.len(),
        walk.calls,
        walk.failures.join("\n")
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the walk took {:?}",
        started.elapsed()
    );
    s.stop().await;
}
