//! The rest of §6: account, custom fields, events, files, integrations, jobs, macros, phone,
//! reporting, rules, satisfaction surveys, search, tags, teams, users, views, widgets.

use reqwest::multipart;
use serde_json::{Value, json};

use crate::support::{assert_keys, find_ticket, is_gorgias_datetime, roomy, start};

fn first_id(v: &Value) -> i64 {
    v["data"][0]["id"].as_i64().expect("an item")
}

#[tokio::test]
async fn account_and_settings() {
    let h = start().await;
    let a = h.get("/api/account").await;
    assert_keys(
        &a.body,
        &[
            "domain",
            "created_datetime",
            "deactivated_datetime",
            "status",
            "settings",
        ],
    );
    let s = h.get("/api/account/settings?type=business-hours").await;
    assert_eq!(s.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.body["data"][0]["data"]["timezone"], "America/New_York");
    let created = h
        .post(
            "/api/account/settings",
            json!({"type": "views-ordering", "data": {"views": {}, "view_sections": {}}}),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_i64().expect("id");
    assert_eq!(
        h.post("/api/account/settings", json!({"data": {}}))
            .await
            .error_data()["type"],
        json!(["Missing data for required field."])
    );
    let upd = h
        .put(
            &format!("/api/account/settings/{id}"),
            json!({"type": "views-ordering", "data": {"views": {"1": 0}}}),
        )
        .await;
    assert_eq!(upd.status, 200);
    assert_eq!(
        upd.body["data"],
        json!({"views": {"1": 0}}),
        "data is replaced whole"
    );
    assert_eq!(
        h.put(&format!("/api/account/settings/{id}"), json!({"data": {}}))
            .await
            .status,
        400,
        "type is required"
    );
}

#[tokio::test]
async fn custom_field_definitions() {
    let h = start().await;
    assert_eq!(
        h.get("/api/custom-fields").await.status,
        400,
        "object_type is required"
    );
    let list = h.get("/api/custom-fields?object_type=Ticket").await;
    let priorities: Vec<i64> = list.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|f| f["priority"].as_i64())
        .collect();
    let mut sorted = priorities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(priorities, sorted, "default order priority:desc");
    let def = json!({"data_type": "text", "input_settings": {"input_type": "dropdown", "choices": ["A", "B"]}});
    let r = h
        .post(
            "/api/custom-fields",
            json!({"object_type": "Ticket", "label": "Size", "definition": def}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert_keys(
        &r.body,
        &[
            "id",
            "object_type",
            "label",
            "description",
            "priority",
            "required",
            "definition",
            "created_datetime",
            "deactivated_datetime",
        ],
    );
    let bad = h
        .post(
            "/api/custom-fields",
            json!({"object_type": "Order", "label": "", "definition": {"data_type": "date"}}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.error_data()["object_type"].is_array() && bad.error_data()["label"].is_array());
    assert!(bad.error_data()["definition"]["data_type"].is_array());
    // PUT needs object_type, label and definition even when unchanged.
    assert_eq!(
        h.put(
            &format!("/api/custom-fields/{id}"),
            json!({"label": "Size 2"})
        )
        .await
        .status,
        400
    );
    let archived = h
        .put(&format!("/api/custom-fields/{id}"), json!({"object_type": "Ticket", "label": "Size", "definition": def, "deactivated_datetime": "2024-01-01T00:00:00Z"}))
        .await;
    assert_eq!(archived.status, 200);
    let archived_list = h
        .get("/api/custom-fields?object_type=Ticket&archived=true")
        .await;
    assert_eq!(first_id(&archived_list.body), id);
    let bulk = h
        .put(
            "/api/custom-fields",
            json!([{"id": id, "priority": 7, "deactivated_datetime": null}]),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(
        h.get(&format!("/api/custom-fields/{id}")).await.body["priority"],
        7
    );
    assert_eq!(
        h.delete(&format!("/api/custom-fields/{id}")).await.status,
        405,
        "no DELETE"
    );
    let search = h
        .get("/api/custom-fields?object_type=Ticket&search=refund")
        .await;
    assert_eq!(search.body["data"][0]["label"], "Refund amount");
}

#[tokio::test]
async fn events_filters() {
    let h = start().await;
    let tag = h
        .post("/api/tags", json!({"name": "event-test"}))
        .await
        .body["id"]
        .as_i64()
        .expect("id");
    let r = h
        .get(&format!("/api/events?object_type=Tag&object_id={tag}"))
        .await;
    let e = &r.body["data"][0];
    assert_keys(
        e,
        &[
            "id",
            "context",
            "created_datetime",
            "data",
            "object_id",
            "object_type",
            "type",
            "user_id",
            "uri",
        ],
    );
    assert_eq!(e["type"], "tag-created");
    assert_eq!(e["user_id"], h.user_id());
    assert_eq!(e["context"].as_str().map(str::len), Some(36));
    let one = h.get(&format!("/api/events/{}", e["id"])).await;
    assert_eq!(one.body["id"], e["id"]);
    assert_eq!(h.get("/api/events?object_type=Message").await.status, 400);
    let typed = h
        .get("/api/events?types=ticket-created&types=customer-created&limit=100")
        .await;
    assert!(
        typed.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["type"] == "ticket-created" || e["type"] == "customer-created")
    );
    let by_user = h
        .get(&format!("/api/events?user_ids={}", h.user_id()))
        .await;
    assert!(
        by_user.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["user_id"] == h.user_id())
    );
    let since = h
        .get("/api/events?created_datetime[gte]=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(since.body["data"], json!([]));
}

#[tokio::test]
async fn upload_and_download() {
    let h = start().await;
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(b"hello, world".to_vec())
            .file_name("hello.txt")
            .mime_str("text/plain")
            .expect("mime"),
    );
    let r = h
        .send(
            h.http
                .post(h.url("/api/upload?type=attachment"))
                .basic_auth("agent@acme.example", Some("sandbox-api-key"))
                .multipart(form),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let item = &r.body[0];
    assert_eq!(item["name"], "hello.txt");
    assert_eq!(item["size"], 12);
    assert_eq!(item["content_type"], "text/plain");
    let url = item["url"].as_str().expect("url");
    let path = url
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .expect("api url");
    let download = h.get(&path).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.text, "hello, world");
    // The upload result is usable as a message attachment.
    let ticket = h.sandbox.state().ticket_ids()[0];
    let m = h
        .post(
            &format!("/api/tickets/{ticket}/messages"),
            json!({"channel": "internal-note", "from_agent": true, "attachments": [item]}),
        )
        .await;
    assert_eq!(m.status, 201, "{}", m.text);
    assert_eq!(m.body["attachments"][0]["url"], url);
    let unauthenticated = h.send(h.http.get(url)).await;
    assert_eq!(
        unauthenticated.status, 401,
        "private files need the API's auth"
    );
}

#[tokio::test]
async fn integrations_crud() {
    let h = start().await;
    let not_http = h
        .post("/api/integrations", json!({"type": "email", "name": "x"}))
        .await;
    assert_eq!(not_http.status, 400);
    assert_eq!(
        not_http.error_data()["type"],
        json!(["Must be one of: http."])
    );
    let r = h
        .post(
            "/api/integrations",
            json!({"type": "http", "name": "Hook", "http": {"url": "https://x.example/{{ticket.id}}", "method": "POST",
                "hmac_secret": "s3cret", "triggers": {"ticket-created": true}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(r.body["http"]["triggers"]["ticket-created"], true);
    assert!(!r.text.contains("s3cret"), "hmac_secret is write-only");
    assert_eq!(
        h.put(
            &format!("/api/integrations/{id}"),
            json!({"description": "no name"})
        )
        .await
        .status,
        400
    );
    let off = h
        .put(
            &format!("/api/integrations/{id}"),
            json!({"name": "Hook", "deactivated_datetime": "2024-05-01T00:00:00Z"}),
        )
        .await;
    assert!(is_gorgias_datetime(&off.body["deactivated_datetime"]));
    let http_only = h.get("/api/integrations?type=http").await;
    assert!(
        http_only.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|i| i["type"] == "http")
    );
    assert_eq!(
        h.delete(&format!("/api/integrations/{id}")).await.status,
        204
    );
    assert_eq!(h.get(&format!("/api/integrations/{id}")).await.status, 404);
}

#[tokio::test]
async fn jobs_run_and_cancel() {
    let h = start().await;
    let open = find_ticket(&h, |t| t["status"] == "open");
    let id = open["id"].as_i64().expect("id");
    let r = h.post("/api/jobs", json!({"type": "updateTicket", "params": {"ticket_ids": [id], "updates": {"status": "closed"}}})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let job = r.body["id"].as_i64().expect("id");
    let done = h.get(&format!("/api/jobs/{job}")).await;
    assert_eq!(done.body["status"], "done");
    assert_eq!(
        h.get(&format!("/api/tickets/{id}")).await.body["status"],
        "closed"
    );
    let bad = h.post("/api/jobs", json!({"type": "launchRocket"})).await;
    assert_eq!(bad.status, 400);
    assert!(bad.error_data()["params"].is_array());
    let too_late = h.post("/api/jobs", json!({"type": "exportTicket", "params": {}, "scheduled_datetime": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(too_late.status, 400);
    let soon = chrono_in_minutes(30);
    let scheduled = h
        .post(
            "/api/jobs",
            json!({"type": "exportTicket", "params": {}, "scheduled_datetime": soon}),
        )
        .await;
    assert_eq!(scheduled.body["status"], "scheduled");
    let sid = scheduled.body["id"].as_i64().expect("id");
    assert_eq!(h.delete(&format!("/api/jobs/{sid}")).await.status, 204);
    assert_eq!(
        h.get(&format!("/api/jobs/{sid}")).await.body["status"],
        "canceled"
    );
    assert_eq!(
        h.get("/api/jobs?status=canceled").await.body["data"][0]["id"],
        sid
    );
}

/// An ISO datetime `minutes` from now, from the sandbox's own clock via the API.
fn chrono_in_minutes(minutes: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + minutes * 60;
    let days = now / 86_400;
    let secs = now % 86_400;
    // Civil date from days since epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[tokio::test]
async fn macros_crud_archive_and_relevance() {
    let h = start().await;
    let r = h
        .post(
            "/api/macros",
            json!({"name": "Test macro", "language": "en", "intent": "refund/request",
                "actions": [{"name": "addTags", "type": "user", "arguments": {"tags": "refund, finance"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert_keys(
        &r.body,
        &[
            "id",
            "name",
            "intent",
            "language",
            "external_id",
            "actions",
            "usage",
            "created_datetime",
            "updated_datetime",
            "uri",
        ],
    );
    assert_eq!(
        h.post("/api/macros", json!({"intent": "nope"}))
            .await
            .status,
        400
    );
    let upd = h
        .put(&format!("/api/macros/{id}"), json!({"actions": []}))
        .await;
    assert_eq!(upd.body["actions"], json!([]));
    assert_eq!(upd.body["name"], "Test macro");
    let tagged = h
        .get("/api/macros?tags=login_issue&tags=password_reset&limit=100")
        .await;
    assert!(tagged.body["data"].as_array().expect("data").len() >= 3);
    let french = h.get("/api/macros?languages=fr").await;
    assert!(
        french.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|m| m["language"] == "fr")
    );
    assert_eq!(
        h.get("/api/macros?order_by=relevance:desc").await.status,
        400,
        "relevance needs ticket_id"
    );
    let refund = find_ticket(&h, |t| {
        t["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("I want a refund"))
    });
    let ranked = h
        .get(&format!(
            "/api/macros?order_by=relevance:desc&ticket_id={}",
            refund["id"]
        ))
        .await;
    assert_eq!(ranked.status, 200);
    assert!(
        ranked.body["data"][0]["name"]
            .as_str()
            .expect("name")
            .contains("Refund")
    );
    let archive = h.put("/api/macros/archive", json!({"ids": [id, 1]})).await;
    assert_eq!(
        archive.body["data"],
        json!([{"id": id, "status": "archived"}, {"id": 1, "status": "not_found"}])
    );
    assert_eq!(
        h.put("/api/macros/archive", json!({"ids": [id]}))
            .await
            .body["data"][0]["status"],
        "already_archived"
    );
    assert_eq!(
        h.get("/api/macros?archived=true").await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        h.put("/api/macros/unarchive", json!({"ids": [id]}))
            .await
            .body["data"][0]["status"],
        "unarchived"
    );
    assert_eq!(
        h.put("/api/macros/archive", json!({"ids": []}))
            .await
            .status,
        400
    );
    assert_eq!(h.delete(&format!("/api/macros/{id}")).await.status, 204);
    // The seeded "Escalate to manager" macro is used by a rule: 409.
    let all = h.walk("/api/macros?limit=100").await;
    let escalate = all
        .iter()
        .find(|m| m["name"] == "Escalate to manager")
        .expect("seeded")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        h.delete(&format!("/api/macros/{escalate}")).await.status,
        409
    );
    assert_eq!(
        h.put("/api/macros/archive", json!({"ids": [escalate]}))
            .await
            .body["data"][0]["status"],
        "macro_used"
    );
}

#[tokio::test]
async fn phone_is_read_only_except_recordings() {
    let h = start().await;
    let calls = h.get("/api/phone/voice-calls").await;
    let call = &calls.body["data"][0];
    assert_keys(
        call,
        &[
            "id",
            "external_id",
            "integration_id",
            "ticket_id",
            "customer_id",
            "direction",
            "status",
            "duration",
            "started_datetime",
            "ended_datetime",
            "created_datetime",
        ],
    );
    let cid = call["id"].as_i64().expect("id");
    assert_eq!(
        h.get(&format!("/api/phone/voice-calls/{cid}")).await.status,
        200
    );
    let by_ticket = h
        .get(&format!(
            "/api/phone/voice-calls?ticket_id={}",
            call["ticket_id"]
        ))
        .await;
    assert_eq!(first_id(&by_ticket.body), cid);
    let events = h
        .get(&format!("/api/phone/voice-call-events?call_id={cid}"))
        .await;
    assert!(
        events.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["call_id"] == cid)
    );
    let eid = first_id(&events.body);
    assert_eq!(
        h.get(&format!("/api/phone/voice-call-events/{eid}"))
            .await
            .status,
        200
    );
    let recs = h
        .get(&format!("/api/phone/voice-call-recordings?call_id={cid}"))
        .await;
    let rid = first_id(&recs.body);
    assert_eq!(
        h.get(&format!("/api/phone/voice-call-recordings/{rid}"))
            .await
            .status,
        200
    );
    assert_eq!(
        h.delete(&format!("/api/phone/voice-call-recordings/{rid}"))
            .await
            .status,
        204
    );
    assert_eq!(
        h.get(&format!("/api/phone/voice-call-recordings/{rid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        h.post("/api/phone/voice-calls", json!({})).await.status,
        405
    );
    assert_eq!(
        h.delete(&format!("/api/phone/voice-calls/{cid}"))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn reporting_stats() {
    let h = start().await;
    let q = json!({"query": {"scope": "tickets-created", "timezone": "UTC", "dimensions": ["channel"],
        "measures": ["ticketCount"], "order": [["ticketCount", "desc"]],
        "filters": [{"member": "periodStart", "operator": "afterDate", "values": ["2000-01-01T00:00:00Z"]},
                    {"member": "periodEnd", "operator": "beforeDate", "values": ["2000-12-31T23:59:59Z"]}]}});
    let empty = h.post("/api/reporting/stats", q.clone()).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["data"], json!([]));
    let all = h
        .post("/api/reporting/stats?limit=100", json!({"query": {"scope": "tickets-created", "dimensions": ["channel"], "measures": ["ticketCount"], "order": [["ticketCount", "desc"]]}}))
        .await;
    let rows = all.body["data"].as_array().expect("data");
    let total: i64 = rows.iter().filter_map(|r| r["ticketCount"].as_i64()).sum();
    let visible = h
        .sandbox
        .state()
        .tickets()
        .iter()
        .filter(|t| t["trashed_datetime"].is_null() && t["spam"] == false)
        .count();
    assert_eq!(total as usize, visible);
    assert_eq!(rows[0]["channel"], "email", "email is the biggest channel");
    assert_eq!(all.body["meta"]["scope"], "tickets-created");
    assert!(all.body["meta"].get("next_cursor").is_some());
    let by_day = h
        .post("/api/reporting/stats", json!({"query": {"scope": "tickets-created", "measures": ["ticketCount"], "time_dimensions": [{"dimension": "createdDatetime", "granularity": "day"}]}}))
        .await;
    assert!(
        by_day.body["data"][0]["createdDatetime.day"]
            .as_str()
            .is_some_and(|d| d.ends_with("T00:00:00.000000+00:00"))
    );
    let too_long = h
        .post("/api/reporting/stats", json!({"query": {"scope": "tickets-created", "filters": [{"member": "periodStart", "operator": "inDateRange", "values": ["2020-01-01T00:00:00Z", "2022-01-01T00:00:00Z"]}]}}))
        .await;
    assert_eq!(too_long.status, 400);
    assert_eq!(
        h.post(
            "/api/reporting/stats",
            json!({"query": {"scope": "everything"}})
        )
        .await
        .status,
        400
    );
    let csat = h.post("/api/reporting/stats", json!({"query": {"scope": "satisfaction-surveys", "measures": ["averageScore", "surveyCount"]}})).await;
    assert!(
        csat.body["data"][0]["averageScore"]
            .as_f64()
            .is_some_and(|s| (1.0..=5.0).contains(&s))
    );
}

#[tokio::test]
async fn rules_and_priorities() {
    let h = start().await;
    let r = h.post("/api/rules", json!({"name": "R", "code": "if (true) {}", "event_types": "ticket-created,ticket-updated"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert!(r.body["code_ast"].is_object());
    assert_eq!(
        h.post("/api/rules", json!({"name": "R"}))
            .await
            .error_data()["code"],
        json!(["Missing data for required field."])
    );
    assert_eq!(
        h.post(
            "/api/rules",
            json!({"name": "R", "code": "x", "event_types": "ticket-exploded"})
        )
        .await
        .status,
        400
    );
    let bare = h
        .post("/api/rules/priorities", json!([{"id": id, "priority": 5}]))
        .await;
    assert_eq!(bare.status, 400, "a bare array is refused");
    let ok = h
        .post(
            "/api/rules/priorities",
            json!({"priorities": [{"id": id, "priority": 99}]}),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        h.get(&format!("/api/rules/{id}")).await.body["priority"],
        99
    );
    assert_eq!(
        h.put(&format!("/api/rules/{id}"), json!({"description": "d"}))
            .await
            .body["name"],
        "R"
    );
    // Tickets matched by a rule.
    let rules = h.get("/api/rules?limit=100").await;
    let refund_rule = rules.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["name"] == "Auto-tag refund requests")
        .expect("seeded")["id"]
        .as_i64()
        .expect("id");
    let matched = h
        .walk(&format!("/api/tickets?rule_id={refund_rule}&limit=100"))
        .await;
    assert!(!matched.is_empty());
    assert!(matched.iter().all(|t| {
        t["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|tag| tag["name"] == "finance")
    }));
    assert_eq!(h.delete(&format!("/api/rules/{id}")).await.status, 204);
    assert_eq!(h.get(&format!("/api/rules/{id}")).await.status, 404);
}

#[tokio::test]
async fn satisfaction_surveys_one_per_ticket() {
    let h = start().await;
    let t = find_ticket(&h, |t| {
        t["satisfaction_survey"].is_null() && t["customer"]["id"].is_i64()
    });
    let body = json!({"customer_id": t["customer"]["id"], "ticket_id": t["id"], "score": 4, "body_text": "Nice"});
    let r = h.post("/api/satisfaction-surveys", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(h.post("/api/satisfaction-surveys", body).await.status, 409);
    assert_eq!(
        h.post(
            "/api/satisfaction-surveys",
            json!({"customer_id": t["customer"]["id"], "ticket_id": t["id"], "score": 9})
        )
        .await
        .status,
        400
    );
    let upd = h
        .put(
            &format!("/api/satisfaction-surveys/{id}"),
            json!({"score": 5}),
        )
        .await;
    assert_eq!(upd.body["score"], 5);
    assert_eq!(
        h.get(&format!("/api/satisfaction-surveys?ticket_id={}", t["id"]))
            .await
            .body["data"][0]["id"],
        id
    );
    assert_eq!(
        h.get(&format!("/api/tickets/{}", t["id"])).await.body["satisfaction_survey"]["id"],
        id
    );
    assert_eq!(
        h.delete(&format!("/api/satisfaction-surveys/{id}"))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn search_types() {
    let h = start().await;
    let agents = h
        .post("/api/search", json!({"type": "agent", "query": "sam"}))
        .await;
    assert_eq!(agents.status, 200);
    assert_eq!(agents.body["data"][0]["email"], "sam@acme.example");
    let teams = h
        .post("/api/search", json!({"type": "team", "query": "tier"}))
        .await;
    assert_eq!(teams.body["data"].as_array().map(Vec::len), Some(2));
    let tags = h
        .post("/api/search", json!({"type": "tag", "query": "login"}))
        .await;
    assert_eq!(tags.body["data"][0]["name"], "login_issue");
    let customers = h
        .post(
            "/api/search",
            json!({"type": "customer", "query": "example.com", "size": 3}),
        )
        .await;
    assert_eq!(customers.body["data"].as_array().map(Vec::len), Some(3));
    let phone = h
        .post(
            "/api/search",
            json!({"type": "customers_by_phone", "query": "4155551000"}),
        )
        .await;
    assert_eq!(phone.body["data"].as_array().map(Vec::len), Some(1));
    let integration = h
        .post(
            "/api/search",
            json!({"type": "integration", "query": "acme support"}),
        )
        .await;
    assert_eq!(integration.body["data"][0]["type"], "email");
    let bad = h
        .post(
            "/api/search",
            json!({"type": "ticket", "query": "x", "size": 99}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.error_data()["type"].is_array() && bad.error_data()["size"].is_array());
}

#[tokio::test]
async fn tags_crud_merge_and_conflicts() {
    let h = start().await;
    let r = h
        .post(
            "/api/tags",
            json!({"name": "Alpha", "description": "first", "decoration": {"color": "#F58D86"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_keys(
        &r.body,
        &[
            "id",
            "name",
            "description",
            "decoration",
            "usage",
            "uri",
            "created_datetime",
            "deleted_datetime",
        ],
    );
    let alpha = r.body["id"].as_i64().expect("id");
    assert_eq!(r.body["uri"], format!("/api/tags/{alpha}/"));
    assert_eq!(
        h.post("/api/tags", json!({"name": "Alpha"})).await.status,
        409
    );
    assert_eq!(
        h.post("/api/tags", json!({"name": "alpha"})).await.status,
        201,
        "names are case-sensitive"
    );
    let beta = h.post("/api/tags", json!({"name": "Beta"})).await.body["id"]
        .as_i64()
        .expect("id");
    let t = h.sandbox.state().ticket_ids()[3];
    h.post(&format!("/api/tickets/{t}/tags"), json!({"ids": [beta]}))
        .await;
    let merged = h
        .put(
            &format!("/api/tags/{alpha}/merge"),
            json!({"source_tags_ids": [beta]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(merged.body["usage"], 1);
    assert_eq!(h.get(&format!("/api/tags/{beta}")).await.status, 404);
    let names: Vec<String> = h.get(&format!("/api/tickets/{t}/tags")).await.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"Alpha".to_owned()) && !names.contains(&"Beta".to_owned()));
    let renamed = h
        .put(&format!("/api/tags/{alpha}"), json!({"name": "Alpha2"}))
        .await;
    assert_eq!(renamed.body["name"], "Alpha2");
    let by_usage = h
        .get("/api/tags?order_by=usage:desc,name:desc&limit=3")
        .await;
    assert_eq!(by_usage.status, 200);
    let usages: Vec<i64> = by_usage.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["usage"].as_i64())
        .collect();
    assert!(usages.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(
        h.get("/api/tags?order_by=usage:desc").await.status,
        400,
        "a usage sort needs the second key"
    );
    // `finance` is used by a rule: 409.
    let finance = h.get("/api/tags?search=finance").await.body["data"][0]["id"]
        .as_i64()
        .expect("id");
    assert_eq!(h.delete(&format!("/api/tags/{finance}")).await.status, 409);
    assert_eq!(h.delete(&format!("/api/tags/{alpha}")).await.status, 204);
    let gamma = h.post("/api/tags", json!({"name": "Gamma"})).await.body["id"].clone();
    assert_eq!(
        h.delete_with("/api/tags", json!({"ids": [gamma]}))
            .await
            .status,
        204
    );
    assert_eq!(h.get(&format!("/api/tags/{gamma}")).await.status, 404);
}

#[tokio::test]
async fn teams_crud() {
    let h = start().await;
    let sam = h
        .sandbox
        .state()
        .user_id_for_email("sam@acme.example")
        .expect("sam");
    let r = h
        .post(
            "/api/teams",
            json!({"name": "Night shift", "decoration": {"emoji": "🌙"}, "members": [{"id": sam}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_keys(
        &r.body,
        &[
            "id",
            "name",
            "description",
            "decoration",
            "members",
            "created_datetime",
            "updated_datetime",
            "uri",
        ],
    );
    assert_eq!(r.body["members"][0]["email"], "sam@acme.example");
    let id = r.body["id"].as_i64().expect("id");
    let upd = h
        .put(&format!("/api/teams/{id}"), json!({"members": []}))
        .await;
    assert_eq!(upd.body["members"], json!([]));
    assert_eq!(upd.body["name"], "Night shift");
    assert_eq!(
        h.post("/api/teams", json!({"members": [{"id": 1}]}))
            .await
            .status,
        400
    );
    let by_name = h.get("/api/teams?order_by=name:asc").await;
    assert_eq!(by_name.body["data"][0]["name"], "Managers");
    // Deleting a team unassigns its tickets.
    let tier1 = h
        .walk("/api/teams?limit=100")
        .await
        .into_iter()
        .find(|t| t["name"] == "Tier 1")
        .expect("tier 1")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(h.delete(&format!("/api/teams/{tier1}")).await.status, 204);
    assert!(
        h.sandbox
            .state()
            .tickets()
            .iter()
            .all(|t| t["assignee_team_id"] != tier1)
    );
}

#[tokio::test]
async fn users_crud_and_me() {
    let h = start().await;
    let me = h.get("/api/users/0").await;
    assert_eq!(me.body["email"], "agent@acme.example");
    assert_eq!(me.body["role"]["name"], "admin");
    let r = h
        .post(
            "/api/users",
            json!({"name": "John Doe", "email": "john@acme.example", "role": {"name": "agent"}}),
        )
        .await;
    // §12 #1: 200 by default for users; §9.2 observed shape.
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["firstname"], "John");
    assert_eq!(r.body["lastname"], "Doe");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["language"], Value::Null);
    assert_eq!(r.body["has_password"], false);
    assert_eq!(
        r.body["meta"],
        json!({"sso": null, "profile_picture_url": null})
    );
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(
        r.body["uri"],
        format!("https://acme.gorgias.com/api/users/{id}/")
    );
    assert_eq!(
        h.post(
            "/api/users",
            json!({"name": "x", "email": "x@acme.example", "role": {"name": "bot"}})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        h.post(
            "/api/users",
            json!({"email": "john@acme.example", "name": "Again", "role": {"name": "agent"}})
        )
        .await
        .status,
        400
    );
    let observers = h.get("/api/users?roles=observer-agent").await;
    assert!(
        observers.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|u| u["role"]["name"] == "observer-agent")
    );
    let search = h.get("/api/users?search=priya").await;
    assert_eq!(search.body["data"][0]["email"], "priya@acme.example");
    let upd = h
        .put(
            &format!("/api/users/{id}"),
            json!({"bio": "Night owl", "language": "fr"}),
        )
        .await;
    assert_eq!(upd.body["bio"], "Night owl");
    assert_eq!(
        h.put(&format!("/api/users/{id}"), json!({"language": "de"}))
            .await
            .status,
        400
    );
    assert_eq!(
        h.put(
            &format!("/api/users/{id}"),
            json!({"email": "new@acme.example"})
        )
        .await
        .status,
        400,
        "needs password_confirmation"
    );
    assert_eq!(h.delete(&format!("/api/users/{id}")).await.status, 204);
    assert_eq!(h.get(&format!("/api/users/{id}")).await.status, 404);
    assert_eq!(h.delete("/api/users").await.status, 405, "no bulk delete");
}

#[tokio::test]
async fn views_crud() {
    let h = start().await;
    let r = h
        .post("/api/views", json!({"name": "My open", "type": "ticket-list", "visibility": "private",
            "filters": "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, '{{current_user.id}}')", "fields": ["id", "subject"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_keys(
        &r.body,
        &[
            "id",
            "name",
            "slug",
            "type",
            "category",
            "visibility",
            "decoration",
            "fields",
            "filters",
            "order_by",
            "order_dir",
            "search",
            "section_id",
            "shared_with_teams",
            "shared_with_users",
            "deactivated_datetime",
            "created_datetime",
            "updated_datetime",
            "uri",
        ],
    );
    assert_eq!(r.body["order_by"], "updated_datetime");
    assert_eq!(r.body["order_dir"], "desc");
    assert_eq!(r.body["category"], "user");
    // Templates come back filled in for the current user.
    assert!(
        r.body["filters"]
            .as_str()
            .expect("filters")
            .contains(&h.user_id().to_string())
    );
    let id = r.body["id"].as_i64().expect("id");
    let items = h.get(&format!("/api/views/{id}/items")).await;
    assert_eq!(items.status, 200);
    assert!(items.body["meta"].get("current_cursor").is_some());
    assert_eq!(
        h.post(
            "/api/views",
            json!({"fields": ["nope"], "visibility": "everyone"})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        h.post("/api/views", json!({"filters": "eq(ticket.status"}))
            .await
            .status,
        400
    );
    let upd = h
        .put(&format!("/api/views/{id}"), json!({"order_dir": "asc"}))
        .await;
    assert_eq!(upd.body["order_dir"], "asc");
    assert_eq!(h.delete(&format!("/api/views/{id}")).await.status, 204);
    let system = h.get("/api/views?category=system").await;
    let trash = system.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|v| v["name"] == "Trash")
        .expect("Trash")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        h.delete(&format!("/api/views/{trash}")).await.status,
        400,
        "system views cannot be deleted"
    );
    let trashed = h.get(&format!("/api/views/{trash}/items?limit=100")).await;
    assert!(!trashed.body["data"].as_array().expect("data").is_empty());
    assert!(
        trashed.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|t| !t["trashed_datetime"].is_null())
    );
}

#[tokio::test]
async fn widgets_crud() {
    let h = start().await;
    let r = h.post("/api/widgets", json!({"type": "custom", "template": {"type": "wrapper", "widgets": []}, "context": "customer", "order": 2})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_keys(
        &r.body,
        &[
            "id",
            "type",
            "context",
            "order",
            "template",
            "integration_id",
            "app_id",
            "deactivated_datetime",
            "created_datetime",
            "updated_datetime",
            "uri",
        ],
    );
    let id = r.body["id"].as_i64().expect("id");
    assert_eq!(
        h.post("/api/widgets", json!({"type": "custom"}))
            .await
            .error_data()["template"],
        json!(["Missing data for required field."])
    );
    assert_eq!(
        h.post(
            "/api/widgets",
            json!({"type": "nope", "template": {"type": "wrapper"}})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        h.put(&format!("/api/widgets/{id}"), json!({"order": 0}))
            .await
            .body["order"],
        0
    );
    let by_order = h.get("/api/widgets?order_by=order:asc").await;
    assert_eq!(by_order.status, 200);
    assert_eq!(h.delete(&format!("/api/widgets/{id}")).await.status, 204);
    assert_eq!(h.get(&format!("/api/widgets/{id}")).await.status, 404);
}

#[tokio::test]
async fn every_resource_gets_by_id_with_a_slash_ending_uri() {
    let h = roomy().await;
    for path in [
        "/api/customers",
        "/api/custom-fields?object_type=Customer",
        "/api/events",
        "/api/integrations",
        "/api/jobs",
        "/api/macros",
        "/api/phone/voice-calls",
        "/api/phone/voice-call-events",
        "/api/phone/voice-call-recordings",
        "/api/rules",
        "/api/satisfaction-surveys",
        "/api/tags",
        "/api/teams",
        "/api/tickets",
        "/api/users",
        "/api/views",
        "/api/widgets",
    ] {
        let list = h.get(path).await;
        let item = &list.body["data"][0];
        let id = item["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{path}: {}", list.text));
        let base = path.split('?').next().unwrap_or(path);
        let one = h.get(&format!("{base}/{id}")).await;
        assert_eq!(one.status, 200, "{base}/{id}: {}", one.text);
        assert_eq!(one.body["id"], id, "{base}");
        let uri = one.body["uri"]
            .as_str()
            .unwrap_or_else(|| panic!("{base}: uri"));
        assert!(uri.ends_with(&format!("/{id}/")), "{base}: {uri}");
        assert!(
            is_gorgias_datetime(&one.body["created_datetime"]),
            "{base}: {}",
            one.body["created_datetime"]
        );
        assert_eq!(h.get(&format!("{base}/999")).await.status, 404, "{base}");
    }
}

#[tokio::test]
async fn jobs_update() {
    let h = start().await;
    let soon = chrono_in_minutes(20);
    let r = h.post("/api/jobs", json!({"type": "exportTicket", "params": {}, "scheduled_datetime": soon, "meta": {"a": 1}})).await;
    let id = r.body["id"].as_i64().expect("id");
    let upd = h
        .put(
            &format!("/api/jobs/{id}"),
            json!({"meta": {"b": 2}, "params": {"view_id": 1}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(upd.body["meta"], json!({"b": 2}));
    assert_eq!(upd.body["params"], json!({"view_id": 1}));
    assert_eq!(upd.body["status"], "scheduled");
    assert_eq!(
        h.put(&format!("/api/jobs/{id}"), json!({"status": "sleeping"}))
            .await
            .status,
        400
    );
    assert_eq!(h.put("/api/jobs/1", json!({})).await.status, 404);
}
